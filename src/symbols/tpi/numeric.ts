/**
 * Numeric leaves used as sizes and offsets. CodeView stores them as up to 64
 * bits, but a layout value past 2^53 can only be corruption, and turning it
 * into a JS number silently would lose bits, so it is rejected here.
 */
import type { CvReader } from '../codeview/cv-reader';

export function readLayoutNumber(reader: CvReader, what: string): number {
  const at = reader.offset;
  const value = reader.numericLeaf();
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    reader.fail(`${what} ${value} is out of range`, at);
  }
  return Number(value);
}
