/**
 * Gathers what the symbol index and the debug model both need from a PDB, with
 * every address resolved to an RVA: per module its procedures, line tables,
 * files, compiler and build-info records; publics with no procedure behind them;
 * data symbols from globals, module statics and publics. A module whose stream
 * is corrupt is recorded as a problem and skipped, so one bad object file does
 * not cost the symbols of all the others.
 */
import { SymbolFormatError } from '../format-error';
import { HIDDEN_LINE_NUMBERS } from './c13-subsections';
import type { DbiModule } from './dbi-modules';
import type { ModuleSummary } from './module-stream';
import type { PdbFile } from './pdb-file';
import { IMAGE_SCN_CNT_CODE, IMAGE_SCN_MEM_EXECUTE } from './section-headers';
import { S } from './symbol-kinds';
import { isProc } from './symbol-records';
import type { Compile3Symbol, CvSymbol, ProcSymbol } from './symbol-records';

export interface CollectedProc {
  /** Undecorated, qualified name as the compiler wrote it: 'josgdb_fixture::scale'. */
  name: string;
  /** The public (linker) name at the same address, when there is one: '?scale@josgdb_fixture@@YAHH@Z'. */
  decoratedName?: string;
  rva: number;
  size: number;
  external: boolean;
  moduleIndex: number;
  symbol: ProcSymbol;
}

export interface CollectedLineRow {
  rva: number;
  /** First address after the row: the next greater row address, or the end of its table. */
  endRva: number;
  /** Offset of the file in the module's checksum table. */
  fileChecksumOffset: number;
  file: string;
  /** 0 for MSVC's "hidden" line markers (0xFEEFEE, 0xF00F00). */
  line: number;
  column?: number;
  isStatement: boolean;
}

/** One DEBUG_S_LINES table: a contiguous code range, usually one function. */
export interface CollectedLineTable {
  moduleIndex: number;
  startRva: number;
  endRva: number;
  /** Sorted by rva; rows at equal addresses keep their stored order. */
  rows: CollectedLineRow[];
}

export interface CollectedModule {
  module: DbiModule;
  procs: CollectedProc[];
  lineTables: CollectedLineTable[];
  /** The module's files in checksum-table order. */
  files: { checksumOffset: number; name: string }[];
  compile?: Compile3Symbol;
  /** LF_BUILDINFO id from S_BUILDINFO, for resolving the build directory through the IPI stream. */
  buildInfoId?: number;
}

export interface CollectedPublicFunction {
  name: string;
  rva: number;
  /** Inferred: up to the next known function, the end of the linker contribution holding it, or its section. */
  size: number;
  /** Module whose section contribution holds the address, when known. */
  moduleIndex?: number;
}

export interface CollectedData {
  name: string;
  decoratedName?: string;
  rva: number;
  external: boolean;
  typeIndex?: number;
  moduleIndex?: number;
}

export interface CollectedSymbols {
  modules: CollectedModule[];
  publicFunctions: CollectedPublicFunction[];
  data: CollectedData[];
  problems: SymbolFormatError[];
}

const lineOf = (line: number): number => (HIDDEN_LINE_NUMBERS.has(line) ? 0 : line);

/** The module symbol kinds a symbol table uses; the rest (locals, ranges, frame data) are never decoded here. */
const MODULE_KINDS: ReadonlySet<number> = new Set([S.S_GPROC32, S.S_LPROC32, S.S_GPROC32_ID, S.S_LPROC32_ID, S.S_COMPILE3, S.S_BUILDINFO, S.S_GDATA32, S.S_LDATA32]);
const wantModuleKind = (kind: number): boolean => MODULE_KINDS.has(kind);

