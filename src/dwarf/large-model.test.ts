/**
 * A kernel-sized model (20,000 functions in 200 units, ~200,000 line rows):
 * the writer must handle it and the result must still verify and read back
 * row for row. No timing is asserted here (benchmarks live elsewhere).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dwarfMismatches } from './testing/expect-model';
import { randomModel } from './testing/models';
import { DWARFDUMP, gdbBatch, parseReadelfSymbols, READELF, runTool } from './testing/tools';
import { writeDebugElf } from './write-debug-elf';

jest.setTimeout(300_000);

const BASE = 0xffffffff80000000n;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'josgdb-dwarf-large-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a 20,000-function model', () => {
  it('is written, verifies and reads back', () => {
    const model = randomModel(20_000, { compileUnits: 200, functionsPerUnit: 100, rowsPerFunction: 11 });
    const functions = model.compileUnits.flatMap((cu) => cu.functions);
    const rows = model.compileUnits.reduce((n, cu) => n + cu.lineSequences.reduce((m, s) => m + s.rows.length, 0), 0);
    expect(functions).toHaveLength(20_000);
    expect(rows).toBeGreaterThan(150_000);

    const elf = writeDebugElf(model, { loadBase: BASE });
    const file = join(dir, 'large.elf');
    writeFileSync(file, elf);

    expect(runTool(DWARFDUMP, ['--verify', file]).output).toContain('No errors.');
    const debugInfo = runTool(DWARFDUMP, ['--debug-info', file]).output;
    const debugLine = runTool(DWARFDUMP, ['--debug-line', file]).output;
    expect(dwarfMismatches(model, BASE, { debugInfo, debugLine })).toEqual([]);

    const symbols = parseReadelfSymbols(runTool(READELF, ['-sW', file]).output);
    expect(symbols.filter((s) => s.type === 'FUNC')).toHaveLength(20_000 + model.publicFunctions.length);

    // gdb finds functions at both ends of the image
    const last = functions[functions.length - 1];
    const out = gdbBatch(file, [`info address ${functions[0].name}`, `info address ${last.name}`]);
    expect(out[0]).toContain(`is a function at address 0x${(BASE + BigInt(functions[0].rva)).toString(16)}.`);
    expect(out[1]).toContain(`is a function at address 0x${(BASE + BigInt(last.rva)).toString(16)}.`);
  });
});
