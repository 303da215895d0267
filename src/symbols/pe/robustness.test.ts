/**
 * Malformed and truncated images: every outcome must be a parse or a
 * SymbolFormatError, quickly, never a TypeError/RangeError, a hang or a huge
 * allocation. Real images (the fixture, the stub, an export DLL) are cut and
 * corrupted, plus targeted edits for each guard.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { SymbolFormatError } from '../format-error';
import { DataDirectoryIndex, PeImage, parsePeImage, readLoadedImage } from './index';
import { PeLayout } from './image-bytes';
import { buildExportDll, readobjHeaders, readobjSections, removeBuilds, stubImage, synthesizeLoadedImage } from './testdata/llvm-oracle';

/** Generous: a parse of these images takes a few milliseconds; a hang or a quadratic blow-up takes far longer. */
const MAX_PARSE_MS = 2000;

function outcome(bytes: Uint8Array, layout: PeLayout): 'ok' | 'format error' {
  const started = performance.now();
  try {
    parsePeImage(bytes, { layout });
    return 'ok';
  } catch (err) {
    if (err instanceof SymbolFormatError) return 'format error';
    throw err;
  } finally {
    const ms = performance.now() - started;
    if (ms > MAX_PARSE_MS) throw new Error(`parse took ${ms.toFixed(0)} ms`);
  }
}

interface Subject {
  name: string;
  file: Uint8Array;
  loaded: Uint8Array;
  image: PeImage;
  /** File ranges the directories live in: where corruption reaches the parser. */
  hotRanges: [number, number][];
}

function subject(name: string, path: string): Subject {
  const file = new Uint8Array(readFileSync(path));
  const image = parsePeImage(file, { layout: 'file' });
  const loaded = synthesizeLoadedImage(file, readobjHeaders(path), readobjSections(path));
  const toFile = (rva: number): number => {
    const s = image.sectionForRva(rva);
    return s ? s.pointerToRawData + (rva - s.virtualAddress) : rva;
  };
  const hotRanges: [number, number][] = [[0, image.headers.optional.sizeOfHeaders]];
  for (const dir of image.headers.optional.dataDirectories) {
    if (dir.size > 0 && dir.rva !== 0) hotRanges.push([toFile(dir.rva), toFile(dir.rva) + Math.min(dir.size, 0x400)]);
  }
  for (const e of image.debugDirectory) hotRanges.push([e.pointerToRawData, e.pointerToRawData + e.sizeOfData]);
  return { name, file, loaded, image, hotRanges: hotRanges.filter(([a, b]) => b > a && b <= file.length) };
}

afterAll(removeBuilds);

const subjects = [
  subject('symbol fixture', buildSymbolFixture().image),
  subject('stub-uefi', stubImage()),
  subject('export DLL', buildExportDll()),
];

