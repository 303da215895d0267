/**
 * Debugging information entries as a tree, and their encoding into a DWARF 4
 * .debug_info unit. A DIE lists (attribute, form, value) triples; the form
 * decides the encoding, and the (tag, children, forms) shape is interned in the
 * shared abbreviation table. References between DIEs of one unit (DW_FORM_ref4,
 * e.g. DW_AT_type to a type defined later) are labels patched at the end.
 */
import { JosgdbError } from '../common/errors';
import type { AbbrevTable } from './abbrev';
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
  /**
   * The attributes as flat (attribute, form, value) triples: one array per DIE
   * rather than an object per attribute, for the hundreds of thousands of DIEs
   * of a large image.
   */
  readonly flatAttrs: AttrValue[] = [];
  readonly children: Die[] = [];
  /** Where the DIE was written in .debug_info; undefined until its unit is written. */
  writtenAt: number | undefined = undefined;
  private label_: Label | undefined = undefined;

  constructor(readonly tag: number) {}

  /**
   * Defined at the DIE's offset in .debug_info when its unit is written. Made
   * only for DIEs something refers to (types, mostly), on first reference.
   */
  get label(): Label {
    if (!this.label_) {
      this.label_ = new Label('DIE');
      if (this.writtenAt !== undefined) this.label_.offset = this.writtenAt;
    }
    return this.label_;
  }

  get hasLabel(): boolean {
    return this.label_ !== undefined;
  }

  /** The attributes as (attribute, form, value) objects, in order. */
  get attrs(): DieAttr[] {
    const out: DieAttr[] = [];
    const f = this.flatAttrs;
    for (let i = 0; i < f.length; i += 3) out.push({ at: f[i] as number, form: f[i + 1] as number, value: f[i + 2] });
    return out;
  }

  /** Adds an attribute with an explicit form. */
  add(at: number, form: number, value: AttrValue): this {
    this.flatAttrs.push(at, form, value);
    return this;
  }

  /** Creates a child DIE, appends it and returns it. */
  child(tag: number): Die {
    const die = new Die(tag);
    this.children.push(die);
    return die;
  }

  // Shorthands for the usual forms.
  addr(at: number, address: bigint | number): this {
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

function expectNumber(at: number, value: AttrValue): number {
  if (typeof value !== 'number') bad(`attribute 0x${at.toString(16)} needs a number, got ${typeof value}`);
  return value;
}

function expectInteger(at: number, value: AttrValue): number | bigint {
  if (typeof value !== 'number' && typeof value !== 'bigint') {
    bad(`attribute 0x${at.toString(16)} needs an integer, got ${typeof value}`);
  }
  return value;
}

function expectBytes(at: number, value: AttrValue): Uint8Array {
  if (!(value instanceof Uint8Array)) bad(`attribute 0x${at.toString(16)} needs bytes`);
  return value;
}

interface PendingRef {
  target: Die;
}

function writeAttr(w: SectionWriter, at: number, form: number, value: AttrValue, ctx: UnitContext, unitStart: number, refs: PendingRef[]): void {
  switch (form) {
    case DW_FORM.addr:
      w.u64(expectInteger(at, value));
      return;
    case DW_FORM.data1:
    case DW_FORM.ref1:
    case DW_FORM.flag: {
      const v = typeof value === 'boolean' ? (value ? 1 : 0) : expectNumber(at, value);
      if (v < 0 || v > 0xff) bad(`${v} does not fit DW_FORM_data1`);
      w.u8(v);
      return;
    }
    case DW_FORM.data2: {
      const v = expectNumber(at, value);
      if (v < 0 || v > 0xffff) bad(`${v} does not fit DW_FORM_data2`);
      w.u16(v);
      return;
    }
    case DW_FORM.data4:
    case DW_FORM.sec_offset:
      w.u32(expectNumber(at, value));
      return;
    case DW_FORM.data8:
      w.u64(expectInteger(at, value));
      return;
    case DW_FORM.udata:
      w.uleb(expectInteger(at, value));
      return;
    case DW_FORM.sdata:
      w.sleb(expectInteger(at, value));
      return;
    case DW_FORM.strp:
      if (typeof value !== 'string') bad(`DW_FORM_strp needs a string`);
      w.u32(ctx.strings.add(value));
      return;
    case DW_FORM.string:
      if (typeof value !== 'string') bad(`DW_FORM_string needs a string`);
      w.cstring(value);
      return;
    case DW_FORM.flag_present:
      return;
    case DW_FORM.exprloc:
    case DW_FORM.block: {
      const b = expectBytes(at, value);
      w.uleb(b.length).bytes(b);
      return;
    }
    case DW_FORM.block1: {
      const b = expectBytes(at, value);
      if (b.length > 0xff) bad('block too long for DW_FORM_block1');
      w.u8(b.length).bytes(b);
      return;
    }
    case DW_FORM.ref4: {
      if (!(value instanceof Die)) bad('DW_FORM_ref4 needs a DIE');
      refs.push({ target: value });
      w.u32Ref(value.label, unitStart);
      return;
    }
    case DW_FORM.ref_addr: {
      // A DIE of any unit, by its .debug_info offset (32-bit DWARF); patched when the section is finished.
      if (!(value instanceof Die)) bad('DW_FORM_ref_addr needs a DIE');
      w.u32Ref(value.label, 0);
      return;
    }
    default:
      bad(`form 0x${form.toString(16)} is not supported by the writer`);
  }
}

function writeDie(w: SectionWriter, die: Die, ctx: UnitContext, unitStart: number, refs: PendingRef[]): void {
  const hasChildren = die.children.length > 0;
  writeDieHead(w, die, hasChildren, ctx, unitStart, refs);
  if (hasChildren) {
    for (const child of die.children) writeDie(w, child, ctx, unitStart, refs);
    w.u8(0); // end of the sibling chain
  }
}

/** The DIE's abbreviation code and attributes, not its children. */
function writeDieHead(w: SectionWriter, die: Die, hasChildren: boolean, ctx: UnitContext, unitStart: number, refs: PendingRef[]): void {
  const flat = die.flatAttrs;
  const code = ctx.abbrevs.internFlat(die.tag, hasChildren, flat);
  // A label made by an earlier reference is defined here; one made later takes
  // `writtenAt`. Either way a DIE written twice fails as a label defined twice.
  if (die.hasLabel || die.writtenAt !== undefined) w.define(die.label);
  die.writtenAt = w.offset;
  w.uleb(code);
  for (let i = 0; i < flat.length; i += 3) writeAttr(w, flat[i] as number, flat[i + 1] as number, flat[i + 2], ctx, unitStart, refs);
}

/**
 * Appends one DWARF 4 compile unit (header and the DIE tree under `root`) to
 * .debug_info and returns the unit's offset. `moreChildren`, when given, are
 * written after `root.children` as further children of the root, each taken
 * from the iterable as it is written: a unit's subprograms can then be built
 * one at a time and dropped once written, rather than held as one tree (a
 * large unit's tree lives long enough to be promoted, and is then garbage
 * only a full collection reclaims).
 */
export function writeUnit(w: SectionWriter, root: Die, ctx: UnitContext, moreChildren?: Iterable<Die>): number {
  const unitStart = w.offset;
  const length = w.beginUnitLength();
  w.u16(DWARF_VERSION);
  w.u32(ctx.abbrevOffset ?? 0);
  w.u8(ADDRESS_SIZE);
  const refs: PendingRef[] = [];
  const more = moreChildren?.[Symbol.iterator]();
  let next = more?.next();
  const hasChildren = root.children.length > 0 || (next !== undefined && next.done !== true);
  writeDieHead(w, root, hasChildren, ctx, unitStart, refs);
  for (const child of root.children) writeDie(w, child, ctx, unitStart, refs);
  while (more && next && next.done !== true) {
    writeDie(w, next.value, ctx, unitStart, refs);
    next = more.next();
  }
  if (hasChildren) w.u8(0); // end of the root's sibling chain
  w.endUnitLength(length);
  const unitEnd = w.offset;
  for (const r of refs) {
    const at = r.target.label.offset;
    if (at === undefined || at < unitStart || at >= unitEnd) bad('a DW_FORM_ref4 points at a DIE outside its unit');
  }
  return unitStart;
}
