/**
 * Where PE errors come from. Every part reader starts at offset 0 of its own
 * part (a directory, a table), so the offset in a SymbolFormatError is inside
 * that part, and the message adds the RVA or file offset of the part itself.
 */
import { CvReader } from '../codeview/cv-reader';
import { SymbolFormatError } from '../format-error';

export const PE_FILE = 'PE';

export function peError(part: string, offset: number, detail: string): SymbolFormatError {
  return new SymbolFormatError({ file: PE_FILE, part, offset }, detail);
}

export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/**
 * A reader over `length` bytes at file offset `start`, failing up front (offset 0
 * of the part) when they are not all present, so a truncated file names the
 * part that is cut rather than the first field that happens to run out.
 */
export function partReader(data: Uint8Array, start: number, length: number, part: string): CvReader {
  if (start + length > data.length) {
    throw peError(part, 0, `needs ${length} bytes at file offset ${hex(start)}, only ${Math.max(0, data.length - start)} present`);
  }
  return new CvReader(data.subarray(start, start + length), PE_FILE, part);
}
