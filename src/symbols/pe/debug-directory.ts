/**
 * The debug directory and its CodeView record: the PDB path, GUID and age that
 * tie an image to the one PDB built with it. Matching them is how josgdb knows a
 * PDB describes the image running on the target, not a stale rebuild.
 */
import { CvReader } from '../codeview/cv-reader';
import { DataDirectory } from './headers';
import { ImageBytes } from './image-bytes';
import { PE_FILE, hex, peError } from './pe-error';

export interface DebugDirectoryEntry {
  characteristics: number;
  timeDateStamp: number;
  majorVersion: number;
  minorVersion: number;
  /** IMAGE_DEBUG_TYPE_* (see `DebugType`). */
  type: number;
  sizeOfData: number;
  /** RVA of the data; 0 when the data is only in the file, never mapped. */
  addressOfRawData: number;
  pointerToRawData: number;
  /** The decoded record, for a CodeView entry in the RSDS (PDB 7.0) format whose data is reachable. */
  codeView?: CodeViewPdbInfo;
}

export interface CodeViewPdbInfo {
  /** The PDB's GUID in registry form, upper case, as llvm-pdbutil prints it. */
  guid: string;
  age: number;
  /** The path the linker wrote the PDB to. */
  pdbPath: string;
}

export const DebugType = {
  COFF: 1,
  CODEVIEW: 2,
  FPO: 3,
  MISC: 4,
  EXCEPTION: 5,
  FIXUP: 6,
  BORLAND: 9,
  CLSID: 11,
  VC_FEATURE: 12,
  POGO: 13,
  ILTCG: 14,
  REPRO: 16,
  EX_DLLCHARACTERISTICS: 20,
} as const;

const ENTRY_SIZE = 28;
const RSDS = 0x53445352;
const PART = 'debug directory';

export function parseDebugDirectory(image: ImageBytes, dir: DataDirectory | undefined): DebugDirectoryEntry[] {
  if (!dir) return [];
  // LLVM rejects a ragged size as well: it means the directory entry is corrupt.
  if (dir.size % ENTRY_SIZE !== 0) throw peError(PART, 0, `size ${hex(dir.size)} is not a multiple of ${ENTRY_SIZE}`);
  const r = new CvReader(image.rvaToBytes(dir.rva, dir.size, PART), PE_FILE, PART);
  const entries: DebugDirectoryEntry[] = [];
  while (!r.atEnd) {
    const at = r.offset;
    const entry: DebugDirectoryEntry = {
      characteristics: r.u32(),
      timeDateStamp: r.u32(),
      majorVersion: r.u16(),
      minorVersion: r.u16(),
      type: r.u32(),
      sizeOfData: r.u32(),
      addressOfRawData: r.u32(),
      pointerToRawData: r.u32(),
    };
    if (entry.type === DebugType.CODEVIEW) {
      const data = entryData(image, entry, at);
      const codeView = data && parseCodeView(data);
      if (codeView) entry.codeView = codeView;
    }
    entries.push(entry);
  }
  return entries;
}

function entryData(image: ImageBytes, entry: DebugDirectoryEntry, at: number): Uint8Array | undefined {
  if (entry.sizeOfData === 0) return undefined;
  if (entry.addressOfRawData !== 0) return image.rvaToBytes(entry.addressOfRawData, entry.sizeOfData, PART, at);
  // Unmapped debug data exists only in the file; a loaded image cannot reach it.
  if (entry.pointerToRawData !== 0 && image.fileBytes) return image.fileBytes(entry.pointerToRawData, entry.sizeOfData, PART, at);
  return undefined;
}

/**
 * RSDS only: the older NB10 form (PDB 2.0, a timestamp instead of a GUID) is
 * decades out of use, and no toolchain that builds UEFI images emits it.
 */
function parseCodeView(data: Uint8Array): CodeViewPdbInfo | undefined {
  const r = new CvReader(data, PE_FILE, 'CodeView record');
  if (r.u32() !== RSDS) return undefined;
  const guid = r.guid();
  const age = r.u32();
  const pdbPath = r.cstring();
  return { guid, age, pdbPath };
}
