/**
 * Builds the format-neutral DebugModel (the seam to the DWARF writer) from a
 * PDB: one compile unit per module with debug info, its files, functions and
 * line sequences; public-only functions; data symbols. Types live in the
 * TPI/IPI streams, which another reader decodes, so anything that needs them
 * (data sizes, the build directory) comes in through optional callbacks.
 */
import type { DebugModel, ModelCompileUnit, ModelDataSymbol, ModelFunction, ModelLineRow, ModelLineSequence, ModelSection } from '../debug-model';
import type { SymbolFormatError } from '../format-error';
import type { PdbFile } from './pdb-file';
import { collectPdbSymbols } from './pdb-symbols';
import type { CollectedLineTable, CollectedModule, CollectedSymbols } from './pdb-symbols';
import { isExecutable, isWritable } from '../pe/sections';
import { CV_LANG_C, CV_LANG_CXX, CV_LANG_MASM } from './symbol-records';
import { partitionPoint } from '../../common/sorted';

export interface BuildInfo {
  /** Working directory of the compile. */
  compDir?: string;
  /** Primary source file of the compile. */
  sourceFile?: string;
}

export interface DebugModelOptions {
  imageName: string;
  /** PE SizeOfImage; defaults to the end of the last section, rounded up to 4 KiB. */
  imageSize?: number;
  /** Resolves an S_BUILDINFO id through the IPI stream (LF_BUILDINFO). */
  buildInfo?: (buildInfoId: number) => BuildInfo | undefined;
  /** Size in bytes of a TPI type, for data symbol sizes. */
  typeSize?: (typeIndex: number) => number | undefined;
}

export interface DebugModelResult {
  model: DebugModel;
  /** Modules skipped because their streams were malformed. */
  problems: readonly SymbolFormatError[];
}

const stem = (p: string): string => {
  const n = p.replace(/\\/g, '/');
  return n.slice(n.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '').toLowerCase();
};

function language(m: CollectedModule): ModelCompileUnit['language'] {
  switch (m.compile?.language) {
    case CV_LANG_C:
      return 'c';
    case CV_LANG_CXX:
      return 'c++';
    case CV_LANG_MASM:
      return 'asm';
    default:
      return 'other';
  }
}

function compileUnit(m: CollectedModule, options: DebugModelOptions): ModelCompileUnit {
  const files = m.files.map((f) => f.name);
  const fileIndex = new Map(m.files.map((f, i) => [f.checksumOffset, i]));
  const info = m.buildInfoId !== undefined ? options.buildInfo?.(m.buildInfoId) : undefined;
  // The object's own source is the file named like the object; the first
  // checksum entry is the usual fallback (headers come later in clang's and
  // MSVC's tables).
  const objStem = stem(m.module.objFileName || m.module.moduleName);
  const name = info?.sourceFile ?? files.find((f) => stem(f) === objStem) ?? files[0] ?? m.module.moduleName;

  // clang never sets CodeView's statement bit, which does not mean that no
  // row is a statement: a module that sets it on no row does not use it, and
  // its rows are all taken as statements (what a debugger needs to place
  // breakpoints). A module that sets it on some rows is taken at its word.
  const usesStatementFlag = m.lineTables.some((t) => {
    let any = false;
    t.forEachRow((_rva, _file, _line, isStatement) => {
      if (isStatement) any = true;
      return !any;
    });
    return any;
  });
  const lineSequences: ModelLineSequence[] = [];
  for (const t of m.lineTables) {
    // The model promises rows inside their sequence; a malformed table's stray rows are dropped.
    const rows: ModelLineRow[] = [];
    let lastOffset = -1;
    let lastFile = 0;
    t.forEachRow((rva, fileChecksumOffset, line, isStatement) => {
      if (rva < t.startRva || rva >= t.endRva) return;
      // Rows of a block share their file: look it up once per run.
      if (fileChecksumOffset !== lastOffset) {
        lastOffset = fileChecksumOffset;
        lastFile = fileIndex.get(fileChecksumOffset)!;
      }
      rows.push({ rva, file: lastFile, line, isStatement: usesStatementFlag ? isStatement : true });
    });
    // A copy of exactly its length: an array grown by push keeps spare room (17 slots at first, then half again).
    if (rows.length > 0) lineSequences.push({ startRva: t.startRva, endRva: t.endRva, rows: rows.slice() });
  }

  // The first table (in their start order) holding a procedure's address, as
  // a linear `find` would give it, by two binary searches: the last table
  // starting at or before the address, and the first whose running maximum
  // end passes it (tables overlap only in malformed input).
  const tables = m.lineTables;
  const maxEnd: number[] = [];
  for (const t of tables) maxEnd.push(Math.max(t.endRva, maxEnd[maxEnd.length - 1] ?? -Infinity));
  const tableHolding = (rva: number): CollectedLineTable | undefined => {
    const lastStart = partitionPoint(tables, (t) => t.startRva <= rva) - 1;
    const firstEndingAfter = partitionPoint(maxEnd, (end) => end <= rva);
    return firstEndingAfter <= lastStart ? tables[firstEndingAfter] : undefined;
  };

  const functions: ModelFunction[] = m.procs.map((p) => {
    const table = tableHolding(p.rva);
    let first: { fileChecksumOffset: number; line: number } | undefined;
    table?.forEachRow((rva, fileChecksumOffset, line) => {
      if (rva < p.rva || line === 0) return true;
      first = { fileChecksumOffset, line };
      return false;
    });
    return {
      name: p.name,
      rva: p.rva,
      size: p.size,
      ...(first ? { declFile: fileIndex.get(first.fileChecksumOffset)!, declLine: first.line } : {}),
      external: p.external,
    };
  });
  functions.sort((a, b) => a.rva - b.rva);

  return {
    name,
    ...(info?.compDir !== undefined ? { compDir: info.compDir } : {}),
    ...(m.compile ? { producer: m.compile.version } : {}),
    language: language(m),
    files,
    functions,
    lineSequences,
  };
}

export function buildDebugModelFrom(pdb: PdbFile, collected: CollectedSymbols, options: DebugModelOptions): DebugModel {
  const sections: ModelSection[] = pdb.sectionHeaders.map((h) => ({
    name: h.name,
    rva: h.virtualAddress,
    size: h.virtualSize,
    executable: isExecutable(h),
    writable: isWritable(h),
  }));
  const end = sections.reduce((m, s) => Math.max(m, s.rva + s.size), 0);
  const compileUnits = collected.modules
    .filter((m) => m.procs.length > 0 || m.lineTables.length > 0)
    .map((m) => compileUnit(m, options));
  const publicFunctions: ModelFunction[] = collected.publicFunctions.map((p) => ({ name: p.name, rva: p.rva, size: p.size, external: true }));
  const dataSymbols: ModelDataSymbol[] = collected.data
    .map((d) => ({
      name: d.name,
      rva: d.rva,
      size: (d.typeIndex !== undefined ? options.typeSize?.(d.typeIndex) : undefined) ?? 0,
      external: d.external,
    }))
    .sort((a, b) => a.rva - b.rva);
  return {
    imageName: options.imageName,
    imageSize: options.imageSize ?? Math.ceil(end / 0x1000) * 0x1000,
    sections,
    compileUnits,
    publicFunctions,
    dataSymbols,
  };
}

export function buildDebugModel(pdb: PdbFile, options: DebugModelOptions): DebugModelResult {
  const collected = collectPdbSymbols(pdb);
  return { model: buildDebugModelFrom(pdb, collected, options), problems: collected.problems };
}
