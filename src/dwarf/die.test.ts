/**
 * The DIE tree encoder with the constructs the type and variable work will
 * need (forward and backward DW_FORM_ref4 references, nested children,
 * location expressions), written into an ELF container and read back by
 * llvm-dwarfdump.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbbrevTable } from './abbrev';
import { DW_AT, DW_ATE, DW_FORM, DW_LANG, DW_TAG } from './constants';
import { Die, writeUnit } from './die';
import { DwarfExpr } from './expr';
import { EM_X86_64, ET_EXEC, SHT_PROGBITS, writeElf64 } from './elf-writer';
import { SectionWriter } from './section-writer';
import { StringTable } from './string-table';
import { DWARFDUMP, parseDebugInfo, runTool, unquote } from './testing/tools';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'josgdb-die-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function debugOnlyElf(sections: Array<[string, Buffer]>): Buffer {
  return writeElf64({
    type: ET_EXEC,
    machine: EM_X86_64,
    entry: 0n,
    segments: [],
    sections: sections.map(([name, data]) => ({ name, type: SHT_PROGBITS, flags: 0n, addr: 0n, data, addralign: 1 })),
  });
}

function typedUnit(name: string): Die {
  const cu = new Die(DW_TAG.compile_unit).strp(DW_AT.name, name).data2(DW_AT.language, DW_LANG.C99);
  const int = new Die(DW_TAG.base_type);
  int.strp(DW_AT.name, 'int').data1(DW_AT.byte_size, 4).data1(DW_AT.encoding, DW_ATE.signed);
  const point = new Die(DW_TAG.structure_type).strp(DW_AT.name, 'point').data1(DW_AT.byte_size, 8);
  point.child(DW_TAG.member).strp(DW_AT.name, 'x').ref(DW_AT.type, int).data1(DW_AT.data_member_location, 0);
  point.child(DW_TAG.member).strp(DW_AT.name, 'y').ref(DW_AT.type, int).data1(DW_AT.data_member_location, 4);
  // the variable comes first and refers forward to types defined after it
  cu.child(DW_TAG.variable)
    .strp(DW_AT.name, 'origin')
    .ref(DW_AT.type, point)
    .flag(DW_AT.external)
    .exprloc(DW_AT.location, new DwarfExpr().addr(0xffff800000001000n).bytes());
  cu.children.push(point, int);
  const ptr = cu.child(DW_TAG.pointer_type).data1(DW_AT.byte_size, 8).ref(DW_AT.type, point); // backward reference
  cu.child(DW_TAG.variable).strp(DW_AT.name, 'cursor').ref(DW_AT.type, ptr).add(DW_AT.const_value, DW_FORM.sdata, -5);
  return cu;
}

describe('DIE encoding', () => {
  it('resolves forward and backward references in every unit, as llvm-dwarfdump reads them', () => {
    const info = new SectionWriter('.debug_info');
    const abbrevs = new AbbrevTable();
    const strings = new StringTable('.debug_str', false);
    const first = writeUnit(info, typedUnit('one.c'), { abbrevs, strings });
    const second = writeUnit(info, typedUnit('two.c'), { abbrevs, strings });
    expect(first).toBe(0);
    expect(second).toBeGreaterThan(0);
    expect(abbrevs.count).toBe(7); // the second unit reuses every abbreviation

    const file = join(dir, 'types.elf');
    writeFileSync(
      file,
      debugOnlyElf([
        ['.debug_abbrev', abbrevs.encode()],
        ['.debug_info', info.finish()],
        ['.debug_str', strings.finish()],
      ]),
    );
    expect(runTool(DWARFDUMP, ['--verify', file]).output).toContain('No errors.');

    const units = parseDebugInfo(runTool(DWARFDUMP, ['--debug-info', file]).output);
    expect(units.map((u) => u.offset)).toEqual([first, second]);
    for (const unit of units) {
      const byOffset = new Map(unit.dies.map((d) => [d.offset, d]));
      const refName = (value: string | undefined): string | undefined => {
        // llvm-dwarfdump shows a reference as (0x<absolute offset> "name")
        const m = /^0x([0-9a-f]+) "(.*)"$/.exec(value ?? '');
        if (!m) return undefined;
        const target = byOffset.get(parseInt(m[1], 16));
        return `${target?.tag}:${m[2]}`;
      };
      const find = (name: string): (typeof unit.dies)[number] | undefined =>
        unit.dies.find((d) => unquote(d.attrs.get('DW_AT_name')) === name);
      expect(refName(find('origin')?.attrs.get('DW_AT_type'))).toBe('DW_TAG_structure_type:point');
      expect(find('origin')?.attrs.get('DW_AT_location')).toBe('DW_OP_addr 0xffff800000001000');
      expect(refName(find('x')?.attrs.get('DW_AT_type'))).toBe('DW_TAG_base_type:int');
      expect(find('x')?.depth).toBe(2);
      expect(refName(find('cursor')?.attrs.get('DW_AT_type'))).toBe('DW_TAG_pointer_type:point *');
      expect(find('cursor')?.attrs.get('DW_AT_const_value')).toBe('-5');
    }
  });

  it('refuses a reference to a DIE of another unit', () => {
    const info = new SectionWriter('.debug_info');
    const ctx = { abbrevs: new AbbrevTable(), strings: new StringTable('.debug_str', false) };
    const one = new Die(DW_TAG.compile_unit);
    const int = one.child(DW_TAG.base_type).strp(DW_AT.name, 'int');
    writeUnit(info, one, ctx);
    const two = new Die(DW_TAG.compile_unit);
    two.child(DW_TAG.variable).ref(DW_AT.type, int);
    expect(() => writeUnit(info, two, ctx)).toThrow(/outside its unit|before its base/);
  });

  it('refuses a value of the wrong kind for its form', () => {
    const info = new SectionWriter('.debug_info');
    const ctx = { abbrevs: new AbbrevTable(), strings: new StringTable('.debug_str', false) };
    const cu = new Die(DW_TAG.compile_unit).add(DW_AT.name, DW_FORM.strp, 42);
    expect(() => writeUnit(info, cu, ctx)).toThrow(/needs a string/);
  });
});
