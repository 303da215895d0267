/**
 * Code bytes served from the image file instead of the serial link.
 *
 * gdb reads code around every stop (prologues, `x/i`, disassembly views), and
 * at 115200 baud each byte costs 87 us. With the image file at hand the bridge
 * knows those bytes already: the executable sections as the loader placed them
 * at the reported base, with the base relocations applied. Before serving any,
 * it checks once that the target runs this very file: the COFF header (the loader
 * leaves it alone) and a sample of code at the entry point must match. Bytes the
 * user writes through gdb (patching code) are read from the target from then on.
 * Breakpoint bytes need no hiding: the file never has them.
 */
import { hex } from '../common/bytes';
import { PAGE_SIZE } from './memory';
import { BaseRelocationType, isExecutable, type PeImage } from '../symbols/pe';

/** Reads target memory exactly (the per-stop cache is not consulted). */
export type TargetReader = (address: bigint, length: number) => Promise<Buffer>;

interface CodeRange {
  start: bigint;
  bytes: Buffer;
}

/** How many bytes at the entry point are compared with the target before the file is trusted. */
const ENTRY_SAMPLE = 64;
const COFF_HEADER_SIZE = 20;
/** 'RSDS', the 16-byte GUID and the age. */
const CODEVIEW_IDENTITY = 24;

export class LocalCode {
  private readonly ranges: CodeRange[];
  private state: 'unchecked' | 'trusted' | 'refused' = 'unchecked';
  /** Pages the user wrote through gdb: read from the target from then on. */
  private readonly written = new Set<bigint>();

  constructor(
    private readonly image: PeImage,
    private readonly loadBase: bigint,
    private readonly onRefused: (reason: string) => void = () => undefined,
  ) {
    this.ranges = relocatedCode(image, loadBase);
  }

  /** The bytes at [address, address+length) from the file, if one executable section holds them all and the file may be used. */
  async read(address: bigint, length: number, readTarget: TargetReader): Promise<Buffer | undefined> {
    const range = this.ranges.find((r) => address >= r.start && address + BigInt(length) <= r.start + BigInt(r.bytes.length));
    if (!range || this.state === 'refused') return undefined;
    if (pagesOf(address, length).some((page) => this.written.has(page))) return undefined;
    if (this.state === 'unchecked' && !(await this.check(readTarget))) return undefined;
    const offset = Number(address - range.start);
    return Buffer.from(range.bytes.subarray(offset, offset + length));
  }

  /** The user wrote target memory here: the file no longer tells what is there. */
  wrote(address: bigint, length: number): void {
    for (const page of pagesOf(address, Math.max(length, 1))) this.written.add(page);
  }

  /** The target rebooted: check again before trusting the file. */
  forget(): void {
    this.written.clear();
    if (this.state === 'trusted') this.state = 'unchecked';
  }

  private async check(readTarget: TargetReader): Promise<boolean> {
    const peOffset = this.image.readRva(0x3c, 4);
    const coffRva = new DataView(peOffset.buffer, peOffset.byteOffset, 4).getUint32(0, true) + 4;
    const fileCoff = Buffer.from(this.image.readRva(coffRva, COFF_HEADER_SIZE));
    const entry = this.loadBase + BigInt(this.image.entryPointRva);
    const fileEntry = this.fileBytes(entry, ENTRY_SAMPLE);
    // The CodeView record (RSDS, GUID, age) names the build: two builds of the same
    // code (with and without unwind tables, say) can share a COFF header and entry code.
    const codeView = this.image.debugDirectory.find((e) => e.codeView !== undefined && e.addressOfRawData !== 0);
    let reason: string | undefined;
    try {
      const targetCoff = await readTarget(this.loadBase + BigInt(coffRva), COFF_HEADER_SIZE);
      if (!targetCoff.equals(fileCoff)) reason = `the COFF header at ${hex(this.loadBase + BigInt(coffRva))} differs from the image file's`;
      else if (codeView) {
        const at = this.loadBase + BigInt(codeView.addressOfRawData);
        const fileRecord = Buffer.from(this.image.readRva(codeView.addressOfRawData, CODEVIEW_IDENTITY));
        if (!(await readTarget(at, CODEVIEW_IDENTITY)).equals(fileRecord)) reason = `the build identity (CodeView GUID and age) at ${hex(at)} differs from the image file's`;
      }
      if (!reason && fileEntry) {
        const targetEntry = await readTarget(entry, fileEntry.length);
        if (!targetEntry.equals(fileEntry)) reason = `the code at the entry point ${hex(entry)} differs from the image file's`;
      }
    } catch (err) {
      reason = `the target's image could not be read (${err instanceof Error ? err.message : String(err)})`;
    }
    this.state = reason ? 'refused' : 'trusted';
    if (reason) this.onRefused(reason);
    return !reason;
  }

  private fileBytes(address: bigint, length: number): Buffer | undefined {
    const range = this.ranges.find((r) => address >= r.start && address < r.start + BigInt(r.bytes.length));
    if (!range) return undefined;
    const offset = Number(address - range.start);
    return Buffer.from(range.bytes.subarray(offset, Math.min(offset + length, range.bytes.length)));
  }
}

/** The executable sections' initialised bytes at `loadBase`, with DIR64 base relocations applied. */
function relocatedCode(image: PeImage, loadBase: bigint): CodeRange[] {
  const delta = loadBase - image.imageBase;
  const ranges: CodeRange[] = [];
  for (const section of image.sections) {
    if (!isExecutable(section)) continue;
    const length = Math.min(section.virtualSize, section.sizeOfRawData);
    if (length <= 0) continue;
    const bytes = Buffer.from(image.readRva(section.virtualAddress, length));
    let exact = true;
    for (const block of image.baseRelocations) {
      for (const reloc of block.entries) {
        const at = reloc.rva - section.virtualAddress;
        if (reloc.type === BaseRelocationType.ABSOLUTE || at < 0 || at >= length) continue;
        // x64 images use DIR64 alone; any other kind here is patched in a way not modelled: leave the section to the target
        if (reloc.type !== BaseRelocationType.DIR64 || at + 8 > length) exact = false;
        else if (delta !== 0n) bytes.writeBigUInt64LE((bytes.readBigUInt64LE(at) + delta) & 0xffffffffffffffffn, at);
      }
    }
    if (exact) ranges.push({ start: loadBase + BigInt(section.virtualAddress), bytes });
  }
  return ranges;
}

/** The page numbers [address, address + length) touches (length at least 1). */
function pagesOf(address: bigint, length: number): bigint[] {
  const pages: bigint[] = [];
  for (let page = address / PAGE_SIZE; page <= (address + BigInt(length) - 1n) / PAGE_SIZE; page++) pages.push(page);
  return pages;
}
