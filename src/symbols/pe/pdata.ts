/**
 * The exception directory (.pdata): one RUNTIME_FUNCTION per function with
 * unwind info, which is how an x64 unwinder finds the UNWIND_INFO (in .xdata)
 * for a return address. Decoding UNWIND_INFO belongs to the unwinder; this
 * module only hands out the raw entries.
 */
import { CvReader } from '../codeview/cv-reader';
import { DataDirectory } from './headers';
import { ImageBytes } from './image-bytes';
import { PE_FILE, hex, peError } from './pe-error';
import { rangeHolding } from '../../common/sorted';

export interface RuntimeFunction {
  beginRva: number;
  /** First RVA after the function. */
  endRva: number;
  /** RVA of the UNWIND_INFO, as stored (not decoded). */
  unwindInfoRva: number;
}

const ENTRY_SIZE = 12;
const PART = 'exception directory';

export function parseRuntimeFunctions(image: ImageBytes, dir: DataDirectory | undefined): RuntimeFunction[] {
  if (!dir) return [];
  if (dir.size % ENTRY_SIZE !== 0) throw peError(PART, 0, `size ${hex(dir.size)} is not a multiple of ${ENTRY_SIZE}`);
  const r = new CvReader(image.rvaToBytes(dir.rva, dir.size, PART), PE_FILE, PART);
  const entries: RuntimeFunction[] = [];
  while (!r.atEnd) entries.push({ beginRva: r.u32(), endRva: r.u32(), unwindInfoRva: r.u32() });
  return entries;
}

/**
 * The entry covering `rva`, by binary search: the spec requires .pdata sorted
 * by begin address, which is what lets Windows' own unwinder do the same. An
 * unsorted (corrupt) table gives a miss, never a wrong hit.
 */
export function findRuntimeFunction(entries: readonly RuntimeFunction[], rva: number): RuntimeFunction | undefined {
  return rangeHolding(entries, rva, (e) => e.beginRva, (e) => e.endRva);
}
