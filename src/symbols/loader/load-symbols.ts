/**
 * loadSymbols: everything the bridge and the CLI need about the kernel image,
 * from files. The image (a file, or read out of target memory) says which PDB
 * belongs to it (RSDS: name, GUID, age); the PDB is looked for where
 * pdb-search.ts says, checked against the image, and turned into a symbol
 * index and a debug model; the model becomes the ELF/DWARF file gdb loads.
 *
 * Symbol files are often stale, misplaced or damaged, and none of that may cost
 * the debugging session: every such problem becomes a warning for people (what
 * failed, which file, what to do) and the model falls back to what the image
 * alone says (sections, exports). Only a missing or unusable image, or a
 * missing file the caller named explicitly, is an error.
 */
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { errorMessage, JosgdbError } from '../../common/errors';
import { writeDebugElf } from '../../dwarf';
import type { DebugModel } from '../debug-model';
import { SymbolFormatError } from '../format-error';
import { addPrologueEndRows, attachVariables, buildDebugModelFrom, checkPdbMatchesImage, collectPdbSymbols, normalizeGuid, openPdb, SymbolIndex } from '../pdb';
import type { PdbFile, PdbMatch } from '../pdb';
import { parsePeImage, readLoadedImage } from '../pe';
import type { ImageMemoryReader, PeImage } from '../pe';
import { buildPeOnlyModel, peSections } from './pe-model';
import { defaultPdbCacheDir, describeCandidate, pdbCandidates, pdbFileName, portableBaseName, symbolStorePath } from './pdb-search';
import type { PdbCandidate, PdbCandidateSource } from './pdb-search';
import { typeInfoCallbacks } from './type-info';
import { buildFrameFunctions, createUnwindImage, innermostRuntimeFunction, type FunctionBounds, type PeUnwindImage } from '../../unwind';

/** stub-uefi's table of interrupt stubs. */
const DEFAULT_INTERRUPT_VECTOR_TABLE = 'isr_stub_table';
const VECTOR_COUNT = 256;

export interface LoadSymbolsOptions {
  /** The image file (PE/COFF, file layout). */
  image?: string;
  /**
   * Reads the image out of target memory at its base (loaded layout), when
   * there is no image file. Its errors (timeouts, unmapped memory) pass through.
   */
  readImage?: ImageMemoryReader;
  /** Name shown for the image; default: the image file's name, else the PDB's name with '.efi'. */
  imageName?: string;
  /** The PDB to use; when given, no other place is searched. */
  pdb?: string;
  /** Directories searched for the PDB, flat and in the symbol-store layout. */
  symbolPath?: readonly string[];
  /**
   * Where the image is loaded on the target; default its preferred ImageBase.
   * The unwinder works at this address (an image read from memory holds
   * pointers relocated to it).
   */
  loadBase?: bigint;
  /**
   * Public symbol of a table of absolute addresses of per-vector interrupt
   * stubs (256 entries), whose code the unwinder then knows how to walk
   * through; default 'isr_stub_table' (stub-uefi's). Ignored when absent.
   */
  interruptVectorTable?: string;
  /** Root of the PDB cache; default `$XDG_CACHE_HOME/josgdb/pdb` (or `~/.cache/josgdb/pdb`). */
  cacheDir?: string;
  /** false: neither look in nor copy into the cache. Default true. */
  cache?: boolean;
  log?: Logger;
}

export interface LoadedSymbols {
  readonly image: PeImage;
  /** 'BOOTX64.EFI': the model's and the ELF's image name. */
  readonly imageName: string;
  /** The image file, when the image came from one. */
  readonly imagePath: string | undefined;
  /** The PDB whose symbols are used; undefined when none matched or it could not be read. */
  readonly pdb: PdbFile | undefined;
  /** Where `pdb` was read from. */
  readonly pdbPath: string | undefined;
  /** How `pdbPath` was found. */
  readonly pdbSource: PdbCandidateSource | undefined;
  /** Address and name lookups (RVAs); undefined without a usable PDB. */
  readonly index: SymbolIndex | undefined;
  /** Always present: from the PDB when it matches, else the image's sections and exports. */
  readonly model: DebugModel;
  /** 'pdb' or 'image': what the model was built from. */
  readonly modelSource: 'pdb' | 'image';
  /** One sentence or two each, for people: what failed, in which file, what to do. Returned, not logged: the caller shows them. */
  readonly warnings: string[];
  /** Unwind rules for every address of the image, at `LoadSymbolsOptions.loadBase`. */
  readonly unwindImage: PeUnwindImage;
  /** The ELF/DWARF symbol file for the image loaded at `loadBase`; memoised per base. */
  debugElf(loadBase: bigint): Buffer;
}

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR']);
const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

