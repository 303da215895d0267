import fc from 'fast-check';
import { isJosgdbError } from '../common/errors';
import { decodeSleb, decodeUleb, encodeSleb, encodeUleb, MAX_LEB128_BYTES, ulebSize } from './leb128';

const bytes = (b: Buffer): number[] => [...b];

describe('LEB128', () => {
  // The examples of the DWARF 4 specification, section 7.6 (figures 22 and 23).
  it.each([
    [2, [0x02]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [129, [0x81, 0x01]],
    [130, [0x82, 0x01]],
    [12857, [0xb9, 0x64]],
  ])('ULEB128 %d is %j', (value, encoded) => {
    expect(bytes(encodeUleb(value))).toEqual(encoded);
    expect(bytes(encodeUleb(BigInt(value)))).toEqual(encoded);
    expect(decodeUleb(Buffer.from(encoded))).toEqual({ value: BigInt(value), length: encoded.length });
  });

  it.each([
    [2, [0x02]],
    [-2, [0x7e]],
    [127, [0xff, 0x00]],
    [-127, [0x81, 0x7f]],
    [128, [0x80, 0x01]],
    [-128, [0x80, 0x7f]],
    [129, [0x81, 0x01]],
    [-129, [0xff, 0x7e]],
  ])('SLEB128 %d is %j', (value, encoded) => {
    expect(bytes(encodeSleb(value))).toEqual(encoded);
    expect(bytes(encodeSleb(BigInt(value)))).toEqual(encoded);
    expect(decodeSleb(Buffer.from(encoded))).toEqual({ value: BigInt(value), length: encoded.length });
  });

  it('encodes the 64-bit extremes in 10 bytes', () => {
    expect(bytes(encodeUleb((1n << 64n) - 1n))).toEqual([...Array(9).fill(0xff), 0x01]);
    expect(bytes(encodeSleb(-(1n << 63n)))).toEqual([...Array(9).fill(0x80), 0x7f]);
    expect(bytes(encodeSleb((1n << 63n) - 1n))).toEqual([...Array(9).fill(0xff), 0x00]);
  });

  it('round-trips every 64-bit unsigned value (bigint)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        const enc = encodeUleb(v);
        expect(enc.length).toBeLessThanOrEqual(MAX_LEB128_BYTES);
        expect(enc.length).toBe(Math.max(1, Math.ceil(v.toString(2).length / 7)));
        expect(decodeUleb(enc)).toEqual({ value: v, length: enc.length });
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every 64-bit signed value (bigint)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (v) => {
        const enc = encodeSleb(v);
        expect(enc.length).toBeLessThanOrEqual(MAX_LEB128_BYTES);
        expect(decodeSleb(enc)).toEqual({ value: v, length: enc.length });
        // minimal: dropping the last byte must not still decode to v
        if (enc.length > 1) {
          const shorter = Buffer.from(enc.subarray(0, enc.length - 1));
          shorter[shorter.length - 1] &= 0x7f;
          expect(decodeSleb(shorter).value).not.toBe(v);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes numbers exactly as the equal bigints (safe integer range)', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (v) => {
        expect(bytes(encodeSleb(v))).toEqual(bytes(encodeSleb(BigInt(v))));
        if (v >= 0) {
          expect(bytes(encodeUleb(v))).toEqual(bytes(encodeUleb(BigInt(v))));
          expect(ulebSize(v)).toBe(encodeUleb(v).length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes at an offset and reports the bytes consumed', () => {
    const buf = Buffer.concat([Buffer.from([0xaa]), encodeUleb(300), encodeSleb(-300)]);
    expect(decodeUleb(buf, 1)).toEqual({ value: 300n, length: 2 });
    expect(decodeSleb(buf, 3)).toEqual({ value: -300n, length: 2 });
  });

  it.each([
    ['ULEB128 of a negative number', () => encodeUleb(-1)],
    ['ULEB128 of 2^64', () => encodeUleb(1n << 64n)],
    ['SLEB128 of 2^63', () => encodeSleb(1n << 63n)],
    ['ULEB128 of a fraction', () => encodeUleb(1.5)],
    ['SLEB128 of an unsafe integer', () => encodeSleb(2 ** 60)],
  ])('rejects %s', (_, f) => {
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    expect(isJosgdbError(error, 'BAD_ARGUMENT')).toBe(true);
  });

  it('rejects a truncated encoding', () => {
    expect(() => decodeUleb(Buffer.from([0x80, 0x80]))).toThrow(/past the end/);
    expect(() => decodeSleb(Buffer.from([0xff]))).toThrow(/past the end/);
  });
});
