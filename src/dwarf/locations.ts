/**
 * Variable locations: the model's ModelVariableLocation as a DW_AT_location,
 * either one DWARF expression (DW_FORM_exprloc) for a place that holds
 * wherever the variable is in scope, or a DWARF 4 location list in
 * .debug_loc (DW_FORM_sec_offset) for one that changes with the address.
 * A variable that is nowhere gets no DW_AT_location, which gdb and lldb show
 * as `<optimized out>`.
 *
 * Location list entries are relative to the unit's base address (its
 * DW_AT_low_pc); a list whose first address lies below it starts with a base
 * address selection entry instead, so an entry is never written as a
 * negative offset.
 */
import type { DwarfRegister } from '../symbols/debug-model-frames';
import type { ModelLocation, ModelLocationRange, ModelLocationValue, ModelVariableLocation } from '../symbols/debug-model-types';
import { DW_AT, DW_OP } from './constants';
import type { Die } from './die';
import { SectionWriter } from './section-writer';

/** DW_OP_reg<n> / DW_OP_regx. */
function register(w: SectionWriter, reg: DwarfRegister): void {
  if (reg < 32) w.u8(DW_OP.reg0 + reg);
  else w.u8(DW_OP.regx).uleb(reg);
}

/** DW_OP_breg<n> / DW_OP_bregx: the address register + offset. */
function registerPlus(w: SectionWriter, reg: DwarfRegister, offset: number): void {
  if (reg < 32) w.u8(DW_OP.breg0 + reg).sleb(offset);
  else w.u8(DW_OP.bregx).uleb(reg).sleb(offset);
}

function value(w: SectionWriter, v: ModelLocationValue): void {
  if (v.kind === 'register') register(w, v.register);
  else registerPlus(w, v.base, v.offset);
}

/**
 * The expression for one location: a register or a memory address, or
 * pieces each followed by DW_OP_piece (a piece with no location before its
 * DW_OP_piece is DWARF's "this part is unavailable").
 */
export function locationExpression(location: ModelLocation): Buffer {
  // A program has a few hundred distinct locations and a hundred thousand uses
  // of them: encode each once. The bytes are only ever copied into sections.
  const key = locationKey(location);
  let bytes = encodedLocations.get(key);
  if (!bytes) {
    if (encodedLocations.size >= MAX_ENCODED_LOCATIONS) encodedLocations.clear();
    bytes = encodeLocation(location);
    encodedLocations.set(key, bytes);
  }
  return bytes;
}

const MAX_ENCODED_LOCATIONS = 4096;
const encodedLocations = new Map<string, Buffer>();

function valueKey(v: ModelLocationValue): string {
  return v.kind === 'register' ? `r${v.register}` : `m${v.base},${v.offset}`;
}

function locationKey(location: ModelLocation): string {
  if (location.kind !== 'pieces') return valueKey(location);
  let key = 'p';
  for (const piece of location.pieces) key += ` ${piece.value ? valueKey(piece.value) : '-'}:${piece.byteSize}`;
  return key;
}

function encodeLocation(location: ModelLocation): Buffer {
  const w = new SectionWriter('DWARF expression', 16);
  if (location.kind === 'pieces') {
    for (const piece of location.pieces) {
      if (piece.value) value(w, piece.value);
      w.u8(DW_OP.piece).uleb(piece.byteSize);
    }
  } else {
    value(w, location);
  }
  return w.finish();
}

/** DW_OP_addr: a fixed address. */
export function addressExpression(address: bigint): Buffer {
  return new SectionWriter('DWARF expression', 9).u8(DW_OP.addr).u64(address).finish();
}

/** An offset in the thread's TLS block, for debuggers that can find the block. */
export function threadLocalExpression(offset: number): Buffer {
  return new SectionWriter('DWARF expression', 10).u8(DW_OP.const8u).u64(BigInt(offset)).u8(DW_OP.form_tls_address).finish();
}

/** DW_OP_constu slot: a virtual method's index in its class's virtual function table. */
export function vtableSlotExpression(slot: number): Buffer {
  return new SectionWriter('DWARF expression', 6).u8(DW_OP.constu).uleb(slot).finish();
}

