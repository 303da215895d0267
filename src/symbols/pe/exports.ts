/**
 * The export directory: names and ordinals a DLL (or a UEFI driver built as one)
 * exposes. For a stripped image with no PDB they are the only function names
 * there are, so the symbol side falls back to them.
 */
import { CvReader } from '../codeview/cv-reader';
import { DataDirectory } from './headers';
import { ImageBytes, cstringAt } from './image-bytes';
import { PE_FILE, peError } from './pe-error';

export interface PeExportDirectory {
  characteristics: number;
  timeDateStamp: number;
  majorVersion: number;
  minorVersion: number;
  /** The DLL name the linker recorded, e.g. 'foo.dll'. */
  dllName: string;
  ordinalBase: number;
  /** Export address table slots, including empty ones (see `exports`). */
  numberOfFunctions: number;
  numberOfNames: number;
  /** One entry per non-empty address table slot, in ordinal order. */
  exports: PeExport[];
}

export interface PeExport {
  /** ordinalBase + slot index: the number an import by ordinal uses. */
  ordinal: number;
  /** Names bound to this ordinal, in name table (lexical) order; empty for an ordinal-only export. */
  names: string[];
  /**
   * The slot's RVA. For a forwarder it points at the forwarder string inside
   * the export directory, not at code.
   */
  rva: number;
  /** 'OTHERDLL.Function' or 'OTHERDLL.#12' when the export forwards to another image. */
  forwarder?: string;
}

const DIRECTORY_SIZE = 40;
const PART = 'export directory';
/**
 * Ordinals and name-to-slot indices are 16-bit, so no image can use more slots
 * or names than this; a larger count is corruption, and capping it bounds the work.
 */
const MAX_EXPORTS = 0x10000;

export function parseExportDirectory(image: ImageBytes, dir: DataDirectory | undefined): PeExportDirectory | undefined {
  if (!dir) return undefined;
  const r = new CvReader(image.rvaToBytes(dir.rva, DIRECTORY_SIZE, PART), PE_FILE, PART);
  const characteristics = r.u32();
  const timeDateStamp = r.u32();
  const majorVersion = r.u16();
  const minorVersion = r.u16();
  const nameRva = r.u32();
  const ordinalBase = r.u32();
  const numberOfFunctions = r.u32();
  const numberOfNames = r.u32();
  const addressTableRva = r.u32();
  const namePointerRva = r.u32();
  const ordinalTableRva = r.u32();
  if (numberOfFunctions > MAX_EXPORTS) throw peError(PART, 20, `NumberOfFunctions ${numberOfFunctions} exceeds ${MAX_EXPORTS}`);
  if (numberOfNames > MAX_EXPORTS) throw peError(PART, 24, `NumberOfNames ${numberOfNames} exceeds ${MAX_EXPORTS}`);

  const dllName = nameRva === 0 ? '' : cstringAt(image, nameRva, PART, 12);
  const addresses = new CvReader(
    image.rvaToBytes(addressTableRva, numberOfFunctions * 4, 'export address table'),
    PE_FILE,
    'export address table',
  );
  const namePointers = new CvReader(
    image.rvaToBytes(namePointerRva, numberOfNames * 4, 'export name pointer table'),
    PE_FILE,
    'export name pointer table',
  );
  const ordinals = new CvReader(
    image.rvaToBytes(ordinalTableRva, numberOfNames * 2, 'export ordinal table'),
    PE_FILE,
    'export ordinal table',
  );

  const namesBySlot = new Map<number, string[]>();
  for (let i = 0; i < numberOfNames; i++) {
    const name = cstringAt(image, namePointers.u32(), 'export name pointer table', i * 4);
    const slot = ordinals.u16();
    if (slot >= numberOfFunctions) {
      throw peError('export ordinal table', i * 2, `name '${name}' maps to slot ${slot}, past the ${numberOfFunctions}-entry address table`);
    }
    const list = namesBySlot.get(slot);
    if (list) list.push(name);
    else namesBySlot.set(slot, [name]);
  }

  const exports: PeExport[] = [];
  for (let slot = 0; slot < numberOfFunctions; slot++) {
    const rva = addresses.u32();
    // A zero slot is a gap in the ordinal range (explicit ordinals leave them), not an export.
    if (rva === 0) continue;
    const e: PeExport = { ordinal: ordinalBase + slot, names: namesBySlot.get(slot) ?? [], rva };
    // The spec's rule: an RVA inside the export directory's own range is a forwarder string.
    if (rva >= dir.rva && rva < dir.rva + dir.size) e.forwarder = cstringAt(image, rva, 'export address table', slot * 4);
    exports.push(e);
  }
  return {
    characteristics,
    timeDateStamp,
    majorVersion,
    minorVersion,
    dllName,
    ordinalBase,
    numberOfFunctions,
    numberOfNames,
    exports,
  };
}