describe.each(subjects.map((s) => [s.name, s] as const))('%s', (_name, s) => {
  test('truncated at every header offset and at a sample elsewhere', () => {
    const headerEnd = s.image.headers.optional.sizeOfHeaders;
    const lengths = new Set<number>();
    for (let n = 0; n <= headerEnd; n++) lengths.add(n);
    for (let n = headerEnd; n < s.file.length; n += 97) lengths.add(n);
    for (const [a, b] of s.hotRanges) for (const n of [a, a + 1, b - 1, b]) lengths.add(n);
    const seen = new Set<string>();
    for (const n of lengths) seen.add(outcome(s.file.subarray(0, n), 'file'));
    // A cut inside the headers is always an error; the whole file parses.
    for (let n = 0; n < headerEnd; n++) expect(outcome(s.file.subarray(0, n), 'file')).toBe('format error');
    expect(outcome(s.file, 'file')).toBe('ok');
    expect(seen.has('format error')).toBe(true);
  });

  test('truncated loaded images are errors', () => {
    for (let n = 0; n < s.loaded.length; n += Math.max(1, Math.floor(s.loaded.length / 300))) {
      expect(outcome(s.loaded.subarray(0, n), 'loaded')).toBe('format error');
    }
    expect(outcome(s.loaded, 'loaded')).toBe('ok');
  });

  test('random byte corruption in the file', () => {
    const hot = fc.oneof(...s.hotRanges.map(([a, b]) => fc.integer({ min: a, max: b - 1 })));
    const anywhere = fc.integer({ min: 0, max: s.file.length - 1 });
    const offset = fc.oneof({ weight: 4, arbitrary: hot }, { weight: 1, arbitrary: anywhere });
    const flips = fc.array(fc.tuple(offset, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(flips, (edits) => {
        const copy = s.file.slice();
        for (const [at, value] of edits) copy[at] = value;
        outcome(copy, 'file');
      }),
      { numRuns: 1500 },
    );
  });

  test('random byte corruption in a loaded image, also through readLoadedImage', async () => {
    const headerEnd = s.image.headers.optional.sizeOfHeaders;
    const dirs = s.image.headers.optional.dataDirectories.filter((d) => d.size > 0 && d.rva !== 0 && d.rva < s.loaded.length);
    const hot = fc.oneof(
      fc.integer({ min: 0, max: headerEnd - 1 }),
      ...dirs.map((d) => fc.integer({ min: d.rva, max: Math.min(s.loaded.length, d.rva + Math.min(d.size, 0x400)) - 1 })),
    );
    const flips = fc.array(fc.tuple(hot, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(flips, async (edits) => {
        const copy = s.loaded.slice();
        for (const [at, value] of edits) copy[at] = value;
        outcome(copy, 'loaded');
        // Memory past the buffer reads as zeros, as a target's would, so a grown
        // SizeOfImage is read; the cap keeps that small.
        const read = async (rva: number, length: number): Promise<Uint8Array> => {
          if (rva + length > 2 * copy.length) throw new Error(`read ${rva}+${length} past the image size cap`);
          const out = new Uint8Array(length);
          if (rva < copy.length) out.set(copy.subarray(rva, Math.min(copy.length, rva + length)));
          return out;
        };
        try {
          await readLoadedImage(read, { maxImageSize: 2 * copy.length });
        } catch (err) {
          if (!(err instanceof SymbolFormatError)) throw err;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('targeted corruption of the stub image', () => {
  const path = stubImage();
  const file = new Uint8Array(readFileSync(path));
  const pe = readobjHeaders(path).peHeaderOffset;
  const opt = pe + 24;
  const dataDir = (i: number): number => opt + 112 + 8 * i;
  const sectionHeader = (n: number): number => opt + 240 + 40 * (n - 1);
  const image = parsePeImage(file, { layout: 'file' });

  function patched(...edits: [offset: number, width: 2 | 4, value: number][]): Uint8Array {
    const copy = file.slice();
    const view = new DataView(copy.buffer);
    for (const [at, width, value] of edits) {
      if (width === 2) view.setUint16(at, value, true);
      else view.setUint32(at, value, true);
    }
    return copy;
  }

  function formatError(bytes: Uint8Array): SymbolFormatError {
    try {
      parsePeImage(bytes, { layout: 'file' });
    } catch (err) {
      if (err instanceof SymbolFormatError) return err;
      throw err;
    }
    throw new Error('parsed without error');
  }

  test('the errors name the file, part and offset', () => {
    const err = formatError(patched([0, 2, 0x1234]));
    expect(err.location).toEqual({ file: 'PE', part: 'DOS header', offset: 0 });
    expect(err.message).toMatch(/^PE: DOS header at offset 0x0: bad magic 0x1234/);
    expect(err.code).toBe('SYMBOL_FORMAT');
  });

  test('header guards', () => {
    expect(formatError(patched([0x3c, 4, 0x10])).location.part).toBe('DOS header');
    expect(formatError(patched([0x3c, 4, 0x7fffffff])).location.part).toBe('PE signature');
    expect(formatError(patched([pe, 4, 0x4550 + 1])).message).toMatch(/bad signature/);
    expect(formatError(patched([opt, 2, 0x10b])).message).toMatch(/PE32 \(32-bit\)/);
    // Claims 16 directories but leaves room for 10.
    expect(formatError(patched([pe + 20, 2, 112 + 80])).message).toMatch(/NumberOfRvaAndSizes 16 needs 128 bytes/);
    // A huge directory count is clamped to the 16 defined slots.
    const manyDirectories = parsePeImage(patched([opt + 108, 4, 0xffffffff]), { layout: 'file' });
    expect(manyDirectories.headers.optional.dataDirectories).toHaveLength(16);
    // Fewer directories: the missing ones are simply absent.
    const noDebug = parsePeImage(patched([opt + 108, 4, DataDirectoryIndex.Debug]), { layout: 'file' });
    expect(noDebug.debugDirectory).toEqual([]);
    expect(noDebug.baseRelocations.length).toBeGreaterThan(0);
  });

  test('section table guards', () => {
    expect(formatError(patched([pe + 6, 2, 0xffff])).location.part).toBe('section table');
    // Section 2 moved on top of section 1.
    expect(formatError(patched([sectionHeader(2) + 12, 4, 0x1000])).message).toMatch(/overlaps or precedes/);
    // Raw data past the end of the file.
    expect(formatError(patched([sectionHeader(3) + 20, 4, file.length])).message).toMatch(/runs past the end of the/);
  });

  test('directory guards', () => {
    const debug = image.headers.optional.dataDirectories[DataDirectoryIndex.Debug]!;
    const debugDir = dataDir(DataDirectoryIndex.Debug);
    expect(formatError(patched([debugDir + 4, 4, debug.size - 1])).message).toMatch(/not a multiple of 28/);
    expect(formatError(patched([debugDir, 4, 0x900000])).message).toMatch(/RVA 0x900000 is in no section/);
    const pdataSize = dataDir(DataDirectoryIndex.Exception) + 4;
    expect(formatError(patched([pdataSize, 4, 0xfffffff0])).location.part).toBe('exception directory');
    // A relocation block of size 4 would never advance.
    const reloc = image.headers.optional.dataDirectories[DataDirectoryIndex.BaseRelocation]!;
    const relocBlock = image.sections.find((s) => s.virtualAddress === reloc.rva)!.pointerToRawData;
    const tinyBlock = formatError(patched([relocBlock + 4, 4, 4]));
    expect(tinyBlock.location).toEqual({ file: 'PE', part: 'base relocation table', offset: 4 });
    // An export directory claiming more than 65536 functions.
    const withExports = patched([dataDir(DataDirectoryIndex.Export), 4, 0x8000], [dataDir(DataDirectoryIndex.Export) + 4, 4, 40]);
    const dataFileOffset = image.sections.find((s) => s.name === '.data')!.pointerToRawData;
    new DataView(withExports.buffer).setUint32(dataFileOffset + 20, 0x10001, true);
    expect(formatError(withExports).message).toMatch(/NumberOfFunctions 65537 exceeds/);
  });

  test('a directory in a section tail past its file data reads as zeros, but never a giant zero-fill', () => {
    const data = image.sections.find((s) => s.name === '.data')!;
    expect(data.virtualSize).toBeGreaterThan(data.sizeOfRawData + 0x1000);
    // Relocations pointed at the zero tail: an all-zero block header (size 0) is refused.
    const tail = data.virtualAddress + data.sizeOfRawData + 0x100;
    const relocDir = dataDir(DataDirectoryIndex.BaseRelocation);
    const zeroBlock = formatError(patched([relocDir, 4, tail], [relocDir + 4, 4, 0x20]));
    expect(zeroBlock.message).toMatch(/block size 0x0/);
    // Grow the last section to 64 MiB of zero tail and point .pdata at 24 MiB of it.
    const last = image.sections[image.sections.length - 1]!;
    const huge = patched(
      [sectionHeader(last.number) + 8, 4, 0x4000000],
      [opt + 56, 4, last.virtualAddress + 0x4000000],
      [dataDir(DataDirectoryIndex.Exception), 4, last.virtualAddress + 0x1000],
      [dataDir(DataDirectoryIndex.Exception) + 4, 4, 0x1800000],
    );
    expect(formatError(huge).message).toMatch(/too large to zero-fill/);
    // The same in a small size is accepted: 1 KiB of zero RUNTIME_FUNCTIONs.
    const small = patched(
      [sectionHeader(last.number) + 8, 4, 0x4000000],
      [opt + 56, 4, last.virtualAddress + 0x4000000],
      [dataDir(DataDirectoryIndex.Exception), 4, last.virtualAddress + 0x1000],
      [dataDir(DataDirectoryIndex.Exception) + 4, 4, 1020],
    );
    const parsed = parsePeImage(small, { layout: 'file' });
    expect(parsed.runtimeFunctions).toHaveLength(85);
    expect(parsed.runtimeFunctions.every((f) => f.beginRva === 0 && f.endRva === 0 && f.unwindInfoRva === 0)).toBe(true);
  });
});
