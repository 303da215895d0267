/**
 * The TPI/IPI stream header (LLVM TpiStreamHeader, PDB streams 2 and 4): the
 * range of type indices the stream defines, where its records are, and where
 * the hash data lives in the separate hash stream.
 */
import { CvReader } from '../codeview/cv-reader';
import { FIRST_NON_SIMPLE_INDEX } from './simple-types';

/** Which of the two type streams: they share the format but not the index space. */
export type TypeStreamKind = 'TPI' | 'IPI';

/** Header versions (cvinfo/PDB "TPI impv" values); everything current is V80. */
export const TpiVersion = {
  V40: 19950410,
  V41: 19951122,
  V50: 19961031,
  V70: 19990903,
  V80: 20040203,
} as const;

/** Bytes of the fixed header; a larger header size leaves room for fields added later. */
export const TPI_HEADER_SIZE = 56;

/** MSF stream number meaning "no stream". */
export const NO_STREAM = 0xffff;

export interface StreamSlice {
  /** Offset inside the hash stream. */
  offset: number;
  length: number;
}

export interface TypeStreamHeader {
  version: number;
  headerSize: number;
  /** Index of the first record (normally 0x1000). */
  typeIndexBegin: number;
  /** One past the index of the last record. */
  typeIndexEnd: number;
  /** Bytes of type records following the header. */
  typeRecordBytes: number;
  /** MSF stream holding the hash values, index offsets and adjusters; NO_STREAM if none. */
  hashStreamIndex: number;
  hashAuxStreamIndex: number;
  /** Bytes per hash value (4 in every PDB LLVM or MSVC writes). */
  hashKeySize: number;
  numHashBuckets: number;
  hashValueBuffer: StreamSlice;
  /** (type index, record offset) pairs for seeking into the record data. */
  indexOffsetBuffer: StreamSlice;
  /** Hash table of name -> type index overrides used by the hash lookup. */
  hashAdjBuffer: StreamSlice;
}

export function readTypeStreamHeader(data: Uint8Array, stream: TypeStreamKind): TypeStreamHeader {
  const reader = new CvReader(data, 'PDB', `${stream} stream header`);
  const version = reader.u32();
  const headerSize = reader.u32();
  const typeIndexBegin = reader.u32();
  const typeIndexEnd = reader.u32();
  const typeRecordBytes = reader.u32();
  const hashStreamIndex = reader.u16();
  const hashAuxStreamIndex = reader.u16();
  const hashKeySize = reader.u32();
  const numHashBuckets = reader.u32();
  const slice = (): StreamSlice => {
    const offset = reader.i32();
    return { offset, length: reader.u32() };
  };
  const hashValueBuffer = slice();
  const indexOffsetBuffer = slice();
  const hashAdjBuffer = slice();

  if (headerSize < TPI_HEADER_SIZE) reader.fail(`header size ${headerSize} is below ${TPI_HEADER_SIZE}`, 4);
  if (headerSize > data.length) reader.fail(`header size ${headerSize} exceeds the ${data.length}-byte stream`, 4);
  if (typeIndexBegin < FIRST_NON_SIMPLE_INDEX) {
    reader.fail(`first type index 0x${typeIndexBegin.toString(16)} is a simple type`, 8);
  }
  if (typeIndexEnd < typeIndexBegin) {
    reader.fail(`type index end 0x${typeIndexEnd.toString(16)} precedes begin 0x${typeIndexBegin.toString(16)}`, 12);
  }
  if (typeRecordBytes > data.length - headerSize) {
    reader.fail(`${typeRecordBytes} bytes of records do not fit after the ${headerSize}-byte header`, 16);
  }
  // Every record takes at least 4 bytes; a larger count is corruption, and
  // checking here keeps a bad header from sizing any allocation.
  if (typeIndexEnd - typeIndexBegin > typeRecordBytes / 4) {
    reader.fail(`${typeIndexEnd - typeIndexBegin} records cannot fit in ${typeRecordBytes} bytes`, 12);
  }
  return {
    version,
    headerSize,
    typeIndexBegin,
    typeIndexEnd,
    typeRecordBytes,
    hashStreamIndex,
    hashAuxStreamIndex,
    hashKeySize,
    numHashBuckets,
    hashValueBuffer,
    indexOffsetBuffer,
    hashAdjBuffer,
  };
}
