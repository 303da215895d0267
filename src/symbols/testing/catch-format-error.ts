/** For tests of the symbol readers: the SymbolFormatError `fn` throws (anything else is rethrown). */
import { SymbolFormatError } from '../format-error';

export function catchFormatError(fn: () => unknown): SymbolFormatError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SymbolFormatError) return err;
    throw err;
  }
  throw new Error('expected a SymbolFormatError, nothing was thrown');
}
