import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDebugElf } from '../dwarf';
import { buildDebugModel, openPdb } from '../symbols/pdb';
import type { ModelFrameFunction, ModelFrameRow } from '../symbols/debug-model-frames';
import { buildFrameFunctions, frameRow } from './frame-cfi';
import { ENTRY_RULE, isTrivialRule } from './frame-rule';
import { interruptEntriesFromStubs, vectorTableRvas } from './interrupt-entries';
import { PeUnwindImage } from './pe-unwind-image';
import { dwarfdumpRowLines, expectedRowLines } from './testing/dwarfdump-frames';
import { procedureBounds, rvaOf, stubImage, type TestImage } from './testing/fixture-image';

function stubUnwindImage(stub: TestImage, base: bigint): PeUnwindImage {
  const table = rvaOf(stub, 'isr_stub_table');
  const stubs = vectorTableRvas(stub.image.readRva(table, 256 * 8), stub.image.imageBase, stub.image.sizeOfImage);
  const readCode = (rva: number, length: number): Uint8Array | undefined => {
    try {
      return stub.image.readRva(rva, length);
    } catch {
      return undefined;
    }
  };
  return new PeUnwindImage({ name: 'BOOTX64.EFI', base, image: stub.image, functions: procedureBounds(stub), interruptEntries: interruptEntriesFromStubs(readCode, stubs) });
}

function rowAt(fn: ModelFrameFunction, rva: number): ModelFrameRow {
  let row = fn.rows[0]!;
  for (const r of fn.rows) if (r.rva <= rva) row = r;
  return row;
}

describe.each(['unwind', 'nounwind'] as const)('call-frame information for stub-uefi built %s', (variant) => {
  const stub = stubImage(variant);
  const base = 0x6000000n;
  const image = stubUnwindImage(stub, base);
  const functions = buildFrameFunctions(image);
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'josgdb-frame-cfi-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('covers every function: .pdata entries, the other procedures, the interrupt entry code', () => {
    const starts = new Set(functions.map((f) => f.startRva));
    for (const p of stub.index.procedures) expect([p.name, starts.has(p.rva)]).toEqual([p.name, true]);
    expect(functions.filter((f) => f.source === 'machine-frame')).toHaveLength(257);
    expect(functions.filter((f) => f.source === 'unwind-info')).toHaveLength(stub.image.runtimeFunctions.length);
    // functions do not overlap
    const sorted = [...functions].sort((a, b) => a.startRva - b.startRva);
    sorted.slice(1).forEach((f, i) => expect(f.startRva).toBeGreaterThanOrEqual(sorted[i]!.endRva));
  });

  it('gives every instruction the rule the walker uses there, and a CFA everywhere in compiled code', () => {
    let instructions = 0;
    for (const fn of functions) {
      const analysis = image.analysis({ startRva: fn.startRva, endRva: fn.endRva });
      if (analysis instanceof Error) throw analysis;
      for (const ins of fn.source === 'machine-frame' ? [] : analysis.instructions) {
        const lookup = image.ruleAt(ins.rva, { returnAddress: false });
        expect(rowAt(fn, ins.rva)).toEqual({ ...frameRow(ins.rva, lookup.found ? lookup.rule : undefined), rva: rowAt(fn, ins.rva).rva });
        instructions++;
      }
    }
    expect(instructions).toBeGreaterThan(4000);
    const inProcedures = functions.filter((f) => stub.index.procedures.some((p) => p.rva === f.startRva));
    const undefinedRows = inProcedures.flatMap((f) => f.rows.filter((r) => !r.cfa).map((r) => `${f.startRva.toString(16)}+${(r.rva - f.startRva).toString(16)}`));
    expect(undefinedRows).toEqual([]);
  });

  it('treats a function without .pdata as a leaf only where its compile unit has unwind info, and the code agrees', () => {
    const leaves = functions.filter((f) => f.source === 'abi-leaf');
    if (variant === 'nounwind') {
      expect(leaves).toEqual([]);
      return;
    }
    expect(leaves.length).toBeGreaterThan(3);
    for (const fn of leaves) {
      expect(fn.rows).toEqual([frameRow(fn.startRva, ENTRY_RULE)]);
      // The ABI's promise, checked on clang's output: prologue analysis finds no frame either.
      const analysis = image.analysis({ startRva: fn.startRva, endRva: fn.endRva });
      if (analysis instanceof Error) throw analysis;
      const rules = analysis.instructions.filter((i) => i.rule && !isTrivialRule(i.rule)).map((i) => i.rva.toString(16));
      expect([fn.startRva.toString(16), rules]).toEqual([fn.startRva.toString(16), []]);
    }
  });

  it('is what llvm-dwarfdump reads back from the symbol file', () => {
    const { model } = buildDebugModel(openPdb(readFileSync(stub.pdbPath)), { imageName: 'BOOTX64.EFI', imageSize: stub.image.sizeOfImage });
    model.frames = functions;
    const path = join(dir, `${variant}.elf`);
    writeFileSync(path, writeDebugElf(model, { loadBase: base }));
    const lines = dwarfdumpRowLines(path);
    expect(lines.length).toBeGreaterThan(1000);
    expect(lines).toEqual(expectedRowLines(functions, base));
  });
});
