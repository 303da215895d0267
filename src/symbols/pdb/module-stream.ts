/**
 * A module's debug stream: signature 4 (C13), the module's symbol records,
 * legacy C11 lines (skipped), C13 subsections, then global references. The
 * sizes come from the module's DBI record, so they are checked against the
 * stream before anything is read.
 */
import { CvReader } from '../codeview/cv-reader';
import {
  DEBUG_S_FILECHKSMS,
  DEBUG_S_IGNORE,
  DEBUG_S_INLINEELINES,
  DEBUG_S_LINES,
  readFileChecksums,
  readInlineeLines,
  readLines,
  readSubsections,
} from './c13-subsections';
import type { FileChecksum, InlineeSourceLine, LinesSubsection, RawSubsection } from './c13-subsections';
import type { DbiModule } from './dbi-modules';
import { decodeSymbols, decodeSymbolsOfKinds } from './symbol-records';
import type { CvSymbol } from './symbol-records';
import { buildSymbolTree } from './symbol-scopes';
import type { SymbolTree } from './symbol-scopes';
import { streamPart } from './streams';

export const CV_SIGNATURE_C13 = 4;

export interface ModuleStream {
  module: DbiModule;
  streamIndex: number;
  part: string;
  symbols: CvSymbol[];
  subsections: RawSubsection[];
  lines: LinesSubsection[];
  /** Checksum entries by their offset in the checksum subsection. */
  checksums: Map<number, FileChecksum>;
  inlineeLines: InlineeSourceLine[];
  /** Subsections of kinds this reader does not decode. */
  otherSubsections: RawSubsection[];
  /** Lazily built scope tree of `symbols`. */
  tree(): SymbolTree;
}

export function modulePart(module: DbiModule, streamIndex: number): string {
  return streamPart(streamIndex, `module ${module.index} '${module.moduleName}'`);
}

/** The parts of a module stream laid out by its DBI record: symbols and C13 subsections. */
function moduleLayout(data: Uint8Array, module: DbiModule, part: string): { r: CvReader; symEnd: number; c13Start: number; c13End: number } {
  const r = new CvReader(data, 'PDB', part);
  const symEnd = module.symByteSize;
  const c13Start = symEnd + module.c11ByteSize;
  const c13End = c13Start + module.c13ByteSize;
  if (c13End > data.length) {
    r.fail(`module record says ${symEnd} symbol + ${module.c11ByteSize} C11 + ${module.c13ByteSize} C13 bytes, the stream has ${data.length}`, 0);
  }
  if (symEnd > 0) {
    const signature = r.u32();
    if (signature !== CV_SIGNATURE_C13) r.fail(`module stream signature ${signature}, expected ${CV_SIGNATURE_C13} (C13)`, 0);
  }
  return { r, symEnd, c13Start, c13End };
}

interface C13Parts {
  subsections: RawSubsection[];
  lines: LinesSubsection[];
  checksums: Map<number, FileChecksum>;
  inlineeLines: InlineeSourceLine[];
  otherSubsections: RawSubsection[];
}

function readC13(data: Uint8Array, part: string, c13Start: number, c13End: number, withInlinees: boolean): C13Parts {
  const subsections = readSubsections(new CvReader(data.subarray(c13Start, c13End), 'PDB', part, 0, c13Start));
  const lines: LinesSubsection[] = [];
  const checksums = new Map<number, FileChecksum>();
  const inlineeLines: InlineeSourceLine[] = [];
  const otherSubsections: RawSubsection[] = [];
  for (const sub of subsections) {
    if (sub.kind & DEBUG_S_IGNORE) continue;
    switch (sub.kind) {
      case DEBUG_S_LINES:
        lines.push(readLines(sub, 'PDB', part));
        break;
      case DEBUG_S_FILECHKSMS:
        for (const c of readFileChecksums(sub, 'PDB', part)) checksums.set(c.entryOffset, c);
        break;
      case DEBUG_S_INLINEELINES:
        if (withInlinees) for (const l of readInlineeLines(sub, 'PDB', part)) inlineeLines.push(l);
        break;
      default:
        otherSubsections.push(sub);
    }
  }
  return { subsections, lines, checksums, inlineeLines, otherSubsections };
}

export function readModuleStream(data: Uint8Array, module: DbiModule, streamIndex: number): ModuleStream {
  const part = modulePart(module, streamIndex);
  const { symEnd, c13Start, c13End } = moduleLayout(data, module, part);
  const symbols: CvSymbol[] = symEnd > 0 ? decodeSymbols(data, 'PDB', part, 4, symEnd) : [];
  const c13 = readC13(data, part, c13Start, c13End, true);
  let tree: SymbolTree | undefined;
  return {
    module,
    streamIndex,
    part,
    symbols,
    ...c13,
    tree: () => (tree ??= buildSymbolTree(symbols)),
  };
}

/** What a symbol table needs from a module: some of its symbols, its line tables and their files. */
export interface ModuleSummary {
  module: DbiModule;
  streamIndex: number;
  part: string;
  /** The records whose kind the reader asked for, in stream order. */
  symbols: CvSymbol[];
  lines: LinesSubsection[];
  checksums: Map<number, FileChecksum>;
}

/**
 * Reads a module stream for a symbol table: only the symbol kinds `want`
 * accepts are decoded (a procedure's locals and ranges are stepped over),
 * and inlinee lines are skipped. Layout checks are those of readModuleStream.
 */
export function readModuleSummary(data: Uint8Array, module: DbiModule, streamIndex: number, want: (kindValue: number) => boolean): ModuleSummary {
  const part = modulePart(module, streamIndex);
  const { symEnd, c13Start, c13End } = moduleLayout(data, module, part);
  const symbols = symEnd > 0 ? decodeSymbolsOfKinds(data, 'PDB', part, 4, symEnd, want) : [];
  const { lines, checksums } = readC13(data, part, c13Start, c13End, false);
  return { module, streamIndex, part, symbols, lines, checksums };
}
