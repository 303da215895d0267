/**
 * The globals stream: a GSI hash over the global records in the symbol record
 * stream (S_GDATA32, S_PROCREF, S_UDT, S_CONSTANT...). Procedure references
 * point at the full S_GPROC32 in a module's stream.
 */
import { CvReader } from '../codeview/cv-reader';
import { readGsiHash } from './gsi';
import type { GsiHash } from './gsi';
import type { CvSymbol } from './symbol-records';
import type { SymbolRecordStream } from './symbol-record-stream';
import { streamPart } from './streams';

export interface GlobalsStream {
  hash: GsiHash;
  /** Records in hash order, as llvm-pdbutil lists them. */
  symbols: CvSymbol[];
}

export function readGlobalsStream(data: Uint8Array, streamIndex: number, records: SymbolRecordStream): GlobalsStream {
  const r = new CvReader(data, 'PDB', streamPart(streamIndex, 'globals'));
  const hash = readGsiHash(r);
  return { hash, symbols: hash.records.map((h) => records.at(h.symOffset)) };
}
