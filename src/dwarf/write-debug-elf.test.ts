/**
 * writeDebugElf end to end: the hand-built sample model written to a file and
 * read back by the real consumers. llvm-dwarfdump verifies the DWARF and its
 * dump is compared with the model; readelf shows the sections, segments and
 * symbols; gdb 13 and lldb answer address, line and symbol queries.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isJosgdbError } from '../common/errors';
import type { DebugModel } from '../symbols/debug-model';
import { dwarfMismatches } from './testing/expect-model';
import { SAMPLE_LOAD_BASE, sampleModel } from './testing/models';
import {
  DWARFDUMP,
  GDB,
  gdbBatch,
  LLDB,
  lldbBatch,
  parseDebugInfo,
  parseRanges,
  parseReadelfSections,
  parseReadelfSegments,
  parseReadelfSymbols,
  READELF,
  runTool,
  toolAvailable,
} from './testing/tools';
import { writeDebugElf } from './write-debug-elf';

jest.setTimeout(120_000);

const BASE = SAMPLE_LOAD_BASE;
const at = (rva: number): bigint => BASE + BigInt(rva);
const hx = (v: bigint): string => `0x${v.toString(16)}`;

let dir: string;
let file: string;
let model: DebugModel;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'josgdb-dwarf-'));
  file = join(dir, 'sample.elf');
  model = sampleModel();
  writeFileSync(file, writeDebugElf(model, { loadBase: BASE }));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('tools', () => {
  it.each([DWARFDUMP, READELF, GDB, LLDB])('%s is installed', (tool) => {
    expect(toolAvailable(tool)).toBe(true);
  });
});

describe('llvm-dwarfdump', () => {
  it('--verify accepts the file', () => {
    const { output, status } = runTool(DWARFDUMP, ['--verify', file]);
    expect(output).toContain('No errors.');
    expect(status).toBe(0);
  });

  it('reads back every unit, function and line row of the model', () => {
    const debugInfo = runTool(DWARFDUMP, ['--debug-info', file]).output;
    const debugLine = runTool(DWARFDUMP, ['--debug-line', file]).output;
    expect(dwarfMismatches(model, BASE, { debugInfo, debugLine })).toEqual([]);
  });

  it('indexes each unit with code in .debug_aranges, at its offset, with its ranges', () => {
    const units = parseDebugInfo(runTool(DWARFDUMP, ['--debug-info', file]).output);
    const expected: string[] = [];
    for (const unit of units) {
      const root = unit.dies[0];
      const ranges = root.attrs.has('DW_AT_ranges')
        ? parseRanges(root.attrs.get('DW_AT_ranges') ?? '')
        : root.attrs.has('DW_AT_low_pc')
          ? [[BigInt(root.attrs.get('DW_AT_low_pc') ?? ''), BigInt(root.attrs.get('DW_AT_high_pc') ?? '')]]
          : [];
      if (ranges.length === 0) continue;
      expected.push(`unit 0x${unit.offset.toString(16).padStart(8, '0')}`);
      for (const [lo, hi] of ranges) expected.push(`[${hx(lo)}, ${hx(hi)})`);
    }
    expect(expected).toHaveLength(3 + 3 + 3 + 1); // 3 headers; units 0 and 1 have 3 ranges, unit 2 one, unit 3 no code
    const actual: string[] = [];
    for (const line of runTool(DWARFDUMP, ['--debug-aranges', file]).output.split('\n')) {
      const header = /cu_offset = 0x([0-9a-f]+)/.exec(line);
      if (header) actual.push(`unit 0x${header[1]}`);
      const range = /^\[0x([0-9a-f]+), 0x([0-9a-f]+)\)$/.exec(line);
      if (range) actual.push(`[${hx(BigInt(`0x${range[1]}`))}, ${hx(BigInt(`0x${range[2]}`))})`);
    }
    expect(actual).toEqual(expected);
  });

  it('splits Windows and POSIX paths into include directories and names, once each', () => {
    const out = runTool(DWARFDUMP, ['--debug-line', file]).output;
    expect(out).toContain('include_directories[  1] = "C:/src/kernel"');
    expect(out).toContain('include_directories[  2] = "C:/src/kernel/include"');
    expect(out).toContain('include_directories[  1] = "src/cpp"');
    expect(out).toContain('include_directories[  2] = "/usr/include/c++/v1"');
    // main.c appears twice in the model's file list, once in the table
    const firstAt = out.indexOf('debug_line[0x');
    const first = out.slice(firstAt, out.indexOf('debug_line[0x', firstAt + 1));
    expect(first.match(/name: "main\.c"/g)).toHaveLength(1);
    // the bare asm file name refers to the compile directory (index 0)
    expect(out).toMatch(/name: "entry\.asm"\s+dir_index: 0/);
  });

  it('keeps backslashes with pathStyle preserve', () => {
    const preserved = join(dir, 'preserve.elf');
    writeFileSync(preserved, writeDebugElf(model, { loadBase: BASE, pathStyle: 'preserve' }));
    const out = runTool(DWARFDUMP, ['--debug-info', '--debug-line', preserved]).output;
    // llvm-dwarfdump escapes backslashes in strings
    expect(out).toContain('DW_AT_name\t(' + String.raw`"C:\\src\\kernel\\main.c")`);
    expect(out).toContain(String.raw`include_directories[  1] = "C:\\src\\kernel"`);
    expect(runTool(DWARFDUMP, ['--verify', preserved]).output).toContain('No errors.');
  });

  it('--lookup finds the function and line of an address', () => {
    const out = runTool(DWARFDUMP, [`--lookup=${hx(at(0x1064))}`, file]).output;
    expect(out).toMatch(/DW_TAG_subprogram[\s\S]*DW_AT_name\s+\("util_clamp"\)/);
    expect(out).toMatch(/Line info: file 'util\.h', line 6/);
  });
});

describe('readelf', () => {
  it('finds nothing to warn about', () => {
    expect(runTool(READELF, ['-aW', file]).output).not.toMatch(/warning|error/i);
  });

  it('shows an ET_EXEC x86-64 file', () => {
    const out = runTool(READELF, ['-hW', file]).output;
    expect(out).toMatch(/Class:\s+ELF64/);
    expect(out).toMatch(/little endian/);
    expect(out).toMatch(/Type:\s+EXEC/);
    expect(out).toMatch(/Machine:\s+Advanced Micro Devices X86-64/);
  });

  it('shows each image section as NOBITS at loadBase+rva with its flags', () => {
    const sections = parseReadelfSections(runTool(READELF, ['-SW', file]).output);
    const expected = [
      ['.text', 0x1000, 0x3000, 'AX'],
      ['.rdata', 0x4000, 0x1000, 'A'],
      ['.data', 0x5000, 0x1000, 'WA'],
      ['.bss', 0x6000, 0x2000, 'WA'],
      ['.reloc', 0x8000, 0x200, 'A'],
    ] as const;
    for (const [name, rva, size, flags] of expected) {
      const s = sections.find((x) => x.name === name);
      expect(s).toMatchObject({ type: 'NOBITS', address: at(rva), size: BigInt(size), flags });
    }
    for (const name of ['.debug_info', '.debug_abbrev', '.debug_str', '.debug_line', '.debug_aranges', '.debug_ranges']) {
      expect(sections.find((x) => x.name === name)).toMatchObject({ type: 'PROGBITS', flags: '' });
    }
    expect(sections.find((x) => x.name === '.symtab')?.type).toBe('SYMTAB');
    expect(sections.find((x) => x.name === '.strtab')?.type).toBe('STRTAB');
    expect(sections.find((x) => x.name === '.shstrtab')?.type).toBe('STRTAB');
  });

  it('shows one memory-only PT_LOAD per section, holding that section', () => {
    const segments = parseReadelfSegments(runTool(READELF, ['-lW', file]).output);
    expect(segments.map((s) => [s.type, s.vaddr, s.paddr, s.filesz, s.memsz, s.flags, s.sections.join(',')])).toEqual([
      ['LOAD', at(0x1000), at(0x1000), 0n, 0x3000n, 'RE', '.text'],
      ['LOAD', at(0x4000), at(0x4000), 0n, 0x1000n, 'R', '.rdata'],
      ['LOAD', at(0x5000), at(0x5000), 0n, 0x1000n, 'RW', '.data'],
      ['LOAD', at(0x6000), at(0x6000), 0n, 0x2000n, 'RW', '.bss'],
      ['LOAD', at(0x8000), at(0x8000), 0n, 0x200n, 'R', '.reloc'],
    ]);
  });

  it('lists every function and data symbol with value, size, type, binding and section', () => {
    const symbols = parseReadelfSymbols(runTool(READELF, ['-sW', file]).output);
    const sections = parseReadelfSections(runTool(READELF, ['-SW', file]).output);
    const ndxOf = (name: string): string => String(sections.find((s) => s.name === name)?.index);
    const expected: Array<[string, number, number, string, string, string]> = [];
    for (const cu of model.compileUnits) {
      for (const f of cu.functions) expected.push([f.name, f.rva, f.size, 'FUNC', f.external ? 'GLOBAL' : 'LOCAL', ndxOf('.text')]);
    }
    for (const f of model.publicFunctions) expected.push([f.name, f.rva, f.size, 'FUNC', 'GLOBAL', ndxOf('.text')]);
    expected.push(['gCounter', 0x5010, 8, 'OBJECT', 'GLOBAL', ndxOf('.data')]);
    expected.push(['sTable', 0x4000, 64, 'OBJECT', 'LOCAL', ndxOf('.rdata')]);
    expected.push(['gBssArray', 0x6000, 0x1000, 'OBJECT', 'GLOBAL', ndxOf('.bss')]);
    expected.push(['__ImageBase', 0, 0, 'OBJECT', 'GLOBAL', 'ABS']);
    const actual = symbols.filter((s) => s.name !== '').map((s) => [s.name, s.value, s.size, s.type, s.bind, s.ndx]);
    expect(actual).toHaveLength(expected.length);
    expect(actual).toEqual(
      expect.arrayContaining(expected.map(([n, rva, size, type, bind, ndx]) => [n, at(rva), BigInt(size), type, bind, ndx])),
    );
    // locals first, as ELF requires (readelf would warn about sh_info otherwise)
    const firstGlobal = actual.findIndex((s) => s[4] === 'GLOBAL');
    expect(actual.slice(firstGlobal).every((s) => s[4] === 'GLOBAL')).toBe(true);
    expect(runTool(READELF, ['-sW', file]).output).not.toMatch(/warning/i);
  });
});

describe('gdb', () => {
  let out: string[];
  const commands = [
    `info line *${hx(at(0x1004))}`, // 0
    `info line *${hx(at(0x1066))}`, // 1: inside util_clamp, line 6 of util.h
    `info line *${hx(at(0x10b4))}`, // 2: the hole between gappy's sequences
    `info line *${hx(at(0x2008))}`, // 3: C++
    `info line *${hx(at(0x2804))}`, // 4: asm
    `info line *${hx(at(0x1088))}`, // 5: function without line info
    `info symbol ${hx(at(0x1004))}`, // 6
    `info symbol ${hx(at(0x5014))}`, // 7: data
    `info symbol ${hx(at(0x3002))}`, // 8: public-only function
    'info address kmain', // 9
    'info address gCounter', // 10
    'info address PublicAsmStub', // 11
    'info line main.c:15', // 12
    'info line thing.cpp:21', // 13
    'break kmain', // 14
    'break ns::Foo::bar', // 15
    'break local_helper', // 16
    'break PublicAsmStub', // 17
    'info address util_clamp', // 18
    `info line *${hx(at(0x1300))}`, // 19: far_lines after a long address step
    'info line main.c:100000', // 20
    `info symbol ${hx(at(0x6800))}`, // 21: inside gBssArray
  ];
  beforeAll(() => {
    out = gdbBatch(file, commands);
  });

  it('maps addresses to file and line', () => {
    expect(out[0]).toMatch(
      new RegExp(`^Line 11 of "C:/src/kernel/main\\.c" starts at address ${hx(at(0x1004))} <kmain\\+4> and ends at ${hx(at(0x1008))} <kmain\\+8>\\.`),
    );
    expect(out[1]).toMatch(new RegExp(`^Line 6 of "C:/src/kernel/include/util\\.h" starts at address ${hx(at(0x1064))} <util_clamp\\+4>`));
    expect(out[2]).toMatch(new RegExp(`^No line number information available for address ${hx(at(0x10b4))} <gappy\\+20>`));
    expect(out[3]).toMatch(new RegExp(`^Line 4 of "src/cpp/thing\\.cpp" starts at address ${hx(at(0x2008))} <ns::Foo::bar\\(\\)\\+8>`));
    expect(out[4]).toMatch(new RegExp(`^Line 2 of "entry\\.asm" starts at address ${hx(at(0x2804))} <asm_trampoline\\+4>`));
    expect(out[5]).toMatch(new RegExp(`^No line number information available for address ${hx(at(0x1088))} <no_lines\\+8>`));
    expect(out[19]).toMatch(new RegExp(`^Line 1 of "C:/src/kernel/main\\.c" starts at address ${hx(at(0x1300))} <far_lines\\+512>`));
  });

  it('names the symbol at an address from .symtab', () => {
    expect(out[6].trim()).toBe('kmain + 4 in section .text');
    expect(out[7].trim()).toBe('gCounter + 4 in section .data');
    expect(out[8].trim()).toBe('PublicAsmStub + 2 in section .text');
    expect(out[21].trim()).toBe('gBssArray + 2048 in section .bss');
  });

  it('knows functions from DWARF and data and publics from .symtab', () => {
    expect(out[9].trim()).toBe(`Symbol "kmain" is a function at address ${hx(at(0x1000))}.`);
    expect(out[18].trim()).toBe(`Symbol "util_clamp" is a function at address ${hx(at(0x1060))}.`);
    expect(out[10].trim()).toBe(`Symbol "gCounter" is at ${hx(at(0x5010))} in a file compiled without debugging.`);
    expect(out[11].trim()).toBe(`Symbol "PublicAsmStub" is at ${hx(at(0x3000))} in a file compiled without debugging.`);
  });

  it('maps file:line to addresses', () => {
    expect(out[12]).toMatch(new RegExp(`^Line 15 of "C:/src/kernel/main\\.c" starts at address ${hx(at(0x1024))} <kmain\\+36>`));
    expect(out[13]).toMatch(new RegExp(`^Line 21 of "src/cpp/thing\\.cpp" starts at address ${hx(at(0x2104))} <ns::baz\\(\\)\\+4>`));
    expect(out[20]).toMatch(new RegExp(`^Line 100000 of "C:/src/kernel/main\\.c" starts at address ${hx(at(0x14ff))} <far_lines\\+1023>`));
  });

  it('sets breakpoints by name with file and line', () => {
    // clang producer: gdb skips the prologue to the second line row
    expect(out[14].trim()).toBe(`Breakpoint 1 at ${hx(at(0x1004))}: file C:/src/kernel/main.c, line 11.`);
    expect(out[15].trim()).toBe(`Breakpoint 2 at ${hx(at(0x2000))}: file src/cpp/thing.cpp, line 3.`);
    expect(out[16].trim()).toBe(`Breakpoint 3 at ${hx(at(0x2200))}: file /usr/include/c++/v1/vector, line 77.`);
    expect(out[17].trim()).toBe(`Breakpoint 4 at ${hx(at(0x3000))}`);
  });

  it('finds the sources of Windows paths through set substitute-path', () => {
    const root = join(dir, 'checkout');
    mkdirSync(join(root, 'kernel'), { recursive: true });
    writeFileSync(join(root, 'kernel', 'main.c'), Array.from({ length: 40 }, (_, i) => `/* source line ${i + 1} */`).join('\n'));
    const [, list, source] = gdbBatch(file, [`set substitute-path C:/src ${root}`, 'list kmain', 'info source']);
    expect(list).toContain('11\t/* source line 11 */');
    expect(source).toContain('Current source file is C:/src/kernel/main.c');
    expect(source).toContain(`Located in ${join(root, 'kernel', 'main.c')}`);
  });

  it('prints no warnings or errors about the file', () => {
    expect(out.join('')).not.toMatch(/warning|complaint|error/i);
    const load = runTool(GDB, ['-nx', '-batch', '-ex', 'info functions kmain', '-ex', 'info sources', file]).output;
    expect(load).toContain('10:\tvoid kmain();');
    expect(load).not.toMatch(/warning|error/i);
  });
});

describe('lldb', () => {
  let out: string[];
  const commands = [
    `image lookup -a ${hx(at(0x1004))}`,
    `image lookup -a ${hx(at(0x1066))}`,
    `image lookup -a ${hx(at(0x2008))}`,
    `image lookup -a ${hx(at(0x10b4))}`,
    `image lookup -a ${hx(at(0x3002))}`,
    `image lookup -a ${hx(at(0x5010))}`,
    'image lookup -n kmain',
    'breakpoint set -f thing.cpp -l 21',
  ];
  beforeAll(() => {
    out = lldbBatch(file, commands);
  });

  it('maps addresses to function and file:line', () => {
    expect(out[0]).toMatch(/Summary: sample\.elf`kmain \+ 4 at main\.c:11\n/);
    expect(out[1]).toMatch(/Summary: sample\.elf`util_clamp \+ 6 at util\.h:6\n/);
    expect(out[2]).toMatch(/Summary: sample\.elf`(::)?ns::Foo::bar\(\) \+ 8 at thing\.cpp:4\n/);
    expect(out[3]).toMatch(/Summary: sample\.elf`gappy \+ 20\n/);
    expect(out[4]).toMatch(/Summary: sample\.elf`PublicAsmStub \+ 2\n/);
    expect(out[5]).toMatch(/Summary: gCounter\n/);
  });

  it('places the image at the load base', () => {
    expect(out[0]).toContain(`Address: sample.elf[${hx(at(0x1004))}] (sample.elf.PT_LOAD[0]..text + 4)`);
    expect(out[6]).toMatch(/Summary: sample\.elf`kmain at main\.c:10/);
    expect(out[7]).toMatch(new RegExp(`Breakpoint 1: where = sample\\.elf\`(::)?ns::baz\\(\\) \\+ 4 at thing\\.cpp:21, address = ${hx(at(0x2104))}`));
  });
});

