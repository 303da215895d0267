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

/** Decodes a whole TPI (stream 2) or IPI (stream 4) stream from its bytes. */
export function decodeTypeStream(data: Uint8Array, stream: TypeStreamKind): TypeStream {
  const header = readTypeStreamHeader(data, stream);
  const recordData = data.subarray(header.headerSize, header.headerSize + header.typeRecordBytes);
  const count = header.typeIndexEnd - header.typeIndexBegin;
  const records: TypeRecord[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const index = header.typeIndexBegin + i;
    const part = recordPart(stream, index);
    const prefix = new CvReader(recordData, 'PDB', part, offset, -offset);
    const length = prefix.u16();
    // The length covers the kind, so anything shorter than 2 cannot be a record
    // (and a 0 would otherwise stall the walk).
    if (length < 2) prefix.fail(`record length ${length} is too short`, offset);
    if (length > prefix.remaining) prefix.fail(`record length ${length} runs past the end of the stream`, offset);
    const body = new CvReader(recordData.subarray(offset + 2, offset + 2 + length), 'PDB', part, 0, 2);
    const leaf = body.u16();
    const decoded = decodeTypeRecordBody(leaf, body.sub(length - 2));
    records.push({ ...decoded, index, leaf, offset, length });
    offset += 2 + length;
  }
  if (offset !== recordData.length) {
    new CvReader(recordData, 'PDB', `${stream} record data`).fail(
      `${recordData.length - offset} bytes follow the last of ${count} records`,
      offset,
    );
  }
  return { stream, header, records };
}
