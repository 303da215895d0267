/**
 * The DBI module info substream (one record per object file or import
 * library member the linker consumed) and the file info substream (the source
 * files each module lists). Together they say where each module's symbols and
 * line tables live.
 */
import type { CvReader } from '../codeview/cv-reader';
import { readContribution } from './section-contribs';
import type { SectionContribution } from './section-contribs';
import { NO_STREAM } from './streams';

export interface DbiModule {
  index: number;
  /** Module name: usually the object file path, or '* Linker *'. */
  moduleName: string;
  /** Object or library file the module came from. */
  objFileName: string;
  /** The module's first section contribution. */
  sectionContribution: SectionContribution;
  flags: number;
  /** Written since the last incremental link. */
  dirty: boolean;
  hasEcInfo: boolean;
  typeServerIndex: number;
  /** Stream holding the module's symbols and line tables; undefined when none (0xFFFF). */
  symbolStream: number | undefined;
  symByteSize: number;
  c11ByteSize: number;
  c13ByteSize: number;
  sourceFileCount: number;
  /** Offsets into the DBI edit-and-continue name table. */
  sourceFileNameIndex: number;
  pdbFilePathNameIndex: number;
  /** Source files from the file info substream. */
  sourceFiles: string[];
}

export const MODULE_INFO_FIXED_SIZE = 64;

export function readModuleInfos(r: CvReader): DbiModule[] {
  const out: DbiModule[] = [];
  while (!r.atEnd) {
    if (r.remaining < MODULE_INFO_FIXED_SIZE) r.fail(`${r.remaining} trailing bytes, too few for a module record`);
    r.u32(); // unused
    const sectionContribution = readContribution(r);
    const flags = r.u16();
    const stream = r.u16();
    const symByteSize = r.u32();
    const c11ByteSize = r.u32();
    const c13ByteSize = r.u32();
    const sourceFileCount = r.u16();
    r.skip(2);
    r.u32(); // unused
    const sourceFileNameIndex = r.u32();
    const pdbFilePathNameIndex = r.u32();
    const moduleName = r.cstring();
    const objFileName = r.cstring();
    r.align(4);
    out.push({
      index: out.length,
      moduleName,
      objFileName,
      sectionContribution,
      flags,
      dirty: (flags & 1) !== 0,
      hasEcInfo: (flags & 2) !== 0,
      typeServerIndex: flags >> 8,
      symbolStream: stream === NO_STREAM ? undefined : stream,
      symByteSize,
      c11ByteSize,
      c13ByteSize,
      sourceFileCount,
      sourceFileNameIndex,
      pdbFilePathNameIndex,
      sourceFiles: [],
    });
  }
  return out;
}

/**
 * Fills each module's `sourceFiles`. The substream's 16-bit total file count
 * and per-module start indices overflow on big programs, so, like LLVM, the
 * per-module counts are trusted and summed instead.
 */
export function readFileInfo(r: CvReader, modules: DbiModule[]): void {
  if (r.length === 0) return;
  const numModules = r.u16();
  r.u16(); // total source files: may have overflowed
  if (numModules !== modules.length) {
    r.fail(`file info lists ${numModules} modules, module info has ${modules.length}`, 0);
  }
  r.skip(2 * numModules); // start indices: may have overflowed
  const counts: number[] = [];
  for (let i = 0; i < numModules; i++) counts.push(r.u16());
  const total = counts.reduce((a, b) => a + b, 0);
  const offsetsAt = r.offset;
  if (total * 4 > r.remaining) r.fail(`${total} file name offsets need ${total * 4} bytes, ${r.remaining} left`, offsetsAt);
  const offsets: number[] = [];
  for (let i = 0; i < total; i++) offsets.push(r.u32());
  const names = r.sub(r.remaining);
  const cache = new Map<number, string>();
  const nameAt = (off: number, i: number): string => {
    let s = cache.get(off);
    if (s === undefined) {
      if (off >= names.length) r.fail(`file name ${i} at offset ${off} outside the ${names.length}-byte name buffer`, offsetsAt + i * 4);
      names.seek(off);
      s = names.cstring();
      cache.set(off, s);
    }
    return s;
  };
  let next = 0;
  modules.forEach((m, mi) => {
    const n = counts[mi]!;
    for (let k = 0; k < n; k++, next++) m.sourceFiles.push(nameAt(offsets[next]!, next));
  });
}
