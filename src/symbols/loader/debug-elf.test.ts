/**
 * The ELF a LoadedSymbols writes, read back by the tools people use: readelf
 * for the symbol table and entry point, and gdb (no target) for file:line and
 * symbol lookups at a chosen load base, compared with llvm-symbolizer on the
 * PE image itself.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GDB, READELF, runTool } from '../../dwarf/testing/tools';
import { loadSymbols } from './load-symbols';
import type { LoadedSymbols } from './load-symbols';
import { Scratch, stubFiles } from './testing/inputs';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());
const stub = stubFiles();
const BASE = 0x7e4d0000n;

let loaded: LoadedSymbols;
let elfPath: string;
beforeAll(async () => {
  loaded = await loadSymbols({ image: stub.image, cache: false });
  elfPath = path.join(scratch.dir('elf'), 'BOOTX64.debug');
  writeFileSync(elfPath, loaded.debugElf(BASE));
});

const hex = (n: bigint): string => `0x${n.toString(16)}`;

/** llvm-symbolizer on the PE image: function, file and line of an RVA. */
function symbolize(rva: number): { fn: string; file: string; line: number } {
  const out = execFileSync('llvm-symbolizer', [`--obj=${stub.image}`, '--relative-address', '--no-inlines'], {
    input: `0x${rva.toString(16)}\n`,
    encoding: 'utf8',
  });
  const [fn, loc] = out.trim().split('\n') as [string, string];
  const m = /^(.*):(\d+):\d+$/.exec(loc)!;
  return { fn, file: m[1]!, line: Number(m[2]) };
}

describe('the debug ELF of stub-uefi', () => {
  it('has every function at load base + RVA in its symbol table, and the entry point', () => {
    const out = runTool(READELF, ['-sW', elfPath]).output;
    const values = new Map<string, bigint>();
    for (const m of out.matchAll(/^\s*\d+: ([0-9a-f]{16})\s+\d+ FUNC\s+\w+\s+\w+\s+\d+ (\S+)$/gm)) values.set(m[2]!, BigInt(`0x${m[1]}`));
    const functions = [...loaded.model.compileUnits.flatMap((cu) => cu.functions), ...loaded.model.publicFunctions];
    expect(functions.length).toBeGreaterThan(20);
    for (const f of functions) expect([f.name, values.get(f.name)]).toEqual([f.name, BASE + BigInt(f.rva)]);

    const header = runTool(READELF, ['-hW', elfPath]).output;
    expect(header).toMatch(/Type:\s+EXEC/);
    expect(header).toContain(`Entry point address:               ${hex(BASE + BigInt(loaded.image.entryPointRva))}`);
  });

  it.each(['demo_leaf', 'demo_factorial', 'demo_a'])('gdb resolves %s at the chosen base to the file:line llvm-symbolizer gives', (name) => {
    const fn = loaded.index!.lookupName(name)[0]!;
    const rva = fn.rva + 4;
    const addr = hex(BASE + BigInt(rva));
    const expected = symbolize(rva);
    expect(expected.fn).toBe(name);
    const out = runTool(GDB, ['-nx', '-batch', '-ex', `symbol-file ${elfPath}`, '-ex', `info line *${addr}`, '-ex', `info symbol ${addr}`]).output;
    const line = /Line (\d+) of "([^"]+)" starts at address (0x[0-9a-f]+) <(\w+)(?:\+\d+)?>/.exec(out);
    expect(line).not.toBeNull();
    expect(Number(line![1])).toBe(expected.line);
    expect(expected.file.endsWith(`/${line![2]!}`) || expected.file === line![2]).toBe(true);
    expect(line![4]).toBe(name);
    expect(out).toContain(`${name} + 4 in section .text`);
    // The PDB's own line table agrees.
    expect(loaded.index!.lineAt(rva)?.line).toBe(expected.line);
  });

  it('writes one ELF per base and reuses it', () => {
    const a = loaded.debugElf(BASE);
    expect(loaded.debugElf(BASE)).toBe(a);
    const b = loaded.debugElf(BASE + 0x100000n);
    expect(b).not.toBe(a);
    expect(b.equals(a)).toBe(false);
  });
});
