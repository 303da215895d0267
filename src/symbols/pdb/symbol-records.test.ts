/**
 * Hand-built records for what no toolchain at hand emits (S_REGISTER,
 * S_REGREL32, S_DATAREF, unknown kinds) and for malformed records. The
 * layouts are cvinfo.h's (as documented in LLVM's CodeViewSymbols.md).
 */
import { cvRegisterName } from './cv-registers';
import { S } from './symbol-kinds';
import { decodeSymbolAt, decodeSymbols } from './symbol-records';
import type { CvSymbol } from './symbol-records';
import { buildSymbolTree, walkScope } from './symbol-scopes';
import { catchFormatError } from '../testing/catch-format-error';

class Body {
  private readonly bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  str(s: string): this {
    for (const b of Buffer.from(s, 'utf8')) this.u8(b);
    return this.u8(0);
  }
  raw(b: number[]): this {
    b.forEach((x) => this.u8(x));
    return this;
  }
  get data(): number[] {
    return this.bytes;
  }
}

/** One record: length, kind, body, padded to 4 with LF_PAD bytes like the linkers do. */
function record(kind: number, body: Body | number[] = []): number[] {
  const data = Array.isArray(body) ? body : body.data;
  const pad = (4 - ((data.length + 4) % 4)) % 4;
  const padding = [0xf3, 0xf2, 0xf1].slice(3 - pad);
  const len = 2 + data.length + pad;
  return [len & 0xff, len >> 8, kind & 0xff, kind >> 8, ...data, ...padding];
}

const stream = (...records: number[][]): Uint8Array => Uint8Array.from(records.flat());
const one = (kind: number, body: Body | number[]): CvSymbol => decodeSymbolAt(stream(record(kind, body)), 0, 'PDB', 'test');


describe('CodeView symbol records', () => {
  it('decodes register, register-relative, data-reference and constant records', () => {
    expect(one(S.S_REGISTER, new Body().u32(0x74).u16(330).str('counter'))).toMatchObject({
      kind: 'S_REGISTER',
      typeIndex: 0x74,
      register: 330,
      name: 'counter',
    });
    expect(cvRegisterName(330)).toBe('RCX');
    expect(one(S.S_REGREL32, new Body().u32(-16 >>> 0).u32(0x1003).u16(335).str('frame_local'))).toMatchObject({
      kind: 'S_REGREL32',
      offset: -16,
      typeIndex: 0x1003,
      register: 335,
      name: 'frame_local',
    });
    expect(cvRegisterName(335)).toBe('RSP');
    expect(one(S.S_DATAREF, new Body().u32(0).u32(92).u16(2).str('a_static'))).toMatchObject({
      kind: 'S_DATAREF',
      symOffset: 92,
      module: 2,
      name: 'a_static',
    });
    // LF_LONG (0x8003) -5 and LF_UQUADWORD (0x800a) 2^63.
    expect(one(S.S_CONSTANT, new Body().u32(0x74).u16(0x8003).u32(-5 >>> 0).str('neg'))).toMatchObject({ value: -5n, name: 'neg' });
    expect(one(S.S_CONSTANT, new Body().u32(0x23).u16(0x800a).u32(0).u32(0x80000000).str('big'))).toMatchObject({ value: 2n ** 63n });
    expect(one(S.S_CONSTANT, new Body().u32(0x74).u16(42).str('small'))).toMatchObject({ value: 42n });
  });

  it('keeps unknown kinds raw, and names nothing it cannot know', () => {
    const s = one(0x9999, [1, 2, 3, 4, 5]);
    expect(s).toMatchObject({ kind: 'unknown', kindValue: 0x9999, recordSize: 12 });
    if (s.kind === 'unknown') expect([...s.raw]).toEqual([1, 2, 3, 4, 5, 0xf3, 0xf2, 0xf1]);
    expect(one(S.S_FILESTATIC, [0, 0, 0, 0])).toMatchObject({ kind: 'unknown', kindValue: S.S_FILESTATIC });
  });

  it('reads every gap of a def-range, even one starting at an offset whose low byte looks like padding', () => {
    // A record from a clang-built PDB: R14, range .text:0x5EA +0x264, gaps (0x6B,0x5C) and (0x1F1,0x2F).
    const bytes = [0x56, 0x01, 0x00, 0x00, 0xea, 0x05, 0x00, 0x00, 0x01, 0x00, 0x64, 0x02, 0x6b, 0x00, 0x5c, 0x00, 0xf1, 0x01, 0x2f, 0x00];
    expect(one(S.S_DEFRANGE_REGISTER, bytes)).toMatchObject({
      register: 342,
      range: { segment: 1, offset: 0x5ea, length: 0x264 },
      gaps: [
        { gapStartOffset: 0x6b, length: 0x5c },
        { gapStartOffset: 0x1f1, length: 0x2f },
      ],
    });
    expect(cvRegisterName(342)).toBe('R14');
    // Def-range records are 4-byte multiples by construction, so they never
    // carry padding: two stray bytes are an error, not padding.
    const odd = Uint8Array.from([16, 0, 0x41, 0x11, ...bytes.slice(0, 14)]);
    const e = catchFormatError(() => decodeSymbolAt(odd, 0, 'PDB', 'test'));
    expect(e.message).toMatch(/not a whole number of 4-byte gaps/);
  });

  it('reads an environment block up to its empty terminator', () => {
    const s = one(S.S_ENVBLOCK, new Body().u8(0).str('cwd').str('/src').str('').raw([0xf1]));
    expect(s).toMatchObject({ kind: 'S_ENVBLOCK', entries: ['cwd', '/src'] });
  });

  it('rejects malformed records with the record kind and stream offset', () => {
    const good = record(S.S_UDT, new Body().u32(0x1000).str('point'));
    let e = catchFormatError(() => decodeSymbols(stream(good, [0, 0, 0, 0]), 'PDB', 'stream 11 (module 0)'));
    expect(e.location).toEqual({ file: 'PDB', part: 'stream 11 (module 0)', offset: good.length });
    expect(e.message).toMatch(/length 0 is too short/);

    e = catchFormatError(() => decodeSymbols(stream(good, [40, 0, 0x10, 0x11, 0, 0]), 'PDB', 'symbols'));
    expect(e.message).toMatch(/S_GPROC32 record of 42 bytes runs past the end/);

    // A procedure record cut short inside its fields, name missing.
    const proc = record(S.S_GPROC32, new Body().u32(0).u32(0).u32(0).u32(16));
    e = catchFormatError(() => decodeSymbols(stream(good, proc), 'PDB', 'symbols'));
    expect(e.location.part).toBe(`symbols S_GPROC32 record at 0x${good.length.toString(16)}`);
    expect(e.location.offset).toBe(good.length + 4 + 16);

    e = catchFormatError(() => decodeSymbolAt(stream(good), 100, 'PDB', 'symbols'));
    expect(e.message).toMatch(/no symbol record at offset 100/);
    e = catchFormatError(() => decodeSymbolAt(stream(good), -4, 'PDB', 'symbols'));
    expect(e.message).toMatch(/no symbol record/);

    // A name without its terminating NUL.
    e = catchFormatError(() => one(S.S_UDT, new Body().u32(1).raw([0x41, 0x42])));
    expect(e.message).toMatch(/string runs past the end/);
  });
});