describe('writeDebugElf', () => {
  it('is deterministic', () => {
    const a = writeDebugElf(sampleModel(), { loadBase: BASE });
    const b = writeDebugElf(sampleModel(), { loadBase: BASE });
    expect(a.equals(b)).toBe(true);
  });

  it('does not depend on the order of functions in the model', () => {
    const shuffled = sampleModel();
    for (const cu of shuffled.compileUnits) cu.functions.reverse();
    shuffled.dataSymbols.reverse();
    shuffled.publicFunctions.reverse();
    expect(writeDebugElf(shuffled, { loadBase: BASE }).equals(writeDebugElf(sampleModel(), { loadBase: BASE }))).toBe(true);
  });

  it('sets e_entry from entryRva', () => {
    const elf = writeDebugElf(sampleModel(), { loadBase: BASE, entryRva: 0x1000 });
    expect(elf.readBigUInt64LE(24)).toBe(at(0x1000));
    expect(elf.readUInt16LE(16)).toBe(2); // ET_EXEC
    expect(elf.readUInt16LE(18)).toBe(62); // EM_X86_64
  });

  const broken: Array<[string, (m: DebugModel) => void]> = [
    ['unsorted rows', (m) => m.compileUnits[0].lineSequences[1].rows.reverse()],
    ['a row past the sequence end', (m) => (m.compileUnits[0].lineSequences[1].rows[1].rva = 0x10b0)],
    ['a row with an unknown file', (m) => (m.compileUnits[0].lineSequences[1].rows[0].file = 7)],
    ['a negative line', (m) => (m.compileUnits[0].lineSequences[1].rows[0].line = -1)],
    ['a fractional row address', (m) => (m.compileUnits[0].lineSequences[1].rows[1].rva = 0x10a8 + 0.5)],
    ['a row before its sequence', (m) => (m.compileUnits[0].lineSequences[1].rows[0].rva = 0x109f)],
    ['an empty sequence range', (m) => (m.compileUnits[0].lineSequences[1].endRva = 0x10a0)],
    ['a negative RVA', (m) => (m.dataSymbols[0].rva = -4)],
    ['a fractional size', (m) => (m.compileUnits[0].functions[0].size = 1.5)],
  ];
  it.each(broken)('rejects %s with BAD_ARGUMENT', (_, breakIt) => {
    const m = sampleModel();
    breakIt(m);
    let error: unknown;
    try {
      writeDebugElf(m, { loadBase: BASE });
    } catch (e) {
      error = e;
    }
    expect(isJosgdbError(error, 'BAD_ARGUMENT')).toBe(true);
  });

  it('rejects a load base that pushes the image past 2^64', () => {
    expect(() => writeDebugElf(sampleModel(), { loadBase: (1n << 64n) - 0x1000n })).toThrow(/overflows 64 bits/);
  });

  it('writes a valid file for an empty model', () => {
    const empty: DebugModel = { imageName: 'x', imageSize: 0, sections: [], compileUnits: [], publicFunctions: [], dataSymbols: [] };
    const path = join(dir, 'empty.elf');
    writeFileSync(path, writeDebugElf(empty, { loadBase: 0x400000n }));
    expect(runTool(DWARFDUMP, ['--verify', path]).output).toContain('No errors.');
    expect(runTool(READELF, ['-aW', path]).output).not.toMatch(/warning|error/i);
  });
});
