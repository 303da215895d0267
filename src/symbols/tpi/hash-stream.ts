/**
 * The TPI/IPI hash stream (its MSF stream number is in the type stream
 * header): a hash bucket per record, (index, offset) pairs for seeking, and
 * the adjuster table that pins a name to one of several records sharing a hash.
 */
import { CvReader } from '../codeview/cv-reader';
import type { TypeIndex } from './simple-types';
import type { StreamSlice, TypeStreamHeader, TypeStreamKind } from './stream-header';

export interface IndexOffset {
  index: TypeIndex;
  /** Offset of that record in the stream's record data. */
  offset: number;
}

export interface HashAdjuster {
  /** Offset of the name in the PDB /names string table. */
  nameOffset: number;
  index: TypeIndex;
}

export interface TypeHashes {
  /** Bucket number of each record, in record order. */
  hashValues: number[];
  indexOffsets: IndexOffset[];
  adjusters: HashAdjuster[];
}

function sliceOf(data: Uint8Array, slice: StreamSlice, file: string, part: string): CvReader {
  const outer = new CvReader(data, file, part);
  if (slice.offset < 0 || slice.offset > data.length || slice.length > data.length - slice.offset) {
    outer.fail(`${slice.length} bytes at ${slice.offset} lie outside the ${data.length}-byte hash stream`, 0);
  }
  outer.seek(slice.offset);
  return outer.sub(slice.length);
}

/**
 * LLVM's serialized HashTable: size, capacity, a bit vector of present
 * buckets, one of deleted buckets, then a (key, value) pair per present
 * bucket. Only the set bits are walked, so a huge claimed capacity costs nothing.
 */
function readAdjusters(reader: CvReader): HashAdjuster[] {
  if (reader.length === 0) return [];
  const size = reader.u32();
  const capacity = reader.u32();
  const readBits = (): number[] => {
    const words = reader.u32();
    if (words * 4 > reader.remaining) reader.fail(`bit vector of ${words} words does not fit`);
    const set: number[] = [];
    for (let w = 0; w < words; w++) {
      const word = reader.u32();
      for (let b = 0; b < 32; b++) if ((word >>> b) & 1) set.push(w * 32 + b);
    }
    return set;
  };
  const present = readBits();
  readBits();
  if (present.length !== size) reader.fail(`hash table claims ${size} entries but marks ${present.length} present`);
  if (present.length > 0 && present[present.length - 1]! >= capacity) {
    reader.fail(`bucket ${present[present.length - 1]} is beyond the capacity ${capacity}`);
  }
  if (size * 8 > reader.remaining) reader.fail(`${size} entries do not fit in ${reader.remaining} bytes`);
  const adjusters: HashAdjuster[] = [];
  for (let i = 0; i < size; i++) {
    const nameOffset = reader.u32();
    adjusters.push({ nameOffset, index: reader.u32() });
  }
  return adjusters;
}

/** Decodes the hash stream that `header` points at. */
export function decodeTypeHashes(hashStream: Uint8Array, header: TypeStreamHeader, stream: TypeStreamKind): TypeHashes {
  const part = `${stream} hash stream`;
  const values = sliceOf(hashStream, header.hashValueBuffer, 'PDB', `${part} hash values`);
  if (header.hashKeySize !== 4) values.fail(`hash key size ${header.hashKeySize} is not 4`, 0);
  if (values.length % 4 !== 0) values.fail(`hash value buffer length ${values.length} is not a multiple of 4`, 0);
  const hashValues: number[] = [];
  while (!values.atEnd) hashValues.push(values.u32());

  const offsets = sliceOf(hashStream, header.indexOffsetBuffer, 'PDB', `${part} index offsets`);
  if (offsets.length % 8 !== 0) offsets.fail(`index offset buffer length ${offsets.length} is not a multiple of 8`, 0);
  const indexOffsets: IndexOffset[] = [];
  while (!offsets.atEnd) {
    const index = offsets.u32();
    indexOffsets.push({ index, offset: offsets.u32() });
  }

  const adjusters = readAdjusters(sliceOf(hashStream, header.hashAdjBuffer, 'PDB', `${part} adjusters`));
  return { hashValues, indexOffsets, adjusters };
}
