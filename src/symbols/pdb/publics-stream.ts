/**
 * The publics stream: a GSI hash over the S_PUB32 records in the symbol record
 * stream, followed by an address map (record offsets sorted by address), a
 * thunk map and section offsets. Publics are the linker's names: every
 * external function and variable, including ones with no debug info.
 */
import { CvReader } from '../codeview/cv-reader';
import { readGsiHash } from './gsi';
import type { GsiHash } from './gsi';
import type { PublicSymbol } from './symbol-records';
import type { SymbolRecordStream } from './symbol-record-stream';
import { streamPart } from './streams';

export interface PublicsHeader {
  symHashBytes: number;
  addrMapBytes: number;
  numThunks: number;
  sizeOfThunk: number;
  thunkTableSection: number;
  thunkTableOffset: number;
  numSections: number;
}

export interface PublicsStream {
  header: PublicsHeader;
  hash: GsiHash;
  /** Records in hash order, as llvm-pdbutil lists them. */
  symbols: PublicSymbol[];
  /** Symbol record offsets in address order. */
  addressMap: number[];
  thunkMap: number[];
  sectionOffsets: { offset: number; section: number }[];
}

const PUBLICS_HEADER_SIZE = 28;

export function readPublicsStream(data: Uint8Array, streamIndex: number, records: SymbolRecordStream): PublicsStream {
  const part = streamPart(streamIndex, 'publics');
  const r = new CvReader(data, 'PDB', part);
  if (data.length < PUBLICS_HEADER_SIZE) r.fail(`publics stream of ${data.length} bytes is shorter than its header`, 0);
  const symHashBytes = r.u32();
  const addrMapBytes = r.u32();
  const numThunks = r.u32();
  const sizeOfThunk = r.u32();
  const thunkTableSection = r.u16();
  r.u16(); // padding
  const thunkTableOffset = r.u32();
  const numSections = r.u32();
  const header: PublicsHeader = { symHashBytes, addrMapBytes, numThunks, sizeOfThunk, thunkTableSection, thunkTableOffset, numSections };
  const hash = readGsiHash(r.sub(header.symHashBytes));
  const addrAt = r.offset;
  if (header.addrMapBytes % 4 !== 0) r.fail(`address map of ${header.addrMapBytes} bytes is not whole u32s`, 4);
  const addr = r.sub(header.addrMapBytes);
  const addressMap: number[] = [];
  while (!addr.atEnd) addressMap.push(addr.u32());
  if (header.numThunks > r.remaining / 4) r.fail(`${header.numThunks} thunks run past the end`, addrAt + header.addrMapBytes);
  const thunkMap: number[] = [];
  for (let i = 0; i < header.numThunks; i++) thunkMap.push(r.u32());
  if (header.numSections > r.remaining / 8) r.fail(`${header.numSections} section offsets run past the end`, r.offset);
  const sectionOffsets: { offset: number; section: number }[] = [];
  for (let i = 0; i < header.numSections; i++) {
    const offset = r.u32();
    const section = r.u16();
    r.u16();
    sectionOffsets.push({ offset, section });
  }
  const symbols: PublicSymbol[] = [];
  for (const h of hash.records) {
    const s = records.at(h.symOffset);
    if (s.kind === 'S_PUB32') symbols.push(s);
    else r.fail(`hash record points at a ${s.kind} record (offset ${h.symOffset}), expected S_PUB32`, 0);
  }
  return { header, hash, symbols, addressMap, thunkMap, sectionOffsets };
}
