import fc from 'fast-check';
import { RspError } from './errors';
import {
  decodeLE,
  encodeLE,
  escapeBinary,
  hexDecode,
  hexDecodeText,
  hexEncode,
  hexEncodeText,
  leHex,
  parseHexBigint,
  parseHexNumber,
  printable,
  unescapeBinary,
} from './hex';

describe('hex', () => {
  it.each([
    ['', []],
    ['00', [0]],
    ['deadBEEF', [0xde, 0xad, 0xbe, 0xef]],
  ])('decodes %j', (text, out) => {
    expect([...hexDecode(text)]).toEqual(out);
  });

  it.each(['0', 'abc', 'zz', '0x12', '12 4', '-1'])('rejects %j with RspError(EINVAL)', (text) => {
    expect(() => hexDecode(text)).toThrow(RspError);
    try {
      hexDecode(text);
    } catch (err) {
      expect((err as RspError).errno).toBe(0x16);
    }
  });

  it('round-trips text', () => {
    expect(hexEncodeText('help\n')).toBe('68656c700a');
    expect(hexDecodeText('68656c700a')).toBe('help\n');
  });

  it('round-trips bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array(), (d) => expect([...hexDecode(hexEncode(d))]).toEqual([...d])));
  });
});

describe('parseHexBigint / parseHexNumber', () => {
  it.each([
    ['0', 0n],
    ['ffffffff80001000', 0xffffffff80001000n],
    ['00000000000000000001', 1n],
    ['FFFFFFFFFFFFFFFF', 0xffffffffffffffffn],
  ])('parses %j', (text, value) => {
    expect(parseHexBigint(text)).toBe(value);
  });

  it.each(['', '10000000000000000', 'g', '-1', '0x10', ' 1', '1 '])('rejects %j', (text) => {
    expect(() => parseHexBigint(text)).toThrow(RspError);
  });

  it('enforces the maximum for numbers', () => {
    expect(parseHexNumber('ff', 'n', 0xff)).toBe(255);
    expect(() => parseHexNumber('100', 'n', 0xff)).toThrow(/exceeds/);
    expect(() => parseHexNumber('20000000000000')).toThrow(RspError);
  });
});

describe('little-endian register encoding', () => {
  it.each([
    [0x1122334455667788n, 8, '8877665544332211'],
    [0x202n, 4, '02020000'],
    [-1n, 4, 'ffffffff'],
    [0x1_0000_0001n, 4, '01000000'],
  ])('leHex(%s, %d) = %s', (v, size, hex) => {
    expect(leHex(v, size)).toBe(hex);
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => expect(decodeLE(encodeLE(v, 16))).toBe(v)),
    );
  });
});

describe('binary escaping', () => {
  it('escapes exactly $ # } *', () => {
    expect([...escapeBinary(Buffer.from([0x24, 0x23, 0x7d, 0x2a, 0x03, 0x41]))]).toEqual([
      0x7d, 0x04, 0x7d, 0x03, 0x7d, 0x5d, 0x7d, 0x0a, 0x03, 0x41,
    ]);
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), (d) => {
        expect([...unescapeBinary(escapeBinary(d))]).toEqual([...d]);
      }),
    );
  });

  it('keeps a trailing lone escape rather than throwing', () => {
    expect([...unescapeBinary(Buffer.from([0x41, 0x7d]))]).toEqual([0x41, 0x7d]);
  });
});

describe('printable', () => {
  it('renders control bytes and backslashes as \\xNN and truncates', () => {
    expect(printable(Buffer.from('a\x03\\b'))).toBe('a\\x03\\x5cb');
    expect(printable(Buffer.from('abcdef'), 3)).toBe('abc...(3 more bytes)');
  });
});
