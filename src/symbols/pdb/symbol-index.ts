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

interface IndexedRow extends CollectedLineRow {
  moduleIndex: number;
  tableStart: number;
}

function lastAtOrBefore<T>(items: readonly T[], rva: number, key: (t: T) => number): number {
  let lo = 0;
  let hi = items.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (key(items[mid]!) <= rva) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
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
  private readonly rows: IndexedRow[];
  private readonly tables: CollectedLineTable[];
  private readonly byName = new Map<string, NameHit[]>();
  private readonly byShortName = new Map<string, NameHit[]>();
  private readonly rowsByFile = new Map<string, IndexedRow[]>();

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

    for (const f of [...this.procedures, ...this.publicFunctions]) {
      const hit: NameHit = { name: f.name, rva: f.rva, size: f.size, kind: 'function', ...(f.moduleIndex !== undefined ? { moduleIndex: f.moduleIndex } : {}) };
      this.addName(f.name, hit);
      if (f.decoratedName) this.addName(f.decoratedName, hit);
    }
    for (const d of collected.data) {
      const hit: NameHit = { name: d.name, rva: d.rva, size: 0, kind: 'data', ...(d.moduleIndex !== undefined ? { moduleIndex: d.moduleIndex } : {}) };
      this.addName(d.name, hit);
      if (d.decoratedName) this.addName(d.decoratedName, hit);
    }

    this.tables = collected.modules.flatMap((m) => m.lineTables).sort((a, b) => a.startRva - b.startRva);
    this.rows = collected.modules
      .flatMap((m) => m.lineTables)
      .flatMap((t) => t.rows.map((r) => ({ ...r, moduleIndex: t.moduleIndex, tableStart: t.startRva })))
      .sort((a, b) => a.rva - b.rva);
    for (const r of this.rows) {
      const list = this.rowsByFile.get(r.file);
      if (list) list.push(r);
      else this.rowsByFile.set(r.file, [r]);
    }
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
    add(this.byName, name);
    const sep = name.lastIndexOf('::');
    if (sep >= 0) add(this.byShortName, name.slice(sep + 2));
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
    let i = lastAtOrBefore(this.rows, rva, (r) => r.rva);
    // Several rows can share an address (a function's opening line, then its
    // first statement). As in LLVM's PDB reader, the address itself reports
    // the first of them and the bytes after it the last.
    if (i >= 0 && this.rows[i]!.rva === rva) while (i > 0 && this.rows[i - 1]!.rva === rva) i--;
    let r = i >= 0 ? this.rows[i] : undefined;
    if (!r || rva >= r.endRva) {
      // Code at the start of a line table before its first row (a prologue
      // the compiler gave no line) belongs to the first row, as LLVM reads it.
      const t = this.tables[lastAtOrBefore(this.tables, rva, (x) => x.startRva)];
      const first = t && rva < t.endRva ? t.rows[0] : undefined;
      if (!first || rva >= first.rva) return undefined;
      r = { ...first, moduleIndex: t!.moduleIndex, tableStart: t!.startRva };
    }
    if (r.line === 0) return undefined;
    return {
      file: r.file,
      line: r.line,
      ...(r.column !== undefined ? { column: r.column } : {}),
      rva: r.rva,
      endRva: r.endRva,
      moduleIndex: r.moduleIndex,
    };
  }

  /**
   * Functions and data named `name`: an undecorated qualified name
   * ('josgdb_fixture::scale', every overload), a decorated linker name
   * ('?scale@josgdb_fixture@@YAHH@Z'), or, when nothing has that exact name,
   * an unqualified name matching the last component ('scale').
   */
  lookupName(name: string): NameHit[] {
    const hits = this.byName.get(name) ?? (name.includes('::') ? undefined : this.byShortName.get(name)) ?? [];
    return [...hits].sort((a, b) => a.rva - b.rva);
  }

  /** Source files that have line rows, as the PDB spells them. */
  get files(): string[] {
    return [...this.rowsByFile.keys()];
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
    for (const f of matched) {
      const rows = (this.rowsByFile.get(f) ?? []).filter((r) => r.line >= line && r.line !== 0);
      if (rows.length === 0) continue;
      const best = rows.reduce((m, r) => Math.min(m, r.line), Number.POSITIVE_INFINITY);
      const lowestPerTable = new Map<number, number>();
      for (const r of rows) {
        if (r.line !== best) continue;
        const prev = lowestPerTable.get(r.tableStart);
        if (prev === undefined || r.rva < prev) lowestPerTable.set(r.tableStart, r.rva);
      }
      out.push({ file: f, line: best, rvas: [...new Set(lowestPerTable.values())].sort((a, b) => a - b) });
    }
    return out;
  }
}

export function buildSymbolIndex(pdb: PdbFile, options: SymbolIndexOptions = {}): SymbolIndex {
  return SymbolIndex.fromPdb(pdb, options);
}
