/**
 * Builds the variable fixtures (test/fixtures/variables) twice from the same
 * objects: each source is compiled once with both CodeView and DWARF
 * (`-gcodeview -gdwarf`), then linked with `/debug` (PE + PDB, what josgdb
 * reads) and with `/debug:dwarf` (a PE that keeps LLVM's own DWARF). The
 * second image is the oracle: the same code, the same addresses, and LLVM's
 * native description of every type and variable, which gdb and
 * llvm-dwarfdump read directly. Builds are cached by a hash of the sources
 * and flags, and renamed into place so parallel jest workers never see half
 * a build.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const VARIABLE_FIXTURE_SOURCES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'variables');

export type FixtureOptimization = 'O0' | 'O1';

export interface VariableFixture {
  optimization: FixtureOptimization;
  /** The PE image linked with /debug, and its PDB. */
  image: string;
  pdb: string;
  /** The same objects linked with /debug:dwarf: the native-DWARF oracle. */
  dwarfImage: string;
  /** Source file names (types.c, ...), in link order. */
  sources: string[];
}

/** The PE image base lld-link gives an EFI application; the DWARF oracle's addresses are at this base. */
export const FIXTURE_IMAGE_BASE = 0x140000000n;

const COMPILE_C = [
  '-target', 'x86_64-unknown-windows', '-ffreestanding', '-fno-stack-protector', '-mno-red-zone',
  '-fno-builtin', '-mno-stack-arg-probe', '-gcodeview', '-gdwarf', '-g', '-funwind-tables',
];
const COMPILE_CXX = ['--driver-mode=g++', ...COMPILE_C, '-fno-exceptions', '-fno-rtti', '-std=c++17'];
const LINK = ['/subsystem:efi_application', '/entry:fixture_entry', '/nodefaultlib', '/dynamicbase'];

function sourceHash(optimization: FixtureOptimization): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(VARIABLE_FIXTURE_SOURCES).sort()) {
    hash.update(name).update(readFileSync(join(VARIABLE_FIXTURE_SOURCES, name)));
  }
  hash.update(JSON.stringify([COMPILE_C, COMPILE_CXX, LINK, optimization]));
  return hash.digest('hex').slice(0, 16);
}

/** Builds (or reuses) the fixture at one optimization level. */
export function buildVariableFixture(optimization: FixtureOptimization): VariableFixture {
  const root = join(tmpdir(), 'josgdb-variable-fixtures');
  const dir = join(root, `${optimization}-${sourceHash(optimization)}`);
  const sources = readdirSync(VARIABLE_FIXTURE_SOURCES).filter((f) => /\.(c|cpp)$/.test(f)).sort();
  const fixture: VariableFixture = {
    optimization,
    image: join(dir, 'variables.efi'),
    pdb: join(dir, 'variables.pdb'),
    dwarfImage: join(dir, 'variables-dwarf.efi'),
    sources,
  };
  if (existsSync(fixture.image) && existsSync(fixture.pdb) && existsSync(fixture.dwarfImage)) return fixture;

  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const objects = sources.map((source) => {
    const object = join(work, source.replace(/\.(c|cpp)$/, '.obj'));
    const flags = source.endsWith('.cpp') ? COMPILE_CXX : COMPILE_C;
    execFileSync('clang', [...flags, `-${optimization}`, '-c', join(VARIABLE_FIXTURE_SOURCES, source), '-o', object], {
      stdio: 'pipe',
    });
    return object;
  });
  const link = (extra: string[]): void => {
    execFileSync('lld-link', [...LINK, ...extra, ...objects], { stdio: 'pipe' });
  };
  link(['/debug', `/pdb:${join(work, 'variables.pdb')}`, `/out:${join(work, 'variables.efi')}`]);
  link(['/debug:dwarf', `/out:${join(work, 'variables-dwarf.efi')}`]);
  mkdirSync(root, { recursive: true });
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another worker's identical build won
  }
  return fixture;
}
