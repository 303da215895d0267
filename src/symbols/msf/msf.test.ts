import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { SymbolFormatError } from '../format-error';
import { fixtureInputFrom, stubInput } from '../pdb/testing/inputs';
import type { PdbInput } from '../pdb/testing/inputs';
import { dumpSections, parseStreams, parseSummary, pdbutil, section } from '../pdb/testing/pdbutil';
import { NIL_STREAM_SIZE } from './directory';
import { MsfFile } from './msf-file';
import { MSF_MAGIC } from './superblock';
import { catchFormatError } from '../testing/catch-format-error';

const fixtureInput = (): PdbInput => fixtureInputFrom(buildSymbolFixture);

/** The bytes of streams as `llvm-pdbutil bytes --stream-data` prints them, by stream number. */
function pdbutilStreamBytes(pdb: string, streams: number[]): Map<number, Uint8Array> {
  const text = pdbutil(['bytes', `--stream-data=${streams.join(',')}`, pdb]);
  const out = new Map<number, Uint8Array>();
  let current: number[] | undefined;
  for (const line of text.split('\n')) {
    const head = /^\s*Stream (\d+):/.exec(line);
    if (head) {
      current = [];
      out.set(Number(head[1]), current as unknown as Uint8Array);
      continue;
    }
    const data = /^\s*[0-9A-F]+: ((?:[0-9A-F]{2,8} ?)+)\s*\|/.exec(line);
    if (data && current) for (const group of data[1]!.trim().split(/\s+/)) for (let i = 0; i < group.length; i += 2) current.push(parseInt(group.slice(i, i + 2), 16));
  }
  for (const [k, v] of out) out.set(k, Uint8Array.from(v as unknown as number[]));
  return out;
}

describe.each([
  ['fixture', fixtureInput],
  ['stub', stubInput],
])('MSF container of the %s PDB against llvm-pdbutil', (_name, input: () => PdbInput) => {
  let pdbPath: string;
  let msf: MsfFile;
  beforeAll(() => {
    pdbPath = input().pdb;
    msf = MsfFile.open(readFileSync(pdbPath));
  });

  it('has the superblock, stream sizes and block lists llvm-pdbutil reports', () => {
    const sections = dumpSections(pdbutil(['dump', '--summary', '--streams', '--stream-blocks', pdbPath]));
    const summary = parseSummary(section(sections, 'Summary'));
    expect(msf.superBlock.blockSize).toBe(summary.blockSize);
    expect(msf.superBlock.numBlocks).toBe(summary.numBlocks);
    expect(msf.streamCount).toBe(summary.numStreams);
    const streams = parseStreams(section(sections, 'Streams'));
    expect(streams).toHaveLength(msf.streamCount);
    for (const s of streams) {
      expect({ index: s.index, size: msf.streamSize(s.index) ?? 0 }).toEqual({ index: s.index, size: s.size });
      expect(msf.streamBlocks(s.index)).toEqual(s.blocks);
    }
  });

  it('assembles every stream to the bytes llvm-pdbutil dumps', () => {
    const indices = [...Array(msf.streamCount).keys()].filter((i) => (msf.streamSize(i) ?? 0) > 0);
    const expected = pdbutilStreamBytes(pdbPath, indices);
    expect([...expected.keys()].sort((a, b) => a - b)).toEqual(indices);
    for (const i of indices) {
      const ours = msf.stream(i);
      expect(ours.length).toBe(expected.get(i)!.length);
      expect(Buffer.from(ours).equals(Buffer.from(expected.get(i)!))).toBe(true);
    }
  });
});

/**
 * A minimal MSF writer for layouts the linkers never produce: nil streams,
 * scattered blocks, a directory spanning blocks. With `scatter`, an unused
 * block separates every pair of stream blocks, so no stream is contiguous.
 */
