/**
 * Section contributions: which module put which bytes into which section. They
 * attribute an address to a module even where no symbol covers it (assembly,
 * padding, data), and bound the code of public-only functions.
 */
import type { CvReader } from '../codeview/cv-reader';

export const SECTION_CONTRIB_V60 = (0xeffe0000 + 19970605) >>> 0;
export const SECTION_CONTRIB_V2 = (0xeffe0000 + 20140516) >>> 0;

export interface SectionContribution {
  /** 1-based section number. */
  section: number;
  offset: number;
  size: number;
  characteristics: number;
  moduleIndex: number;
  dataCrc: number;
  relocCrc: number;
  /** V2 only: the section's index in the object file. */
  coffSectionIndex?: number;
}

/** Reads one entry (28 bytes); module info embeds the same layout. */
export function readContribution(r: CvReader): SectionContribution {
  const section = r.u16();
  r.skip(2);
  const offset = r.i32();
  const size = r.i32();
  const characteristics = r.u32();
  const moduleIndex = r.u16();
  r.skip(2);
  const dataCrc = r.u32();
  const relocCrc = r.u32();
  return { section, offset, size, characteristics, moduleIndex, dataCrc, relocCrc };
}

export function readSectionContributions(r: CvReader): SectionContribution[] {
  if (r.length === 0) return [];
  const version = r.u32();
  let entrySize: number;
  if (version === SECTION_CONTRIB_V60) entrySize = 28;
  else if (version === SECTION_CONTRIB_V2) entrySize = 32;
  else return r.fail(`unknown section contribution version 0x${version.toString(16)}`, 0);
  if (r.remaining % entrySize !== 0) r.fail(`${r.remaining} bytes of entries is not a multiple of ${entrySize}`, 4);
  const out: SectionContribution[] = [];
  while (!r.atEnd) {
    const c = readContribution(r);
    if (entrySize === 32) c.coffSectionIndex = r.u32();
    out.push(c);
  }
  return out;
}
