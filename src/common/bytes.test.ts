import { ByteReader, ByteWriter, isCanonical } from './bytes';
import { isJosgdbError } from './errors';

describe('ByteReader/ByteWriter', () => {
  it('round-trips little-endian fields', () => {
    const buf = new ByteWriter().u8(0xab).u16(0x1234).u32(0xdeadbeef).u64(0x140000000n).toBuffer();
    expect(buf.toString('hex')).toBe('ab3412efbeadde0000004001000000');
    const r = new ByteReader(buf);
    expect([r.u8(), r.u16(), r.u32(), r.u64()]).toEqual([0xab, 0x1234, 0xdeadbeef, 0x140000000n]);
    expect(r.remaining).toBe(0);
  });
  it('throws OUT_OF_BOUNDS naming the offset on truncation', () => {
    const r = new ByteReader(Buffer.from([1, 2, 3]), 'StopRecord');
    r.u16();
    try {
      r.u32();
      throw new Error('no throw');
    } catch (err) {
      expect(isJosgdbError(err, 'OUT_OF_BOUNDS')).toBe(true);
      expect(String(err)).toMatch(/StopRecord: need 4 bytes at offset 2/);
    }
  });
  it('checks canonical addresses', () => {
    expect(isCanonical(0x7fffffffffffn)).toBe(true);
    expect(isCanonical(0x800000000000n)).toBe(false);
    expect(isCanonical(0xffff800000000000n)).toBe(true);
    expect(isCanonical(0xfffe800000000000n)).toBe(false);
  });
});
