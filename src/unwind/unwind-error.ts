/**
 * Why one unwinding step could not be done. The walker turns these into the
 * reason a backtrace ends (or into a fall back to the scan), so each carries a
 * kind to branch on besides the message for people.
 */
import { ErrorCode, JosgdbError } from '../common/errors';

export type UnwindFailure =
  /** A rule needs a register this frame does not know (e.g. rbp after a scanned frame). */
  | 'unknown-register'
  /** Target memory (a saved register, a return address, the stack) could not be read. */
  | 'unreadable-memory'
  /** The unwind data or the code contradicts itself (operations after a machine frame, ...). */
  | 'bad-unwind-data';

const CODES: Record<UnwindFailure, ErrorCode> = {
  'unknown-register': 'UNSUPPORTED',
  'unreadable-memory': 'BAD_ADDRESS',
  'bad-unwind-data': 'SYMBOL_FORMAT',
};

export class UnwindError extends JosgdbError {
  constructor(
    readonly failure: UnwindFailure,
    message: string,
  ) {
    super(CODES[failure], message);
    this.name = 'UnwindError';
  }
}
