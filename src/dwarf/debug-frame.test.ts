import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugModel } from '../symbols/debug-model';
import type { ModelFrameFunction } from '../symbols/debug-model-frames';
import { dwarfdumpRowLines, expectedRowLines } from '../unwind/testing/dwarfdump-frames';
import { writeDebugFrame } from './debug-frame';
import { buildDwarfSections } from './dwarf-sections';
import { writeDebugElf } from './write-debug-elf';

const RSP = 7;
const RBP = 6;
const RBX = 3;
const R12 = 12;
const RIP = 16;

/** A prologue, a frame register, a mid-function epilog, an interrupt frame, and rows gdb must stop at. */
const FUNCTIONS: ModelFrameFunction[] = [
  {
    startRva: 0x1000,
    endRva: 0x1040,
    source: 'prologue-analysis',
    rows: [
      { rva: 0x1000, cfa: { register: RSP, offset: 8, deref: false }, saved: [] },
      { rva: 0x1001, cfa: { register: RSP, offset: 16, deref: false }, saved: [{ register: RBP, slot: { cfaOffset: -16 } }] },
      { rva: 0x1004, cfa: { register: RBP, offset: 16, deref: false }, saved: [{ register: RBP, slot: { cfaOffset: -16 } }] },
      { rva: 0x1005, cfa: { register: RBP, offset: 16, deref: false }, saved: [{ register: RBP, slot: { cfaOffset: -16 } }, { register: RBX, slot: { cfaOffset: -24 } }, { register: 23, slot: { cfaOffset: -64 } }] },
      // epilog in the middle: rsp-based again, registers restored one by one
      { rva: 0x1010, cfa: { register: RSP, offset: 24, deref: false }, saved: [{ register: RBP, slot: { cfaOffset: -16 } }, { register: RBX, slot: { cfaOffset: -24 } }] },
      { rva: 0x1011, cfa: { register: RSP, offset: 16, deref: false }, saved: [{ register: RBP, slot: { cfaOffset: -16 } }] },
      { rva: 0x1012, cfa: { register: RSP, offset: 8, deref: false }, saved: [] },
      // after the ret: the body's rule again
      { rva: 0x1013, cfa: { register: RBP, offset: 16, deref: false }, saved: [{ register: RBP, slot: { cfaOffset: -16 } }, { register: RBX, slot: { cfaOffset: -24 } }, { register: 23, slot: { cfaOffset: -64 } }] },
      // no rule here: gdb stops unwinding
      { rva: 0x1030, cfa: undefined, saved: [] },
      { rva: 0x1038, cfa: { register: RSP, offset: 8, deref: false }, saved: [] },
    ],
  },
  {
    startRva: 0x1100,
    endRva: 0x1400,
    source: 'machine-frame',
    rows: [
      {
        rva: 0x1100,
        cfa: { register: RSP, offset: 40, deref: true },
        saved: [{ register: RIP, slot: { register: RSP, offset: 16 } }, { register: 49, slot: { register: RSP, offset: 32 } }, { register: 51, slot: { register: RSP, offset: 24 } }],
      },
      {
        rva: 0x1380,
        cfa: { register: RBP, offset: 160, deref: true },
        saved: [{ register: 0, slot: { register: RBP, offset: 48 } }, { register: RIP, slot: { register: RBP, offset: 136 } }],
      },
      // odd slots: above the CFA, and not a multiple of the data alignment
      { rva: 0x13f0, cfa: { register: RSP, offset: 0x2000, deref: false }, saved: [{ register: R12, slot: { cfaOffset: 8 } }, { register: 13, slot: { cfaOffset: -20 } }] },
    ],
  },
];

function model(frames: ModelFrameFunction[]): DebugModel {
  return {
    imageName: 'frames.efi',
    imageSize: 0x3000,
    sections: [{ name: '.text', rva: 0x1000, size: 0x1000, executable: true, writable: false }],
    compileUnits: [],
    publicFunctions: [],
    dataSymbols: [],
    frames,
  };
}

describe('.debug_frame', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'josgdb-debug-frame-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts with the x86-64 CIE: CFA = rsp + 8, return address at CFA - 8', () => {
    const bytes = writeDebugFrame(FUNCTIONS, 0n);
    expect([...bytes.subarray(0, 24)]).toEqual([
      0x14, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // length, CIE id
      4, 0, 8, 0, // version 4, no augmentation, address size 8, segment selector size 0
      1, 0x78, 16, // code alignment 1, data alignment -8, return address column 16
      0x0c, 7, 8, // DW_CFA_def_cfa rsp 8
      0x90, 1, // DW_CFA_offset r16 1
      0, 0, 0, 0, // padding to 8 bytes
    ]);
    // the first FDE: its CIE at 0, the absolute start address, the length
    expect(bytes.readUInt32LE(28)).toBe(0);
    expect(bytes.readBigUInt64LE(32)).toBe(0x1000n);
    expect(bytes.readBigUInt64LE(40)).toBe(0x40n);
  });

  it('describes every row as llvm-dwarfdump reads it back, at the load base', () => {
    const base = 0x7f0000000n;
    const path = join(dir, 'frames.elf');
    writeFileSync(path, writeDebugElf(model(FUNCTIONS), { loadBase: base }));
    expect(dwarfdumpRowLines(path)).toEqual(expectedRowLines(FUNCTIONS, base));
  });

  it('says only what changes from row to row', () => {
    const bytes = writeDebugFrame([FUNCTIONS[0]!], 0n);
    const instructions = bytes.subarray(24 + 4 + 4 + 16, 24 + 4 + bytes.readUInt32LE(24));
    // push rbp: advance 1, def_cfa_offset 16, offset rbp 2
    expect([...instructions.subarray(0, 5)]).toEqual([0x41, 0x0e, 16, 0x80 | RBP, 2]);
    // mov rbp, rsp: advance 3, def_cfa_register rbp
    expect([...instructions.subarray(5, 8)]).toEqual([0x43, 0x0d, RBP]);
  });

  it('is left out when the model has no frames', () => {
    expect(writeDebugFrame([], 0n)).toHaveLength(0);
    const names = (m: DebugModel): string[] => buildDwarfSections(m, { loadBase: 0n, defaultProducer: 'test', pathStyle: 'forward-slashes' }).map((s) => s.name);
    expect(names(model([]))).not.toContain('.debug_frame');
    expect(names(model(FUNCTIONS))).toContain('.debug_frame');
  });

  it.each<[string, ModelFrameFunction]>([
    ['an empty function', { startRva: 0x10, endRva: 0x10, source: 'unwind-info', rows: [{ rva: 0x10, cfa: undefined, saved: [] }] }],
    ['a first row after the start', { startRva: 0x10, endRva: 0x20, source: 'unwind-info', rows: [{ rva: 0x11, cfa: undefined, saved: [] }] }],
    ['rows out of order', { startRva: 0x10, endRva: 0x20, source: 'unwind-info', rows: [{ rva: 0x10, cfa: undefined, saved: [] }, { rva: 0x18, cfa: undefined, saved: [] }, { rva: 0x14, cfa: undefined, saved: [] }] }],
    ['a row past the end', { startRva: 0x10, endRva: 0x20, source: 'unwind-info', rows: [{ rva: 0x10, cfa: undefined, saved: [] }, { rva: 0x20, cfa: undefined, saved: [] }] }],
  ])('refuses %s', (_what, fn) => {
    expect(() => writeDebugFrame([fn], 0n)).toThrow(/\.debug_frame: function at RVA 0x10/);
  });
});
