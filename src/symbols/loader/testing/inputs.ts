/**
 * Inputs and oracles for the loader's tests: stub-uefi's image and PDB (built
 * when missing), scratch directories, an image copy with another RSDS path, an
 * image laid out as the loader maps it, and LLVM's view of a PDB's identity.
 * Compiled with src/, so it cannot import test/support: test files pass the
 * symbol fixture in themselves.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parsePeImage, sectionExtent } from '../../pe';

export const REPO_ROOT = path.join(__dirname, '..', '..', '..', '..');

export interface ImageAndPdb {
  image: string;
  pdb: string;
}

export function stubFiles(): ImageAndPdb {
  const image = path.join(REPO_ROOT, 'stub-uefi', 'build', 'BOOTX64.EFI');
  const pdb = path.join(REPO_ROOT, 'stub-uefi', 'build', 'BOOTX64.pdb');
  if (!existsSync(image) || !existsSync(pdb)) execFileSync('make', ['-C', path.join(REPO_ROOT, 'stub-uefi')], { stdio: 'pipe' });
  return { image, pdb };
}

/** Scratch directories, removed by `cleanup()` (call it in afterAll). */
export class Scratch {
  private readonly dirs: string[] = [];

  dir(label: string): string {
    const d = mkdtempSync(path.join(tmpdir(), `josgdb-loader-${label}-`));
    this.dirs.push(d);
    return d;
  }

  cleanup(): void {
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/**
 * The image bytes with the RSDS record's PDB path replaced (zero-padded; the
 * new path may not be longer than the old). GUID and age stay, so the PDB still
 * matches: this only moves where the image says its PDB is.
 */
export function withRsdsPath(imageBytes: Uint8Array, newPath: string): Buffer {
  const out = Buffer.from(imageBytes);
  const old = parsePeImage(out, { layout: 'file' }).codeView!.pdbPath;
  const oldBytes = Buffer.from(old, 'utf8');
  const at = out.indexOf(Buffer.concat([oldBytes, Buffer.from([0])]));
  if (at < 0) throw new Error('RSDS path not found in the image');
  const replacement = Buffer.from(newPath, 'utf8');
  if (replacement.length > oldBytes.length) throw new Error(`new RSDS path is longer than ${oldBytes.length} bytes`);
  out.fill(0, at, at + oldBytes.length);
  replacement.copy(out, at);
  return out;
}

/** The image as the UEFI loader maps it: headers at 0, each section at its RVA, zeros elsewhere. */
export function loadedLayout(imageBytes: Uint8Array): Uint8Array {
  const pe = parsePeImage(imageBytes, { layout: 'file' });
  const mem = new Uint8Array(pe.sizeOfImage);
  mem.set(imageBytes.subarray(0, pe.headers.optional.sizeOfHeaders));
  for (const s of pe.sections) {
    const raw = imageBytes.subarray(s.pointerToRawData, s.pointerToRawData + Math.min(s.sizeOfRawData, sectionExtent(s)));
    mem.set(raw, s.virtualAddress);
  }
  return mem;
}

/** A memory reader over a loaded layout, counting its reads. */
export function memoryReader(mem: Uint8Array): { read: (rva: number, length: number) => Promise<Uint8Array>; reads: number } {
  const state = {
    reads: 0,
    read: async (rva: number, length: number): Promise<Uint8Array> => {
      state.reads++;
      if (rva + length > mem.length) throw new Error(`read past the image: ${rva}+${length}`);
      return mem.slice(rva, rva + length);
    },
  };
  return state;
}

/** The PDB's GUID and age as llvm-pdbutil reports them. */
export function pdbIdentity(pdb: string): { guid: string; age: number } {
  const text = execFileSync('llvm-pdbutil', ['dump', '--summary', pdb], { encoding: 'utf8' });
  return { guid: /GUID: \{([0-9A-F-]+)\}/.exec(text)![1]!, age: Number(/Age: (\d+)/.exec(text)![1]) };
}

/** Public symbol RVAs by name, from llvm-pdbutil and llvm-readobj (LLVM as the oracle). */
export function publicRvas(image: string, pdb: string): Map<string, number> {
  const sections = [...execFileSync('llvm-readobj', ['--sections', image], { encoding: 'utf8' }).matchAll(/VirtualAddress: (0x[0-9A-F]+)/gi)].map((m) =>
    Number(m[1]),
  );
  const text = execFileSync('llvm-pdbutil', ['dump', '--publics', pdb], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = new Map<string, number>();
  for (const m of text.matchAll(/S_PUB32 \[size = \d+\] `([^`]+)`\s+flags = [^,]+, addr = (\d+):(\d+)/g)) {
    const base = sections[Number(m[2]) - 1];
    if (base !== undefined) out.set(m[1]!, base + Number(m[3]));
  }
  return out;
}

export const readBytes = (file: string): Buffer => readFileSync(file);
