/**
 * The encoding layer on its own: section buffers with labels and fixups,
 * string tables, abbreviation interning, expressions, path splitting.
 */
import { isJosgdbError } from '../common/errors';
import { AbbrevTable } from './abbrev';
import { DW_AT, DW_FORM, DW_OP, DW_TAG } from './constants';
import { DwarfExpr, FRAME_BASE_CFA } from './expr';
import { buildFileTable } from './file-table';
import { mergeRanges } from './address-ranges';
import { normalizeSourcePath, splitSourcePath } from './paths';
import { Label, SectionWriter } from './section-writer';
import { StringTable } from './string-table';

const hexOf = (b: Buffer): string => b.toString('hex');

describe('SectionWriter', () => {
  it('writes little-endian integers, LEB128, text and padding', () => {
    const w = new SectionWriter('t', 1);
    w.u8(0x12).u16(0x3456).u32(0x789abcde).u64(0x0102030405060708n).uleb(624485).sleb(-123456).cstring('hé').align(4, 0xcc);
    expect(hexOf(w.finish())).toBe('12' + '5634' + 'debc9a78' + '0807060504030201' + 'e58e26' + 'c0bb78' + '68c3a900' + 'cccccc');
  });

  it('grows past its initial capacity without losing bytes', () => {
    const w = new SectionWriter('t', 16);
    for (let i = 0; i < 100_000; i++) w.u32(i);
    const out = w.finish();
    expect(out.length).toBe(400_000);
    expect(out.readUInt32LE(4 * 77_777)).toBe(77_777);
  });

  it('patches forward and backward label references relative to a base', () => {
    const w = new SectionWriter('t');
    const later = new Label('later');
    const early = new Label('early');
    w.zeros(3).define(early);
    w.u32Ref(later, 2).u64Ref(early).u8(0xff).define(later);
    const out = w.finish();
    expect(out.readUInt32LE(3)).toBe(16 - 2);
    expect(out.readBigUInt64LE(7)).toBe(3n);
  });

  it('fills in a unit length covering what follows it', () => {
    const w = new SectionWriter('t');
    w.u8(9);
    const mark = w.beginUnitLength();
    w.u16(4).zeros(10);
    w.endUnitLength(mark);
    expect(w.finish().readUInt32LE(1)).toBe(12);
  });

  it.each([
    ['an undefined label', (w: SectionWriter) => w.u32Ref(new Label('nowhere')).finish()],
    ['a label defined twice', (w: SectionWriter) => w.define(((l) => (w.define(l), l))(new Label()))],
    ['a u32 that does not fit', (w: SectionWriter) => w.u32(2 ** 32)],
    ['a negative u64', (w: SectionWriter) => w.u64(-1n)],
    ['a string with a NUL', (w: SectionWriter) => w.cstring('a\0b')],
  ])('rejects %s', (_, f) => {
    let error: unknown;
    try {
      f(new SectionWriter('t'));
    } catch (e) {
      error = e;
    }
    expect(isJosgdbError(error, 'BAD_ARGUMENT')).toBe(true);
  });
});

describe('StringTable', () => {
  it('stores each string once and returns stable offsets', () => {
    const t = new StringTable('.strtab', true);
    expect(t.add('main')).toBe(1);
    expect(t.add('x')).toBe(6);
    expect(t.add('main')).toBe(1);
    expect(t.add('')).toBe(0);
    expect(t.finish().toString('latin1')).toBe('\0main\0x\0');
  });

  it('starts with the first string when no leading empty string is asked for', () => {
    const t = new StringTable('.debug_str', false);
    expect(t.add('a')).toBe(0);
    expect(t.add('é')).toBe(2);
    expect(t.size).toBe(5);
  });
});

