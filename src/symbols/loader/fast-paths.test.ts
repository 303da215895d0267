/**
 * The loader reads large PDBs through faster paths in the readers: module
 * summaries (only the symbol kinds a symbol table needs, line tables read in
 * place and turned into rows on demand), and type tables that decode records
 * as they are asked for. Each must give what the complete, checked readers
 * give, on real PDBs and on damaged ones.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { SymbolFormatError } from '../format-error';
import { collectPdbSymbols, openPdb } from '../pdb';
import type { PdbFile } from '../pdb';
import { DEBUG_S_FILECHKSMS, DEBUG_S_IGNORE, DEBUG_S_LINES, HIDDEN_LINE_NUMBERS, readFileChecksums, readLines, readSubsections } from '../pdb/c13-subsections';
import { modulePart, readModuleSummary } from '../pdb/module-stream';
import { decodeSymbolAt, isProc } from '../pdb/symbol-records';
import { extraInput } from '../pdb/testing/inputs';
import { TypeTable } from '../tpi';
import { CvReader } from '../codeview/cv-reader';
import { typeInfoCallbacks } from './type-info';
import { stubFiles } from './testing/inputs';

const inputs: [string, () => string][] = [
  ['fixture', () => buildSymbolFixture().pdb],
  ['stub', () => stubFiles().pdb],
  ['extra', () => extraInput().pdb],
];

interface Row {
  rva: number;
  endRva: number;
  file: string;
  line: number;
  column?: number;
  isStatement: boolean;
}

/** A module's line rows the way the complete reader sees them: readLines, sorted, each ending at the next address. */
function referenceRows(pdb: PdbFile, moduleIndex: number): Row[][] {
  const stream = pdb.moduleStream(moduleIndex);
  if (!stream) return [];
  const tables: { start: number; rows: Row[] }[] = [];
  for (const t of stream.lines) {
    const start = pdb.rvaOf(t.relocSegment, t.relocOffset);
    if (start === undefined) continue;
    const rows: Row[] = [];
    for (const b of t.blocks) {
      const file = pdb.fileName(stream.checksums.get(b.fileChecksumOffset)!.fileNameOffset);
      for (const l of b.lines) {
        rows.push({
          rva: start + l.offset,
          endRva: 0,
          file,
          line: HIDDEN_LINE_NUMBERS.has(l.line) ? 0 : l.line,
          ...(l.startColumn !== undefined ? { column: l.startColumn } : {}),
          isStatement: l.isStatement,
        });
      }
    }
    rows.sort((a, b) => a.rva - b.rva);
    let next = start + t.codeSize;
    for (let i = rows.length - 1; i >= 0; i--) {
      rows[i]!.endRva = Math.max(rows[i]!.rva, next);
      if (i > 0 && rows[i - 1]!.rva !== rows[i]!.rva) next = rows[i]!.rva;
    }
    tables.push({ start, rows });
  }
  return tables.sort((a, b) => a.start - b.start).map((t) => t.rows);
}