export interface LocationListEntry {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  expression: Uint8Array;
}

const BASE_SELECTION = (1n << 64n) - 1n;
const U16_MAX = 0xffff;

/** Appends a DWARF 4 location list to .debug_loc and returns its offset. */
export function writeLocationList(w: SectionWriter, entries: readonly LocationListEntry[], unitBase: bigint): number {
  const at = w.offset;
  const usable = entries.filter((e) => e.end > e.start && e.expression.length <= U16_MAX);
  const lowest = usable.reduce<bigint | undefined>((m, e) => (m === undefined || e.start < m ? e.start : m), undefined);
  let base = unitBase;
  if (lowest !== undefined && lowest < unitBase) {
    w.u64(BASE_SELECTION).u64(0n);
    base = 0n;
  }
  for (const e of usable) {
    w.u64(e.start - base).u64(e.end - base).u16(e.expression.length).bytes(e.expression);
  }
  w.u64(0n).u64(0n); // end of list
  return at;
}

export interface LocationTarget {
  /** .debug_loc */
  locations: SectionWriter;
  /** Added to every RVA. */
  loadBase: bigint;
  /** The unit's base address (its DW_AT_low_pc), which list entries are relative to. */
  unitBase: bigint;
}

/** Adds DW_AT_location to `die` for `location`; nothing when the variable is nowhere. */
export function addLocation(die: Die, location: ModelVariableLocation, target: LocationTarget): void {
  switch (location.kind) {
    case 'optimized-out':
      return;
    case 'static':
      die.exprloc(DW_AT.location, addressExpression(target.loadBase + BigInt(location.rva)));
      return;
    case 'thread-local':
      die.exprloc(DW_AT.location, threadLocalExpression(location.offset));
      return;
    case 'fixed':
      die.exprloc(DW_AT.location, locationExpression(location.location));
      return;
    case 'ranges': {
      const at = writeRvaLocationList(target, location.ranges);
      if (at !== null) {
        if (at !== undefined) die.secOffset(DW_AT.location, at);
        return;
      }
      const entries = location.ranges.map((r) => ({
        start: target.loadBase + BigInt(r.startRva),
        end: target.loadBase + BigInt(r.endRva),
        expression: locationExpression(r.location),
      }));
      if (!entries.some((e) => e.end > e.start)) return;
      die.secOffset(DW_AT.location, writeLocationList(target.locations, entries, target.unitBase));
      return;
    }
  }
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * writeLocationList for RVA ranges, in plain numbers where every address fits
 * in 53 bits (always, for a real load base): the same bytes without two
 * bigints per entry. Returns the list's offset, undefined when no range is
 * usable (no list written), or null when the addresses are too large for
 * numbers (the bigint path then writes the list).
 */
function writeRvaLocationList(target: LocationTarget, ranges: readonly ModelLocationRange[]): number | undefined | null {
  if (target.loadBase > MAX_SAFE_BIG || target.unitBase > MAX_SAFE_BIG) return null;
  const loadBase = Number(target.loadBase);
  for (const r of ranges) if (!Number.isSafeInteger(loadBase + r.startRva) || !Number.isSafeInteger(loadBase + r.endRva)) return null;
  let lowest: number | undefined;
  let anyNonEmpty = false;
  for (const r of ranges) {
    if (r.endRva <= r.startRva) continue;
    anyNonEmpty = true;
    if (locationExpression(r.location).length > U16_MAX) continue;
    const start = loadBase + r.startRva;
    if (lowest === undefined || start < lowest) lowest = start;
  }
  if (!anyNonEmpty) return undefined;
  const w = target.locations;
  const at = w.offset;
  let base = Number(target.unitBase);
  if (lowest !== undefined && lowest < base) {
    w.u64(BASE_SELECTION).u64(0);
    base = 0;
  }
  for (const r of ranges) {
    if (r.endRva <= r.startRva) continue;
    const expression = locationExpression(r.location);
    if (expression.length > U16_MAX) continue;
    w.u64(loadBase + r.startRva - base).u64(loadBase + r.endRva - base).u16(expression.length).bytes(expression);
  }
  w.u64(0).u64(0); // end of list
  return at;
}