interface ImageSource {
  image: PeImage;
  imagePath: string | undefined;
}

async function loadImage(options: LoadSymbolsOptions): Promise<ImageSource> {
  if (options.image !== undefined) {
    const file = options.image;
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new JosgdbError('BAD_ARGUMENT', `cannot read the image ${file}: ${errorMessage(e)}`);
    }
    try {
      return { image: parsePeImage(bytes, { layout: 'file' }), imagePath: file };
    } catch (e) {
      if (!(e instanceof SymbolFormatError)) throw e;
      throw new JosgdbError('SYMBOL_FORMAT', `${file} is not a usable PE image: ${e.message}`);
    }
  }
  if (options.readImage) {
    try {
      return { image: await readLoadedImage(options.readImage), imagePath: undefined };
    } catch (e) {
      if (!(e instanceof SymbolFormatError)) throw e;
      throw new JosgdbError('SYMBOL_FORMAT', `the image in target memory is not a usable PE image (is the image base right?): ${e.message}`);
    }
  }
  throw new JosgdbError('BAD_ARGUMENT', 'loadSymbols: give an image file or a reader for the image in target memory');
}

function defaultImageName(image: PeImage, imagePath: string | undefined): string {
  if (imagePath !== undefined) return path.basename(imagePath);
  const dll = image.exports?.dllName;
  if (dll) return dll;
  const pdbName = image.codeView ? portableBaseName(image.codeView.pdbPath) : '';
  return pdbName ? `${pdbName.replace(/\.[^.]*$/, '')}.efi` : 'image.efi';
}

interface ChosenPdb {
  pdb: PdbFile;
  bytes: Uint8Array;
  candidate: PdbCandidate;
}

type Mismatch = Extract<PdbMatch, { matches: false }>;

function mismatchWarning(pdbPath: string, imageLabel: string, m: Mismatch): string {
  const what = m.reason === 'guid' ? 'is from another build' : 'was rewritten after the image was linked';
  return (
    `PDB ${pdbPath} does not match the image ${imageLabel}: the image expects GUID {${m.imageGuid}} age ${m.imageAge}, ` +
    `the PDB has GUID {${m.pdbGuid}} age ${m.pdbAge} (it ${what}); no symbols from that PDB are used; rebuild or pass the matching --pdb`
  );
}

async function choosePdb(
  candidates: PdbCandidate[],
  image: PeImage,
  imageLabel: string,
  warnings: string[],
  log: Logger | undefined,
): Promise<ChosenPdb | undefined> {
  const rejected: string[] = [];
  for (const candidate of candidates) {
    let bytes: Buffer;
    try {
      bytes = await readFile(candidate.path);
    } catch (e) {
      const code = errnoOf(e);
      if (candidate.source === 'option') {
        throw new JosgdbError('BAD_ARGUMENT', `cannot read the PDB ${candidate.path}: ${errorMessage(e)}`);
      }
      if (code !== undefined && NOT_THERE.has(code)) {
        log?.debug({ pdb: candidate.path, source: candidate.source }, 'no PDB here');
      } else {
        rejected.push(`cannot read the PDB ${describeCandidate(candidate)}: ${errorMessage(e)}`);
      }
      continue;
    }
    let pdb: PdbFile;
    try {
      pdb = openPdb(bytes);
    } catch (e) {
      rejected.push(`${candidate.path} is not a readable PDB (${errorMessage(e)}); no symbols from it are used; rebuild it or pass a good --pdb`);
      log?.debug({ err: e, pdb: candidate.path }, 'PDB failed to open');
      continue;
    }
    const cv = image.codeView;
    if (!cv) {
      warnings.push(
        `the image ${imageLabel} has no CodeView (RSDS) debug record, so the PDB ${candidate.path} cannot be checked against it; its symbols are used as they are`,
      );
      return { pdb, bytes, candidate };
    }
    let dbiAge: number | undefined;
    try {
      dbiAge = pdb.dbi.header.age;
    } catch {
      // A broken DBI stream fails the symbol read below, with its own warning.
    }
    const match = checkPdbMatchesImage(cv, { guid: pdb.info.guid, age: pdb.info.age, ...(dbiAge !== undefined ? { dbiAge } : {}) });
    if (!match.matches) {
      rejected.push(mismatchWarning(candidate.path, imageLabel, match));
      continue;
    }
    if (rejected.length > 0) log?.info({ skipped: rejected }, `using ${candidate.path}; skipped PDBs that did not fit`);
    return { pdb, bytes, candidate };
  }
  warnings.push(...rejected);
  const cv = image.codeView;
  const looked = candidates.map(describeCandidate);
  if (rejected.length === 0) {
    const want = cv
      ? `it wants ${portableBaseName(cv.pdbPath) || 'a PDB'} with GUID {${normalizeGuid(cv.guid)}} age ${cv.age}`
      : 'it records no PDB identity, so only the name was looked for';
    warnings.push(
      looked.length > 0
        ? `no PDB found for the image ${imageLabel} (${want}); looked in: ${looked.join('; ')}; pass --pdb FILE or --symbol-path DIR`
        : `no PDB to look for: the image ${imageLabel} records none; pass --pdb FILE`,
    );
  }
  warnings.push(`symbols for ${imageLabel} come from the image alone: its sections and exports, no source lines`);
  return undefined;
}

