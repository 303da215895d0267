/**
 * The symbol index and the debug model against LLVM: address -> function and
 * address -> line against llvm-symbolizer on the image; names, line tables
 * and addresses against llvm-pdbutil's dump of the same PDB.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { isJosgdbError } from '../../common/errors';
import { buildDebugModel, buildDebugModelFrom } from './debug-model-builder';
import { openPdb } from './pdb-file';
import type { PdbFile } from './pdb-file';
import { checkPdbMatchesImage, PdbMismatchError } from './pdb-match';
import { collectPdbSymbols } from './pdb-symbols';
import { SymbolIndex } from './symbol-index';
import { extraInput, fixtureInputFrom, stubInput } from './testing/inputs';
import type { PdbInput } from './testing/inputs';
import { dumpSections, parseLines, parseModules, parseRecords, parseSectionHeaders, pdbutil, section } from './testing/pdbutil';
import type { PdbutilLineBlock, PdbutilRecord, PdbutilSectionHeader } from './testing/pdbutil';

const fixtureInput = (): PdbInput => fixtureInputFrom(buildSymbolFixture);

interface Symbolized {
  function: string;
  file: string;
  line: number;
}

/** llvm-symbolizer's answers for RVAs, outermost frame only (the PDB's line tables ignore inlining). */
function symbolize(image: string, rvas: number[]): Symbolized[] {
  const out = execFileSync('llvm-symbolizer', [`--obj=${image}`, '--relative-address', '--no-inlines'], {
    input: rvas.map((r) => `0x${r.toString(16)}`).join('\n'),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const blocks = out.trim().split(/\n\s*\n/);
  expect(blocks).toHaveLength(rvas.length);
  return blocks.map((b) => {
    const [fn, loc] = b.split('\n') as [string, string];
    const m = /^(.*):(\d+):\d+$/.exec(loc)!;
    return { function: fn, file: m[1]!, line: Number(m[2]) };
  });
}

/** The image's RSDS GUID and age, as llvm-readobj reports them. */
function imageIdentity(image: string): { guid: string; age: number } {
  const text = execFileSync('llvm-readobj', ['--coff-debug-directory', image], { encoding: 'utf8' });
  const b = /PDBGUID: \(([0-9A-F ]+)\)/.exec(text)![1]!.split(' ');
  const le = (bytes: string[]): string => [...bytes].reverse().join('');
  const guid = `${le(b.slice(0, 4))}-${le(b.slice(4, 6))}-${le(b.slice(6, 8))}-${b.slice(8, 10).join('')}-${b.slice(10).join('')}`;
  return { guid, age: Number(/PDBAge: (\d+)/.exec(text)![1]) };
}

interface Oracle {
  headers: PdbutilSectionHeader[];
  publics: PdbutilRecord[];
  globals: PdbutilRecord[];
  symbols: Map<number, PdbutilRecord[]>;
  lines: Map<number, PdbutilLineBlock[]>;
}

function oracle(pdbPath: string): Oracle {
  const d = dumpSections(pdbutil(['dump', '--modules', '--publics', '--globals', '--symbols', '-l', '--section-headers', pdbPath]));
  const lines = parseLines(section(d, 'Lines'));
  // LLVM 14 repeats the previous module's line tables for a module without a debug stream.
  for (const m of parseModules(section(d, 'Modules'))) if (m.debugStream === 0xffff) lines.delete(m.index);
  return {
    headers: parseSectionHeaders(section(d, 'Section Headers')),
    publics: parseRecords(section(d, 'Public Symbols')).get(-1) ?? [],
    globals: parseRecords(section(d, 'Global Symbols')).get(-1) ?? [],
    symbols: parseRecords(section(d, 'Symbols')),
    lines,
  };
}

const ADDR = /addr = (\d+):(\d+)/;

function rvaFrom(o: Oracle, text: string): number | undefined {
  const m = ADDR.exec(text);
  if (!m) return undefined;
  return o.headers[Number(m[1]) - 1]!.virtualAddress + Number(m[2]);
}

interface OracleProc {
  name: string;
  rva: number;
  size: number;
  module: number;
}

function oracleProcs(o: Oracle): OracleProc[] {
  const out: OracleProc[] = [];
  for (const [module, records] of o.symbols) {
    for (const r of records) {
      if (!/^S_[GL]PROC32(_ID)?$/.test(r.kind)) continue;
      const rva = rvaFrom(o, r.details)!;
      out.push({ name: r.name!, rva, size: Number(/code size = (\d+)/.exec(r.details)![1]), module });
    }
  }
  return out.sort((a, b) => a.rva - b.rva);
}

describe.each([
  ['fixture', fixtureInput],
  ['stub', stubInput],
  ['extra', extraInput],
])('symbol index of the %s image', (_name, input: () => PdbInput) => {
  let files: PdbInput;
  let pdb: PdbFile;
  let index: SymbolIndex;
  let o: Oracle;
  beforeAll(() => {
    files = input();
    pdb = openPdb(readFileSync(files.pdb));
    index = SymbolIndex.fromPdb(pdb, { image: imageIdentity(files.image!) });
    o = oracle(files.pdb);
  });

  it('has no problems and turns segment:offset into the section header RVA', () => {
    expect(index.problems).toEqual([]);
    for (const p of o.publics) {
      const m = ADDR.exec(p.details)!;
      expect(pdb.rvaOf(Number(m[1]), Number(m[2]))).toBe(rvaFrom(o, p.details));
    }
    expect(pdb.rvaOf(0, 16)).toBeUndefined();
    expect(pdb.rvaOf(o.headers.length + 1, 0)).toBeUndefined();
  });

  it('answers address -> function and address -> line as llvm-symbolizer does', () => {
    const procs = oracleProcs(o);
    expect(index.procedures.map((p) => [p.name, p.rva, p.size])).toEqual(procs.map((p) => [p.name, p.rva, p.size]));
    const rowRvas = [...o.lines.entries()].flatMap(([, blocks]) =>
      blocks.flatMap((b) => b.entries.map((e) => o.headers[b.segment - 1]!.virtualAddress + e.offset)),
    );
    // Every procedure's first, second and last byte, and every line row's first and second byte.
    const sample = [...new Set([...procs.flatMap((p) => [p.rva, p.rva + 1, p.rva + p.size - 1]), ...rowRvas.flatMap((r) => [r, r + 1])])]
      .filter((rva) => procs.some((p) => rva >= p.rva && rva < p.rva + p.size))
      .sort((a, b) => a - b);
    const theirs = symbolize(files.image!, sample);
    sample.forEach((rva, i) => {
      const t = theirs[i]!;
      const fn = index.functionAt(rva);
      const context = `rva 0x${rva.toString(16)}`;
      // llvm-symbolizer prints C++ names with parameters from the demangled public name.
      const theirName = t.function.replace(/\(.*\)( const)?$/, '').replace(/^.* (?=\S*::)/, '');
      expect({ context, function: fn?.function.name }).toEqual({ context, function: theirName });
      const line = index.lineAt(rva);
      expect({ context, file: line?.file, line: line?.line }).toEqual({ context, file: t.file, line: t.line });
    });
  });

  it('finds procedures and publics by name, decorated or not', () => {
    for (const p of oracleProcs(o)) {
      expect(index.lookupName(p.name).map((h) => h.rva)).toContain(p.rva);
    }
    for (const p of o.publics) {
      const hits = index.lookupName(p.name!);
      expect({ name: p.name, rvas: hits.map((h) => h.rva) }).toEqual({ name: p.name, rvas: expect.arrayContaining([rvaFrom(o, p.details)]) });
    }
    for (const g of o.globals) {
      if (g.kind !== 'S_GDATA32' && g.kind !== 'S_LDATA32') continue;
      expect(index.lookupName(g.name!).filter((h) => h.kind === 'data').map((h) => h.rva)).toContain(rvaFrom(o, g.details));
    }
    expect(index.lookupName('no_such_symbol_anywhere')).toEqual([]);
  });

  it('answers file:line -> addresses as the line tables say', () => {
    // Lowest address of each (file, line) in each line table, from the dump.
    const expected = new Map<string, Set<number>>();
    for (const blocks of o.lines.values()) {
      const perTable = new Map<string, number>();
      for (const b of blocks) {
        for (const e of b.entries) {
          const key = `${b.file}\n${e.line}\n${b.start}`;
          const rva = o.headers[b.segment - 1]!.virtualAddress + e.offset;
          perTable.set(key, Math.min(perTable.get(key) ?? rva, rva));
        }
      }
      for (const [key, rva] of perTable) {
        const [file, line] = key.split('\n');
        const k = `${file}\n${line}`;
        expected.set(k, (expected.get(k) ?? new Set()).add(rva));
      }
    }
    expect(expected.size).toBeGreaterThan(0);
    for (const [key, rvas] of expected) {
      const [file, line] = key.split('\n') as [string, string];
      const base = file.replace(/\\/g, '/').split('/').pop()!;
      for (const query of [file, base, file.replace(/\//g, '\\')]) {
        const found = index.rvasForLine(query, Number(line)).find((l) => l.file === file);
        expect({ query, line, rvas: found?.rvas }).toEqual({ query, line, rvas: [...rvas].sort((a, b) => a - b) });
      }
    }
  });

  it('builds a debug model that agrees with the dump', () => {
    const { model, problems } = buildDebugModel(pdb, { imageName: 'image.efi' });
    expect(problems).toEqual([]);
    expect(model.sections.map((s) => [s.name, s.rva, s.size])).toEqual(o.headers.map((h) => [h.name, h.virtualAddress, h.virtualSize]));
    expect(model.sections.find((s) => s.name === '.text')).toMatchObject({ executable: true, writable: false });
    expect(model.sections.find((s) => s.name === '.data')).toMatchObject({ executable: false, writable: true });
    const procs = oracleProcs(o);
    const modelFunctions = model.compileUnits.flatMap((cu) => cu.functions.map((f) => [f.name, f.rva, f.size]));
    expect(modelFunctions.sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual(procs.map((p) => [p.name, p.rva, p.size]));
    // Every line row of the dump is a row of a sequence, with its file.
    const modelRows = new Set(
      model.compileUnits.flatMap((cu) => cu.lineSequences.flatMap((s) => s.rows.map((r) => `${cu.files[r.file]}:${r.line}@${r.rva}`))),
    );
    let rows = 0;
    for (const blocks of o.lines.values()) {
      for (const b of blocks) {
        for (const e of b.entries) {
          rows++;
          expect(modelRows).toContain(`${b.file}:${e.line}@${o.headers[b.segment - 1]!.virtualAddress + e.offset}`);
        }
      }
    }
    expect(modelRows.size).toBeLessThanOrEqual(rows);
    for (const cu of model.compileUnits) {
      for (const s of cu.lineSequences) {
        expect(s.rows.map((r) => r.rva)).toEqual([...s.rows.map((r) => r.rva)].sort((a, b) => a - b));
        expect(s.rows[0]!.rva).toBeGreaterThanOrEqual(s.startRva);
        expect(s.rows[s.rows.length - 1]!.rva).toBeLessThan(s.endRva);
      }
      for (const f of cu.functions) {
        const seq = cu.lineSequences.find((s) => f.rva >= s.startRva && f.rva < s.endRva)!;
        expect(f.declLine).toBe(seq.rows.find((r) => r.rva >= f.rva)!.line);
        expect(cu.files[f.declFile!]).toBeDefined();
      }
      expect(cu.producer).toMatch(/clang/);
    }
    // Data: every global variable of the dump, by name and RVA.
    for (const g of o.globals.filter((x) => x.kind === 'S_GDATA32' || x.kind === 'S_LDATA32')) {
      expect(model.dataSymbols).toContainEqual(expect.objectContaining({ name: g.name, rva: rvaFrom(o, g.details), external: g.kind === 'S_GDATA32' }));
    }
    expect(model.imageSize % 0x1000).toBe(0);
  });
});

describe('symbol index details', () => {
  it('names C++ functions undecorated, decorated and unqualified', () => {
    const index = SymbolIndex.fromPdb(openPdb(readFileSync(fixtureInput().pdb)));
    const scale = index.lookupName('josgdb_fixture::scale');
    expect(scale).toHaveLength(3);
    expect(new Set(scale.map((h) => h.kind))).toEqual(new Set(['function']));
    expect(index.lookupName('scale')).toEqual(scale);
    const decorated = index.lookupName('?scale@josgdb_fixture@@YAJJ@Z');
    expect(decorated).toHaveLength(1);
    expect(scale.map((h) => h.rva)).toContain(decorated[0]!.rva);
    expect(index.functionAt(decorated[0]!.rva)?.function).toMatchObject({ name: 'josgdb_fixture::scale', decoratedName: '?scale@josgdb_fixture@@YAJJ@Z' });
    expect(index.lookupName('josgdb_fixture::shapes::Shape::created')).toEqual([expect.objectContaining({ kind: 'data' })]);
    // A static function: module-local, still found.
    expect(index.lookupName('beta_twice')).toHaveLength(1);
  });

  it('gives public-only (assembly) functions a size bounded by the next symbol and their contribution', () => {
    const files = extraInput();
    const pdb = openPdb(readFileSync(files.pdb));
    const index = SymbolIndex.fromPdb(pdb);
    const helper = index.publicFunctions.find((f) => f.name === 'asm_helper')!;
    const other = index.publicFunctions.find((f) => f.name === 'asm_other')!;
    expect(helper.rva + helper.size).toBe(other.rva);
    const contribution = pdb.dbi.sectionContributions.find((c) => c.moduleIndex === other.moduleIndex && c.section === 1)!;
    expect(other.rva + other.size).toBeLessThanOrEqual(pdb.rvaOf(1, contribution.offset)! + contribution.size);
    expect(pdb.modules[other.moduleIndex!]!.objFileName).toMatch(/helper/);
    expect(index.functionAt(helper.rva + 2)).toEqual({ function: helper, offset: 2 });
    const { model } = buildDebugModel(pdb, { imageName: 'extra.efi' });
    expect(model.publicFunctions.map((f) => f.name).sort()).toEqual(['asm_helper', 'asm_other']);
    expect(model.compileUnits.map((cu) => [cu.name.split('/').pop(), cu.language])).toEqual([
      ['extra.cpp', 'c++'],
      ['alloc.cpp', 'c++'],
      ['pair.c', 'c'],
    ]);
    // Function-local and file statics and thread-locals: statics are data, TLS offsets are not addresses.
    const names = model.dataSymbols.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['extra_file_static', 'extra_alloc::pool']));
    expect(names).not.toContain('extra_tls_hidden');
  });

  it("takes rows as statements unless a module uses CodeView's statement flag", () => {
    const pdb = openPdb(readFileSync(fixtureInput().pdb));
    const collected = collectPdbSymbols(pdb);
    const rows = (m: ReturnType<typeof buildDebugModelFrom>): boolean[] =>
      m.compileUnits[0]!.lineSequences.flatMap((s) => s.rows.map((r) => r.isStatement));
    // clang sets the flag on no row.
    expect(collected.modules[0]!.lineTables.flatMap((t) => t.rows.map((r) => r.isStatement))).not.toContain(true);
    expect(rows(buildDebugModelFrom(pdb, collected, { imageName: 'x' }))).not.toContain(false);
    const first = collected.modules[0]!.lineTables[0]!.rows[0]!;
    first.isStatement = true;
    const honoured = rows(buildDebugModelFrom(pdb, collected, { imageName: 'x' }));
    expect(honoured[0]).toBe(true);
    expect(honoured.slice(1)).not.toContain(true);
  });

  it('uses callbacks for what needs the type streams', () => {
    const pdb = openPdb(readFileSync(extraInput().pdb));
    const { model } = buildDebugModel(pdb, {
      imageName: 'extra.efi',
      imageSize: 0x9000,
      buildInfo: (id) => ({ compDir: `/build/${id}`, sourceFile: `unit-${id}.cpp` }),
      typeSize: (t) => (t === 0x74 ? 4 : undefined),
    });
    expect(model.imageSize).toBe(0x9000);
    expect(model.compileUnits[0]!.compDir).toMatch(/^\/build\/\d+$/);
    expect(model.compileUnits[0]!.name).toMatch(/^unit-\d+\.cpp$/);
    expect(model.dataSymbols.find((d) => d.name === 'extra_file_static')!.size).toBe(4);
  });
});

describe('PDB/image match', () => {
  it('accepts the image the PDB was linked with and rejects another', () => {
    const fixture = fixtureInput();
    const stub = stubInput();
    const fixturePdb = openPdb(readFileSync(fixture.pdb));
    const stubId = imageIdentity(stub.image!);
    const fixtureId = imageIdentity(fixture.image!);
    expect(checkPdbMatchesImage(fixtureId, fixturePdb.info)).toEqual({ matches: true });
    expect(checkPdbMatchesImage({ guid: `{${fixtureId.guid.toLowerCase()}}`, age: fixtureId.age }, fixturePdb.info)).toEqual({ matches: true });

    const wrong = checkPdbMatchesImage(stubId, fixturePdb.info);
    expect(wrong).toMatchObject({ matches: false, reason: 'guid' });
    if (wrong.matches) throw new Error('unreachable');
    expect(wrong.message).toContain(stubId.guid);
    expect(wrong.message).toContain(fixturePdb.info.guid);

    const older = checkPdbMatchesImage({ guid: fixtureId.guid, age: fixtureId.age + 1 }, fixturePdb.info);
    expect(older).toMatchObject({ matches: false, reason: 'age', imageAge: fixtureId.age + 1, pdbAge: fixturePdb.info.age });
    // A rewritten PDB: info age bumped, DBI age still the image's.
    expect(checkPdbMatchesImage({ guid: fixtureId.guid, age: 1 }, { guid: fixtureId.guid, age: 2, dbiAge: 1 })).toEqual({ matches: true });

    let thrown: unknown;
    try {
      SymbolIndex.fromPdb(fixturePdb, { image: stubId });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PdbMismatchError);
    expect(isJosgdbError(thrown, 'SYMBOL_MISMATCH')).toBe(true);
  });
});
