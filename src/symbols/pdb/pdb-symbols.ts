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
import type { LinesLayout } from './c13-subsections';
import type { DbiModule } from './dbi-modules';
import type { ModuleSummary } from './module-stream';
import type { PdbFile } from './pdb-file';
import { SectionFlags } from '../pe/sections';
import { S } from './symbol-kinds';
import { isProc } from './symbol-records';
import type { Compile3Symbol, CvSymbol } from './symbol-records';
import { partitionPoint } from '../../common/sorted';

export interface CollectedProc {
  /** Undecorated, qualified name as the compiler wrote it: 'josgdb_fixture::scale'. */
  name: string;
  /** The public (linker) name at the same address, when there is one: '?scale@josgdb_fixture@@YAHH@Z'. */
  decoratedName?: string;
  rva: number;
  size: number;
  external: boolean;
  moduleIndex: number;
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

/** Visits one line row; returning false stops the walk. */
export type LineRowVisitor = (rva: number, fileChecksumOffset: number, line: number, isStatement: boolean) => boolean | void;

/** One DEBUG_S_LINES table: a contiguous code range, usually one function. */
export interface CollectedLineTable {
  moduleIndex: number;
  startRva: number;
  endRva: number;
  /**
   * Sorted by rva; rows at equal addresses keep their stored order. Built from
   * the PDB's bytes on first access and kept: a large PDB has hundreds of
   * thousands of rows, and a symbol file writer needs them once, not as objects.
   */
  readonly rows: CollectedLineRow[];
  readonly rowCount: number;
  /** The rows in `rows` order (from `rows` once built, so changes to them count), without building them. */
  forEachRow(visit: LineRowVisitor): void;
}

/** Per block, four numbers in LineTable's packed block list. */
const BLOCK_FIELDS = 4;

/**
 * A line table over its checked DEBUG_S_LINES bytes. Kept small, since a
 * large image has tens of thousands: the module stream's bytes and file map
 * are shared, and each block is four numbers (file checksum offset, entry
 * count, and the stream offsets of its entries and columns).
 */
class LineTable implements CollectedLineTable {
  readonly #data: Uint8Array;
  readonly #blocks: number[];
  readonly #fileByOffset: ReadonlyMap<number, string>;
  /** Entries as (block, index) pairs in address order, when stored order is not address order. */
  #order: Uint32Array | undefined;
  #rows: CollectedLineRow[] | undefined;
  readonly rowCount: number;

  constructor(
    readonly moduleIndex: number,
    readonly startRva: number,
    readonly endRva: number,
    layout: LinesLayout,
    moduleData: Uint8Array,
    fileByOffset: ReadonlyMap<number, string>,
  ) {
    this.#data = moduleData;
    this.#fileByOffset = fileByOffset;
    this.rowCount = layout.lineCount;
    // Offsets into the module stream rather than the subsection's own view.
    const delta = layout.data.byteOffset - moduleData.byteOffset;
    const blocks = new Array<number>(layout.blocks.length * BLOCK_FIELDS);
    layout.blocks.forEach((b, i) => {
      blocks[i * BLOCK_FIELDS] = b.fileChecksumOffset;
      blocks[i * BLOCK_FIELDS + 1] = b.numLines;
      blocks[i * BLOCK_FIELDS + 2] = b.entriesAt + delta;
      blocks[i * BLOCK_FIELDS + 3] = b.columnsAt < 0 ? -1 : b.columnsAt + delta;
    });
    this.#blocks = blocks;
    let previous = -1;
    let sorted = true;
    this.forEachEntry((at) => {
      const offset = u32At(moduleData, at);
      if (offset < previous) sorted = false;
      previous = offset;
      return sorted;
    });
    if (!sorted) this.#order = this.sortedOrder();
  }

