/**
 * Base relocations: the places the loader patches when the image does not load
 * at its preferred base. Comparing them against target memory tells which bytes
 * legitimately differ from the file, and where the loader put the image.
 */
import { CvReader } from '../codeview/cv-reader';
import { DataDirectory } from './headers';
import { ImageBytes } from './image-bytes';
import { PE_FILE, hex, peError } from './pe-error';

export interface BaseRelocationBlock {
  /** RVA of the 4 KiB page the entries' offsets are relative to. */
  pageRva: number;
  entries: BaseRelocation[];
}

export interface BaseRelocation {
  /** IMAGE_REL_BASED_* (see `BaseRelocationType`); ABSOLUTE entries are padding, kept as stored. */
  type: number;
  /** Offset inside the page (12 bits). */
  offset: number;
  /** pageRva + offset. */
  rva: number;
}

export const BaseRelocationType = {
  ABSOLUTE: 0,
  HIGH: 1,
  LOW: 2,
  HIGHLOW: 3,
  HIGHADJ: 4,
  DIR64: 10,
} as const;

const BLOCK_HEADER_SIZE = 8;
const PART = 'base relocation table';

export function parseBaseRelocations(image: ImageBytes, dir: DataDirectory | undefined): BaseRelocationBlock[] {
  if (!dir) return [];
  const r = new CvReader(image.rvaToBytes(dir.rva, dir.size, PART), PE_FILE, PART);
  const blocks: BaseRelocationBlock[] = [];
  while (!r.atEnd) {
    const at = r.offset;
    const pageRva = r.u32();
    const blockSize = r.u32();
    // A block smaller than its header would never advance: reject it rather than loop.
    if (blockSize < BLOCK_HEADER_SIZE || blockSize % 2 !== 0) {
      throw peError(PART, at + 4, `block size ${hex(blockSize)} is not an even number of at least ${BLOCK_HEADER_SIZE}`);
    }
    if (blockSize - BLOCK_HEADER_SIZE > r.remaining) {
      throw peError(PART, at + 4, `block size ${hex(blockSize)} runs past the end of the ${hex(dir.size)}-byte table`);
    }
    const entries: BaseRelocation[] = [];
    for (let n = (blockSize - BLOCK_HEADER_SIZE) / 2; n > 0; n--) {
      const word = r.u16();
      const offset = word & 0xfff;
      entries.push({ type: word >>> 12, offset, rva: pageRva + offset });
    }
    blocks.push({ pageRva, entries });
  }
  return blocks;
}

/** The name llvm-readobj and the PE spec use for a relocation type, e.g. 'DIR64'. */
export function baseRelocationTypeName(type: number): string {
  for (const [name, value] of Object.entries(BaseRelocationType)) if (value === type) return name;
  return `UNKNOWN (${type})`;
}
