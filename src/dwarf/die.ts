/**
 * Debugging information entries as a tree, and their encoding into a DWARF 4
 * .debug_info unit. A DIE lists (attribute, form, value) triples; the form
 * decides the encoding, and the (tag, children, forms) shape is interned in the
 * shared abbreviation table. References between DIEs of one unit (DW_FORM_ref4,
 * e.g. DW_AT_type to a type defined later) are labels patched at the end.
 */
import { JosgdbError } from '../common/errors';
import type { AbbrevTable, AttrSpec } from './abbrev';
import { DW_FORM } from './constants';
import { Label, type SectionWriter } from './section-writer';
import type { StringTable } from './string-table';

export const DWARF_VERSION = 4;
export const ADDRESS_SIZE = 8;

export type AttrValue = number | bigint | string | boolean | Uint8Array | Die | undefined;

export interface DieAttr {
  at: number;
  form: number;
  value: AttrValue;
}

export class Die {
  readonly attrs: DieAttr[] = [];
  readonly children: Die[] = [];
  /** Defined at the DIE's offset in .debug_info when its unit is written. */
  readonly label = new Label('DIE');

  constructor(readonly tag: number) {}

  /** Adds an attribute with an explicit form. */
  add(at: number, form: number, value: AttrValue): this {
    this.attrs.push({ at, form, value });
    return this;
  }

  /** Creates a child DIE, appends it and returns it. */
  child(tag: number): Die {
    const die = new Die(tag);
    this.children.push(die);
    return die;
  }

  // Shorthands for the usual forms.
  addr(at: number, address: bigint): this {
    return this.add(at, DW_FORM.addr, address);
  }
  strp(at: number, s: string): this {
    return this.add(at, DW_FORM.strp, s);
  }
  udata(at: number, v: number | bigint): this {
    return this.add(at, DW_FORM.udata, v);
  }
  sdata(at: number, v: number | bigint): this {
    return this.add(at, DW_FORM.sdata, v);
  }
  data1(at: number, v: number): this {
    return this.add(at, DW_FORM.data1, v);
  }
  data2(at: number, v: number): this {
    return this.add(at, DW_FORM.data2, v);
  }
  data4(at: number, v: number): this {
    return this.add(at, DW_FORM.data4, v);
  }
  data8(at: number, v: bigint): this {
    return this.add(at, DW_FORM.data8, v);
  }
  /** A flag that is true by its presence (DW_FORM_flag_present, no data bytes). */
  flag(at: number): this {
    return this.add(at, DW_FORM.flag_present, true);
  }
  secOffset(at: number, offset: number): this {
    return this.add(at, DW_FORM.sec_offset, offset);
  }
  exprloc(at: number, expr: Uint8Array): this {
    return this.add(at, DW_FORM.exprloc, expr);
  }
  /** A reference to another DIE of the same unit (DW_FORM_ref4). */
  ref(at: number, target: Die): this {
    return this.add(at, DW_FORM.ref4, target);
  }
  /** A reference to a DIE of any unit in .debug_info (DW_FORM_ref_addr). */
  refAddr(at: number, target: Die): this {
    return this.add(at, DW_FORM.ref_addr, target);
  }
}

export interface UnitContext {
  abbrevs: AbbrevTable;
  /** .debug_str, for DW_FORM_strp. */
  strings: StringTable;
  /** Offset of the abbreviation table in .debug_abbrev. */
  abbrevOffset?: number;
}

function bad(message: string): never {
  throw new JosgdbError('BAD_ARGUMENT', `.debug_info: ${message}`);
}

function expectNumber(attr: DieAttr): number {
  if (typeof attr.value !== 'number') bad(`attribute 0x${attr.at.toString(16)} needs a number, got ${typeof attr.value}`);
  return attr.value;
}

function expectInteger(attr: DieAttr): number | bigint {
  if (typeof attr.value !== 'number' && typeof attr.value !== 'bigint') {
    bad(`attribute 0x${attr.at.toString(16)} needs an integer, got ${typeof attr.value}`);
  }
  return attr.value;
}

function expectBytes(attr: DieAttr): Uint8Array {
  if (!(attr.value instanceof Uint8Array)) bad(`attribute 0x${attr.at.toString(16)} needs bytes`);
  return attr.value;
}

