import { CvReader } from '../codeview/cv-reader';
import { SymbolFormatError } from '../format-error';
import { mapOmap, readDebugStreams, readOmap, readSectionHeaders } from './section-headers';

const reader = (bytes: number[]): CvReader => new CvReader(Uint8Array.from(bytes), 'PDB', 'test');
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u16 = (v: number): number[] => [v & 0xff, v >>> 8];

describe('section headers, debug streams and OMAP', () => {
  it('maps addresses through an OMAP table the way the Microsoft tools do', () => {
    const table = readOmap(reader([...u32(0x1000), ...u32(0x5000), ...u32(0x1100), ...u32(0), ...u32(0x1200), ...u32(0x2000)]));
    expect(mapOmap(table, 0x0fff)).toBeUndefined();
    expect(mapOmap(table, 0x1000)).toBe(0x5000);
    expect(mapOmap(table, 0x10ff)).toBe(0x50ff);
    expect(mapOmap(table, 0x1150)).toBeUndefined(); // removed code
    expect(mapOmap(table, 0x1234)).toBe(0x2034);
    expect(() => readOmap(reader([1, 2, 3]))).toThrow(SymbolFormatError);
  });

  it('reads section headers and the optional debug header', () => {
    const name = [...Buffer.from('.text\0\0\0')];
    const header = [...name, ...u32(0x1c4), ...u32(0x1000), ...u32(0x200), ...u32(0x400), ...u32(0), ...u32(0), ...u16(0), ...u16(0), ...u32(0x60000020)];
    expect(readSectionHeaders(reader(header))).toEqual([
      expect.objectContaining({ name: '.text', virtualSize: 0x1c4, virtualAddress: 0x1000, characteristics: 0x60000020 }),
    ]);
    // A full 8-character name has no terminator.
    const long = [...Buffer.from('.textbss'), ...header.slice(8)];
    expect(readSectionHeaders(reader(long))[0]!.name).toBe('.textbss');
    expect(() => readSectionHeaders(reader(header.slice(0, 39)))).toThrow(/40-byte section headers/);
    const dbg = [...u16(0xffff), ...u16(0xffff), ...u16(0xffff), ...u16(12), ...u16(13), ...u16(10), ...u16(0xffff), ...u16(0xffff), ...u16(0xffff), ...u16(0xffff), ...u16(14)];
    expect(readDebugStreams(reader(dbg))).toEqual({ omapToSource: 12, omapFromSource: 13, sectionHeaders: 10, originalSectionHeaders: 14 });
  });
});