describe('AbbrevTable', () => {
  it('interns (tag, children, attribute forms) and encodes them', () => {
    const t = new AbbrevTable();
    const a = t.intern(DW_TAG.subprogram, false, [{ at: DW_AT.name, form: DW_FORM.strp }]);
    const b = t.intern(DW_TAG.subprogram, true, [{ at: DW_AT.name, form: DW_FORM.strp }]);
    const c = t.intern(DW_TAG.subprogram, false, [{ at: DW_AT.name, form: DW_FORM.string }]);
    const d = t.intern(DW_TAG.subprogram, false, [{ at: DW_AT.name, form: DW_FORM.strp }]);
    expect([a, b, c, d]).toEqual([1, 2, 3, 1]);
    expect(t.count).toBe(3);
    expect(hexOf(t.encode())).toBe(
      '01' + '2e' + '00' + '030e' + '0000' + '02' + '2e' + '01' + '030e' + '0000' + '03' + '2e' + '00' + '0308' + '0000' + '00',
    );
  });

  it('distinguishes attribute order and multi-byte tags and attributes', () => {
    const t = new AbbrevTable();
    const x = t.intern(0x4109, false, [
      { at: DW_AT.low_pc, form: DW_FORM.addr },
      { at: DW_AT.name, form: DW_FORM.strp },
    ]);
    const y = t.intern(0x4109, false, [
      { at: DW_AT.name, form: DW_FORM.strp },
      { at: DW_AT.low_pc, form: DW_FORM.addr },
    ]);
    expect(x).not.toBe(y);
    expect(hexOf(t.encode()).startsWith('01' + '898201' + '00')).toBe(true); // code 1, tag 0x4109 as ULEB128, no children
  });
});

describe('DwarfExpr', () => {
  it('encodes operations', () => {
    expect([...FRAME_BASE_CFA]).toEqual([DW_OP.call_frame_cfa]);
    const e = new DwarfExpr().fbreg(-16).breg(7, 8).breg(33, -1).reg(0).reg(40).plusUconst(200).addr(0x1000n).deref();
    expect(hexOf(e.bytes())).toBe('9170' + '7708' + '92217f' + '50' + '9028' + '23c801' + '03' + '0010000000000000' + '06');
  });
});

describe('source paths', () => {
  it.each([
    ['C:\\src\\kernel\\main.c', 'C:\\src\\kernel', 'main.c'],
    ['C:\\main.c', 'C:\\', 'main.c'],
    ['C:main.c', 'C:', 'main.c'],
    ['\\\\server\\share\\x.c', '\\\\server\\share', 'x.c'],
    ['/usr/include/stdio.h', '/usr/include', 'stdio.h'],
    ['/x.c', '/', 'x.c'],
    ['src/a.c', 'src', 'a.c'],
    ['C:/mixed\\style/file.cpp', 'C:/mixed\\style', 'file.cpp'],
    ['plain.c', undefined, 'plain.c'],
    ['dir/', undefined, 'dir/'],
  ])('splits %j', (path, dir, base) => {
    expect(splitSourcePath(path)).toEqual({ dir, base });
  });

  it('turns backslashes into slashes unless asked to preserve them', () => {
    expect(normalizeSourcePath('C:\\src\\a.c', 'forward-slashes')).toBe('C:/src/a.c');
    expect(normalizeSourcePath('C:\\src\\a.c', 'preserve')).toBe('C:\\src\\a.c');
    expect(normalizeSourcePath('/home/a.c', 'forward-slashes')).toBe('/home/a.c');
  });

  it('builds a file table with shared directories and merged duplicates', () => {
    const t = buildFileTable(['C:\\src\\a.c', 'C:\\src\\b.h', 'C:/src/a.c', 'x.c', '', 'C:\\inc\\b.h'], 'forward-slashes');
    expect(t.directories).toEqual(['C:/src', 'C:/inc']);
    expect(t.files).toEqual([
      { name: 'a.c', dirIndex: 1 },
      { name: 'b.h', dirIndex: 1 },
      { name: 'x.c', dirIndex: 0 },
      { name: '<unknown>', dirIndex: 0 },
      { name: 'b.h', dirIndex: 2 },
    ]);
    expect(t.fileNumbers).toEqual([1, 2, 1, 3, 4, 5]);
  });
});

describe('mergeRanges', () => {
  it('sorts, joins overlapping and touching ranges and drops empty ones', () => {
    expect(
      mergeRanges([
        { start: 0x50, end: 0x60 },
        { start: 0x10, end: 0x20 },
        { start: 0x20, end: 0x30 },
        { start: 0x18, end: 0x1c },
        { start: 0x40, end: 0x40 },
        { start: 0x58, end: 0x70 },
      ]),
    ).toEqual([
      { start: 0x10, end: 0x30 },
      { start: 0x50, end: 0x70 },
    ]);
  });
});
