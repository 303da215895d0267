/**
 * The fixed headers at the start of a PE image: DOS stub header, PE signature,
 * COFF file header and the PE32+ optional header with its data directories.
 * They sit at offset 0 in both the file and the loaded layout (the loader copies
 * SizeOfHeaders bytes verbatim), so this module reads plain offsets and needs
 * no RVA mapping.
 */
import { hex, partReader } from './pe-error';

export interface DosHeader {
  /** e_lfanew: file offset of the 'PE\0\0' signature. */
  peHeaderOffset: number;
}

export interface CoffFileHeader {
  /** IMAGE_FILE_MACHINE_*; 0x8664 for x86-64 (see `PeMachine`). */
  machine: number;
  numberOfSections: number;
  timeDateStamp: number;
  pointerToSymbolTable: number;
  numberOfSymbols: number;
  sizeOfOptionalHeader: number;
  /** IMAGE_FILE_* flags. */
  characteristics: number;
}

export interface DataDirectory {
  rva: number;
  size: number;
}

export interface OptionalHeader {
  /** Always 0x20b (PE32+): PE32 images are rejected. */
  magic: number;
  majorLinkerVersion: number;
  minorLinkerVersion: number;
  sizeOfCode: number;
  sizeOfInitializedData: number;
  sizeOfUninitializedData: number;
  addressOfEntryPoint: number;
  baseOfCode: number;
  /**
   * Preferred load address from the header. In a loaded image this can already
   * be the actual base: EDK2's loader rewrites the field when it relocates.
   */
  imageBase: bigint;
  sectionAlignment: number;
  fileAlignment: number;
  majorOperatingSystemVersion: number;
  minorOperatingSystemVersion: number;
  majorImageVersion: number;
  minorImageVersion: number;
  majorSubsystemVersion: number;
  minorSubsystemVersion: number;
  win32VersionValue: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  checkSum: number;
  /** IMAGE_SUBSYSTEM_*; 10 for an EFI application (see `PeSubsystem`). */
  subsystem: number;
  /** IMAGE_DLLCHARACTERISTICS_* flags. */
  dllCharacteristics: number;
  sizeOfStackReserve: bigint;
  sizeOfStackCommit: bigint;
  sizeOfHeapReserve: bigint;
  sizeOfHeapCommit: bigint;
  loaderFlags: number;
  /** As the header states it; `dataDirectories` holds at most 16 of them. */
  numberOfRvaAndSizes: number;
  /** Indexed by `DataDirectoryIndex`; missing trailing entries are absent, not zero. */
  dataDirectories: DataDirectory[];
}

export interface PeHeaders {
  dos: DosHeader;
  file: CoffFileHeader;
  optional: OptionalHeader;
  /** Offset of the section table (right after the optional header). */
  sectionTableOffset: number;
}

export const PeMachine = {
  I386: 0x14c,
  AMD64: 0x8664,
  ARM64: 0xaa64,
} as const;

export const PeSubsystem = {
  EFI_APPLICATION: 10,
  EFI_BOOT_SERVICE_DRIVER: 11,
  EFI_RUNTIME_DRIVER: 12,
  EFI_ROM: 13,
} as const;

export const DataDirectoryIndex = {
  Export: 0,
  Import: 1,
  Resource: 2,
  Exception: 3,
  /** A file offset, not an RVA: the certificate table is never mapped. */
  Certificate: 4,
  BaseRelocation: 5,
  Debug: 6,
  Architecture: 7,
  GlobalPtr: 8,
  Tls: 9,
  LoadConfig: 10,
  BoundImport: 11,
  Iat: 12,
  DelayImport: 13,
  ClrRuntime: 14,
  Reserved: 15,
} as const;

/** Offsets of optional-header fields that error messages point at. */
export const OptionalHeaderOffset = {
  SizeOfImage: 56,
  SizeOfHeaders: 60,
} as const;

const MZ = 0x5a4d;
const PE_SIGNATURE = 0x00004550;
const PE32_MAGIC = 0x10b;
const PE32PLUS_MAGIC = 0x20b;
const DOS_HEADER_SIZE = 64;
const COFF_HEADER_SIZE = 20;
/** Optional header bytes before the data directories in PE32+. */
const PE32PLUS_FIXED_SIZE = 112;
const DATA_DIRECTORY_SIZE = 8;
const MAX_DATA_DIRECTORIES = 16;

