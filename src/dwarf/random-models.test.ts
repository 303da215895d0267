/**
 * Random valid models (fast-check picks the seed, the shape and the load
 * base): every written file must pass `llvm-dwarfdump --verify`, read back as
 * the model (units, functions, every line row), list every symbol in readelf,
 * and answer gdb's `info line *ADDR` with the model's file and line. Each run
 * starts three tools, so there are only a few runs.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugModel, ModelLineRow } from '../symbols/debug-model';
import { dwarfMismatches } from './testing/expect-model';
import { randomModel, rng } from './testing/models';
import { DWARFDUMP, gdbBatch, parseReadelfSymbols, READELF, runTool } from './testing/tools';
import { writeDebugElf } from './write-debug-elf';

jest.setTimeout(300_000);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'josgdb-dwarf-fuzz-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const loadBase = fc.oneof(
  fc.constant(0xffffffff80000000n),
  fc.bigInt({ min: 0n, max: 1n << 35n }).map((pages) => pages << 12n),
);

/** Rows gdb reports unambiguously: a statement with a line, alone at its address. */
function probeRows(model: DebugModel, seed: number): Array<{ row: ModelLineRow; path: string }> {
  const candidates: Array<{ row: ModelLineRow; path: string }> = [];
  for (const cu of model.compileUnits) {
    const count = new Map<number, number>();
    for (const s of cu.lineSequences) for (const r of s.rows) count.set(r.rva, (count.get(r.rva) ?? 0) + 1);
    for (const s of cu.lineSequences) {
      for (const r of s.rows) {
        if (r.isStatement && r.line > 0 && count.get(r.rva) === 1) candidates.push({ row: r, path: cu.files[r.file].replace(/\\/g, '/') });
      }
    }
  }
  const pick = rng(seed ^ 0x5eed);
  return Array.from({ length: Math.min(6, candidates.length) }, () => candidates[Math.floor(pick() * candidates.length)]);
}

describe('random models', () => {
  it('always produce files the consumers read back as the model', () => {
    let run = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0x7fffffff }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        loadBase,
        (seed, compileUnits, functionsPerUnit, rowsPerFunction, base) => {
          const model = randomModel(seed, { compileUnits, functionsPerUnit, rowsPerFunction });
          const file = join(dir, `random-${run++}.elf`);
          const elf = writeDebugElf(model, { loadBase: base });
          writeFileSync(file, elf);

          const verify = runTool(DWARFDUMP, ['--verify', file]);
          expect(verify.output).toContain('No errors.');
          const debugInfo = runTool(DWARFDUMP, ['--debug-info', file]).output;
          const debugLine = runTool(DWARFDUMP, ['--debug-line', file]).output;
          expect(dwarfMismatches(model, base, { debugInfo, debugLine })).toEqual([]);

          const symbols = parseReadelfSymbols(runTool(READELF, ['-sW', file]).output).filter((s) => s.name !== '');
          const functionCount = model.compileUnits.reduce((n, cu) => n + cu.functions.length, 0) + model.publicFunctions.length;
          expect(symbols.filter((s) => s.type === 'FUNC')).toHaveLength(functionCount);
          expect(symbols.filter((s) => s.type === 'OBJECT')).toHaveLength(model.dataSymbols.length);

          const probes = probeRows(model, seed);
          if (probes.length > 0) {
            const answers = gdbBatch(
              file,
              probes.map((p) => `info line *0x${(base + BigInt(p.row.rva)).toString(16)}`),
            );
            probes.forEach((p, i) => {
              expect(answers[i]).toMatch(new RegExp(`^Line ${p.row.line} of "${p.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
            });
          }
        },
      ),
      { numRuns: 10 },
    );
  });
});
