/**
 * loadSymbols on real clang/lld-link output: the symbol fixture and stub-uefi.
 * Where the PDB is found (and in what order), what a mismatching or damaged
 * PDB costs (a warning, never a crash), the image read from memory, the model
 * built from the image alone, and what the type streams add.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { isJosgdbError } from '../../common/errors';
import type { DebugModel } from '../debug-model';
import { loadSymbols } from './load-symbols';
import type { LoadSymbolsOptions } from './load-symbols';
import { modelStats } from './model-stats';
import { symbolStoreKey } from './pdb-search';
import { loadedLayout, memoryReader, pdbIdentity, publicRvas, readBytes, Scratch, stubFiles, withRsdsPath } from './testing/inputs';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const stub = stubFiles();
const fixture = buildSymbolFixture();

/** Options that never touch the user's cache. */
const isolated = (o: LoadSymbolsOptions): LoadSymbolsOptions => ({ cache: false, ...o });

/** A copy of the image alone in a fresh directory, its RSDS path pointing nowhere. */
function lonelyImage(source: string, label: string, rsdsPath?: string): string {
  const dir = scratch.dir(label);
  const file = path.join(dir, path.basename(source));
  const bytes = readBytes(source);
  const original = path.basename(source).replace(/\.[^.]*$/, '.pdb');
  writeFileSync(file, withRsdsPath(bytes, rsdsPath ?? `/nonexistent/${original}`));
  return file;
}

/** The error a promise rejects with (the test fails if it resolves). */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

function functionNames(model: DebugModel): string[] {
  return [...model.compileUnits.flatMap((cu) => cu.functions), ...model.publicFunctions].map((f) => f.name);
}

