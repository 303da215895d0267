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
  scanLinesIn,
} from './c13-subsections';
import type { FileChecksum, InlineeSourceLine, LinesLayout, LinesSubsection, RawSubsection } from './c13-subsections';
import type { DbiModule } from './dbi-modules';
import { decodeSymbols, decodeSymbolsOfKinds, forEachSymbolOfKinds } from './symbol-records';
import type { CvSymbol } from './symbol-records';
import { buildSymbolTree } from './symbol-scopes';
import type { SymbolTree } from './symbol-scopes';
import { streamPart } from './streams';

export const CV_SIGNATURE_C13 = 4;

const u32At = (d: Uint8Array, at: number): number => (d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24)) >>> 0;

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

function readC13(data: Uint8Array, part: string, c13Start: number, c13End: number): C13Parts {
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
        for (const l of readInlineeLines(sub, 'PDB', part)) inlineeLines.push(l);
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
  const c13 = readC13(data, part, c13Start, c13End);
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
  /** DEBUG_S_LINES subsections, checked, their entries still in the stream's bytes. */
  lines: LinesLayout[];
  /** The module stream's bytes (each `lines[i].data` is a view into them). */
  data: Uint8Array;
  checksums: Map<number, FileChecksum>;
}

/**
 * Reads a module stream for a symbol table: only the symbol kinds `want`
 * accepts are decoded (a procedure's locals and ranges are stepped over),
 * line tables are checked but their entries not decoded, and inlinee lines
 * and other subsections are skipped. Layout checks are those of readModuleStream.
 */
export function readModuleSummary(data: Uint8Array, module: DbiModule, streamIndex: number, want: (kindValue: number) => boolean): ModuleSummary {
  const part = modulePart(module, streamIndex);
  const { symEnd, c13Start, c13End } = moduleLayout(data, module, part);
  const symbols = symEnd > 0 ? decodeSymbolsOfKinds(data, 'PDB', part, 4, symEnd, want) : [];
  // The subsection framing, walked in place (kind, header offset, length per
  // subsection); anything malformed goes to readSubsections for its error.
  const frames: number[] = [];
  for (let at = c13Start; at < c13End; ) {
    const kind = at + 8 <= c13End ? u32At(data, at) : 0;
    const length = at + 8 <= c13End ? u32At(data, at + 4) : 0;
    if (at + 8 > c13End || length > c13End - at - 8) {
      readSubsections(new CvReader(data.subarray(c13Start, c13End), 'PDB', part, 0, c13Start));
      break;
    }
    frames.push(kind, at, length);
    // Aligned as readSubsections aligns: to 4 from the start of the C13 data, at most to its end.
    const next = at + 8 + length;
    const rem = (next - c13Start) % 4;
    at = rem === 0 ? next : Math.min(c13End, next + 4 - rem);
  }
  const lines: LinesLayout[] = [];
  const checksums = new Map<number, FileChecksum>();
  for (let i = 0; i < frames.length; i += 3) {
    const kind = frames[i]!;
    const at = frames[i + 1]!;
    const length = frames[i + 2]!;
    if (kind & DEBUG_S_IGNORE) continue;
    if (kind === DEBUG_S_LINES) {
      lines.push(scanLinesIn(data, at + 8, length, at, 'PDB', part));
    } else if (kind === DEBUG_S_FILECHKSMS) {
      const sub: RawSubsection = { kind, offset: at, data: data.subarray(at + 8, at + 8 + length) };
      for (const c of readFileChecksums(sub, 'PDB', part)) checksums.set(c.entryOffset, c);
    }
  }
  return { module, streamIndex, part, symbols, lines, checksums, data };
}

/**
 * Hands the module's symbol records of the kinds `want` accepts to `visit`, in
 * stream order, one at a time (see forEachSymbolOfKinds); the stream layout is
 * checked as readModuleSummary checks it, the C13 subsections are not read.
 */
export function visitModuleSymbols(
  data: Uint8Array,
  module: DbiModule,
  streamIndex: number,
  want: (kindValue: number) => boolean,
  visit: (symbol: CvSymbol) => void,
): void {
  const part = modulePart(module, streamIndex);
  const { symEnd } = moduleLayout(data, module, part);
  if (symEnd > 0) forEachSymbolOfKinds(data, 'PDB', part, 4, symEnd, want, visit);
}
