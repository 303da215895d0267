/**
 * The '/names' string table: the PDB-wide pool that module file checksums and
 * other records refer to by byte offset. Its hash buckets are only needed for
 * string -> offset lookups; here they serve to enumerate the strings.
 */
import { CvReader } from '../codeview/cv-reader';

export const STRING_TABLE_SIGNATURE = 0xeffeeffe;

export interface StringTable {
  hashVersion: number;
  /** The raw buffer; offsets index into it. */
  buffer: Uint8Array;
  /** Offsets (IDs) of the strings, from the hash buckets, ascending; writers may list the empty string too. */
  ids: readonly number[];
  /** The string starting at `offset`; a format error if the offset is outside the buffer. */
  string(offset: number): string;
}

/**
 * Reads a string table in the '/names' layout; the DBI edit-and-continue
 * substream uses the same layout. `part` names it in errors.
 */
export function readStringTable(data: Uint8Array, part: string, base = 0): StringTable {
  const r = new CvReader(data, 'PDB', part, 0, base);
  const signature = r.u32();
  if (signature !== STRING_TABLE_SIGNATURE) r.fail(`bad signature 0x${signature.toString(16)}`, 0);
  const hashVersion = r.u32();
  if (hashVersion !== 1 && hashVersion !== 2) r.fail(`unknown hash version ${hashVersion}`, 4);
  const size = r.u32();
  const bufferAt = r.offset;
  const buffer = r.bytes(size);
  const countAt = r.offset;
  const bucketCount = r.u32();
  if (bucketCount > r.remaining / 4) r.fail(`${bucketCount} buckets run past the end`, countAt);
  const ids = new Set<number>();
  for (let i = 0; i < bucketCount; i++) {
    const at = r.offset;
    const id = r.u32();
    if (id === 0) continue;
    if (id >= size) r.fail(`bucket ${i} names offset ${id} outside the ${size}-byte buffer`, at);
    ids.add(id);
  }
  if (r.remaining >= 4) r.u32(); // name count, redundant with the buckets

  const cache = new Map<number, string>();
  const strings = new CvReader(buffer, 'PDB', part, 0, base + bufferAt);
  return {
    hashVersion,
    buffer,
    ids: [...ids].sort((a, b) => a - b),
    string(offset: number): string {
      let s = cache.get(offset);
      if (s === undefined) {
        if (!Number.isInteger(offset) || offset < 0 || offset >= size) {
          strings.fail(`string offset ${offset} outside the ${size}-byte buffer`, 0);
        }
        strings.seek(offset);
        s = strings.cstring();
        cache.set(offset, s);
      }
      return s;
    },
  };
}