/** Best effort: a matching PDB found elsewhere goes into the cache, keyed by GUID and age. */
async function copyIntoCache(chosen: ChosenPdb, image: PeImage, cacheDir: string, log: Logger | undefined): Promise<void> {
  const cv = image.codeView;
  const name = cv && pdbFileName({ codeView: cv });
  if (!cv || !name || chosen.candidate.source === 'cache') return;
  const target = symbolStorePath(cacheDir, name, cv.guid, cv.age);
  try {
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isFile() && existing.size === chosen.bytes.length) return;
    await mkdir(path.dirname(target), { recursive: true });
    // Write beside and rename, so a concurrent reader never sees half a PDB.
    const temp = `${target}.tmp-${process.pid}`;
    try {
      await writeFile(temp, chosen.bytes);
      await rename(temp, target);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw e;
    }
    log?.debug({ pdb: chosen.candidate.path, cache: target }, 'PDB copied into the cache');
  } catch (e) {
    log?.warn({ cache: target }, `could not copy the PDB into the cache: ${errorMessage(e)}`);
  }
}

interface PdbModel {
  model: DebugModel;
  index: SymbolIndex;
}

function modelFromPdb(chosen: ChosenPdb, image: PeImage, imageName: string, warnings: string[]): PdbModel {
  const { pdb } = chosen;
  const pdbPath = chosen.candidate.path;
  const collected = collectPdbSymbols(pdb);
  for (const p of collected.problems) {
    warnings.push(`${pdbPath}: part of the PDB is unreadable and its symbols are left out (${p.message}); rebuild the PDB if this persists`);
  }
  const reported = new Set<string>();
  const types = typeInfoCallbacks(pdb, (e) => {
    if (reported.has(e.message)) return;
    reported.add(e.message);
    warnings.push(`${pdbPath}: type information is unreadable (${e.message}); some data symbol sizes or build directories are missing`);
  });
  const model = buildDebugModelFrom(pdb, collected, { imageName, imageSize: image.sizeOfImage, ...types });
  // Types, parameters, locals and globals' types, for print/ptype/info locals.
  for (const p of attachVariables(pdb, model).problems) {
    warnings.push(`${pdbPath}: some type or variable information is unreadable and left out (${p.message}); rebuild the PDB if this persists`);
  }
  // After the variables: where the parameters become readable is where `break FUNCTION` should stop.
  addPrologueEndRows(model);
  // A PDB without section headers still has usable symbols; the image knows its sections.
  if (model.sections.length === 0) model.sections = peSections(image);
  return { model, index: new SymbolIndex(collected) };
}

/**
 * The PDB's procedures as function bounds for the unwinder, each marked when
 * its compile unit has .pdata for some of its functions (where the ABI makes a
 * function without an entry a leaf). A unit compiled without unwind tables has
 * none, and its functions keep their prologue analysis.
 */
export function procedureBounds(index: SymbolIndex, image: PeImage): FunctionBounds[] {
  const procedures = index.procedures.filter((p) => p.size > 0);
  const unitsWithUnwindInfo = new Set<number>();
  for (const p of procedures) {
    if (p.moduleIndex !== undefined && innermostRuntimeFunction(image.runtimeFunctions, p.rva)) unitsWithUnwindInfo.add(p.moduleIndex);
  }
  return procedures.map((p) => ({
    startRva: p.rva,
    endRva: p.rva + p.size,
    name: p.name,
    ...(p.moduleIndex !== undefined && unitsWithUnwindInfo.has(p.moduleIndex) ? { unitHasUnwindInfo: true } : {}),
  }));
}

