/**
 * One parse of a whole PE image into a typed, immutable description. Every
 * directory is decoded up front so a corrupt image fails here, once, with a
 * SymbolFormatError naming the part, instead of later in whichever consumer
 * first touches the broken directory.
 */
import { JosgdbError } from '../../common/errors';
import { DebugDirectoryEntry, CodeViewPdbInfo, parseDebugDirectory } from './debug-directory';
import { PeExportDirectory, parseExportDirectory } from './exports';
import { DataDirectoryIndex, PeHeaders, dataDirectory, parseHeaders } from './headers';
import { ImageBytes, PeLayout, fileImageBytes, loadedImageBytes } from './image-bytes';
import { RuntimeFunction, findRuntimeFunction, parseRuntimeFunctions } from './pdata';
import { BaseRelocationBlock, parseBaseRelocations } from './relocations';
import { PeSection, parseSectionTable, sectionForRva } from './sections';

export interface ParsePeOptions {
  /** 'file': the bytes of the image file. 'loaded': the image as mapped in memory at its base. */
  layout: PeLayout;
}

export interface PeImage {
  readonly layout: PeLayout;
  readonly headers: PeHeaders;
  /** IMAGE_FILE_MACHINE_*, from the COFF header. */
  readonly machine: number;
  /** From the optional header; see `OptionalHeader.imageBase` for loaded images. */
  readonly imageBase: bigint;
  readonly entryPointRva: number;
  readonly sizeOfImage: number;
  readonly sections: readonly PeSection[];
  readonly debugDirectory: readonly DebugDirectoryEntry[];
  /** The first RSDS CodeView record: which PDB belongs to this image. */
  readonly codeView: CodeViewPdbInfo | undefined;
  readonly exports: PeExportDirectory | undefined;
  /** .pdata entries in table order (sorted by begin RVA in a well-formed image). */
  readonly runtimeFunctions: readonly RuntimeFunction[];
  readonly baseRelocations: readonly BaseRelocationBlock[];
  /** The section whose memory extent holds `rva`. */
  sectionForRva(rva: number): PeSection | undefined;
  /** The RUNTIME_FUNCTION covering `rva`. */
  findRuntimeFunction(rva: number): RuntimeFunction | undefined;
  /**
   * A copy of `length` bytes at `rva` as loaded: in the file layout the range
   * must lie in the headers or in one section (a section's tail past its file
   * data reads as zeros); in the loaded layout anywhere below SizeOfImage.
   * Throws SymbolFormatError (part 'RVA read') when it does not.
   */
  readRva(rva: number, length: number): Uint8Array;
}

/**
 * Parses a PE32+ image. Throws SymbolFormatError for anything malformed or
 * truncated. The result keeps `data` for `readRva`, so it must not change afterwards.
 */
export function parsePeImage(data: Uint8Array, options: ParsePeOptions): PeImage {
  const headers = parseHeaders(data);
  const isFile = options.layout === 'file';
  const sections = parseSectionTable(data, headers, isFile);
  const image: ImageBytes = isFile ? fileImageBytes(data, headers, sections) : loadedImageBytes(data, headers);

  const debugDirectory = parseDebugDirectory(image, dataDirectory(headers, DataDirectoryIndex.Debug));
  const exports = parseExportDirectory(image, dataDirectory(headers, DataDirectoryIndex.Export));
  const runtimeFunctions = parseRuntimeFunctions(image, dataDirectory(headers, DataDirectoryIndex.Exception));
  const baseRelocations = parseBaseRelocations(image, dataDirectory(headers, DataDirectoryIndex.BaseRelocation));

  return {
    layout: options.layout,
    headers,
    machine: headers.file.machine,
    imageBase: headers.optional.imageBase,
    entryPointRva: headers.optional.addressOfEntryPoint,
    sizeOfImage: headers.optional.sizeOfImage,
    sections,
    debugDirectory,
    codeView: debugDirectory.find((e) => e.codeView !== undefined)?.codeView,
    exports,
    runtimeFunctions,
    baseRelocations,
    sectionForRva: (rva) => sectionForRva(sections, rva),
    findRuntimeFunction: (rva) => findRuntimeFunction(runtimeFunctions, rva),
    readRva(rva, length) {
      if (!isUint32(rva) || !isUint32(length)) {
        throw new JosgdbError('BAD_ARGUMENT', `readRva(${rva}, ${length}): RVA and length must be integers in 0..2^32-1`);
      }
      // Copy, so callers can neither see later changes to the source nor change the image.
      return image.rvaToBytes(rva, length, 'RVA read').slice();
    },
  };
}

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
