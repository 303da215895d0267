/**
 * Test support for the PE reader: real images to parse (the clang-built symbol
 * fixture, stub-uefi's BOOTX64.EFI, a small DLL with exports) and parsers for
 * what LLVM's own tools print about them, which is the oracle the tests compare
 * against. Written against LLVM 14's output format.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..', '..', '..');

/** stub-uefi's image, built with make when a fresh checkout has none. */
export function stubImage(): string {
  const image = join(REPO, 'stub-uefi', 'build', 'BOOTX64.EFI');
  if (!existsSync(image)) execFileSync('make', ['-C', join(REPO, 'stub-uefi')], { stdio: 'pipe' });
  return image;
}

export function run(tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
}

const buildDirs: string[] = [];

function buildDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  buildDirs.push(dir);
  return dir;
}

/** Removes the directories `buildExportDll` and `buildDwarfImage` made. */
export function removeBuilds(): void {
  for (const dir of buildDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const DLL_SOURCE = `
int alpha(int x) { return x + 1; }
int beta(int x) { return x * 2; }
int hidden_by_ordinal(int x) { return x - 3; }
int exported_data = 42;
`;

/**
 * A DLL whose export table has every shape: named exports, an explicit ordinal
 * that leaves empty slots, an ordinal-only export, data, an alias and a forwarder.
 */
export function buildExportDll(): string {
  const dir = buildDir('josgdb-pe-dll-');
  writeFileSync(join(dir, 'exports.c'), DLL_SOURCE);
  execFileSync('clang', ['-target', 'x86_64-unknown-windows', '-c', join(dir, 'exports.c'), '-o', join(dir, 'exports.obj')], {
    stdio: 'pipe',
  });
  const dll = join(dir, 'exports.dll');
  execFileSync(
    'lld-link',
    [
      '/dll', '/noentry', '/nodefaultlib', `/out:${dll}`,
      '/export:alpha', '/export:beta,@7', '/export:hidden_by_ordinal,@9,NONAME', '/export:exported_data,DATA',
      '/export:forwarded=kernel32.Sleep', '/export:alias_of_alpha=alpha',
      join(dir, 'exports.obj'),
    ],
    { stdio: 'pipe' },
  );
  return dll;
}

/** An image with DWARF sections, whose '/N' names live in the COFF string table. */
export function buildDwarfImage(): string {
  const dir = buildDir('josgdb-pe-dwarf-');
  writeFileSync(join(dir, 'dwarf.c'), DLL_SOURCE);
  const object = join(dir, 'dwarf.obj');
  execFileSync('clang', ['-target', 'x86_64-unknown-windows', '-g', '-gdwarf', '-c', join(dir, 'dwarf.c'), '-o', object], { stdio: 'pipe' });
  const dll = join(dir, 'dwarf.dll');
  execFileSync('lld-link', ['/dll', '/noentry', '/nodefaultlib', '/debug:dwarf', `/out:${dll}`, '/export:alpha', object], { stdio: 'pipe' });
  return dll;
}

// ---- llvm-readobj text ----------------------------------------------------------

function field(block: string, name: string): string {
  const m = new RegExp(`^\\s*${name}: (.*)$`, 'm').exec(block);
  if (!m) throw new Error(`llvm-readobj output has no ${name}:\n${block.slice(0, 400)}`);
  return m[1]!.trim();
}

/** The value of a 'Characteristics [ (0x..)' flag list. */
function flags(block: string): number {
  const m = /^\s*Characteristics \[ \((0x[0-9A-F]+)\)/m.exec(block);
  if (!m) throw new Error(`llvm-readobj output has no Characteristics flags:\n${block.slice(0, 400)}`);
  return Number(m[1]);
}

/** A number as llvm-readobj prints it: decimal, 0x hex, or 'text (0x..)' for flags and enums. */
function num(text: string): number {
  const paren = /\((0x[0-9A-Fa-f]+)\)\s*$/.exec(text);
  return Number(paren ? paren[1] : text.split(/\s/)[0]);
}

/** The `name {` ... matching `}` blocks at one nesting level. */
function blocks(text: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`^([ \\t]*)${name} \\{$`, 'gm');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const indent = m[1]!;
    const end = text.indexOf(`\n${indent}}`, m.index);
    out.push(text.slice(m.index, end < 0 ? undefined : end));
  }
  return out;
}

export interface LlvmHeaders {
  machine: number;
  numberOfSections: number;
  timeDateStamp: number;
  characteristics: number;
  imageBase: bigint;
  entryPointRva: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  sectionAlignment: number;
  fileAlignment: number;
  subsystem: number;
  dllCharacteristics: number;
  /** The 16 data directories in order. */
  dataDirectories: { rva: number; size: number }[];
  peHeaderOffset: number;
}

export function readobjHeaders(image: string): LlvmHeaders {
  const text = run('llvm-readobj', ['--file-headers', image]);
  const file = blocks(text, 'ImageFileHeader')[0]!;
  const opt = blocks(text, 'ImageOptionalHeader')[0]!;
  const dirText = blocks(opt, 'DataDirectory')[0]!;
  const dirs = [...dirText.matchAll(/^\s*\w+RVA: (0x[0-9A-F]+)\s*\n\s*\w+Size: (0x[0-9A-F]+)/gm)].map((m) => ({
    rva: Number(m[1]),
    size: Number(m[2]),
  }));
  return {
    machine: num(field(file, 'Machine')),
    numberOfSections: num(field(file, 'SectionCount')),
    timeDateStamp: num(field(file, 'TimeDateStamp')),
    characteristics: flags(file),
    imageBase: BigInt(field(opt, 'ImageBase')),
    entryPointRva: num(field(opt, 'AddressOfEntryPoint')),
    sizeOfImage: num(field(opt, 'SizeOfImage')),
    sizeOfHeaders: num(field(opt, 'SizeOfHeaders')),
    sectionAlignment: num(field(opt, 'SectionAlignment')),
    fileAlignment: num(field(opt, 'FileAlignment')),
    subsystem: num(field(opt, 'Subsystem')),
    dllCharacteristics: flags(opt),
    dataDirectories: dirs,
    peHeaderOffset: num(field(blocks(text, 'DOSHeader')[0]!, 'AddressOfNewExeHeader')),
  };
}

export interface LlvmSection {
  number: number;
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
}

export function readobjSections(image: string): LlvmSection[] {
  const text = run('llvm-readobj', ['--sections', image]);
  return blocks(text, 'Section').map((b) => ({
    number: num(field(b, 'Number')),
    // 'Name: .text (2E 74 ...)': the resolved name, then the raw header bytes.
    name: /^\s*Name: (.*) \([0-9A-F ]+\)$/m.exec(b)![1]!,
    virtualSize: num(field(b, 'VirtualSize')),
    virtualAddress: num(field(b, 'VirtualAddress')),
    sizeOfRawData: num(field(b, 'RawDataSize')),
    pointerToRawData: num(field(b, 'PointerToRawData')),
    characteristics: flags(b),
  }));
}

export interface LlvmDebugEntry {
  type: number;
  characteristics: number;
  timeDateStamp: number;
  sizeOfData: number;
  addressOfRawData: number;
  pointerToRawData: number;
  pdb?: { guid: string; age: number; path: string };
}

/**
 * LLVM 14 prints the PDB GUID as its 16 raw bytes; the registry form reads the
 * first three groups as little-endian u32, u16, u16 and the last 8 bytes in order.
 */
export function guidFromBytes(bytes: number[]): string {
  const h = (b: number): string => b.toString(16).padStart(2, '0');
  const le = (from: number, n: number): string => bytes.slice(from, from + n).reverse().map(h).join('');
  const tail = bytes.slice(8).map(h).join('');
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${tail.slice(0, 4)}-${tail.slice(4)}`.toUpperCase();
}

export function readobjDebugDirectory(image: string): LlvmDebugEntry[] {
  const text = run('llvm-readobj', ['--coff-debug-directory', image]);
  return blocks(text, 'DebugEntry').map((b) => {
    const entry: LlvmDebugEntry = {
      type: num(field(b, 'Type')),
      characteristics: num(field(b, 'Characteristics')),
      timeDateStamp: num(field(b, 'TimeDateStamp')),
      sizeOfData: num(field(b, 'SizeOfData')),
      addressOfRawData: num(field(b, 'AddressOfRawData')),
      pointerToRawData: num(field(b, 'PointerToRawData')),
    };
    const info = blocks(b, 'PDBInfo')[0];
    if (info) {
      const guidText = field(info, 'PDBGUID');
      const bytes = /^\(([0-9A-F ]+)\)$/.exec(guidText);
      entry.pdb = {
        // Newer LLVM prints the registry form already; accept both.
        guid: bytes
          ? guidFromBytes(bytes[1]!.split(' ').map((x) => parseInt(x, 16)))
          : guidText.replace(/[{}]/g, '').toUpperCase(),
        age: num(field(info, 'PDBAge')),
        path: field(info, 'PDBFileName'),
      };
    }
    return entry;
  });
}

/** Every base relocation entry as llvm-readobj lists it: type name and page RVA + offset. */
export function readobjBaseRelocs(image: string): { type: string; rva: number }[] {
  const text = run('llvm-readobj', ['--coff-basereloc', image]);
  return blocks(text, 'Entry').map((b) => ({ type: field(b, 'Type'), rva: num(field(b, 'Address')) }));
}

/** RUNTIME_FUNCTIONs from `llvm-readobj --unwind`, which prints them as absolute addresses. */
export function readobjRuntimeFunctions(
  image: string,
  imageBase: bigint,
): { beginRva: number; endRva: number; unwindInfoRva: number }[] {
  const text = run('llvm-readobj', ['--unwind', image]);
  const rva = (s: string): number => Number(BigInt(/\((0x[0-9A-F]+)\)/.exec(s)![1]!) - imageBase);
  return blocks(text, 'RuntimeFunction').map((b) => ({
    beginRva: rva(field(b, 'StartAddress')),
    endRva: rva(field(b, 'EndAddress')),
    unwindInfoRva: rva(field(b, 'UnwindInfoAddress')),
  }));
}

export function readobjExports(image: string): { ordinal: number; name: string; rva: number }[] {
  const text = run('llvm-readobj', ['--coff-exports', image]);
  return blocks(text, 'Export').map((b) => ({
    ordinal: num(field(b, 'Ordinal')),
    name: /^\s*Name: ?(.*)$/m.exec(b)![1]!.trim(),
    rva: num(field(b, 'RVA')),
  }));
}

/** What `llvm-objdump -p` adds: the DLL name, the ordinal base and forwarder targets. */
export function objdumpExportTable(image: string): { dllName: string; ordinalBase: number; forwarders: Map<number, string> } {
  const text = run('llvm-objdump', ['-p', image]);
  const forwarders = new Map<number, string>();
  for (const m of text.matchAll(/^\s+(\d+)\s+\S+ \(forwarded to (.+)\)$/gm)) forwarders.set(Number(m[1]), m[2]!);
  return {
    dllName: /^\s*DLL name: (.*)$/m.exec(text)![1]!.trim(),
    ordinalBase: Number(/^\s*Ordinal base: (\d+)$/m.exec(text)![1]),
    forwarders,
  };
}

/** Section contents from `llvm-objdump -s`: the file-backed bytes of each section, by name. */
export function objdumpContents(image: string): Map<string, { address: bigint; bytes: Uint8Array }> {
  const out = new Map<string, { address: bigint; bytes: Uint8Array }>();
  let current: { address: bigint; hex: string[] } | undefined;
  let name = '';
  const flush = (): void => {
    if (current) out.set(name, { address: current.address, bytes: new Uint8Array(Buffer.from(current.hex.join(''), 'hex')) });
  };
  for (const line of run('llvm-objdump', ['-s', image]).split('\n')) {
    const header = /^Contents of section (.+):$/.exec(line);
    if (header) {
      flush();
      name = header[1]!;
      current = undefined;
      continue;
    }
    // ' ADDR xxxxxxxx xxxxxxxx xxxxxxxx xxxxxxxx  ascii': the hex columns are the
    // 35 characters after the address, whatever the ASCII column holds.
    const m = /^ ([0-9a-f]+) /.exec(line);
    if (!m || name === '') continue;
    const hexPart = line.slice(m[0].length, m[0].length + 35).replace(/ /g, '');
    if (!/^[0-9a-f]*$/.test(hexPart)) throw new Error(`unexpected llvm-objdump line: ${line}`);
    current ??= { address: BigInt(`0x${m[1]}`), hex: [] };
    current.hex.push(hexPart);
  }
  flush();
  return out;
}

/**
 * The image as a UEFI loader lays it out, built from LLVM's section list rather
 * than our parser's, so the loaded-layout test does not check the parser against
 * itself: headers at 0, each section's file data at its RVA, the rest zeros.
 */
export function synthesizeLoadedImage(file: Uint8Array, headers: LlvmHeaders, sections: LlvmSection[]): Uint8Array {
  const image = new Uint8Array(headers.sizeOfImage);
  image.set(file.subarray(0, headers.sizeOfHeaders));
  for (const s of sections) {
    const n = Math.min(s.sizeOfRawData, s.virtualSize || s.sizeOfRawData);
    image.set(file.subarray(s.pointerToRawData, s.pointerToRawData + n), s.virtualAddress);
  }
  return image;
}
