/**
 * The PDBs the symbol tests read: the clang/lld symbol fixture, stub-uefi's
 * PDB, an extra fixture built from ./testdata sources for record kinds the
 * first two lack, and a synthetic PDB that llvm-pdbutil writes from YAML.
 * Builds are cached in the temp directory under a hash of their inputs.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..', '..', '..');
export const TESTDATA = join(__dirname, '..', 'testdata');

export interface PdbInput {
  name: string;
  pdb: string;
  /** The PE image, when the input has one. */
  image?: string;
}

/**
 * The lead's fixture (test/support/symbol-fixtures). Test files pass its
 * builder in: this file is compiled with src/, which cannot import test/.
 */
export function fixtureInputFrom(build: () => { pdb: string; image: string }): PdbInput {
  const f = build();
  return { name: 'fixture', pdb: f.pdb, image: f.image };
}

export function stubInput(): PdbInput {
  const pdb = join(REPO_ROOT, 'stub-uefi', 'build', 'BOOTX64.pdb');
  const image = join(REPO_ROOT, 'stub-uefi', 'build', 'BOOTX64.EFI');
  if (!existsSync(pdb) || !existsSync(image)) execFileSync('make', ['-C', join(REPO_ROOT, 'stub-uefi')], { stdio: 'pipe' });
  return { name: 'stub', pdb, image };
}

const TARGET = ['-target', 'x86_64-unknown-windows', '-ffreestanding', '-fno-stack-protector', '-mno-red-zone', '-fno-builtin', '-mno-stack-arg-probe'];
const DEBUG = ['-gcodeview', '-g', '-funwind-tables'];
const EXTRA_UNITS: { source: string; flags: string[] }[] = [
  { source: 'extra.cpp', flags: ['--driver-mode=g++', ...TARGET, ...DEBUG, '-O0', '-fno-exceptions', '-fno-rtti'] },
  { source: 'alloc.cpp', flags: ['--driver-mode=g++', ...TARGET, ...DEBUG, '-O2', '-fno-exceptions', '-fno-rtti'] },
  { source: 'pair.c', flags: [...TARGET, ...DEBUG, '-O2'] },
  // No -g: a module with no debug stream, known only through publics.
  { source: 'helper.S', flags: [...TARGET] },
];
const EXTRA_LINK = ['/subsystem:efi_application', '/entry:extra_entry', '/nodefaultlib', '/debug', '/dynamicbase'];

function cached(kind: string, hashInputs: string[], build: (work: string) => void): string {
  const hash = createHash('sha256');
  for (const h of hashInputs) hash.update(h).update('\0');
  const root = join(tmpdir(), 'josgdb-pdb-tests');
  const dir = join(root, `${kind}-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, 'done'))) return dir;
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  build(work);
  writeFileSync(join(work, 'done'), '');
  try {
    renameSync(work, dir);
  } catch {
    // Another jest worker finished first with an identical build.
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

export function extraInput(): PdbInput {
  const inputs = [
    JSON.stringify([EXTRA_UNITS, EXTRA_LINK]),
    ...EXTRA_UNITS.map((u) => readFileSync(join(TESTDATA, u.source), 'utf8')),
  ];
  const dir = cached('extra', inputs, (work) => {
    const objects = EXTRA_UNITS.map((u) => {
      const obj = join(work, `${u.source}.obj`);
      execFileSync('clang', [...u.flags, '-c', join(TESTDATA, u.source), '-o', obj], { stdio: 'pipe' });
      return obj;
    });
    execFileSync('lld-link', [...EXTRA_LINK, `/pdb:${join(work, 'extra.pdb')}`, `/out:${join(work, 'extra.efi')}`, ...objects], { stdio: 'pipe' });
  });
  return { name: 'extra', pdb: join(dir, 'extra.pdb'), image: join(dir, 'extra.efi') };
}

export const SYNTHETIC_YAML = join(TESTDATA, 'records.yaml');

export function syntheticInput(): PdbInput {
  const dir = cached('yaml', [readFileSync(SYNTHETIC_YAML, 'utf8')], (work) => {
    execFileSync('llvm-pdbutil', ['yaml2pdb', `-pdb=${join(work, 'records.pdb')}`, SYNTHETIC_YAML], { stdio: 'pipe' });
  });
  return { name: 'synthetic', pdb: join(dir, 'records.pdb') };
}