function collectModule(pdb: PdbFile, stream: ModuleSummary, data: CollectedData[]): CollectedModule {
  const module = stream.module;
  const procs: CollectedProc[] = [];
  let compile: Compile3Symbol | undefined;
  let buildInfoId: number | undefined;
  for (const s of stream.symbols) {
    if (isProc(s)) {
      const rva = pdb.rvaOf(s.segment, s.offset);
      if (rva === undefined) continue;
      procs.push({
        name: s.name,
        rva,
        size: s.codeSize,
        external: s.kind === 'S_GPROC32' || s.kind === 'S_GPROC32_ID',
        moduleIndex: module.index,
        symbol: s,
      });
    } else if (s.kind === 'S_COMPILE3') {
      compile ??= s;
    } else if (s.kind === 'S_BUILDINFO') {
      buildInfoId ??= s.buildId;
    } else if (s.kind === 'S_GDATA32' || s.kind === 'S_LDATA32') {
      const rva = pdb.rvaOf(s.segment, s.offset);
      if (rva !== undefined) {
        data.push({ name: s.name, rva, external: s.kind === 'S_GDATA32', typeIndex: s.typeIndex, moduleIndex: module.index });
      }
    }
  }
  const files = [...stream.checksums.values()]
    .sort((a, b) => a.entryOffset - b.entryOffset)
    .map((c) => ({ checksumOffset: c.entryOffset, name: pdb.fileName(c.fileNameOffset) }));
  const fileByOffset = new Map(files.map((f) => [f.checksumOffset, f.name]));

  const lineTables: CollectedLineTable[] = [];
  for (const table of stream.lines) {
    const startRva = pdb.rvaOf(table.relocSegment, table.relocOffset);
    if (startRva === undefined) continue;
    const endRva = startRva + table.codeSize;
    const rows: CollectedLineRow[] = [];
    for (const block of table.blocks) {
      const file = fileByOffset.get(block.fileChecksumOffset);
      if (file === undefined) {
        throw new SymbolFormatError(
          { file: 'PDB', part: `${stream.part} DEBUG_S_LINES`, offset: 0 },
          `line block refers to file checksum offset ${block.fileChecksumOffset}, which the module's checksum table lacks`,
        );
      }
      const fileChecksumOffset = block.fileChecksumOffset;
      // One object per row, its end filled in below; one shape per table (with or without columns).
      for (const l of block.lines) {
        const rva = startRva + l.offset;
        const line = lineOf(l.line);
        rows.push(
          l.startColumn !== undefined
            ? { rva, endRva: 0, fileChecksumOffset, file, line, column: l.startColumn, isStatement: l.isStatement }
            : { rva, endRva: 0, fileChecksumOffset, file, line, isStatement: l.isStatement },
        );
      }
    }
    // Array.prototype.sort is stable, so rows at one address keep stored order.
    rows.sort((a, b) => a.rva - b.rva);
    // Each row extends to the next greater address, so rows sharing an address share a range.
    let next = endRva;
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i]!;
      r.endRva = Math.max(r.rva, next);
      if (i > 0 && rows[i - 1]!.rva !== r.rva) next = r.rva;
    }
    lineTables.push({ moduleIndex: module.index, startRva, endRva, rows });
  }
  lineTables.sort((a, b) => a.startRva - b.startRva);
  return {
    module,
    procs,
    lineTables,
    files,
    ...(compile ? { compile } : {}),
    ...(buildInfoId !== undefined ? { buildInfoId } : {}),
  };
}

function asFormatError(e: unknown): SymbolFormatError {
  if (e instanceof SymbolFormatError) return e;
  throw e;
}

interface Span {
  start: number;
  end: number;
  moduleIndex?: number;
}

/** Linker contributions and sections as RVA spans, for bounding public-only functions. */
function codeSpans(pdb: PdbFile): { contributions: Span[]; sections: Span[] } {
  const contributions: Span[] = [];
  for (const c of pdb.dbi.sectionContributions) {
    const start = pdb.rvaOf(c.section, c.offset);
    if (start !== undefined && c.size > 0) contributions.push({ start, end: start + c.size, moduleIndex: c.moduleIndex });
  }
  contributions.sort((a, b) => a.start - b.start);
  const sections = pdb.sectionHeaders.map((h) => ({ start: h.virtualAddress, end: h.virtualAddress + h.virtualSize }));
  return { contributions, sections };
}

