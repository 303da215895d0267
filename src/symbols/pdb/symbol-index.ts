/**
 * Address and name lookups over one PDB, all in RVAs: which function holds an
 * address, which source line, where a name or a file:line lives. Built once
 * from the collected symbols; lookups are binary searches and map reads.
 */
import type { SymbolFormatError } from '../format-error';
import { checkPdbMatchesImage, PdbMismatchError } from './pdb-match';
import type { DebugIdentity } from './pdb-match';
import type { PdbFile } from './pdb-file';
import { collectPdbSymbols } from './pdb-symbols';
import type { CollectedLineRow, CollectedLineTable, CollectedSymbols } from './pdb-symbols';
import { partitionPoint } from '../../common/sorted';

export interface IndexedFunction {
  /** Undecorated, qualified name for procedures; the linker's name for public-only functions. */
  name: string;
  /** Decorated linker name, when it differs from `name`. */
  decoratedName?: string;
  rva: number;
  size: number;
  moduleIndex?: number;
  external: boolean;
  /** 'procedure': from module debug info; 'public': only the linker's public symbol (size inferred). */
  source: 'procedure' | 'public';
}

export interface FunctionHit {
  function: IndexedFunction;
  /** rva - function.rva */
  offset: number;
}

export interface LineHit {
  file: string;
  line: number;
  column?: number;
  /** Start of the row holding the address, and the first address after it. */
  rva: number;
  endRva: number;
  moduleIndex: number;
}

export interface NameHit {
  name: string;
  rva: number;
  size: number;
  kind: 'function' | 'data';
  moduleIndex?: number;
}

export interface LineLocation {
  file: string;
  /** The line used: the one asked for, or the next line with code when it has none. */
  line: number;
  /** Lowest address of the line in each function (line table) it occurs in, ascending. */
  rvas: number[];
}

export interface SymbolIndexOptions {
  /** The image's GUID and age from its debug directory; a mismatch throws PdbMismatchError. */
  image?: DebugIdentity;
}

/**
 * Every line row in address order, with the table each came from in a
 * parallel array (for its module and start), and row numbers per file: built
 * once, on the first line query, without copying the rows.
 */
interface LineIndex {
  tables: CollectedLineTable[];
  rows: CollectedLineRow[];
  rowTables: CollectedLineTable[];
  rowsByFile: Map<string, number[]>;
}

function buildLineIndex(collected: CollectedSymbols): LineIndex {
  const inOrder = collected.modules.flatMap((m) => m.lineTables);
  const tables = [...inOrder].sort((a, b) => a.startRva - b.startRva);
  const flatRows: CollectedLineRow[] = [];
  const flatTables: CollectedLineTable[] = [];
  for (const t of inOrder) {
    for (const r of t.rows) {
      flatRows.push(r);
      flatTables.push(t);
    }
  }
  // Stable by address: rows at one address keep module, table and stored order.
  const order = Array.from({ length: flatRows.length }, (_, i) => i);
  order.sort((a, b) => flatRows[a]!.rva - flatRows[b]!.rva || a - b);
  const rows = order.map((i) => flatRows[i]!);
  const rowTables = order.map((i) => flatTables[i]!);
  const rowsByFile = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const list = rowsByFile.get(r.file);
    if (list) list.push(i);
    else rowsByFile.set(r.file, [i]);
  });
  return { tables, rows, rowTables, rowsByFile };
}

function lastAtOrBefore<T>(items: readonly T[], rva: number, key: (t: T) => number): number {
  return partitionPoint(items, (t) => key(t) <= rva) - 1;
}

const normalizePath = (p: string): string => p.replace(/\\/g, '/');
const baseName = (p: string): string => {
  const n = normalizePath(p);
  return n.slice(n.lastIndexOf('/') + 1);
};