  /** Stable sort of (block, index) pairs by address. */
  private sortedOrder(): Uint32Array {
    const entries: { offset: number; block: number; index: number }[] = [];
    const blocks = this.#blocks;
    for (let b = 0; b < blocks.length; b += BLOCK_FIELDS) {
      for (let i = 0; i < blocks[b + 1]!; i++) entries.push({ offset: u32At(this.#data, blocks[b + 2]! + i * 8), block: b, index: i });
    }
    entries.sort((x, y) => x.offset - y.offset);
    const order = new Uint32Array(entries.length * 2);
    entries.forEach((e, k) => {
      order[2 * k] = e.block;
      order[2 * k + 1] = e.index;
    });
    return order;
  }

  /**
   * Visits entries in address order: `at` is the entry's offset in the module
   * stream, `block` the index of its block's first field, `i` its index in the block.
   */
  private forEachEntry(visit: (at: number, block: number, i: number) => boolean | void): void {
    const blocks = this.#blocks;
    const order = this.#order;
    if (order) {
      for (let k = 0; k < order.length; k += 2) {
        const b = order[k]!;
        const i = order[k + 1]!;
        if (visit(blocks[b + 2]! + i * 8, b, i) === false) return;
      }
      return;
    }
    for (let b = 0; b < blocks.length; b += BLOCK_FIELDS) {
      const n = blocks[b + 1]!;
      const entries = blocks[b + 2]!;
      for (let i = 0; i < n; i++) if (visit(entries + i * 8, b, i) === false) return;
    }
  }

  forEachRow(visit: LineRowVisitor): void {
    const rows = this.#rows;
    if (rows) {
      for (const r of rows) if (visit(r.rva, r.fileChecksumOffset, r.line, r.isStatement) === false) return;
      return;
    }
    const data = this.#data;
    const blocks = this.#blocks;
    this.forEachEntry((at, b) => {
      const word = u32At(data, at + 4);
      return visit(this.startRva + u32At(data, at), blocks[b]!, lineOf(word & 0xffffff), word >>> 31 === 1);
    });
  }

  get rows(): CollectedLineRow[] {
    if (this.#rows) return this.#rows;
    const data = this.#data;
    const blocks = this.#blocks;
    const rows: CollectedLineRow[] = [];
    // One object per row, its end filled in below; one shape per table (with or without columns).
    this.forEachEntry((at, b, i) => {
      const word = u32At(data, at + 4);
      const rva = this.startRva + u32At(data, at);
      const line = lineOf(word & 0xffffff);
      const isStatement = word >>> 31 === 1;
      const fileChecksumOffset = blocks[b]!;
      const file = this.#fileByOffset.get(fileChecksumOffset)!;
      const columns = blocks[b + 3]!;
      if (columns >= 0) {
        const column = data[columns + i * 4]! | (data[columns + i * 4 + 1]! << 8);
        rows.push({ rva, endRva: 0, fileChecksumOffset, file, line, column, isStatement });
      } else {
        rows.push({ rva, endRva: 0, fileChecksumOffset, file, line, isStatement });
      }
    });
    // Each row extends to the next greater address, so rows sharing an address share a range.
    let next = this.endRva;
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i]!;
      r.endRva = Math.max(r.rva, next);
      if (i > 0 && rows[i - 1]!.rva !== r.rva) next = r.rva;
    }
    this.#rows = rows;
    return rows;
  }
}

const u32At = (d: Uint8Array, at: number): number => (d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24)) >>> 0;

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
    for (const block of table.blocks) {
      if (!fileByOffset.has(block.fileChecksumOffset)) {
        throw new SymbolFormatError(
          { file: 'PDB', part: `${stream.part} DEBUG_S_LINES`, offset: 0 },
          `line block refers to file checksum offset ${block.fileChecksumOffset}, which the module's checksum table lacks`,
        );
      }
    }
    lineTables.push(new LineTable(module.index, startRva, startRva + table.codeSize, table, stream.data, fileByOffset));
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
    globals = pdb.readGlobalsOnce((kind) => kind === S.S_GDATA32 || kind === S.S_LDATA32) ?? [];
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
    publics = pdb.readPublicsOnce()?.symbols ?? [];
  } catch (e) {
    problems.push(asFormatError(e));
  }
  const executable = (segment: number): boolean => {
    const h = pdb.sectionHeaders[segment - 1];
    return h !== undefined && (h.characteristics & (SectionFlags.MEM_EXECUTE | SectionFlags.CNT_CODE)) !== 0;
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
  const nextStart = (rva: number): number => starts[partitionPoint(starts, (s) => s <= rva)] ?? Number.POSITIVE_INFINITY;
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