interface PendingRef {
  target: Die;
}

function writeAttr(w: SectionWriter, attr: DieAttr, ctx: UnitContext, unitStart: number, refs: PendingRef[]): void {
  switch (attr.form) {
    case DW_FORM.addr:
      w.u64(expectInteger(attr));
      return;
    case DW_FORM.data1:
    case DW_FORM.ref1:
    case DW_FORM.flag: {
      const v = typeof attr.value === 'boolean' ? (attr.value ? 1 : 0) : expectNumber(attr);
      if (v < 0 || v > 0xff) bad(`${v} does not fit DW_FORM_data1`);
      w.u8(v);
      return;
    }
    case DW_FORM.data2: {
      const v = expectNumber(attr);
      if (v < 0 || v > 0xffff) bad(`${v} does not fit DW_FORM_data2`);
      w.u16(v);
      return;
    }
    case DW_FORM.data4:
    case DW_FORM.sec_offset:
      w.u32(expectNumber(attr));
      return;
    case DW_FORM.data8:
      w.u64(expectInteger(attr));
      return;
    case DW_FORM.udata:
      w.uleb(expectInteger(attr));
      return;
    case DW_FORM.sdata:
      w.sleb(expectInteger(attr));
      return;
    case DW_FORM.strp:
      if (typeof attr.value !== 'string') bad(`DW_FORM_strp needs a string`);
      w.u32(ctx.strings.add(attr.value));
      return;
    case DW_FORM.string:
      if (typeof attr.value !== 'string') bad(`DW_FORM_string needs a string`);
      w.cstring(attr.value);
      return;
    case DW_FORM.flag_present:
      return;
    case DW_FORM.exprloc:
    case DW_FORM.block: {
      const b = expectBytes(attr);
      w.uleb(b.length).bytes(b);
      return;
    }
    case DW_FORM.block1: {
      const b = expectBytes(attr);
      if (b.length > 0xff) bad('block too long for DW_FORM_block1');
      w.u8(b.length).bytes(b);
      return;
    }
    case DW_FORM.ref4: {
      if (!(attr.value instanceof Die)) bad('DW_FORM_ref4 needs a DIE');
      refs.push({ target: attr.value });
      w.u32Ref(attr.value.label, unitStart);
      return;
    }
    case DW_FORM.ref_addr: {
      // A DIE of any unit, by its .debug_info offset (32-bit DWARF); patched when the section is finished.
      if (!(attr.value instanceof Die)) bad('DW_FORM_ref_addr needs a DIE');
      w.u32Ref(attr.value.label, 0);
      return;
    }
    default:
      bad(`form 0x${attr.form.toString(16)} is not supported by the writer`);
  }
}

function writeDie(w: SectionWriter, die: Die, ctx: UnitContext, unitStart: number, refs: PendingRef[]): void {
  const hasChildren = die.children.length > 0;
  const specs: AttrSpec[] = die.attrs;
  const code = ctx.abbrevs.intern(die.tag, hasChildren, specs);
  w.define(die.label);
  w.uleb(code);
  for (const attr of die.attrs) writeAttr(w, attr, ctx, unitStart, refs);
  if (hasChildren) {
    for (const child of die.children) writeDie(w, child, ctx, unitStart, refs);
    w.u8(0); // end of the sibling chain
  }
}

/**
 * Appends one DWARF 4 compile unit (header and the DIE tree under `root`) to
 * .debug_info and returns the unit's offset.
 */
export function writeUnit(w: SectionWriter, root: Die, ctx: UnitContext): number {
  const unitStart = w.offset;
  const length = w.beginUnitLength();
  w.u16(DWARF_VERSION);
  w.u32(ctx.abbrevOffset ?? 0);
  w.u8(ADDRESS_SIZE);
  const refs: PendingRef[] = [];
  writeDie(w, root, ctx, unitStart, refs);
  w.endUnitLength(length);
  const unitEnd = w.offset;
  for (const r of refs) {
    const at = r.target.label.offset;
    if (at === undefined || at < unitStart || at >= unitEnd) bad('a DW_FORM_ref4 points at a DIE outside its unit');
  }
  return unitStart;
}
