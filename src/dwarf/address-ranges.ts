/**
 * Address ranges of compile units: merging, the DWARF 4 range lists in
 * .debug_ranges (DW_AT_ranges) and the per-unit sets of .debug_aranges.
 * Ranges are RVAs with an exclusive end; `addressBase` turns them into addresses.
 */
import { ADDRESS_SIZE } from './die';
import type { SectionWriter } from './section-writer';

export interface RvaRange {
  start: number;
  /** Exclusive. */
  end: number;
}

/** Sorted, with overlapping and touching ranges joined and empty ones dropped. */
export function mergeRanges(ranges: readonly RvaRange[]): RvaRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: RvaRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/**
 * Appends a range list to .debug_ranges and returns its offset. Entries are
 * absolute addresses: the owning unit's DW_AT_low_pc (the base) must be 0.
 */
export function writeRangeList(w: SectionWriter, ranges: readonly RvaRange[], addressBase: bigint): number {
  const at = w.offset;
  for (const r of ranges) {
    w.u64(addressBase + BigInt(r.start)).u64(addressBase + BigInt(r.end));
  }
  w.u64(0n).u64(0n); // end of list
  return at;
}

/** Appends one .debug_aranges set (version 2) for the unit at `infoOffset`. */
export function writeArangesSet(w: SectionWriter, infoOffset: number, ranges: readonly RvaRange[], addressBase: bigint): void {
  const length = w.beginUnitLength();
  w.u16(2).u32(infoOffset).u8(ADDRESS_SIZE).u8(0); // version, unit, address size, no segments
  w.align(2 * ADDRESS_SIZE); // tuples start at a multiple of their size from the set start (sets are 16-aligned)
  for (const r of ranges) w.u64(addressBase + BigInt(r.start)).u64(BigInt(r.end - r.start));
  w.u64(0n).u64(0n);
  w.endUnitLength(length);
}
