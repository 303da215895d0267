/**
 * The DBI section map: the linker's logical segments ("frames") and their
 * sizes. Kept for completeness and for tools that print it; addresses are
 * resolved through the section headers instead.
 */
import type { CvReader } from '../codeview/cv-reader';

export interface SectionMapEntry {
  flags: number;
  overlay: number;
  group: number;
  frame: number;
  sectionName: number;
  className: number;
  offset: number;
  sectionLength: number;
}

export interface SectionMap {
  count: number;
  logicalCount: number;
  entries: SectionMapEntry[];
}

export function readSectionMap(r: CvReader): SectionMap {
  if (r.length === 0) return { count: 0, logicalCount: 0, entries: [] };
  const count = r.u16();
  const logicalCount = r.u16();
  if (count * 20 > r.remaining) r.fail(`${count} section map entries need ${count * 20} bytes, ${r.remaining} left`, 0);
  const entries: SectionMapEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      flags: r.u16(),
      overlay: r.u16(),
      group: r.u16(),
      frame: r.u16(),
      sectionName: r.u16(),
      className: r.u16(),
      offset: r.u32(),
      sectionLength: r.u32(),
    });
  }
  return { count, logicalCount, entries };
}