export class SymbolIndex {
  /** Procedures, sorted by rva. */
  readonly procedures: IndexedFunction[];
  /** Public-only functions, sorted by rva. */
  readonly publicFunctions: IndexedFunction[];
  readonly problems: readonly SymbolFormatError[];
  private lineIndex: LineIndex | undefined;
  private names: { byName: Map<string, NameHit[]>; byShortName: Map<string, NameHit[]> } | undefined;

  constructor(readonly collected: CollectedSymbols) {
    this.problems = collected.problems;
    this.procedures = collected.modules
      .flatMap((m) => m.procs)
      .map((p) => ({
        name: p.name,
        ...(p.decoratedName !== undefined && p.decoratedName !== p.name ? { decoratedName: p.decoratedName } : {}),
        rva: p.rva,
        size: p.size,
        moduleIndex: p.moduleIndex,
        external: p.external,
        source: 'procedure' as const,
      }))
      .sort((a, b) => a.rva - b.rva);
    this.publicFunctions = collected.publicFunctions.map((p) => ({
      name: p.name,
      rva: p.rva,
      size: p.size,
      ...(p.moduleIndex !== undefined ? { moduleIndex: p.moduleIndex } : {}),
      external: true,
      source: 'public' as const,
    }));
  }

  /** The line tables, indexed on first use: a symbol table that is only written out never pays for it. */
  private get lines(): LineIndex {
    return (this.lineIndex ??= buildLineIndex(this.collected));
  }

  /** Names of functions and data, indexed on first use. */
  private get nameMaps(): { byName: Map<string, NameHit[]>; byShortName: Map<string, NameHit[]> } {
    if (this.names) return this.names;
    const maps = { byName: new Map<string, NameHit[]>(), byShortName: new Map<string, NameHit[]>() };
    this.names = maps;
    for (const f of [...this.procedures, ...this.publicFunctions]) {
      const hit: NameHit = { name: f.name, rva: f.rva, size: f.size, kind: 'function', ...(f.moduleIndex !== undefined ? { moduleIndex: f.moduleIndex } : {}) };
      this.addName(f.name, hit);
      if (f.decoratedName) this.addName(f.decoratedName, hit);
    }
    for (const d of this.collected.data) {
      const hit: NameHit = { name: d.name, rva: d.rva, size: 0, kind: 'data', ...(d.moduleIndex !== undefined ? { moduleIndex: d.moduleIndex } : {}) };
      this.addName(d.name, hit);
      if (d.decoratedName) this.addName(d.decoratedName, hit);
    }
    return maps;
  }

  static fromPdb(pdb: PdbFile, options: SymbolIndexOptions = {}): SymbolIndex {
    if (options.image) {
      const match = checkPdbMatchesImage(options.image, { guid: pdb.info.guid, age: pdb.info.age, dbiAge: pdb.dbi.header.age });
      if (!match.matches) throw new PdbMismatchError(match);
    }
    return new SymbolIndex(collectPdbSymbols(pdb));
  }

  private addName(name: string, hit: NameHit): void {
    const add = (map: Map<string, NameHit[]>, key: string): void => {
      const list = map.get(key);
      if (!list) map.set(key, [hit]);
      else if (!list.some((h) => h.rva === hit.rva && h.kind === hit.kind)) list.push(hit);
    };
    add(this.names!.byName, name);
    const sep = name.lastIndexOf('::');
    if (sep >= 0) add(this.names!.byShortName, name.slice(sep + 2));
  }

  /** The function whose code holds `rva`. Procedures win over public-only functions. */
  functionAt(rva: number): FunctionHit | undefined {
    for (const list of [this.procedures, this.publicFunctions]) {
      const i = lastAtOrBefore(list, rva, (f) => f.rva);
      // Procedures do not overlap, but a zero-size one may sit just before a real one.
      for (let k = i; k >= 0 && k >= i - 1; k--) {
        const f = list[k]!;
        if (rva < f.rva + f.size || (f.size === 0 && rva === f.rva)) return { function: f, offset: rva - f.rva };
      }
    }
    return undefined;
  }

