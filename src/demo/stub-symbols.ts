/**
 * Addresses of stub-uefi's functions and globals, and the bytes of its image file,
 * for the end-to-end tests, read with llvm-pdbutil/llvm-readobj: LLVM's own tools
 * are the tests' oracle, independent of josgdb's PDB reader (the demo uses that
 * reader). Addresses are RVAs: add the image base the kernel reports.
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';

export interface PeSection {
  rva: bigint;
  virtualSize: bigint;
  fileOffset: bigint;
}

/** The section table of a PE image, in section-number order. */
export function peSections(efiPath: string): PeSection[] {
  const text = execFileSync('llvm-readobj', ['--sections', efiPath], { encoding: 'utf8' });
  const sections: PeSection[] = [];
  for (const m of text.matchAll(/VirtualSize: (0x[0-9A-F]+)\s+VirtualAddress: (0x[0-9A-F]+)\s+RawDataSize: \d+\s+PointerToRawData: (0x[0-9A-F]+)/gi)) {
    sections.push({ virtualSize: BigInt(m[1]!), rva: BigInt(m[2]!), fileOffset: BigInt(m[3]!) });
  }
  return sections;
}

/** Reads bytes of the image file by RVA (code is not relocated by the loader). */
export function imageFileReader(efiPath: string): (rva: bigint, length: number) => Buffer {
  const sections = peSections(efiPath);
  const file = readFileSync(efiPath);
  return (rva, length) => {
    const s = sections.find((sec) => rva >= sec.rva && rva < sec.rva + sec.virtualSize);
    if (!s) throw new Error(`rva 0x${rva.toString(16)} is in no section of ${efiPath}`);
    const offset = Number(s.fileOffset + (rva - s.rva));
    return file.subarray(offset, offset + length);
  };
}

export function stubPublicRvas(efiPath: string, pdbPath: string): Map<string, bigint> {
  const sections = peSections(efiPath);
  const publics = execFileSync('llvm-pdbutil', ['dump', '--publics', pdbPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = new Map<string, bigint>();
  for (const m of publics.matchAll(/S_PUB32 \[size = \d+\] `([^`]+)`\s+flags = [^,]+, addr = (\d+):(\d+)/g)) {
    const section = sections[Number(m[2]) - 1];
    if (section !== undefined) out.set(m[1]!, section.rva + BigInt(m[3]!));
  }
  return out;
}
