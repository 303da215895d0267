/**
 * .debug_line merges a row into the one before it when it repeats its file,
 * line and flags: llvm-dwarfdump must list exactly the merged rows, and gdb
 * must see one address range per merged line (its `next` steps over that
 * range in one go). Rows that differ in file, is_stmt or prologue_end, and
 * rows in the next sequence, stay rows of their own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugModel, ModelLineRow } from '../symbols/debug-model';
import { dwarfMismatches } from './testing/expect-model';
import { DWARFDUMP, gdbBatch, parseDebugLine, runTool } from './testing/tools';
import { writeDebugElf } from './write-debug-elf';

jest.setTimeout(60_000);

const BASE = 0x140000000n;
const hx = (rva: number): string => `0x${(BASE + BigInt(rva)).toString(16)}`;
const row = (rva: number, line: number, extra: Partial<ModelLineRow> = {}): ModelLineRow => ({ rva, file: 0, line, isStatement: true, ...extra });

function model(): DebugModel {
  return {
    imageName: 'LINES.EFI',
    imageSize: 0x3000,
    sections: [{ name: '.text', rva: 0x1000, size: 0x1000, executable: true, writable: false }],
    compileUnits: [
      {
        name: '/src/loop.c',
        producer: 'clang version 17.0.6',
        language: 'c',
        files: ['/src/loop.c', '/src/loop.h', '/src/loop.c'],
        functions: [
          { name: 'spin', rva: 0x1000, size: 0x60, declFile: 0, declLine: 80, external: true },
          { name: 'after', rva: 0x1060, size: 0x20, declFile: 0, declLine: 90, external: true },
        ],
        lineSequences: [
          {
            startRva: 0x1000,
            endRva: 0x1060,
            rows: [
              row(0x1000, 80),
              row(0x1004, 80, { prologueEnd: true }), // a flag the row before lacks: a row of its own
              row(0x1008, 80, { prologueEnd: true }), // the same flag again: merged
              row(0x1010, 82), // the loop body...
              row(0x101b, 82), // ...and its increment: merged
              row(0x101f, 82, { file: 2 }), // another name for the same file: merged
              row(0x1023, 83),
              row(0x1028, 83, { isStatement: false }), // is_stmt differs: a row of its own
              row(0x102c, 83, { isStatement: false }), // merged
              row(0x1030, 83, { file: 1 }), // another file: a row of its own
              row(0x1038, 84),
            ],
          },
          // the next sequence starts afresh, even on the same line
          { startRva: 0x1060, endRva: 0x1080, rows: [row(0x1060, 84), row(0x1070, 84)] },
        ],
      },
    ],
    publicFunctions: [],
    dataSymbols: [],
  };
}

let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'josgdb-debug-line-'));
  file = join(dir, 'lines.elf');
  writeFileSync(file, writeDebugElf(model(), { loadBase: BASE }));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('.debug_line row merging', () => {
  it('lists one row per run of the same file, line and flags', () => {
    const [table] = parseDebugLine(runTool(DWARFDUMP, ['--debug-line', file]).output);
    const rows = table.rows.map(
      (r) =>
        `${r.address.toString(16)} ${r.endSequence ? 'end' : `${table.files[r.file - 1].name}:${r.line}`}` +
        `${r.isStmt ? '' : ' !stmt'}${r.prologueEnd ? ' prologue_end' : ''}`,
    );
    expect(rows).toEqual([
      '140001000 loop.c:80',
      '140001004 loop.c:80 prologue_end',
      '140001010 loop.c:82',
      '140001023 loop.c:83',
      '140001028 loop.c:83 !stmt',
      '140001030 loop.h:83',
      '140001038 loop.c:84',
      '140001060 end',
      '140001060 loop.c:84',
      '140001080 end',
    ]);
  });

  it('matches the model as the writer tests read it', () => {
    const dump = {
      debugInfo: runTool(DWARFDUMP, ['--debug-info', file]).output,
      debugLine: runTool(DWARFDUMP, ['--debug-line', file]).output,
    };
    expect(dwarfMismatches(model(), BASE, dump)).toEqual([]);
    expect(runTool(DWARFDUMP, ['--verify', file]).output).toContain('No errors.');
  });

  it('gives gdb one address range for the whole loop line', () => {
    const [body, increment] = gdbBatch(file, [`info line *${hx(0x1010)}`, `info line *${hx(0x101b)}`]);
    const whole = `starts at address ${hx(0x1010)} <spin+16> and ends at ${hx(0x1023)} <spin+35>.`;
    expect(body).toContain(`Line 82 of "/src/loop.c" ${whole}`);
    expect(increment).toContain(`Line 82 of "/src/loop.c" ${whole}`);
  });
});