function buildMsf(streams: (Uint8Array | null)[], blockSize = 512, scatter = false): Uint8Array {
  const blocks: Uint8Array[] = [new Uint8Array(blockSize), new Uint8Array(blockSize), new Uint8Array(blockSize)];
  const alloc = (data: Uint8Array): number[] => {
    const list: number[] = [];
    for (let off = 0; off < data.length; off += blockSize) {
      const b = new Uint8Array(blockSize);
      b.set(data.subarray(off, off + blockSize));
      if (scatter) blocks.push(new Uint8Array(blockSize)); // a gap block between each
      list.push(blocks.length);
      blocks.push(b);
    }
    return list;
  };
  const streamBlocks = streams.map((s) => (s ? alloc(s) : []));
  const words = [streams.length, ...streams.map((s) => (s ? s.length : NIL_STREAM_SIZE)), ...streamBlocks.flat()];
  const dir = new Uint8Array(words.length * 4);
  const dv = new DataView(dir.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  const dirBlocks = alloc(dir);
  const map = new Uint8Array(blockSize);
  dirBlocks.forEach((b, i) => new DataView(map.buffer).setUint32(i * 4, b, true));
  const mapBlock = blocks.length;
  blocks.push(map);
  const sb = blocks[0]!;
  sb.set(MSF_MAGIC);
  const sv = new DataView(sb.buffer);
  [blockSize, 1, blocks.length, dir.length, 0, mapBlock].forEach((v, i) => sv.setUint32(MSF_MAGIC.length + i * 4, v, true));
  const file = new Uint8Array(blocks.length * blockSize);
  blocks.forEach((b, i) => file.set(b, i * blockSize));
  return file;
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);


describe('MSF layouts', () => {
  it('reads nil, empty, scattered and multi-block streams and a directory spanning blocks', () => {
    const big = bytes(5000, 3);
    const many = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? null : bytes(i, i)));
    const file = buildMsf([new Uint8Array(0), null, big, ...many], 512, true);
    const msf = MsfFile.open(file);
    expect(msf.superBlock.numDirectoryBytes).toBeGreaterThan(512);
    expect(msf.streamCount).toBe(203);
    expect(msf.streamSize(0)).toBe(0);
    expect(msf.hasStream(0)).toBe(true);
    expect(msf.streamSize(1)).toBeUndefined();
    expect(msf.hasStream(1)).toBe(false);
    expect(msf.stream(1)).toHaveLength(0);
    expect(Buffer.from(msf.stream(2)).equals(Buffer.from(big))).toBe(true);
    many.forEach((s, i) => {
      expect(msf.streamSize(3 + i)).toBe(s ? s.length : undefined);
      if (s) expect(Buffer.from(msf.stream(3 + i)).equals(Buffer.from(s))).toBe(true);
    });
  });

  it('names the part and offset of layout errors', () => {
    const good = buildMsf([bytes(100, 1), bytes(700, 2)]);
    const bad = (edit: (f: Uint8Array, dv: DataView) => void): Uint8Array => {
      const f = good.slice();
      edit(f, new DataView(f.buffer));
      return f;
    };
    const sbField = (i: number): number => MSF_MAGIC.length + i * 4;

    let e = catchFormatError(() => MsfFile.open(bad((f) => (f[3] = 0x41))));
    expect(e.location).toEqual({ file: 'MSF', part: 'superblock', offset: 0 });
    expect(e.message).toMatch(/bad magic/);

    e = catchFormatError(() => MsfFile.open(bad((_f, dv) => dv.setUint32(sbField(0), 1000, true))));
    expect(e.message).toMatch(/block size 1000/);

    e = catchFormatError(() => MsfFile.open(good.subarray(0, good.length - 1)));
    expect(e.message).toMatch(/truncated/);

    e = catchFormatError(() => MsfFile.open(bad((_f, dv) => dv.setUint32(sbField(3), 512 * 128 + 4, true))));
    expect(e.message).toMatch(/exceeds/);

    // The directory's first block number, in the block map.
    const mapAt = new DataView(good.buffer).getUint32(sbField(5), true) * 512;
    e = catchFormatError(() => MsfFile.open(bad((_f, dv) => dv.setUint32(mapAt, 99999, true))));
    expect(e.location).toEqual({ file: 'MSF', part: 'block map', offset: 0 });
    expect(e.message).toMatch(/block 99999/);

    // Stream 1's second block number, in the directory: count, 2 sizes, stream 0's block.
    const dirAt = new DataView(good.buffer).getUint32(mapAt, true) * 512;
    e = catchFormatError(() => MsfFile.open(bad((_f, dv) => dv.setUint32(dirAt + 20, 99999, true))));
    expect(e.location).toEqual({ file: 'MSF', part: 'stream directory', offset: 20 });
    expect(e.message).toMatch(/stream 1 block 1/);

    // A stream size needing more block numbers than the directory holds.
    e = catchFormatError(() => MsfFile.open(bad((_f, dv) => dv.setUint32(dirAt + 8, 0x7fffffff, true))));
    expect(e.location.part).toBe('stream directory');
    expect(e.message).toMatch(/stream 1 of 2147483647 bytes/);

    e = catchFormatError(() => MsfFile.open(bad((_f, dv) => dv.setUint32(dirAt, 0x40000000, true))));
    expect(e.message).toMatch(/1073741824 streams/);

    e = catchFormatError(() => MsfFile.open(good).stream(7));
    expect(e.message).toMatch(/stream 7 requested/);
  });

  it('gives a valid container or a SymbolFormatError for every truncation and for random corruption', () => {
    const pdb = readFileSync(fixtureInput().pdb);
    const sb = MsfFile.open(pdb).superBlock;
    // The whole-file truncation check fires first for real files, so cut a
    // small synthetic file everywhere and the real one at block edges.
    const small = buildMsf([bytes(40, 1), null, bytes(1300, 2)], 512, true);
    for (let n = 0; n < small.length; n += 7) {
      expect(() => MsfFile.open(small.subarray(0, n))).toThrow(SymbolFormatError);
    }
    for (let n = 0; n < pdb.length; n += sb.blockSize / 2) {
      expect(() => MsfFile.open(pdb.subarray(0, n))).toThrow(SymbolFormatError);
    }
    // Flip bytes in the structures the container reads: superblock, block map, directory.
    const mapAt = sb.blockMapAddr * sb.blockSize;
    const dirAt = new DataView(pdb.buffer, pdb.byteOffset).getUint32(mapAt, true) * sb.blockSize;
    const hot = [...Array(56).keys(), ...Array.from({ length: 8 }, (_, i) => mapAt + i), ...Array.from({ length: sb.numDirectoryBytes }, (_, i) => dirAt + i)];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...hot), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (flips) => {
        const f = Uint8Array.from(pdb);
        for (const [at, v] of flips) f[at] = v;
        try {
          const msf = MsfFile.open(f);
          for (let i = 0; i < Math.min(msf.streamCount, 64); i++) msf.stream(i);
        } catch (e) {
          if (!(e instanceof SymbolFormatError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });
});
