/**
 * The section table: where each section lives in memory (RVA, virtual size) and
 * in the file (raw pointer and size). It is the only RVA-to-file-offset map a PE
 * file has, so the file layout's address mapping is built from it.
 */
import { CvReader } from '../codeview/cv-reader';
import { PeHeaders } from './headers';
import { hex, partReader, peError } from './pe-error';
import { rangeHolding } from '../../common/sorted';

/**
 * One 40-byte IMAGE_SECTION_HEADER as stored: in the image's section table,
 * and in the copy the linker puts into the PDB.
 */
export interface SectionHeader {
  /** The stored name up to its first NUL; a '/N' long name is not resolved here. */
  name: string;
  virtualAddress: number;
  virtualSize: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  pointerToRelocations: number;
  pointerToLinenumbers: number;
  numberOfRelocations: number;
  numberOfLinenumbers: number;
  /** IMAGE_SCN_* flags (see `SectionFlags`). */
  characteristics: number;
}

export interface PeSection extends SectionHeader {
  /** 1-based section number, as CodeView `section:offset` addresses count. */
  number: number;
  /** The name, with a '/N' long name resolved through the COFF string table when the file has one. */
  name: string;
}

export function readSectionHeader(r: CvReader): SectionHeader {
  return {
    name: latin1(r.bytes(8)),
    virtualSize: r.u32(),
    virtualAddress: r.u32(),
    sizeOfRawData: r.u32(),
    pointerToRawData: r.u32(),
    pointerToRelocations: r.u32(),
    pointerToLinenumbers: r.u32(),
    numberOfRelocations: r.u16(),
    numberOfLinenumbers: r.u16(),
    characteristics: r.u32(),
  };
}

export const SectionFlags = {
  CNT_CODE: 0x20,
  CNT_INITIALIZED_DATA: 0x40,
  CNT_UNINITIALIZED_DATA: 0x80,
  MEM_DISCARDABLE: 0x02000000,
  MEM_EXECUTE: 0x20000000,
  MEM_READ: 0x40000000,
  MEM_WRITE: 0x80000000,
} as const;

export const SECTION_HEADER_SIZE = 40;
const COFF_SYMBOL_SIZE = 18;

/**
 * Bytes the section occupies in memory. A zero VirtualSize is an old linker
 * convention for "same as the raw size", and loaders honour it.
 */
export function sectionExtent(s: PeSection): number {
  return s.virtualSize !== 0 ? s.virtualSize : s.sizeOfRawData;
}

export function isExecutable(s: Pick<SectionHeader, 'characteristics'>): boolean {
  return (s.characteristics & SectionFlags.MEM_EXECUTE) !== 0;
}

export function isWritable(s: Pick<SectionHeader, 'characteristics'>): boolean {
  return (s.characteristics & SectionFlags.MEM_WRITE) !== 0;
}

/**
 * Parses the section table. `resolveLongNames` is for the file layout only: the
 * COFF string table that '/N' names point into is never mapped by a loader.
 */
export function parseSectionTable(data: Uint8Array, headers: PeHeaders, resolveLongNames: boolean): PeSection[] {
  const count = headers.file.numberOfSections;
  const table = partReader(data, headers.sectionTableOffset, count * SECTION_HEADER_SIZE, 'section table');
  // Read only when a '/N' name needs it, so a stale symbol table pointer in an
  // image without long names cannot fail the parse.
  let strings: CvReader | undefined;
  const sections: PeSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = table.offset;
    const section: PeSection = { number: i + 1, ...readSectionHeader(table) };
    const long = /^\/(\d+)$/.exec(section.name);
    if (long && resolveLongNames && headers.file.pointerToSymbolTable !== 0) {
      strings ??= stringTable(data, headers);
      section.name = longName(strings, Number(long[1]), at);
    }
    checkPlacement(section, sections[sections.length - 1], at);
    sections.push(section);
  }
  return sections;
}

/**
 * The spec requires ascending, non-overlapping virtual addresses, and the RVA
 * lookups binary-search on that; an image that breaks it is corrupt.
 */
function checkPlacement(s: PeSection, previous: PeSection | undefined, at: number): void {
  const end = s.virtualAddress + sectionExtent(s);
  if (end > 0x1_0000_0000) {
    throw peError('section table', at, `section ${s.number} (${s.name}) ends at RVA ${hex(end)}, past 4 GiB`);
  }
  if (previous && s.virtualAddress < previous.virtualAddress + sectionExtent(previous)) {
    throw peError(
      'section table',
      at,
      `section ${s.number} (${s.name}) at RVA ${hex(s.virtualAddress)} overlaps or precedes section ${previous.number} (${previous.name})`,
    );
  }
}

/** The section whose memory extent holds `rva`, by binary search. */
export function sectionForRva(sections: readonly PeSection[], rva: number): PeSection | undefined {
  return rangeHolding(sections, rva, (s) => s.virtualAddress, (s) => s.virtualAddress + sectionExtent(s));
}

function stringTable(data: Uint8Array, headers: PeHeaders): CvReader {
  const { pointerToSymbolTable, numberOfSymbols } = headers.file;
  const start = pointerToSymbolTable + numberOfSymbols * COFF_SYMBOL_SIZE;
  // The table's first u32 is its size including that u32.
  const size = partReader(data, start, 4, 'COFF string table').u32();
  if (size < 4) throw peError('COFF string table', 0, `size ${size} is smaller than its own size field`);
  return partReader(data, start, size, 'COFF string table');
}

function longName(strings: CvReader, offset: number, at: number): string {
  if (offset < 4 || offset >= strings.length) {
    throw peError('section table', at, `long name offset ${offset} outside the ${strings.length}-byte string table`);
  }
  strings.seek(offset);
  return strings.cstring();
}

function latin1(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end < 0 ? bytes.length : end).toString('latin1');
}
