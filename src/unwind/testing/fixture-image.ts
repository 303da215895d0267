/**
 * Test images: the hand-written fixture (testdata/unwind-fixture.S) assembled
 * and linked with clang and lld-link once per source revision, and stub-uefi's
 * two builds (with and without unwind tables), built with make when missing.
 * Each comes with what the tests need: the parsed PE, the PDB's symbols, and a
 * PeUnwindImage at a chosen load base.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procedureBounds as loaderProcedureBounds } from '../../symbols/loader/load-symbols';
import { openPdb, SymbolIndex } from '../../symbols/pdb';
import { parsePeImage, type PeImage } from '../../symbols/pe';
import type { FunctionBounds } from '../code-lookup';
import { PeUnwindImage } from '../pe-unwind-image';

const REPO = join(__dirname, '..', '..', '..');
export const FIXTURE_SOURCE = join(__dirname, '..', 'testdata', 'unwind-fixture.S');

export interface TestImage {
  path: string;
  pdbPath: string;
  image: PeImage;
  index: SymbolIndex;
}

function load(path: string, pdbPath: string): TestImage {
  const image = parsePeImage(readFileSync(path), { layout: 'file' });
  const index = SymbolIndex.fromPdb(openPdb(readFileSync(pdbPath)));
  return { path, pdbPath, image, index };
}

/** The fixture PE (testdata/unwind-fixture.S). */
export function fixtureImage(): TestImage {
  return assembledImage(readFileSync(FIXTURE_SOURCE, 'utf8'), 'fx_entry');
}

/**
 * An EFI image from assembly source (clang's integrated assembler, lld-link),
 * built once per source text into a cache directory named by its hash.
 */
export function assembledImage(source: string, entry: string): TestImage {
  const dir = join(tmpdir(), 'josgdb-unwind-asm', createHash('sha256').update(source).update(entry).digest('hex').slice(0, 16));
  const efi = join(dir, 'image.efi');
  const pdb = join(dir, 'image.pdb');
  if (!existsSync(efi) || !existsSync(pdb)) {
    // Build beside and rename into place, so parallel jest workers never see half a build.
    const work = `${dir}.tmp-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const src = join(work, 'image.S');
    writeFileSync(src, source);
    const obj = join(work, 'image.obj');
    execFileSync('clang', ['-target', 'x86_64-unknown-windows', '-c', src, '-o', obj], { stdio: 'pipe' });
    execFileSync(
      'lld-link',
      ['/subsystem:efi_application', `/entry:${entry}`, '/nodefaultlib', '/debug', '/dynamicbase', `/pdb:${join(work, 'image.pdb')}`, `/out:${join(work, 'image.efi')}`, obj],
      { stdio: 'pipe' },
    );
    mkdirSync(join(tmpdir(), 'josgdb-unwind-asm'), { recursive: true });
    try {
      renameSync(work, dir);
    } catch {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return load(efi, pdb);
}

export type StubVariant = 'unwind' | 'nounwind';

/** stub-uefi built with (-funwind-tables) or without unwind tables. */
export function stubImage(variant: StubVariant): TestImage {
  const dir = join(REPO, 'stub-uefi', 'build', variant);
  const efi = join(dir, 'BOOTX64.EFI');
  if (!existsSync(efi)) execFileSync('make', ['-C', join(REPO, 'stub-uefi'), 'variants'], { stdio: 'pipe' });
  return load(efi, join(dir, 'BOOTX64.pdb'));
}

/** RVA of a public or procedure name. */
export function rvaOf(t: TestImage, name: string): number {
  const hit = t.index.lookupName(name).find((h) => h.kind === 'function' || h.kind === 'data');
  if (!hit) throw new Error(`no symbol ${name}`);
  return hit.rva;
}

/** The PDB's procedures (compiler-generated functions with exact sizes), as the symbol loader gives them to the unwinder. */
export function procedureBounds(t: TestImage): FunctionBounds[] {
  return loaderProcedureBounds(t.index, t.image);
}

export function unwindImage(t: TestImage, base: bigint, options: { functions?: FunctionBounds[]; interruptEntries?: PeUnwindImage['interruptEntries'] } = {}): PeUnwindImage {
  return new PeUnwindImage({
    name: 'test.efi',
    base,
    image: t.image,
    functions: options.functions ?? procedureBounds(t),
    ...(options.interruptEntries ? { interruptEntries: options.interruptEntries } : {}),
  });
}

/**
 * Code bytes at absolute addresses for the simulator: up to `length` of them,
 * fewer near the end of a section (the last function's last instructions).
 */
export function codeAt(t: TestImage, base: bigint): (address: bigint, length: number) => Uint8Array | undefined {
  return (address, length) => {
    for (let n = length; n > 0; n--) {
      try {
        return t.image.readRva(Number(address - base), n);
      } catch {
        // shorter
      }
    }
    return undefined;
  };
}
