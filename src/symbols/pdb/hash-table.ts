/**
 * The serialized hash table the PDB uses for its named-stream map (and LLVM's
 * HashTable.md describes): size, capacity, a "present" and a "deleted" bit
 * vector over the buckets, then one u32 key/value pair per present bucket.
 * Only the pairs matter to a reader; the hashing is the writer's business.
 */
import type { CvReader } from '../codeview/cv-reader';

export interface HashTableEntry {
  key: number;
  value: number;
}

function readBitVector(r: CvReader, what: string): number[] {
  const at = r.offset;
  const words = r.u32();
  if (words > r.remaining / 4) r.fail(`${what} bit vector of ${words} words runs past the end`, at);
  const out: number[] = [];
  for (let i = 0; i < words; i++) out.push(r.u32());
  return out;
}

function setBits(words: readonly number[]): number[] {
  const bits: number[] = [];
  words.forEach((w, i) => {
    for (let b = 0; b < 32; b++) if ((w >>> b) & 1) bits.push(i * 32 + b);
  });
  return bits;
}

export function readHashTable(r: CvReader): HashTableEntry[] {
  const start = r.offset;
  const size = r.u32();
  const capacity = r.u32();
  if (capacity === 0 || size > capacity) r.fail(`hash table size ${size} with capacity ${capacity}`, start);
  const present = setBits(readBitVector(r, 'present'));
  const deleted = new Set(setBits(readBitVector(r, 'deleted')));
  if (present.length !== size) r.fail(`hash table says ${size} entries, present bits mark ${present.length}`, start);
  for (const bucket of present) {
    if (bucket >= capacity) r.fail(`present bucket ${bucket} beyond capacity ${capacity}`, start);
    if (deleted.has(bucket)) r.fail(`bucket ${bucket} is both present and deleted`, start);
  }
  const entries: HashTableEntry[] = [];
  for (let i = 0; i < present.length; i++) entries.push({ key: r.u32(), value: r.u32() });
  return entries;
}