  /** The source line of `rva`; undefined outside line tables and for compiler-generated (hidden) rows. */
  lineAt(rva: number): LineHit | undefined {
    const { rows, rowTables, tables } = this.lines;
    let i = lastAtOrBefore(rows, rva, (r) => r.rva);
    // Several rows can share an address (a function's opening line, then its
    // first statement). As in LLVM's PDB reader, the address itself reports
    // the first of them and the bytes after it the last.
    if (i >= 0 && rows[i]!.rva === rva) while (i > 0 && rows[i - 1]!.rva === rva) i--;
    let r = i >= 0 ? rows[i] : undefined;
    let table = i >= 0 ? rowTables[i] : undefined;
    if (!r || rva >= r.endRva) {
      // Code at the start of a line table before its first row (a prologue
      // the compiler gave no line) belongs to the first row, as LLVM reads it.
      const t = tables[lastAtOrBefore(tables, rva, (x) => x.startRva)];
      const first = t && rva < t.endRva ? t.rows[0] : undefined;
      if (!first || rva >= first.rva) return undefined;
      r = first;
      table = t;
    }
    if (r.line === 0) return undefined;
    return {
      file: r.file,
      line: r.line,
      ...(r.column !== undefined ? { column: r.column } : {}),
      rva: r.rva,
      endRva: r.endRva,
      moduleIndex: table!.moduleIndex,
    };
  }

  /**
   * Functions and data named `name`: an undecorated qualified name
   * ('josgdb_fixture::scale', every overload), a decorated linker name
   * ('?scale@josgdb_fixture@@YAHH@Z'), or, when nothing has that exact name,
   * an unqualified name matching the last component ('scale').
   */
  lookupName(name: string): NameHit[] {
    const { byName, byShortName } = this.nameMaps;
    const hits = byName.get(name) ?? (name.includes('::') ? undefined : byShortName.get(name)) ?? [];
    return [...hits].sort((a, b) => a.rva - b.rva);
  }

  /** Source files that have line rows, as the PDB spells them. */
  get files(): string[] {
    return [...this.lines.rowsByFile.keys()];
  }

  /**
   * Addresses of `line` in files matching `file`: the same path, a path ending
   * in '/' + `file`, or (when neither matches) the same base name. Backslashes
   * count as slashes. A line with no code resolves to the next line that has
   * some, as a debugger setting a breakpoint would.
   */
  rvasForLine(file: string, line: number): LineLocation[] {
    const want = normalizePath(file);
    const all = this.files;
    let matched = all.filter((f) => {
      const n = normalizePath(f);
      return n === want || n.endsWith(`/${want.replace(/^\/+/, '')}`);
    });
    if (matched.length === 0) matched = all.filter((f) => baseName(f) === baseName(want));
    const out: LineLocation[] = [];
    const { rows: allRows, rowTables, rowsByFile } = this.lines;
    for (const f of matched) {
      const rows = (rowsByFile.get(f) ?? []).filter((i) => allRows[i]!.line >= line && allRows[i]!.line !== 0);
      if (rows.length === 0) continue;
      const best = rows.reduce((m, i) => Math.min(m, allRows[i]!.line), Number.POSITIVE_INFINITY);
      const lowestPerTable = new Map<number, number>();
      for (const i of rows) {
        const r = allRows[i]!;
        if (r.line !== best) continue;
        const tableStart = rowTables[i]!.startRva;
        const prev = lowestPerTable.get(tableStart);
        if (prev === undefined || r.rva < prev) lowestPerTable.set(tableStart, r.rva);
      }
      out.push({ file: f, line: best, rvas: [...new Set(lowestPerTable.values())].sort((a, b) => a - b) });
    }
    return out;
  }
}

export function buildSymbolIndex(pdb: PdbFile, options: SymbolIndexOptions = {}): SymbolIndex {
  return SymbolIndex.fromPdb(pdb, options);
}
