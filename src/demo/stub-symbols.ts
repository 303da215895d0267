/**
 * Addresses of stub-uefi's functions and globals for tests and the demo tour,
 * read with llvm-pdbutil/llvm-readobj (LLVM's own tools, the oracles) until
 * josgdb serves symbols itself. Values are RVAs: add the image base the kernel
 * reports.
 */
import { execFileSync } from 'child_process';

export function stubPublicRvas(efiPath: string, pdbPath: string): Map<string, bigint> {
  const sections = execFileSync('llvm-readobj', ['--sections', efiPath], { encoding: 'utf8' });
  const sectionRva: bigint[] = [];
  for (const m of sections.matchAll(/VirtualAddress: (0x[0-9A-Fa-f]+)/g)) sectionRva.push(BigInt(m[1]!));
  const publics = execFileSync('llvm-pdbutil', ['dump', '--publics', pdbPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = new Map<string, bigint>();
  for (const m of publics.matchAll(/S_PUB32 \[size = \d+\] `([^`]+)`\s+flags = [^,]+, addr = (\d+):(\d+)/g)) {
    const section = Number(m[2]);
    const base = sectionRva[section - 1];
    if (base !== undefined) out.set(m[1]!, base + BigInt(m[3]!));
  }
  return out;
}
