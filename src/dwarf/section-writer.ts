/**
 * A growable little-endian byte buffer for one section, with labels and fixups:
 * a reference to a position not yet written (a DIE defined later, the end of a
 * unit) is written as a placeholder and patched when the section is finished.
 * Writes go into one buffer that doubles when full, so hundreds of thousands
 * of small writes (line rows, DIEs) stay linear.
 */
import { JosgdbError } from '../common/errors';
import { MAX_LEB128_BYTES, writeSleb, writeUleb } from './leb128';

/** A position in a section, defined once with `SectionWriter.define`. */
export class Label {
  /** Offset within its section; undefined until defined. */
  offset: number | undefined = undefined;
  constructor(readonly name = 'label') {}
}

interface Fixup {
  at: number;
  size: 4 | 8;
  label: Label;
  /** The stored value is `label.offset - base` (e.g. a unit start for CU-relative references). */
  base: number;
}

/** A unit_length field to patch once the unit's end is known. */
export interface LengthMark {
  readonly at: number;
}

const U32_MAX = 0xffffffff;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
/** A section this large is returned as a view of the writer's buffer: copying megabytes to drop the slack costs more than the slack. */
const NO_COPY_SIZE = 1 << 20;

export class SectionWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly fixups: Fixup[] = [];

  constructor(
    readonly name: string,
    initialCapacity = 256,
  ) {
    // Unzeroed: every byte up to `pos` is written before it is read, and the
    // untouched tail of a large buffer then costs no resident memory.
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Bytes written so far, i.e. the offset of the next byte. */
  get offset(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private fail(message: string): never {
    throw new JosgdbError('BAD_ARGUMENT', `${this.name}: ${message}`);
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > U32_MAX) this.fail(`${v} does not fit in 32 bits`);
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: bigint | number): this {
    // Addresses (load base + RVA) fit in 53 bits: two 32-bit halves, no bigint arithmetic.
    if (typeof v === 'number' ? Number.isSafeInteger(v) && v >= 0 : v >= 0n && v <= MAX_SAFE_BIG) {
      const n = Number(v);
      this.ensure(8);
      const b = this.buf;
      const at = this.pos;
      const lo = n >>> 0;
      const hi = (n - lo) / 0x100000000;
      b[at] = lo;
      b[at + 1] = lo >>> 8;
      b[at + 2] = lo >>> 16;
      b[at + 3] = lo >>> 24;
      b[at + 4] = hi;
      b[at + 5] = hi >>> 8;
      b[at + 6] = hi >>> 16;
      b[at + 7] = hi >>> 24;
      this.pos = at + 8;
      return this;
    }
    const big = typeof v === 'bigint' ? v : BigInt(v);
    if (big < 0n || big >= 1n << 64n) this.fail(`${big} does not fit in 64 bits`);
    this.ensure(8);
    this.buf.writeBigUInt64LE(big, this.pos);
    this.pos += 8;
    return this;
  }

  uleb(v: number | bigint): this {
    this.ensure(MAX_LEB128_BYTES);
    this.pos = writeUleb(this.buf, this.pos, v);
    return this;
  }

  sleb(v: number | bigint): this {
    this.ensure(MAX_LEB128_BYTES);
    this.pos = writeSleb(this.buf, this.pos, v);
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** UTF-8 text followed by a NUL. */
  cstring(s: string): this {
    if (s.includes('\0')) this.fail(`string ${JSON.stringify(s)} contains a NUL`);
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n + 1);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
    this.buf[this.pos++] = 0;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    // Placeholders are 4 or 8 bytes: a loop beats fill()'s argument checks.
    if (n <= 16) for (let i = 0; i < n; i++) this.buf[this.pos + i] = 0;
    else this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** Pads with `fill` bytes up to a multiple of `alignment`. */
  align(alignment: number, fill = 0): this {
    const pad = (alignment - (this.pos % alignment)) % alignment;
    this.ensure(pad);
    this.buf.fill(fill, this.pos, this.pos + pad);
    this.pos += pad;
    return this;
  }

  patchU32(at: number, v: number): void {
    if (at + 4 > this.pos) this.fail(`patch at ${at} is past the written bytes`);
    if (!Number.isInteger(v) || v < 0 || v > U32_MAX) this.fail(`${v} does not fit in 32 bits`);
    this.buf.writeUInt32LE(v, at);
  }

  /** Marks `label` as the current offset. */
  define(label: Label): this {
    if (label.offset !== undefined) this.fail(`${label.name} defined twice`);
    label.offset = this.pos;
    return this;
  }

  /** A 4-byte placeholder for `label.offset - base`, patched by `finish`. */
  u32Ref(label: Label, base = 0): this {
    this.fixups.push({ at: this.pos, size: 4, label, base });
    return this.zeros(4);
  }

  /** An 8-byte placeholder for `label.offset - base`, patched by `finish`. */
  u64Ref(label: Label, base = 0): this {
    this.fixups.push({ at: this.pos, size: 8, label, base });
    return this.zeros(8);
  }

  /** Starts a 32-bit DWARF unit: a 4-byte unit_length, patched by `endUnitLength`. */
  beginUnitLength(): LengthMark {
    const mark = { at: this.pos };
    this.zeros(4);
    return mark;
  }

  /** Sets the unit_length at `mark` to the bytes written after it. */
  endUnitLength(mark: LengthMark): void {
    this.patchU32(mark.at, this.pos - (mark.at + 4));
  }

  /** Resolves every fixup and returns the section's bytes. */
  finish(): Buffer {
    for (const f of this.fixups) {
      if (f.label.offset === undefined) this.fail(`${f.label.name} referenced but never defined`);
      const value = f.label.offset - f.base;
      if (value < 0) this.fail(`${f.label.name} lies before its base`);
      if (f.size === 4) this.patchU32(f.at, value);
      else this.buf.writeBigUInt64LE(BigInt(value), f.at);
    }
    this.fixups.length = 0;
    if (this.pos >= NO_COPY_SIZE) return this.buf.subarray(0, this.pos);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