/**
 * The unwinder's view of the image: .pdata/.xdata where the image has them,
 * prologue analysis over the PDB's procedure bounds where it has not, and the
 * interrupt entry code behind the vector table. Publics are left out on
 * purpose: their sizes are guesses, and code without exact bounds is what the
 * stack scan is for.
 */
async function unwindRules(
  image: PeImage,
  imageName: string,
  index: SymbolIndex | undefined,
  options: LoadSymbolsOptions,
  warnings: string[],
): Promise<PeUnwindImage> {
  const functions = index && procedureBounds(index, image);
  const tableName = options.interruptVectorTable ?? DEFAULT_INTERRUPT_VECTOR_TABLE;
  const table = index?.lookupName(tableName)[0];
  let vectorTable: { rva: number; count: number; bytes?: Uint8Array } | undefined;
  if (table) {
    vectorTable = { rva: table.rva, count: VECTOR_COUNT };
    // An image read from memory skipped its writable sections, where such a table lives: read just the table.
    if (image.layout === 'loaded' && options.readImage) {
      try {
        vectorTable.bytes = await options.readImage(table.rva, VECTOR_COUNT * 8);
      } catch (e) {
        warnings.push(`${tableName}: cannot read it from target memory (${errorMessage(e)}); backtraces through interrupt entry code will need the stack scan`);
        vectorTable = undefined;
      }
    }
  }
  const { unwindImage, problem } = createUnwindImage({
    name: imageName,
    base: options.loadBase ?? image.imageBase,
    image,
    ...(functions ? { functions } : {}),
    ...(vectorTable ? { vectorTable } : {}),
  });
  if (problem !== undefined) warnings.push(`${tableName}: ${problem}; backtraces through interrupt entry code will need the stack scan`);
  return unwindImage;
}

export async function loadSymbols(options: LoadSymbolsOptions): Promise<LoadedSymbols> {
  const log = options.log;
  const { image, imagePath } = await loadImage(options);
  const imageName = options.imageName ?? defaultImageName(image, imagePath);
  const imageLabel = imagePath ?? `${imageName} (read from target memory)`;
  const warnings: string[] = [];
  const useCache = options.cache ?? true;
  const cacheDir = useCache ? (options.cacheDir ?? defaultPdbCacheDir()) : undefined;

  const candidates = pdbCandidates({
    ...(options.pdb !== undefined ? { pdb: options.pdb } : {}),
    ...(imagePath !== undefined ? { imagePath } : {}),
    ...(image.codeView ? { codeView: image.codeView } : {}),
    symbolPath: options.symbolPath ?? [],
    ...(cacheDir !== undefined ? { cacheDir } : {}),
  });
  const chosen = await choosePdb(candidates, image, imageLabel, warnings, log);

  let pdbModel: PdbModel | undefined;
  if (chosen) {
    try {
      pdbModel = modelFromPdb(chosen, image, imageName, warnings);
    } catch (e) {
      // Anything a damaged PDB makes the readers throw, format error or not, costs the PDB, not the session.
      log?.debug({ err: e, pdb: chosen.candidate.path }, 'PDB symbols failed to load');
      warnings.push(
        `${chosen.candidate.path} is damaged (${errorMessage(e)}); no symbols from it are used, only the image's sections and exports; rebuild it or pass a good --pdb`,
      );
    }
    if (pdbModel && cacheDir !== undefined) await copyIntoCache(chosen, image, cacheDir, log);
  }
  const model = pdbModel?.model ?? buildPeOnlyModel(image, imageName);
  const unwindImage = await unwindRules(image, imageName, pdbModel?.index, options, warnings);
  // gdb unwinds with the same rules, as .debug_frame in the symbol file.
  model.frames = buildFrameFunctions(unwindImage);
  const used = pdbModel ? chosen : undefined;
  if (used) log?.info({ pdb: used.candidate.path, source: used.candidate.source }, `symbols for ${imageName} from ${used.candidate.path}`);

  const elves = new Map<bigint, Buffer>();
  return {
    image,
    imageName,
    imagePath,
    pdb: used?.pdb,
    pdbPath: used?.candidate.path,
    pdbSource: used?.candidate.source,
    index: pdbModel?.index,
    model,
    modelSource: pdbModel ? 'pdb' : 'image',
    warnings,
    unwindImage,
    debugElf(loadBase: bigint): Buffer {
      let elf = elves.get(loadBase);
      if (!elf) {
        elf = writeDebugElf(model, { loadBase, entryRva: image.entryPointRva });
        elves.set(loadBase, elf);
      }
      return elf;
    },
  };
}
