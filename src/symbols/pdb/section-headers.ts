/**
 * The DBI optional debug header (stream numbers of FPO data, OMAP tables,
 * section headers...) and the image section headers the linker copied into the
 * PDB. CodeView addresses are section:offset pairs; these headers turn them
 * into RVAs without needing the image. When a post-link tool rewrote the image,
 * the "original" headers plus the OMAP-from-source table give the mapping.
 */
import type { CvReader } from '../codeview/cv-reader';
import { readSectionHeader, SECTION_HEADER_SIZE, type SectionHeader } from '../pe/sections';
import { NO_STREAM } from './streams';
import { partitionPoint } from '../../common/sorted';

export const DEBUG_STREAM_NAMES = [
  'FPO',
  'exception',
  'fixup',
  'OMAP to source',
  'OMAP from source',
  'section headers',
  'token RID map',
  'xdata',
  'pdata',
  'new FPO',
  'original section headers',
] as const;

export interface DebugStreams {
  fpo?: number;
  exception?: number;
  fixup?: number;
  omapToSource?: number;
  omapFromSource?: number;
  sectionHeaders?: number;
  tokenRidMap?: number;
  xdata?: number;
  pdata?: number;
  newFpo?: number;
  originalSectionHeaders?: number;
}

const KEYS: (keyof DebugStreams)[] = [
  'fpo',
  'exception',
  'fixup',
  'omapToSource',
  'omapFromSource',
  'sectionHeaders',
  'tokenRidMap',
  'xdata',
  'pdata',
  'newFpo',
  'originalSectionHeaders',
];

export function readDebugStreams(r: CvReader): DebugStreams {
  const out: DebugStreams = {};
  for (let i = 0; r.remaining >= 2; i++) {
    const v = r.u16();
    const key = KEYS[i];
    if (key !== undefined && v !== NO_STREAM) out[key] = v;
  }
  return out;
}

export type { SectionHeader };

export function readSectionHeaders(r: CvReader): SectionHeader[] {
  if (r.length % SECTION_HEADER_SIZE !== 0) r.fail(`${r.length} bytes is not a whole number of 40-byte section headers`, 0);
  const out: SectionHeader[] = [];
  while (!r.atEnd) out.push(readSectionHeader(r));
  return out;
}

export interface OmapEntry {
  from: number;
  to: number;
}

export function readOmap(r: CvReader): OmapEntry[] {
  if (r.length % 8 !== 0) r.fail(`${r.length} bytes is not a whole number of 8-byte OMAP entries`, 0);
  const out: OmapEntry[] = [];
  while (!r.atEnd) out.push({ from: r.u32(), to: r.u32() });
  return out;
}

/**
 * Maps an address through an OMAP table sorted by `from`, as the Microsoft
 * tools do: the last entry at or below the address moves it; an entry mapping
 * to 0 means the code was removed, so undefined.
 */
export function mapOmap(table: readonly OmapEntry[], address: number): number | undefined {
  const found = partitionPoint(table, (e) => e.from <= address) - 1;
  if (found < 0) return undefined;
  const e = table[found]!;
  return e.to === 0 ? undefined : e.to + (address - e.from);
}
