/**
 * Walks the records of a TPI or IPI stream. Each record is a u16 length (of
 * what follows it), a u16 leaf kind and the body; its type index is its
 * position plus TypeIndexBegin, so the walk must account for every record,
 * known kind or not.
 */
import { CvReader } from '../codeview/cv-reader';
import { decodeTypeRecordBody, type TypeRecordBody } from './records';
import { readTypeStreamHeader, type TypeStreamHeader, type TypeStreamKind } from './stream-header';
import type { TypeIndex } from './simple-types';

export interface RecordPosition {
  index: TypeIndex;
  /** The leaf kind as stored. */
  leaf: number;
  /** Offset of the record's length field, from the start of the record data (as the index offset buffer counts). */
  offset: number;
  /** Bytes after the length field, as the record stores it (llvm-pdbutil prints this plus 2). */
  length: number;
}

export type TypeRecord = TypeRecordBody & RecordPosition;

export interface TypeStream {
  stream: TypeStreamKind;
  header: TypeStreamHeader;
  /** records[i] has index header.typeIndexBegin + i. */
  records: TypeRecord[];
}

/** 'TPI record 0x1003': the part name used in errors about one record. */
export function recordPart(stream: TypeStreamKind, index: TypeIndex): string {
  return `${stream} record 0x${index.toString(16).toUpperCase()}`;
}

/** A type stream's records located but not decoded: what a lazy reader needs. */
export interface TypeStreamLayout {
  stream: TypeStreamKind;
  header: TypeStreamHeader;
  /** The record data (after the header). */
  recordData: Uint8Array;
  /** offsets[i]: offset in recordData of record i's length field. */
  offsets: Uint32Array;
}

/**
 * Walks the record lengths of a TPI or IPI stream with the checks
 * `decodeTypeStream` makes on them (the same errors), decoding no record body.
 */
export function locateTypeRecords(
  data: Uint8Array,
  stream: TypeStreamKind,
  /** Called as each record is located (for decoding in stream order, errors in stream order). */
  onRecord?: (layout: TypeStreamLayout, i: number) => void,
): TypeStreamLayout {
  const header = readTypeStreamHeader(data, stream);
  const recordData = data.subarray(header.headerSize, header.headerSize + header.typeRecordBytes);
  const count = header.typeIndexEnd - header.typeIndexBegin;
  // Each record takes at least 4 bytes; a count the data cannot hold fails below, not in the allocation.
  const offsets = new Uint32Array(Math.min(count, Math.floor(recordData.length / 4) + 1));
  const layout: TypeStreamLayout = { stream, header, recordData, offsets };
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const remaining = recordData.length - offset;
    if (remaining < 2 || i >= offsets.length) {
      // Too short for a length field: the checked reader reports it as decodeTypeStream would.
      new CvReader(recordData, 'PDB', recordPart(stream, header.typeIndexBegin + i), offset, -offset).u16();
    }
    const length = recordData[offset]! | (recordData[offset + 1]! << 8);
    if (length < 2 || length > remaining - 2) {
      const prefix = new CvReader(recordData, 'PDB', recordPart(stream, header.typeIndexBegin + i), offset, -offset);
      prefix.u16();
      if (length < 2) prefix.fail(`record length ${length} is too short`, offset);
      prefix.fail(`record length ${length} runs past the end of the stream`, offset);
    }
    offsets[i] = offset;
    onRecord?.(layout, i);
    offset += 2 + length;
  }
  if (offset !== recordData.length) {
    new CvReader(recordData, 'PDB', `${stream} record data`).fail(
      `${recordData.length - offset} bytes follow the last of ${count} records`,
      offset,
    );
  }
  return layout;
}

/** The leaf kind of record `i` of a located stream, without decoding it. */
export function leafAt(layout: TypeStreamLayout, i: number): number {
  const at = layout.offsets[i]! + 2;
  return layout.recordData[at]! | (layout.recordData[at + 1]! << 8);
}

/** Decodes record `i` of a located stream, as `decodeTypeStream` decodes it. */
export function decodeTypeRecordAt(layout: TypeStreamLayout, i: number): TypeRecord {
  const { recordData, stream } = layout;
  const index = layout.header.typeIndexBegin + i;
  const offset = layout.offsets[i]!;
  const length = recordData[offset]! | (recordData[offset + 1]! << 8);
  const body = new CvReader(recordData.subarray(offset + 2, offset + 2 + length), 'PDB', recordPart(stream, index), 0, 2);
  const leaf = body.u16();
  const decoded = decodeTypeRecordBody(leaf, body.sub(length - 2));
  // Assigned, not spread: a literal that starts with a spread takes V8's slow
  // path, which costs microseconds per record on a large stream.
  return Object.assign(decoded, { index, leaf, offset, length }) as TypeRecord;
}

/** Decodes a whole TPI (stream 2) or IPI (stream 4) stream from its bytes. */
export function decodeTypeStream(data: Uint8Array, stream: TypeStreamKind): TypeStream {
  const records: TypeRecord[] = [];
  const layout = locateTypeRecords(data, stream, (l, i) => records.push(decodeTypeRecordAt(l, i)));
  return { stream, header: layout.header, records };
}
