/**
 * Reads a PE image out of target memory when all we have is a memory reader
 * and the image base: the headers come first because only they say how big the
 * image is and where its sections are, and a corrupt or foreign base must not
 * turn into a read of gigabytes over a serial line.
 */
import { CvReader } from '../codeview/cv-reader';
import { OptionalHeaderOffset, parseHeaders } from './headers';
import { PeImage, parsePeImage } from './pe-image';
import { PE_FILE, hex, peError } from './pe-error';
import { SECTION_HEADER_SIZE, isExecutable, isWritable, parseSectionTable, sectionExtent } from './sections';

/**
 * Reads `length` bytes at `rva` (relative to the image base). It must return
 * exactly `length` bytes or throw; its own errors (an unmapped address, a
 * timeout) pass through unchanged. Chunking to the link's packet size is its job.
 */
export type ImageMemoryReader = (rva: number, length: number) => Promise<Uint8Array>;

export interface ReadLoadedImageOptions {
  /** Largest SizeOfImage accepted; default `MAX_LOADED_IMAGE_SIZE`. */
  maxImageSize?: number;
  /** Also read writable sections (default false: see below). */
  readWritableSections?: boolean;
}

/** A UEFI kernel image is a few MiB; anything near this is a wrong base or garbage. */
export const MAX_LOADED_IMAGE_SIZE = 256 * 1024 * 1024;
/** DOS stubs are ~100 bytes; a PE header offset past this is garbage. */
const MAX_PE_HEADER_OFFSET = 64 * 1024;
const DOS_HEADER_SIZE = 64;
const COFF_HEADER_SIZE = 20;
const PART = 'loaded image';

export async function readLoadedImage(read: ImageMemoryReader, options: ReadLoadedImageOptions = {}): Promise<PeImage> {
  const maxImageSize = options.maxImageSize ?? MAX_LOADED_IMAGE_SIZE;
  const fetch = async (rva: number, length: number): Promise<Uint8Array> => {
    // Header fields size the early reads too: the limit holds for every read.
    if (rva + length > maxImageSize) {
      throw peError(PART, rva, `reading ${hex(length)} bytes here would pass the ${hex(maxImageSize)}-byte limit for a loaded image`);
    }
    const bytes = await read(rva, length);
    if (bytes.length !== length) throw peError(PART, rva, `memory reader returned ${bytes.length} bytes, ${length} requested`);
    return bytes;
  };

  // Small reads, each sized by the one before, until SizeOfImage and
  // SizeOfHeaders are known and checked: DOS header, through the COFF header,
  // through the optional header. Only then is anything large read.
  const dos = new CvReader(await fetch(0, DOS_HEADER_SIZE), PE_FILE, 'DOS header');
  if (dos.u16() !== 0x5a4d) dos.fail("bad magic, expected 'MZ' (is the image base right?)", 0);
  dos.seek(0x3c);
  const peOffset = dos.u32();
  if (peOffset > MAX_PE_HEADER_OFFSET) dos.fail(`PE header offset ${hex(peOffset)} is implausibly large`, 0x3c);
  const coffEnd = peOffset + 4 + COFF_HEADER_SIZE;
  const coff = new CvReader(await fetch(0, coffEnd), PE_FILE, 'COFF file header', peOffset + 4);
  coff.skip(16);
  const sizeOfOptionalHeader = coff.u16();
  const headers = parseHeaders(await fetch(0, coffEnd + sizeOfOptionalHeader));

  const { sizeOfImage, sizeOfHeaders } = headers.optional;
  const limit = (detail: string): never => {
    throw peError('optional header', OptionalHeaderOffset.SizeOfImage, detail);
  };
  if (sizeOfImage > maxImageSize) {
    limit(`SizeOfImage ${hex(sizeOfImage)} exceeds the ${hex(maxImageSize)}-byte limit for a loaded image`);
  }
  if (sizeOfHeaders > sizeOfImage) limit(`SizeOfHeaders ${hex(sizeOfHeaders)} exceeds SizeOfImage ${hex(sizeOfImage)}`);
  // The loader copies SizeOfHeaders bytes, so a section table past them is not in memory.
  const sectionTableEnd = headers.sectionTableOffset + headers.file.numberOfSections * SECTION_HEADER_SIZE;
  if (sectionTableEnd > sizeOfHeaders) {
    throw peError('section table', 0, `ends at ${hex(sectionTableEnd)}, past SizeOfHeaders ${hex(sizeOfHeaders)}`);
  }

  // Only what the loader copied from the file is read: the headers and each
  // section's initialised bytes (its zero-filled tail is zero in memory too).
  // Writable sections are skipped by default: they hold the program's state,
  // not its description (debug directory, exports, .pdata/.xdata live in
  // read-only sections), and a kernel's .data/.bss with its stacks and heaps
  // would cost minutes on a serial line. Gaps stay zero.
  const image = new Uint8Array(sizeOfImage);
  image.set(await fetch(0, sizeOfHeaders));
  const sections = parseSectionTable(image, headers, false);
  for (const s of sections) {
    if (isWritable(s) && !isExecutable(s) && !options.readWritableSections) continue;
    const start = s.virtualAddress;
    const end = Math.min(sizeOfImage, start + Math.min(sectionExtent(s), s.sizeOfRawData));
    if (end > start) image.set(await fetch(start, end - start), start);
  }
  return parsePeImage(image, { layout: 'loaded' });
}