export function parseHeaders(data: Uint8Array): PeHeaders {
  const dos = partReader(data, 0, DOS_HEADER_SIZE, 'DOS header');
  const magic = dos.u16();
  if (magic !== MZ) dos.fail(`bad magic ${hex(magic)}, expected 'MZ'`, 0);
  dos.seek(0x3c);
  const peHeaderOffset = dos.u32();
  // e_lfanew inside the DOS header would make the two overlap; real linkers
  // never do that, and it usually means the field is garbage.
  if (peHeaderOffset < DOS_HEADER_SIZE) dos.fail(`PE header offset ${hex(peHeaderOffset)} lies inside the DOS header`, 0x3c);

  const sig = partReader(data, peHeaderOffset, 4, 'PE signature');
  const signature = sig.u32();
  if (signature !== PE_SIGNATURE) sig.fail(`bad signature ${hex(signature)} at file offset ${hex(peHeaderOffset)}, expected 'PE\\0\\0'`, 0);

  const coffStart = peHeaderOffset + 4;
  const coff = partReader(data, coffStart, COFF_HEADER_SIZE, 'COFF file header');
  const file: CoffFileHeader = {
    machine: coff.u16(),
    numberOfSections: coff.u16(),
    timeDateStamp: coff.u32(),
    pointerToSymbolTable: coff.u32(),
    numberOfSymbols: coff.u32(),
    sizeOfOptionalHeader: coff.u16(),
    characteristics: coff.u16(),
  };

  // Reading through a reader of exactly SizeOfOptionalHeader bytes makes a
  // header that lists more data directories than it has room for an error
  // instead of a read into the section table.
  const optionalStart = coffStart + COFF_HEADER_SIZE;
  const opt = partReader(data, optionalStart, file.sizeOfOptionalHeader, 'optional header');
  const optMagic = opt.u16();
  if (optMagic === PE32_MAGIC) opt.fail('PE32 (32-bit) optional header: only PE32+ images are supported', 0);
  if (optMagic !== PE32PLUS_MAGIC) opt.fail(`bad magic ${hex(optMagic)}, expected 0x20b (PE32+)`, 0);
  if (file.sizeOfOptionalHeader < PE32PLUS_FIXED_SIZE) {
    opt.fail(`SizeOfOptionalHeader ${file.sizeOfOptionalHeader} is smaller than the ${PE32PLUS_FIXED_SIZE}-byte PE32+ header`, 0);
  }
  const optional: OptionalHeader = {
    magic: optMagic,
    majorLinkerVersion: opt.u8(),
    minorLinkerVersion: opt.u8(),
    sizeOfCode: opt.u32(),
    sizeOfInitializedData: opt.u32(),
    sizeOfUninitializedData: opt.u32(),
    addressOfEntryPoint: opt.u32(),
    baseOfCode: opt.u32(),
    imageBase: opt.u64(),
    sectionAlignment: opt.u32(),
    fileAlignment: opt.u32(),
    majorOperatingSystemVersion: opt.u16(),
    minorOperatingSystemVersion: opt.u16(),
    majorImageVersion: opt.u16(),
    minorImageVersion: opt.u16(),
    majorSubsystemVersion: opt.u16(),
    minorSubsystemVersion: opt.u16(),
    win32VersionValue: opt.u32(),
    sizeOfImage: opt.u32(),
    sizeOfHeaders: opt.u32(),
    checkSum: opt.u32(),
    subsystem: opt.u16(),
    dllCharacteristics: opt.u16(),
    sizeOfStackReserve: opt.u64(),
    sizeOfStackCommit: opt.u64(),
    sizeOfHeapReserve: opt.u64(),
    sizeOfHeapCommit: opt.u64(),
    loaderFlags: opt.u32(),
    numberOfRvaAndSizes: opt.u32(),
    dataDirectories: [],
  };
  // Some linkers state 16 directories, malformed files state billions: only the
  // 16 defined slots mean anything, and each must fit in the header.
  const count = Math.min(optional.numberOfRvaAndSizes, MAX_DATA_DIRECTORIES);
  if (opt.remaining < count * DATA_DIRECTORY_SIZE) {
    opt.fail(`NumberOfRvaAndSizes ${optional.numberOfRvaAndSizes} needs ${count * DATA_DIRECTORY_SIZE} bytes, only ${opt.remaining} left`);
  }
  for (let i = 0; i < count; i++) optional.dataDirectories.push({ rva: opt.u32(), size: opt.u32() });

  return { dos: { peHeaderOffset }, file, optional, sectionTableOffset: optionalStart + file.sizeOfOptionalHeader };
}

/** The data directory at `index`, or undefined when absent or empty (RVA or size 0). */
export function dataDirectory(headers: PeHeaders, index: number): DataDirectory | undefined {
  const dir = headers.optional.dataDirectories[index];
  return dir !== undefined && dir.rva !== 0 && dir.size !== 0 ? dir : undefined;
}