const containing = (spans: readonly Span[], rva: number): Span | undefined => spans.find((s) => rva >= s.start && rva < s.end);

export function collectPdbSymbols(pdb: PdbFile): CollectedSymbols {
  const problems: SymbolFormatError[] = [];
  const modules: CollectedModule[] = [];
  const moduleData: CollectedData[] = [];
  for (const module of pdb.modules) {
    try {
      const stream = pdb.moduleSummary(module.index, wantModuleKind);
      if (stream) modules.push(collectModule(pdb, stream, moduleData));
    } catch (e) {
      problems.push(asFormatError(e));
    }
  }

  const procsByRva = new Map<number, CollectedProc>();
  for (const m of modules) for (const p of m.procs) if (!procsByRva.has(p.rva)) procsByRva.set(p.rva, p);

  const data: CollectedData[] = [];
  const dataKeys = new Set<string>();
  const addData = (d: CollectedData): void => {
    const key = `${d.rva}:${d.name}`;
    if (!dataKeys.has(key)) {
      dataKeys.add(key);
      data.push(d);
    }
  };

  let globals: CvSymbol[] = [];
  try {
    globals = pdb.globals?.symbols ?? [];
  } catch (e) {
    problems.push(asFormatError(e));
  }
  for (const g of globals) {
    if (g.kind !== 'S_GDATA32' && g.kind !== 'S_LDATA32') continue;
    const rva = pdb.rvaOf(g.segment, g.offset);
    if (rva !== undefined) addData({ name: g.name, rva, external: g.kind === 'S_GDATA32', typeIndex: g.typeIndex });
  }
  moduleData.forEach(addData);

  const publicCandidates: { name: string; rva: number }[] = [];
  let publics: CvSymbol[] = [];
  try {
    publics = pdb.publics?.symbols ?? [];
  } catch (e) {
    problems.push(asFormatError(e));
  }
  const executable = (segment: number): boolean => {
    const h = pdb.sectionHeaders[segment - 1];
    return h !== undefined && (h.characteristics & (IMAGE_SCN_MEM_EXECUTE | IMAGE_SCN_CNT_CODE)) !== 0;
  };
  const dataByRva = new Map<number, CollectedData>();
  for (const d of data) if (!dataByRva.has(d.rva)) dataByRva.set(d.rva, d);
  for (const p of publics) {
    if (p.kind !== 'S_PUB32') continue;
    const rva = pdb.rvaOf(p.segment, p.offset);
    if (rva === undefined) continue;
    if (p.isFunction || p.isCode || executable(p.segment)) {
      const proc = procsByRva.get(rva);
      if (proc) proc.decoratedName ??= p.name;
      else publicCandidates.push({ name: p.name, rva });
    } else {
      const known = dataByRva.get(rva);
      if (known && known.decoratedName === undefined && known.name !== p.name) known.decoratedName = p.name;
      else if (!known) addData({ name: p.name, rva, external: true });
    }
  }

  const { contributions, sections } = codeSpans(pdb);
  const starts = [...new Set([...procsByRva.keys(), ...publicCandidates.map((p) => p.rva)])].sort((a, b) => a - b);
  const nextStart = (rva: number): number => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= rva) lo = mid + 1;
      else hi = mid;
    }
    return starts[lo] ?? Number.POSITIVE_INFINITY;
  };
  const seen = new Set<string>();
  const publicFunctions: CollectedPublicFunction[] = [];
  for (const p of publicCandidates.sort((a, b) => a.rva - b.rva)) {
    const key = `${p.rva}:${p.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const contribution = containing(contributions, p.rva);
    const section = containing(sections, p.rva);
    const end = Math.min(nextStart(p.rva), contribution?.end ?? Number.POSITIVE_INFINITY, section?.end ?? Number.POSITIVE_INFINITY);
    publicFunctions.push({
      name: p.name,
      rva: p.rva,
      size: Number.isFinite(end) ? end - p.rva : 0,
      ...(contribution?.moduleIndex !== undefined ? { moduleIndex: contribution.moduleIndex } : {}),
    });
  }
  return { modules, publicFunctions, data, problems };
}
