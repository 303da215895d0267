/**
 * Bounds-checked little-endian reading and writing. Every target address is a
 * bigint; a read past the end throws OUT_OF_BOUNDS naming the offset, so a
 * truncated record is an error the caller can report, never a silent zero.
 */
import { JosgdbError } from './errors';

export class ByteReader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what = 'buffer',
  ) {}

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): number {
    if (this.pos + n > this.buf.length) {
      throw new JosgdbError(
        'OUT_OF_BOUNDS',
        `${this.what}: need ${n} bytes at offset ${this.pos}, only ${this.buf.length - this.pos} left`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.need(1));
  }
  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8));
  }
  bytes(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  skip(n: number): void {
    this.need(n);
  }
}

export class ByteWriter {
  private readonly parts: Buffer[] = [];

  u8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    this.parts.push(b);
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v));
    this.parts.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export function hex(v: bigint | number, width = 0): string {
  return '0x' + v.toString(16).padStart(width, '0');
}

/** x86-64 canonical form: bits 63..47 all equal. */
export function isCanonical(address: bigint): boolean {
  const top = address >> 47n;
  return top === 0n || top === 0x1ffffn;
}