describe('symbol scopes', () => {
  const proc = (name: string, parent = 0, end = 0): number[] =>
    record(S.S_GPROC32, new Body().u32(parent).u32(end).u32(0).u32(8).u32(0).u32(0).u32(0x1001).u32(0).u16(1).u8(0).str(name));
  const block = (parent: number, end: number): number[] => record(S.S_BLOCK32, new Body().u32(parent).u32(end).u32(4).u32(0).u16(1).str(''));
  const local = (name: string): number[] => record(S.S_LOCAL, new Body().u32(0x74).u16(0).str(name));
  const end = (): number[] => record(S.S_END);

  it('nests by record order, not by the stored pointers, so bad pointers cannot loop', () => {
    // Pointers that point at each other and at nonsense.
    const symbols = decodeSymbols(stream(proc('f', 999, 4), local('a'), block(0, 0), local('b'), end(), end(), proc('g', 4, 4), end()), 'PDB', 't');
    const tree = buildSymbolTree(symbols);
    expect(tree.roots).toHaveLength(2);
    const f = tree.scopesByOffset.get(0)!;
    expect(f.symbol).toMatchObject({ name: 'f', parent: 999, end: 4 });
    expect(f.endSymbol?.kind).toBe('S_END');
    expect([...walkScope(f)].map(({ symbol, depth }) => [symbol.kind, depth])).toEqual([
      ['S_LOCAL', 1],
      ['S_BLOCK32', 1],
      ['S_LOCAL', 2],
    ]);
    const blockScope = [...tree.scopesByOffset.values()].find((s) => s.symbol.kind === 'S_BLOCK32')!;
    expect(blockScope.parent).toBe(f);
    expect(tree.unmatchedEnds).toEqual([]);
  });

  it('tolerates stray ends and unclosed scopes', () => {
    const symbols = decodeSymbols(stream(end(), proc('f'), local('a')), 'PDB', 't');
    const tree = buildSymbolTree(symbols);
    expect(tree.unmatchedEnds).toHaveLength(1);
    expect(tree.scopesByOffset.get(4)!.endSymbol).toBeUndefined();
    expect(tree.scopesByOffset.get(4)!.children).toHaveLength(1);
  });
});
