/**
 * The writer's type and variable DIEs on a hand-built model
 * (testing/typed-models.ts), independent of any PDB: gdb must print the
 * model's types as it prints the C declarations they mirror compiled by
 * clang with DWARF; llvm-dwarfdump must read back each location exactly as
 * the model gives it; and the CodeView register table must name, through
 * DWARF, the register each CodeView register is part of.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JosgdbError } from '../common/errors';
import type { DebugModel } from '../symbols/debug-model';
import type { ModelVariable } from '../symbols/debug-model-types';
import { cvRegister } from '../symbols/pdb/cv-registers';
import { dwarfMismatches } from './testing/expect-model';
import { dumpedFunctions } from './testing/location-oracle';
import { SAMPLE_LOAD_BASE, sampleModel } from './testing/models';
import { DWARFDUMP, gdbBatch, parseDebugInfo, runTool, unquote } from './testing/tools';
import { sampleTypedModel, T, TYPED_MODEL_SOURCE } from './testing/typed-models';
import { writeDebugElf } from './write-debug-elf';

const dir = mkdtempSync(join(tmpdir(), 'josgdb-typed-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function written(model: DebugModel, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, writeDebugElf(model, { loadBase: SAMPLE_LOAD_BASE }));
  return file;
}

const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
const at = (rva: number): bigint => SAMPLE_LOAD_BASE + BigInt(rva);

describe('types', () => {
  test('gdb prints the model\'s types as the C declarations they mirror', () => {
    const elf = written(sampleTypedModel(), 'typed.elf');
    const source = join(dir, 'mirror.c');
    const object = join(dir, 'mirror.o');
    writeFileSync(source, TYPED_MODEL_SOURCE);
    execFileSync('clang', ['-target', 'x86_64-unknown-windows', '-gdwarf', '-g', '-O0', '-c', source, '-o', object]);
    const commands = [
      'ptype/o struct point', 'ptype union number', 'ptype/o struct flags', 'ptype enum balance', 'ptype/o struct everything',
      'ptype u64', 'whatis u64', 'ptype struct opaque', 'ptype kmain', 'whatis kmain',
    ];
    const ours = gdbBatch(elf, commands);
    const theirs = gdbBatch(object, commands);
    commands.forEach((c, i) => expect(`${c}\n${ours[i]}`).toBe(`${c}\n${theirs[i]}`));
    expect(theirs[4]).toContain('int grid[2][3];');
    // The variables, through their symbols' names.
    const [everything, wide] = gdbBatch(elf, ['whatis sTable', 'whatis gCounter']);
    expect(everything).toBe('type = struct everything\n');
    expect(wide).toBe('type = u64\n');
  });

  test('types live once, in a shared unit after the model\'s units, reached with DW_FORM_ref_addr', () => {
    const model = sampleTypedModel();
    const elf = written(model, 'shared.elf');
    const units = parseDebugInfo(runTool(DWARFDUMP, ['--debug-info', elf]).output);
    expect(units).toHaveLength(model.compileUnits.length + 1);
    const shared = units[units.length - 1]!;
    expect(unquote(shared.dies[0]!.attrs.get('DW_AT_name'))).toBe(model.imageName);
    const pointDies = units.flatMap((u) => u.dies).filter((d) => d.tag === 'DW_TAG_structure_type' && unquote(d.attrs.get('DW_AT_name')) === 'point');
    expect(pointDies).toHaveLength(1);
    expect(shared.dies).toContain(pointDies[0]);
    // Forms, per unit: kmain's unit refers across units, the shared unit within itself.
    const withForms = runTool(DWARFDUMP, ['--debug-info', '--show-form', elf]).output.split(/^(?=0x[0-9a-f]+: Compile Unit:)/m).slice(1);
    expect(withForms).toHaveLength(units.length);
    const typeForms = (text: string): string[] => [...text.matchAll(/DW_AT_type \[(DW_FORM_\w+)\]/g)].map((m) => m[1]!);
    expect(typeForms(withForms[0]!).length).toBeGreaterThan(5);
    expect(new Set(typeForms(withForms[0]!))).toEqual(new Set(['DW_FORM_ref_addr']));
    expect(new Set(typeForms(withForms[withForms.length - 1]!))).toEqual(new Set(['DW_FORM_ref4']));
    // The rest of each unit is as before.
    const dump = { debugInfo: runTool(DWARFDUMP, ['--debug-info', elf]).output, debugLine: runTool(DWARFDUMP, ['--debug-line', elf]).output };
    expect(dwarfMismatches(model, SAMPLE_LOAD_BASE, dump)).toEqual([]);
    expect(runTool(DWARFDUMP, ['--verify', elf]).output).toContain('No errors.');
  });

  test('data a unit claims is declared in it, the rest in the shared unit; untyped data gets no DIE', () => {
    const model = sampleTypedModel();
    const elf = written(model, 'placement.elf');
    const units = parseDebugInfo(runTool(DWARFDUMP, ['--debug-info', elf]).output);
    const variablesOf = (unit: (typeof units)[number]): string[] =>
      unit.dies.filter((d) => d.tag === 'DW_TAG_variable' && d.depth === 1).map((d) => unquote(d.attrs.get('DW_AT_name'))!);
    expect(variablesOf(units[0]!)).toEqual(['gCounter']);
    expect(variablesOf(units[units.length - 1]!)).toEqual(['sTable']);
    const counter = units[0]!.dies.find((d) => unquote(d.attrs.get('DW_AT_name')) === 'gCounter')!;
    expect(counter.attrs.get('DW_AT_location')).toBe(`DW_OP_addr ${hex(at(0x5010)).replace(/^0x0+/, '0x')}`);
    expect(counter.attrs.get('DW_AT_external')).toBe('true');
  });

  test('a model without types writes what it wrote before', () => {
    const stripped = sampleTypedModel();
    delete stripped.types;
    for (const cu of stripped.compileUnits) for (const fn of cu.functions) delete fn.type, delete fn.scope;
    for (const d of stripped.dataSymbols) delete d.type;
    expect(writeDebugElf(stripped, { loadBase: SAMPLE_LOAD_BASE }).equals(writeDebugElf(sampleModel(), { loadBase: SAMPLE_LOAD_BASE }))).toBe(true);
  });

  test('a reference to a type the model lacks is an error, not a broken file', () => {
    const model = sampleTypedModel();
    model.compileUnits[0]!.functions[0]!.scope!.variables[0]!.type = 999;
    expect(() => writeDebugElf(model, { loadBase: SAMPLE_LOAD_BASE })).toThrow(JosgdbError);
  });
});

describe('variables', () => {
  test('each location reads back as the model gives it', () => {
    const elf = written(sampleTypedModel(), 'locations.elf');
    const text = runTool(DWARFDUMP, ['--debug-info', elf]).output;
    const kmain = dumpedFunctions(text).find((f) => f.name === 'kmain')!;
    const byName = new Map(kmain.variables.map((v) => [v.name, v]));
    expect(kmain.variables.map((v) => [v.name, v.isParameter])).toEqual([
      ['where', true],
      ['count', true],
      ['spot', false],
      ['gone', false],
      ['calls', false],
      ['ratio', false],
    ]);
    const ops = (name: string, rva: number): string | undefined => byName.get(name)!.at(at(rva))?.map((p) => `${p.ops}${p.size === undefined ? '' : ` #${p.size}`}`).join(' | ');
    expect(ops('where', 0x1000)).toBe('DW_OP_reg2 RCX');
    expect(ops('count', 0x1000)).toBe('DW_OP_reg1 RDX');
    expect(ops('count', 0x1007)).toBe('DW_OP_reg1 RDX');
    expect(ops('count', 0x1008)).toBe('DW_OP_breg7 RSP+16');
    expect(ops('count', 0x1020)).toBeUndefined();
    expect(ops('spot', 0x1003)).toBeUndefined();
    expect(ops('spot', 0x1004)).toBe('DW_OP_reg8 R8 #4 |  #4');
    expect(ops('gone', 0x1004)).toBeUndefined();
    expect(ops('calls', 0x1004)).toBe(`DW_OP_addr ${hex(at(0x5020)).replace(/^0x0+/, '0x')}`);
    expect(ops('ratio', 0x1010)).toBe('DW_OP_reg17 XMM0');
    // The block and its range; the function's return type and prototype.
    const dies = parseDebugInfo(text)[0]!.dies;
    const block = dies.find((d) => d.tag === 'DW_TAG_lexical_block')!;
    expect([block.attrs.get('DW_AT_low_pc'), block.attrs.get('DW_AT_high_pc')]).toEqual([hex(at(0x1010)), hex(at(0x1030))]);
    const subprogram = dies.find((d) => d.tag === 'DW_TAG_subprogram' && unquote(d.attrs.get('DW_AT_name')) === 'kmain')!;
    expect(subprogram.attrs.get('DW_AT_prototyped')).toBe('true');
    expect(subprogram.attrs.get('DW_AT_type')).toMatch(/"int"/);
  });

  test('gdb reads the scope: parameters, locals, block, optimized-out', () => {
    const elf = written(sampleTypedModel(), 'scope.elf');
    const [scope] = gdbBatch(elf, ['info scope kmain']);
    expect(scope).toContain('Symbol where is a variable in $rcx, length 8.');
    expect(scope).toContain('Symbol gone is optimized out.');
    const range = (from: number, to: number): string => `Range ${hex(at(from)).replace(/^0x0+/, '0x')}-${hex(at(to)).replace(/^0x0+/, '0x')}`;
    expect(scope).toContain(`Symbol count is multi-location:\n  ${range(0x1000, 0x1008)}: a variable in $rdx\n  ${range(0x1008, 0x1020)}: a complex DWARF expression:\n     0: DW_OP_breg7 16 [$rsp]`);
    expect(scope).toContain(`Symbol spot is multi-location:\n  ${range(0x1004, 0x1010)}: a variable in $r8 [4-byte piece], and an empty 4-byte piece`);
    expect(scope).toContain(`Symbol calls is in static storage at address ${hex(at(0x5020)).replace(/^0x0+/, '0x')}, length 4.`);
  });

  test('a function with a type but no scope still shows its signature', () => {
    const model = sampleTypedModel();
    delete model.compileUnits[0]!.functions.find((f) => f.name === 'kmain')!.scope;
    const [signature] = gdbBatch(written(model, 'signature.elf'), ['ptype kmain']);
    expect(signature).toBe('type = int (struct point *, int)\n');
  });
});

describe('the CodeView to DWARF register table', () => {
  /** The x86-64 register a CodeView register is (part of), by its name: EAX, AX, AL -> RAX; R8D -> R8; XMM3 -> XMM3. */
  function containing(name: string): string {
    const legacy: Record<string, string> = { A: 'RAX', B: 'RBX', C: 'RCX', D: 'RDX', SI: 'RSI', DI: 'RDI', BP: 'RBP', SP: 'RSP' };
    let m = /^R(\d+)[BWD]?$/.exec(name);
    if (m) return `R${m[1]}`;
    m = /^E?([ABCD])X$|^([ABCD])L$/.exec(name);
    if (m) return legacy[m[1] ?? m[2]!]!;
    m = /^[ER]?(SI|DI|BP|SP)L?$/.exec(name);
    if (m) return legacy[m[1]!]!;
    if (name === 'FLAGS' || name === 'EFLAGS') return 'RFLAGS';
    return name;
  }

  test('flags and segment registers have the psABI\'s numbers (49 rFLAGS, 50-55 es cs ss ds fs gs), which LLVM does not name', () => {
    const numbers = [32, 34, 25, 26, 27, 28, 29, 30].map((cv) => [cvRegister(cv)?.name, cvRegister(cv)?.dwarf]);
    expect(numbers).toEqual([['FLAGS', 49], ['EFLAGS', 49], ['ES', 50], ['CS', 51], ['SS', 52], ['DS', 53], ['FS', 54], ['GS', 55]]);
  });

  test('llvm-dwarfdump names, for each mapped CodeView register, the register that holds it', () => {
    const model = sampleTypedModel();
    const variables: ModelVariable[] = [];
    for (let cv = 0; cv < 400; cv++) {
      const r = cvRegister(cv);
      if (r?.dwarf === undefined || r.dwarf >= 49) continue; // LLVM names no DWARF register from 49 on (see above)
      variables.push({ name: `r_${r.name}`, type: T.int, isParameter: false, location: { kind: 'fixed', location: { kind: 'register', register: r.dwarf } } });
    }
    expect(variables.length).toBeGreaterThan(90);
    model.compileUnits[0]!.functions.find((f) => f.name === 'kmain')!.scope = { variables, blocks: [] };
    const text = runTool(DWARFDUMP, ['--debug-info', written(model, 'registers.elf')]).output;
    const kmain = dumpedFunctions(text).find((f) => f.name === 'kmain')!;
    const problems = kmain.variables.flatMap((v) => {
      const cvName = v.name.slice(2);
      const printed = v.at(kmain.low)![0]!.ops.replace(/^DW_OP_regx? ?\S* /, '');
      return printed === containing(cvName) ? [] : [`${cvName}: dwarfdump says ${printed}, expected ${containing(cvName)}`];
    });
    expect(problems).toEqual([]);
  });
});