describe('where the PDB comes from', () => {
  it('the RSDS path as recorded: stub-uefi finds its own PDB', async () => {
    const s = await loadSymbols(isolated({ image: stub.image }));
    expect(s.warnings).toEqual([]);
    expect(s.pdbPath).toBe(stub.pdb);
    expect(s.pdbSource).toBe('rsds');
    expect(s.modelSource).toBe('pdb');
    expect(s.imageName).toBe('BOOTX64.EFI');
    expect(s.index).toBeDefined();
    expect(s.pdb).toBeDefined();
    expect(functionNames(s.model)).toEqual(expect.arrayContaining(['demo_leaf', 'demo_a', 'efi_main']));
  });

  it('without a PDB anywhere: a warning listing where it looked, and the image-only model', async () => {
    const image = lonelyImage(fixture.image, 'none');
    const s = await loadSymbols(isolated({ image }));
    expect(s.modelSource).toBe('image');
    expect(s.pdb).toBeUndefined();
    expect(s.index).toBeUndefined();
    const w = s.warnings.join('\n');
    expect(w).toContain('no PDB found');
    expect(w).toContain(path.join(path.dirname(image), 'fixture.pdb'));
    expect(w).toContain('--pdb');
    expect(s.model.compileUnits).toEqual([]);
    expect(s.model.sections.map((x) => x.name)).toEqual(expect.arrayContaining(['.text', '.data']));
  });

  it('next to the image', async () => {
    const image = lonelyImage(fixture.image, 'beside');
    copyFileSync(fixture.pdb, path.join(path.dirname(image), 'fixture.pdb'));
    const s = await loadSymbols(isolated({ image }));
    expect(s.warnings).toEqual([]);
    expect(s.pdbSource).toBe('image-dir');
  });

  it('a symbol-path directory, flat', async () => {
    const image = lonelyImage(fixture.image, 'flat');
    const dir = scratch.dir('symflat');
    copyFileSync(fixture.pdb, path.join(dir, 'fixture.pdb'));
    const s = await loadSymbols(isolated({ image, symbolPath: [scratch.dir('empty'), dir] }));
    expect(s.warnings).toEqual([]);
    expect(s.pdbSource).toBe('symbol-path');
    expect(s.pdbPath).toBe(path.join(dir, 'fixture.pdb'));
    expect(s.modelSource).toBe('pdb');
  });

  it('a symbol-path directory in the symbol-store layout (key from llvm-pdbutil)', async () => {
    const image = lonelyImage(fixture.image, 'store');
    const dir = scratch.dir('symstore');
    const id = pdbIdentity(fixture.pdb);
    const key = `${id.guid.replace(/-/g, '')}${id.age.toString(16).toUpperCase()}`;
    expect(symbolStoreKey(id.guid, id.age)).toBe(key);
    mkdirSync(path.join(dir, 'fixture.pdb', key), { recursive: true });
    copyFileSync(fixture.pdb, path.join(dir, 'fixture.pdb', key, 'fixture.pdb'));
    const s = await loadSymbols(isolated({ image, symbolPath: [dir] }));
    expect(s.warnings).toEqual([]);
    expect(s.pdbSource).toBe('symbol-store');
  });

  it('a PDB found elsewhere goes into the cache, and the cache finds it next time', async () => {
    const cacheDir = path.join(scratch.dir('cache'), 'pdb');
    const image = lonelyImage(fixture.image, 'cached');
    const dir = scratch.dir('symcache');
    copyFileSync(fixture.pdb, path.join(dir, 'fixture.pdb'));
    const first = await loadSymbols({ image, symbolPath: [dir], cacheDir });
    expect(first.pdbSource).toBe('symbol-path');
    const id = pdbIdentity(fixture.pdb);
    const cached = path.join(cacheDir, 'fixture.pdb', symbolStoreKey(id.guid, id.age), 'fixture.pdb');
    expect(existsSync(cached)).toBe(true);
    expect(readBytes(cached).equals(readBytes(fixture.pdb))).toBe(true);

    const second = await loadSymbols({ image, cacheDir });
    expect(second.warnings).toEqual([]);
    expect(second.pdbSource).toBe('cache');
    expect(second.pdbPath).toBe(cached);
    expect(modelStats(second.model)).toEqual(modelStats(first.model));
  });

  it('cache: false neither reads nor writes the cache', async () => {
    const cacheDir = path.join(scratch.dir('nocache'), 'pdb');
    const image = lonelyImage(fixture.image, 'nocache-img');
    const dir = scratch.dir('symnocache');
    copyFileSync(fixture.pdb, path.join(dir, 'fixture.pdb'));
    await loadSymbols({ image, symbolPath: [dir], cacheDir, cache: false });
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('an unwritable cache costs nothing', async () => {
    const blocker = path.join(scratch.dir('blocked'), 'file');
    writeFileSync(blocker, 'not a directory');
    const s = await loadSymbols({ image: stub.image, cacheDir: path.join(blocker, 'pdb') });
    expect(s.warnings).toEqual([]);
    expect(s.modelSource).toBe('pdb');
  });

  it('a Windows path in the RSDS record: its base name is searched for', async () => {
    const image = lonelyImage(stub.image, 'winpath', 'C:\\build\\BOOTX64.pdb');
    const dir = scratch.dir('symwin');
    copyFileSync(stub.pdb, path.join(dir, 'BOOTX64.pdb'));
    const s = await loadSymbols(isolated({ image, symbolPath: [dir] }));
    expect(s.warnings).toEqual([]);
    expect(s.pdbPath).toBe(path.join(dir, 'BOOTX64.pdb'));
  });

  it('a stale PDB on the way is skipped for a matching one further on', async () => {
    const image = lonelyImage(stub.image, 'stale');
    copyFileSync(fixture.pdb, path.join(path.dirname(image), 'BOOTX64.pdb'));
    const dir = scratch.dir('symstale');
    copyFileSync(stub.pdb, path.join(dir, 'BOOTX64.pdb'));
    const s = await loadSymbols(isolated({ image, symbolPath: [dir] }));
    expect(s.warnings).toEqual([]);
    expect(s.pdbPath).toBe(path.join(dir, 'BOOTX64.pdb'));
  });

  it('the stale PDB is reported when nothing better turns up', async () => {
    const image = lonelyImage(stub.image, 'staleonly');
    const stale = path.join(path.dirname(image), 'BOOTX64.pdb');
    copyFileSync(fixture.pdb, stale);
    const s = await loadSymbols(isolated({ image }));
    expect(s.modelSource).toBe('image');
    expect(s.warnings.join('\n')).toContain(`PDB ${stale} does not match the image ${image}`);
  });
});

describe('a PDB that does not fit', () => {
  it('a mismatching --pdb: one warning naming both GUIDs and both files, and no symbols from it', async () => {
    const s = await loadSymbols(isolated({ image: stub.image, pdb: fixture.pdb }));
    const imageId = pdbIdentity(stub.pdb);
    const pdbId = pdbIdentity(fixture.pdb);
    expect(s.warnings).toHaveLength(2);
    const [mismatch, fallback] = s.warnings as [string, string];
    expect(mismatch).toContain(fixture.pdb);
    expect(mismatch).toContain(stub.image);
    expect(mismatch).toContain(`{${imageId.guid}}`);
    expect(mismatch).toContain(`{${pdbId.guid}}`);
    expect(mismatch).toContain('no symbols from that PDB are used; rebuild or pass the matching --pdb');
    expect(fallback).toContain('from the image alone');
    expect(s.modelSource).toBe('image');
    expect(s.pdb).toBeUndefined();
    expect(s.index).toBeUndefined();
    expect(s.model.compileUnits).toEqual([]);
    expect(s.model.publicFunctions).toEqual([]);
    expect(s.model.dataSymbols).toEqual([]);
    // An explicit PDB is not second-guessed: the stub's own PDB (at its RSDS path) is not used instead.
    expect(s.pdbPath).toBeUndefined();
  });

  it('a truncated PDB gives warnings, not a crash, at any length', async () => {
    const bytes = readBytes(stub.pdb);
    const dir = scratch.dir('truncated');
    const cuts = [0, 1, 31, 32, 100, 4096, 4097, 8192, 3 * 4096 + 17, bytes.length >> 2, bytes.length >> 1, bytes.length - 4096, bytes.length - 1];
    for (const cut of cuts) {
      const file = path.join(dir, `cut-${cut}.pdb`);
      writeFileSync(file, bytes.subarray(0, cut));
      const s = await loadSymbols(isolated({ image: stub.image, pdb: file }));
      expect(s.warnings.length).toBeGreaterThan(0);
      expect(s.warnings.join('\n')).toContain(file);
      expect(s.model.sections.length).toBeGreaterThan(0);
      expect(() => s.debugElf(0x1000000n)).not.toThrow();
    }
  });

  it('damaged bytes inside a PDB never escape as an exception', async () => {
    const bytes = readBytes(stub.pdb);
    const dir = scratch.dir('damaged');
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 25; i++) {
      const copy = Buffer.from(bytes);
      // A run of garbage somewhere past the superblock.
      const at = 4096 + random(copy.length - 4096 - 64);
      for (let k = 0; k < 64; k++) copy[at + k] = random(256);
      const file = path.join(dir, `damaged-${i}.pdb`);
      writeFileSync(file, copy);
      const s = await loadSymbols(isolated({ image: stub.image, pdb: file }));
      expect(s.model.sections.length).toBeGreaterThan(0);
      expect(() => s.debugElf(0x1000000n)).not.toThrow();
    }
  });

  it('a missing --pdb or image is a usage error; a file that is not a PE is a format error', async () => {
    const missing = path.join(scratch.dir('missing'), 'nope.pdb');
    const missingPdb = await failure(loadSymbols(isolated({ image: stub.image, pdb: missing })));
    expect(isJosgdbError(missingPdb, 'BAD_ARGUMENT') && missingPdb.message).toContain(missing);
    expect(isJosgdbError(await failure(loadSymbols(isolated({ image: missing }))), 'BAD_ARGUMENT')).toBe(true);
    const notPe = await failure(loadSymbols(isolated({ image: stub.pdb })));
    expect(isJosgdbError(notPe, 'SYMBOL_FORMAT') && notPe.message).toContain(stub.pdb);
    expect(isJosgdbError(await failure(loadSymbols(isolated({}))), 'BAD_ARGUMENT')).toBe(true);
  });
});

describe('the image read from target memory', () => {
  it('gives the same model as the image file', async () => {
    const fromFile = await loadSymbols(isolated({ image: stub.image }));
    const memory = memoryReader(loadedLayout(readBytes(stub.image)));
    const fromMemory = await loadSymbols(isolated({ readImage: memory.read }));
    expect(memory.reads).toBeGreaterThan(0);
    expect(fromMemory.warnings).toEqual([]);
    expect(fromMemory.imagePath).toBeUndefined();
    expect(fromMemory.pdbPath).toBe(stub.pdb);
    expect(fromMemory.image.layout).toBe('loaded');
    expect(fromMemory.imageName).toBe('BOOTX64.efi');
    expect({ ...fromMemory.model, imageName: 'x' }).toEqual({ ...fromFile.model, imageName: 'x' });
    expect(fromMemory.image.entryPointRva).toBe(fromFile.image.entryPointRva);
    // With the image name the same, the ELF files are byte for byte the same.
    const named = await loadSymbols(isolated({ readImage: memory.read, imageName: 'BOOTX64.EFI' }));
    expect(named.debugElf(0x7e00000n).equals(fromFile.debugElf(0x7e00000n))).toBe(true);
  });

  it('finds the PDB through the symbol path too (no image directory to look in)', async () => {
    const bytes = withRsdsPath(readBytes(stub.image), '/nonexistent/BOOTX64.pdb');
    const dir = scratch.dir('memsym');
    copyFileSync(stub.pdb, path.join(dir, 'BOOTX64.pdb'));
    const s = await loadSymbols(isolated({ readImage: memoryReader(loadedLayout(bytes)).read, symbolPath: [dir] }));
    expect(s.warnings).toEqual([]);
    expect(s.pdbSource).toBe('symbol-path');
  });

  it('a wrong base (no MZ) is a format error that says so', async () => {
    const mem = new Uint8Array(0x2000);
    const e = await failure(loadSymbols(isolated({ readImage: memoryReader(mem).read })));
    expect(isJosgdbError(e, 'SYMBOL_FORMAT') && e.message).toMatch(/image base/);
  });
});

describe('what the model holds', () => {
  it("functions at the RVAs LLVM reads from the PDB's publics", async () => {
    const s = await loadSymbols(isolated({ image: stub.image }));
    const publics = publicRvas(stub.image, stub.pdb);
    const procs = s.model.compileUnits.flatMap((cu) => cu.functions);
    expect(procs.length).toBeGreaterThan(20);
    for (const f of procs) {
      if (publics.has(f.name)) expect([f.name, f.rva]).toEqual([f.name, publics.get(f.name)]);
    }
    expect(procs.find((f) => f.name === 'demo_leaf')!.rva).toBe(publics.get('demo_leaf'));
  });

  it('data sizes from the TPI and build directories from the IPI', async () => {
    const s = await loadSymbols(isolated({ image: fixture.image, pdb: fixture.pdb }));
    expect(s.warnings).toEqual([]);
    const size = (name: string): number | undefined => s.model.dataSymbols.find((d) => d.name === name)?.size;
    expect(size('alpha_counter')).toBe(4);
    expect(size('alpha_points')).toBe(32);
    expect(size('alpha_message')).toBe('alpha says hello'.length + 1);

    const stubModel = (await loadSymbols(isolated({ image: stub.image }))).model;
    const stubDir = path.join(path.dirname(stub.image), '..');
    for (const cu of stubModel.compileUnits) {
      expect(cu.compDir && path.resolve(cu.compDir)).toBe(path.resolve(stubDir));
      expect(cu.name).toMatch(/^src\/\w+\.c$/);
    }
    expect(stubModel.dataSymbols.find((d) => d.name === 'g_table')?.size).toBe(32);
    expect(stubModel.dataSymbols.find((d) => d.name === 'g_point')?.size).toBe(16);
  });

  it('without a PDB, exports become functions (sized from .pdata) and data symbols', async () => {
    const dir = scratch.dir('exports');
    const image = path.join(dir, 'exported.efi');
    execFileSync(
      'lld-link',
      [
        '/subsystem:efi_application', '/entry:fixture_entry', '/nodefaultlib', '/dynamicbase', '/debug:none',
        '/export:alpha_recurse', '/export:beta_work', '/export:alpha_counter,DATA', `/out:${image}`, ...fixture.objects,
      ],
      { stdio: 'pipe' },
    );
    expect(readdirSync(dir).filter((f) => f.endsWith('.pdb'))).toEqual([]);
    const s = await loadSymbols(isolated({ image }));
    expect(s.modelSource).toBe('image');
    const byName = new Map(s.model.publicFunctions.map((f) => [f.name, f]));
    expect([...byName.keys()].sort()).toEqual(['alpha_recurse', 'beta_work']);
    // LLVM's view: export RVAs, and the .pdata ranges (virtual addresses) for the sizes.
    const exportsText = execFileSync('llvm-readobj', ['--coff-exports', image], { encoding: 'utf8' });
    const exportRva = new Map([...exportsText.matchAll(/Name: (\w+)\s+RVA: (0x[0-9A-F]+)/gi)].map((m) => [m[1]!, Number(m[2])]));
    const imageBase = Number(/ImageBase: (0x[0-9A-F]+)/i.exec(execFileSync('llvm-readobj', ['--file-headers', image], { encoding: 'utf8' }))![1]);
    const unwind = execFileSync('llvm-readobj', ['--unwind', image], { encoding: 'utf8' });
    const ranges = [...unwind.matchAll(/StartAddress: .*\((0x[0-9A-F]+)\)\s+EndAddress: .*\((0x[0-9A-F]+)\)/gi)].map((m) => ({
      start: Number(m[1]) - imageBase,
      end: Number(m[2]) - imageBase,
    }));
    for (const f of byName.values()) {
      expect(f.rva).toBe(exportRva.get(f.name));
      const range = ranges.find((r) => r.start === f.rva)!;
      expect(f.size).toBe(range.end - range.start);
    }
    expect(s.model.dataSymbols).toEqual([{ name: 'alpha_counter', rva: exportRva.get('alpha_counter'), size: 0, external: true }]);
    expect(s.warnings.join('\n')).toContain('no PDB');
  });
});
