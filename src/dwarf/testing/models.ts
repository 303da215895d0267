/**
 * DebugModels for the writer's tests: a hand-built sample covering the cases
 * that matter (Windows and POSIX paths, C, C++ and assembly units, functions
 * without line info, a line-0 row, a hole between sequences, public-only
 * functions, local and global data, a symbol outside every section), and a
 * seeded random generator of valid models of any size.
 */
import type {
  DebugModel,
  ModelCompileUnit,
  ModelFunction,
  ModelLineRow,
  ModelLineSequence,
  ModelSection,
} from '../../symbols/debug-model';

export const SAMPLE_LOAD_BASE = 0xffffffff80000000n;

const row = (rva: number, file: number, line: number, isStatement = true): ModelLineRow => ({ rva, file, line, isStatement });

export function sampleModel(): DebugModel {
  const kernelMain: ModelCompileUnit = {
    name: 'C:\\src\\kernel\\main.c',
    compDir: 'C:\\build',
    producer: 'clang version 17.0.6',
    language: 'c',
    // index 2 repeats index 0: both must become the same DWARF file
    files: ['C:\\src\\kernel\\main.c', 'C:\\src\\kernel\\include\\util.h', 'C:\\src\\kernel\\main.c'],
    functions: [
      { name: 'kmain', rva: 0x1000, size: 0x60, declFile: 0, declLine: 10, external: true },
      { name: 'util_clamp', rva: 0x1060, size: 0x20, declFile: 1, declLine: 5, external: false },
      { name: 'no_lines', rva: 0x1080, size: 0x10, external: true },
      { name: 'gappy', rva: 0x10a0, size: 0x40, declFile: 0, declLine: 30, external: true },
      { name: 'far_lines', rva: 0x1100, size: 0x400, declFile: 0, declLine: 900, external: true },
    ],
    lineSequences: [
      {
        startRva: 0x1000,
        endRva: 0x1080,
        rows: [
          row(0x1000, 0, 10),
          row(0x1004, 0, 11),
          row(0x1008, 0, 12, false),
          row(0x1010, 0, 0), // compiler-generated code: no source line
          row(0x1018, 2, 14), // the duplicate path
          row(0x1020, 0, 9), // backwards
          row(0x1024, 0, 15),
          row(0x1060, 1, 5),
          row(0x1064, 1, 6),
          row(0x1068, 1, 6), // the same line again: merged into the row before
          row(0x106c, 1, 6, false),
          row(0x1070, 0, 16),
        ],
      },
      // gappy: two sequences with a hole at [0x10b0, 0x10c0)
      { startRva: 0x10a0, endRva: 0x10b0, rows: [row(0x10a0, 0, 30), row(0x10a8, 0, 31)] },
      { startRva: 0x10c0, endRva: 0x10e0, rows: [row(0x10c0, 0, 35), row(0x10d0, 0, 36)] },
      // far_lines: large address and line steps (advance_pc, const_add_pc, advance_line)
      {
        startRva: 0x1100,
        endRva: 0x1500,
        rows: [row(0x1100, 0, 900), row(0x1111, 0, 901), row(0x1130, 0, 2000), row(0x1300, 0, 1), row(0x14ff, 0, 100000)],
      },
    ],
  };
  const cppThing: ModelCompileUnit = {
    name: 'src/cpp/thing.cpp',
    compDir: '/home/dev/josx64',
    language: 'c++',
    files: ['src/cpp/thing.cpp', '/usr/include/c++/v1/vector'],
    functions: [
      { name: 'ns::Foo::bar', rva: 0x2000, size: 0x30, declFile: 0, declLine: 3, external: true },
      { name: 'ns::baz', rva: 0x2100, size: 0x10, declFile: 0, declLine: 20, external: true },
      { name: 'local_helper', rva: 0x2200, size: 0x20, declFile: 1, declLine: 77, external: false },
    ],
    lineSequences: [
      { startRva: 0x2000, endRva: 0x2030, rows: [row(0x2000, 0, 3), row(0x2008, 0, 4), row(0x2010, 1, 120), row(0x2018, 0, 5)] },
      { startRva: 0x2100, endRva: 0x2110, rows: [row(0x2100, 0, 20), row(0x2104, 0, 21)] },
      { startRva: 0x2200, endRva: 0x2220, rows: [row(0x2200, 1, 77), row(0x2210, 1, 78)] },
    ],
  };
  const entryAsm: ModelCompileUnit = {
    name: 'C:\\src\\kernel\\entry.asm',
    language: 'asm',
    files: ['entry.asm'], // a bare name: relative to the (absent) compile directory
    functions: [
      { name: 'asm_trampoline', rva: 0x2800, size: 0x18, declFile: 0, declLine: 1, external: true },
      { name: 'asm_label', rva: 0x2818, size: 0, external: false }, // size unknown: entry address only
    ],
    lineSequences: [{ startRva: 0x2800, endRva: 0x2818, rows: [row(0x2800, 0, 1), row(0x2804, 0, 2), row(0x2810, 0, 7)] }],
  };
  const empty: ModelCompileUnit = {
    name: 'C:\\build\\lib\\resources.obj',
    language: 'other',
    files: [],
    functions: [],
    lineSequences: [],
  };
  return {
    imageName: 'BOOTX64.EFI',
    imageSize: 0x9000,
    sections: [
      { name: '.text', rva: 0x1000, size: 0x3000, executable: true, writable: false },
      { name: '.rdata', rva: 0x4000, size: 0x1000, executable: false, writable: false },
      { name: '.data', rva: 0x5000, size: 0x1000, executable: false, writable: true },
      { name: '.bss', rva: 0x6000, size: 0x2000, executable: false, writable: true },
      { name: '.reloc', rva: 0x8000, size: 0x200, executable: false, writable: false },
    ],
    compileUnits: [kernelMain, cppThing, entryAsm, empty],
    publicFunctions: [
      { name: 'PublicAsmStub', rva: 0x3000, size: 0x10, external: true },
      { name: 'memcpy', rva: 0x3010, size: 0, external: true },
    ],
    dataSymbols: [
      { name: 'gCounter', rva: 0x5010, size: 8, external: true },
      { name: 'sTable', rva: 0x4000, size: 64, external: false },
      { name: 'gBssArray', rva: 0x6000, size: 0x1000, external: true },
      { name: '__ImageBase', rva: 0, size: 0, external: true }, // in the headers, no section: SHN_ABS
    ],
  };
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomModelShape {
  compileUnits: number;
  functionsPerUnit: number;
  /** Average rows per function. */
  rowsPerFunction: number;
}

const WORDS = ['kernel', 'mm', 'sched', 'acpi', 'pci', 'uart', 'efi', 'boot', 'lib', 'irq'];

/**
 * A random valid model: functions laid out in .text without overlaps, each
 * with zero or more line sequences inside it (rows sorted, within the
 * sequence), random file/line/is_stmt, Windows, POSIX and bare paths, C and
 * C++ names, publics and data after the unit code.
 */
export function randomModel(seed: number, shape: RandomModelShape): DebugModel {
  const r = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const word = (): string => pick(WORDS);

  const randomPath = (): string => {
    switch (int(0, 3)) {
      case 0:
        return `C:\\src\\${word()}\\${word()}${int(0, 99)}.c`;
      case 1:
        return `/home/dev/${word()}/${word()}${int(0, 99)}.h`;
      case 2:
        return `${word()}/${word()}${int(0, 99)}.cpp`;
      default:
        return `${word()}${int(0, 99)}.c`;
    }
  };

  let cursor = 0x1000;
  const units: ModelCompileUnit[] = [];
  let serial = 0;
  for (let u = 0; u < shape.compileUnits; u++) {
    const cpp = r() < 0.4;
    const files = Array.from({ length: int(1, 4) }, randomPath);
    const functions: ModelFunction[] = [];
    const lineSequences: ModelLineSequence[] = [];
    for (let f = 0; f < shape.functionsPerUnit; f++) {
      cursor += int(0, 3) * 16; // padding between functions
      const size = r() < 0.05 ? 0 : int(1, 0x400);
      const name = cpp ? `${word()}::${word()}_${serial++}` : `${word()}_${serial++}`;
      const fn: ModelFunction = { name, rva: cursor, size, external: r() < 0.7 };
      if (r() < 0.9) fn.declFile = int(0, files.length - 1);
      if (r() < 0.9) fn.declLine = int(1, 5000);
      functions.push(fn);
      if (size > 0 && r() < 0.9) {
        // one or two sequences inside the function
        const parts = size > 8 && r() < 0.2 ? 2 : 1;
        let start = cursor;
        for (let p = 0; p < parts; p++) {
          const end = p === parts - 1 ? cursor + size : start + Math.max(1, Math.floor(size / 2));
          const rows: ModelLineRow[] = [];
          const count = int(1, Math.max(1, Math.min(end - start, shape.rowsPerFunction * 2 - 1)));
          let at = start;
          let line = int(0, 3000);
          for (let i = 0; i < count && at < end; i++) {
            rows.push({ rva: at, file: int(0, files.length - 1), line, isStatement: r() < 0.8 });
            at += r() < 0.1 ? 0 : int(1, r() < 0.1 ? 300 : 12); // sometimes repeat an address
            line = Math.max(0, line + (r() < 0.1 ? int(-2000, 2000) : int(-3, 8)));
          }
          lineSequences.push({ startRva: start, endRva: end, rows });
          start = end;
        }
      }
      cursor += size;
    }
    units.push({
      name: files[0],
      compDir: r() < 0.7 ? (r() < 0.5 ? 'C:\\build' : '/home/dev/build') : undefined,
      producer: r() < 0.5 ? 'clang version 17.0.6' : undefined,
      language: cpp ? 'c++' : pick(['c', 'c', 'asm', 'other'] as const),
      files,
      functions,
      lineSequences,
    });
  }
  const publicFunctions: ModelFunction[] = [];
  for (let i = 0; i < 5; i++) {
    cursor += 16;
    const size = int(0, 64);
    publicFunctions.push({ name: `PublicStub${i}`, rva: cursor, size, external: true });
    cursor += size;
  }
  const textSize = Math.ceil((cursor - 0x1000) / 0x1000) * 0x1000 + 0x1000;
  const dataRva = 0x1000 + textSize;
  const sections: ModelSection[] = [
    { name: '.text', rva: 0x1000, size: textSize, executable: true, writable: false },
    { name: '.data', rva: dataRva, size: 0x2000, executable: false, writable: true },
  ];
  const dataSymbols = Array.from({ length: 8 }, (_, i) => ({
    name: `data_${i}`,
    rva: dataRva + i * 0x100,
    size: int(0, 0x100),
    external: r() < 0.5,
  }));
  return {
    imageName: `random-${seed}.efi`,
    imageSize: dataRva + 0x2000,
    sections,
    compileUnits: units,
    publicFunctions,
    dataSymbols,
  };
}