describe.each(inputs)('fast paths on the %s PDB', (_name, pdbPath) => {
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = new Uint8Array(readFileSync(pdbPath()));
  });

  it('line tables: rows built on demand, and rows walked without building them, equal the complete reader', () => {
    const pdb = openPdb(bytes);
    const collected = collectPdbSymbols(pdb);
    expect(collected.problems).toEqual([]);
    let compared = 0;
    for (const m of collected.modules) {
      const expected = referenceRows(pdb, m.module.index);
      // Walked first (nothing built yet), then built.
      const walked = m.lineTables.map((t) => {
        const out: [number, number, number, boolean][] = [];
        t.forEachRow((rva, fileChecksumOffset, line, isStatement) => {
          out.push([rva, fileChecksumOffset, line, isStatement]);
        });
        return out;
      });
      const built = m.lineTables.map((t) => t.rows.map((r) => ({ ...r })));
      expect(built.map((rows) => rows.map(({ fileChecksumOffset: _omit, ...r }) => r))).toEqual(expected);
      expect(walked).toEqual(built.map((rows) => rows.map((r) => [r.rva, r.fileChecksumOffset, r.line, r.isStatement])));
      expect(m.lineTables.map((t) => t.rowCount)).toEqual(expected.map((rows) => rows.length));
      compared += expected.length;
    }
    expect(compared).toBeGreaterThan(3);
  });

  it('every symbol record decodes the same on the fast path and through the checked reader', () => {
    const pdb = openPdb(bytes);
    const kinds = new Set<string>();
    let compared = 0;
    for (const module of pdb.modules) {
      const summary = pdb.moduleSummary(module.index, () => true);
      if (!summary) continue;
      for (const s of summary.symbols) {
        expect(decodeSymbolAt(summary.data, s.recordOffset, 'PDB', summary.part, { fastPath: false })).toEqual(s);
        kinds.add(s.kind);
        compared++;
      }
    }
    // Not vacuous: the kinds the fast path handles were among them.
    expect([...kinds]).toEqual(expect.arrayContaining(['S_GPROC32', 'S_FRAMEPROC', 'S_LOCAL', 'S_DEFRANGE_REGISTER', 'S_END']));
    expect(compared).toBeGreaterThan(50);
  });

  it('procedures and compiler records equal what the complete module reader decodes', () => {
    const pdb = openPdb(bytes);
    const collected = collectPdbSymbols(pdb);
    let compared = 0;
    for (const m of collected.modules) {
      const all = pdb.moduleStream(m.module.index)!.symbols;
      const procs = all.filter(isProc).filter((s) => pdb.rvaOf(s.segment, s.offset) !== undefined);
      compared += procs.length;
      expect(m.procs.map((p) => ({ name: p.name, rva: p.rva, size: p.size, external: p.external }))).toEqual(
        procs.map((s) => ({ name: s.name, rva: pdb.rvaOf(s.segment, s.offset), size: s.codeSize, external: s.kind === 'S_GPROC32' || s.kind === 'S_GPROC32_ID' })),
      );
      expect(m.compile).toEqual(all.find((s) => s.kind === 'S_COMPILE3'));
    }
    expect(compared).toBeGreaterThan(0);
  });

  it('a lazy type table answers as the decoded one: records, sizes, definitions', () => {
    const pdb = openPdb(bytes);
    for (const [kind, data] of [['TPI', pdb.tpiStream], ['IPI', pdb.ipiStream]] as const) {
      if (!data || data.length === 0) continue;
      const eager = TypeTable.fromBytes(data, kind);
      const lazy = TypeTable.fromBytesLazy(data, kind);
      expect([lazy.begin, lazy.end]).toEqual([eager.begin, eager.end]);
      // Sizes and definitions first, while the lazy table has decoded little.
      for (let i = eager.begin; i < eager.end; i++) {
        expect([i, lazy.resolveForwardRef(i)]).toEqual([i, eager.resolveForwardRef(i)]);
        let eagerSize: number | string | undefined;
        let lazySize: number | string | undefined;
        try {
          eagerSize = eager.sizeOf(i);
        } catch (e) {
          eagerSize = (e as Error).message;
        }
        try {
          lazySize = lazy.sizeOf(i);
        } catch (e) {
          lazySize = (e as Error).message;
        }
        expect([i, lazySize]).toEqual([i, eagerSize]);
      }
      for (let i = eager.begin; i < eager.end; i++) expect(lazy.get(i)).toEqual(eager.get(i));
      expect(lazy.all()).toEqual(eager.all());
    }
  });

  it('module summaries give the complete reader’s line tables, or its error, for damaged line data', () => {
    const pdb = openPdb(bytes);
    const modules = pdb.modules.filter((m) => m.symbolStream !== undefined && m.c13ByteSize > 0);
    expect(modules.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(
        fc.nat({ max: 1000 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (which, flips) => {
          const m = modules[which % modules.length]!;
          const original = pdb.msf.stream(m.symbolStream!);
          const d = original.slice();
          const c13Start = m.symByteSize + m.c11ByteSize;
          // Damage the C13 part only: the symbols before it are the same for both readers.
          for (const [at, v] of flips) d[c13Start + Math.floor(at * m.c13ByteSize)] = v;
          const part = modulePart(m, m.symbolStream!);
          const outcome = (f: () => unknown[]): unknown => {
            try {
              return f();
            } catch (e) {
              if (!(e instanceof SymbolFormatError)) throw e;
              return e.message;
            }
          };
          // The complete reader, in the summary's order: framing first, then each line or checksum subsection.
          const complete = outcome(() =>
            readSubsections(new CvReader(d.subarray(c13Start, c13Start + m.c13ByteSize), 'PDB', part, 0, c13Start))
              .filter((s) => !(s.kind & DEBUG_S_IGNORE))
              .flatMap((s) => {
                if (s.kind === DEBUG_S_FILECHKSMS) readFileChecksums(s, 'PDB', part);
                return s.kind === DEBUG_S_LINES ? [readLines(s, 'PDB', part)] : [];
              })
              .map((t) => ({ reloc: [t.relocSegment, t.relocOffset, t.codeSize, t.flags], blocks: t.blocks.map((b) => [b.fileChecksumOffset, b.lines]) })),
          );
          const fast = outcome(() =>
            readModuleSummary(d, m, m.symbolStream!, () => false).lines.map((t) => ({
              reloc: [t.relocSegment, t.relocOffset, t.codeSize, t.flags],
              blocks: t.blocks.map((b) => [
                b.fileChecksumOffset,
                Array.from({ length: b.numLines }, (_, i) => {
                  const at = b.entriesAt + i * 8;
                  const word = (t.data[at + 4]! | (t.data[at + 5]! << 8) | (t.data[at + 6]! << 16) | (t.data[at + 7]! << 24)) >>> 0;
                  const entry: { offset: number; line: number; deltaLineEnd: number; isStatement: boolean; startColumn?: number; endColumn?: number } = {
                    offset: (t.data[at]! | (t.data[at + 1]! << 8) | (t.data[at + 2]! << 16) | (t.data[at + 3]! << 24)) >>> 0,
                    line: word & 0xffffff,
                    deltaLineEnd: (word >>> 24) & 0x7f,
                    isStatement: word >>> 31 === 1,
                  };
                  if (b.columnsAt >= 0) {
                    const c = b.columnsAt + i * 4;
                    entry.startColumn = t.data[c]! | (t.data[c + 1]! << 8);
                    entry.endColumn = t.data[c + 2]! | (t.data[c + 3]! << 8);
                  }
                  return entry;
                }),
              ]),
            })),
          );
          expect(fast).toEqual(complete);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('type information through the loader', () => {
  it('a damaged type record is a reported problem, not an exception', () => {
    const pdb = openPdb(new Uint8Array(readFileSync(stubFiles().pdb)));
    const tpi = pdb.tpiStream!.slice();
    // Every record claims to be an LF_ARRAY (element, index, size, name: 11
    // bytes at least), which the short ones cannot hold. The framing is intact.
    const problems: SymbolFormatError[] = [];
    const damaged = Object.create(pdb, { tpiStream: { get: () => tpi } }) as PdbFile;
    const headerSize = tpi[4]! | (tpi[5]! << 8);
    let records = 0;
    for (let at = headerSize; at + 4 <= tpi.length; records++) {
      const length = tpi[at]! | (tpi[at + 1]! << 8);
      tpi[at + 2] = 0x03;
      tpi[at + 3] = 0x15;
      at += 2 + length;
    }
    const { typeSize } = typeInfoCallbacks(damaged, (e) => problems.push(e));
    for (let i = 0x1000; i < 0x1000 + records; i++) expect(() => typeSize(i)).not.toThrow();
    expect(problems.length).toBe(1);
    expect(problems[0]!.message).toMatch(/^PDB: TPI record 0x/);
  });
});
