/**
 * The two ways a PE image reaches us, behind one RVA interface, so every
 * directory parser is written once:
 *
 * - 'file': the bytes of the .efi/.dll file. An RVA is mapped through the section
 *   table to a file offset; the part of a section past its raw data reads as
 *   zeros, as the loader zero-fills it (a .bss merged into .data).
 * - 'loaded': the image as a loader laid it out in memory, read from the target
 *   at its base. RVA == offset, and the image is SizeOfImage bytes.
 */
import { OptionalHeaderOffset, PeHeaders } from './headers';
import { hex, peError } from './pe-error';
import { PeSection, SECTION_HEADER_SIZE, sectionExtent, sectionForRva } from './sections';

export type PeLayout = 'file' | 'loaded';

export interface ImageBytes {
  readonly layout: PeLayout;
  /**
   * The `length` bytes at `rva` as the loader maps them. May be a view into the
   * source: internal parsers read it, the public `readRva` copies it. Errors
   * name `part` at `offset` (where in that part the RVA came from).
   */
  rvaToBytes(rva: number, length: number, part: string, offset?: number): Uint8Array;
  /**
   * Up to `max` bytes from `rva` towards the end of the mapped region holding it,
   * for NUL-terminated strings whose length is unknown until read.
   */
  rvaToEnd(rva: number, max: number, part: string, offset?: number): Uint8Array;
  /** Bytes by file offset: only the file layout has a file (debug data with no RVA). */
  fileBytes?(fileOffset: number, length: number, part: string, offset?: number): Uint8Array;
}

/**
 * Zero-filled reads copy into a new buffer. Their length comes from header
 * fields, so a corrupt size must not become a multi-gigabyte allocation; no
 * honest directory or unwind record comes near this.
 */
export const MAX_ZERO_FILL = 16 * 1024 * 1024;

/**
 * Longest name read from the image. MSVC and clang both replace decorated names
 * over 4096 bytes by a hash, so a longer one is garbage, and the cap bounds the
 * work a corrupt name table can cause.
 */
export const MAX_NAME_LENGTH = 4096;

interface Region {
  rva: number;
  /** Bytes in memory. */
  extent: number;
  /** Leading bytes that come from the file; the rest are zeros. */
  backed: number;
  fileOffset: number;
  what: string;
}

export function fileImageBytes(data: Uint8Array, headers: PeHeaders, sections: readonly PeSection[]): ImageBytes {
  const { sizeOfHeaders } = headers.optional;
  if (sizeOfHeaders > data.length) {
    const detail = `SizeOfHeaders ${hex(sizeOfHeaders)} is past the end of the ${hex(data.length)}-byte file`;
    throw peError('optional header', OptionalHeaderOffset.SizeOfHeaders, detail);
  }
  for (const s of sections) {
    const backed = Math.min(s.sizeOfRawData, sectionExtent(s));
    if (backed > 0 && s.pointerToRawData + backed > data.length) {
      throw peError(
        'section table',
        (s.number - 1) * SECTION_HEADER_SIZE,
        `section ${s.number} (${s.name}) raw data ${hex(s.pointerToRawData)}+${hex(backed)} runs past the end of the ${hex(data.length)}-byte file`,
      );
    }
  }
  const headerRegion: Region = { rva: 0, extent: sizeOfHeaders, backed: sizeOfHeaders, fileOffset: 0, what: 'the headers' };

  const regionFor = (rva: number): Region | undefined => {
    const s = sectionForRva(sections, rva);
    if (s) {
      const extent = sectionExtent(s);
      return {
        rva: s.virtualAddress,
        extent,
        backed: Math.min(s.sizeOfRawData, extent),
        fileOffset: s.pointerToRawData,
        what: `section ${s.number} (${s.name})`,
      };
    }
    return rva < sizeOfHeaders ? headerRegion : undefined;
  };

  const region = (rva: number, length: number, part: string, offset: number): Region => {
    const r = regionFor(rva);
    if (!r) throw peError(part, offset, `RVA ${hex(rva)} is in no section`);
    if (rva + length > r.rva + r.extent) {
      throw peError(part, offset, `RVA range ${hex(rva)}+${hex(length)} runs past the end of ${r.what} at ${hex(r.rva + r.extent)}`);
    }
    return r;
  };

  return {
    layout: 'file',
    rvaToBytes(rva, length, part, offset = 0) {
      if (length === 0) return new Uint8Array(0);
      const r = region(rva, length, part, offset);
      const into = rva - r.rva;
      if (into + length <= r.backed) return data.subarray(r.fileOffset + into, r.fileOffset + into + length);
      if (length > MAX_ZERO_FILL) {
        throw peError(part, offset, `RVA range ${hex(rva)}+${hex(length)} lies past the file data of ${r.what} and is too large to zero-fill`);
      }
      const out = new Uint8Array(length);
      if (into < r.backed) out.set(data.subarray(r.fileOffset + into, r.fileOffset + r.backed));
      return out;
    },
    rvaToEnd(rva, max, part, offset = 0) {
      const r = region(rva, 1, part, offset);
      const into = rva - r.rva;
      // A string in the zero-filled tail is empty; one zero byte says so.
      if (into >= r.backed) return new Uint8Array(1);
      const n = Math.min(r.backed - into, max);
      return data.subarray(r.fileOffset + into, r.fileOffset + into + n);
    },
    fileBytes(fileOffset, length, part, offset = 0) {
      if (fileOffset + length > data.length) {
        throw peError(part, offset, `file range ${hex(fileOffset)}+${hex(length)} runs past the end of the ${hex(data.length)}-byte file`);
      }
      return data.subarray(fileOffset, fileOffset + length);
    },
  };
}

export function loadedImageBytes(data: Uint8Array, headers: PeHeaders): ImageBytes {
  const { sizeOfImage } = headers.optional;
  if (data.length < sizeOfImage) {
    const detail = `loaded image is ${hex(data.length)} bytes but SizeOfImage is ${hex(sizeOfImage)}`;
    throw peError('optional header', OptionalHeaderOffset.SizeOfImage, detail);
  }
  const check = (rva: number, length: number, part: string, offset: number): void => {
    if (rva + length > sizeOfImage) {
      throw peError(part, offset, `RVA range ${hex(rva)}+${hex(length)} runs past SizeOfImage ${hex(sizeOfImage)}`);
    }
  };
  return {
    layout: 'loaded',
    rvaToBytes(rva, length, part, offset = 0) {
      if (length === 0) return new Uint8Array(0);
      check(rva, length, part, offset);
      return data.subarray(rva, rva + length);
    },
    rvaToEnd(rva, max, part, offset = 0) {
      check(rva, 1, part, offset);
      return data.subarray(rva, Math.min(sizeOfImage, rva + max));
    },
  };
}

/** The NUL-terminated string at `rva` (UTF-8; invalid bytes become U+FFFD). */
export function cstringAt(image: ImageBytes, rva: number, part: string, offset = 0): string {
  const bytes = image.rvaToEnd(rva, MAX_NAME_LENGTH + 1, part, offset);
  const end = bytes.indexOf(0);
  if (end < 0) throw peError(part, offset, `string at RVA ${hex(rva)} has no NUL within ${bytes.length} bytes`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
}
