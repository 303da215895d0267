/**
 * Bounds-checked little-endian reader for PE, MSF and CodeView data. Every read
 * past the end raises a SymbolFormatError naming the part and offset, so a
 * truncated file is a clear error and never a silent zero or an endless loop.
 * Shared by the PE reader, the PDB stream readers and the type decoder.
 */
import { SymbolFormatError } from '../format-error';

export class CvReader {
  private pos: number;

  constructor(
    readonly data: Uint8Array,
    /** What is being read, for error messages: 'PDB stream 3 (DBI)'. */
    readonly file: string,
    readonly part: string,
    start = 0,
    /** Offset of `data[0]` inside the named part, so nested readers report part offsets. */
    readonly base = 0,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }
  get length(): number {
    return this.data.length;
  }
  get remaining(): number {
    return this.data.length - this.pos;
  }
  get atEnd(): boolean {
    return this.pos >= this.data.length;
  }

  fail(detail: string, at = this.pos): never {
    throw new SymbolFormatError({ file: this.file, part: this.part, offset: this.base + at }, detail);
  }

  seek(offset: number): void {
    if (offset < 0 || offset > this.data.length) this.fail(`seek to ${offset} outside ${this.data.length} bytes`);
    this.pos = offset;
  }

  private need(n: number): number {
    if (n < 0 || this.pos + n > this.data.length) {
      this.fail(`need ${n} bytes, only ${this.data.length - this.pos} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** Made on first use: most readers only read bytes and 16/32-bit fields, which need none. */
  private dataView: DataView | undefined;

  private view(): DataView {
    return (this.dataView ??= new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength));
  }

  // 16- and 32-bit fields from the bytes directly: the hottest reads of a PDB load.
  u8(): number {
    return this.data[this.need(1)]!;
  }
  u16(): number {
    const at = this.need(2);
    const d = this.data;
    return d[at]! | (d[at + 1]! << 8);
  }
  i16(): number {
    return (this.u16() << 16) >> 16;
  }
  u32(): number {
    return this.i32() >>> 0;
  }
  i32(): number {
    const at = this.need(4);
    const d = this.data;
    return d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24);
  }
  u64(): bigint {
    return this.view().getBigUint64(this.need(8), true);
  }
  i64(): bigint {
    return this.view().getBigInt64(this.need(8), true);
  }
  bytes(n: number): Uint8Array {
    const at = this.need(n);
    return this.data.subarray(at, at + n);
  }
  skip(n: number): void {
    this.need(n);
  }
  align(boundary: number): void {
    const rem = this.pos % boundary;
    if (rem !== 0) this.pos = Math.min(this.data.length, this.pos + boundary - rem);
  }

  /** A sub-reader over the next `n` bytes; its offsets in errors stay part-relative. */
  sub(n: number, part = this.part): CvReader {
    const at = this.need(n);
    return new CvReader(this.data.subarray(at, at + n), this.file, part, 0, part === this.part ? this.base + at : 0);
  }

  /**
   * NUL-terminated string. PDB strings are UTF-8 in practice, but names from
   * other compilers may hold raw bytes: invalid sequences become U+FFFD rather
   * than an error, because a name is never worth failing a whole file for.
   */
  cstring(): string {
    const start = this.pos;
    let end = start;
    while (end < this.data.length && this.data[end] !== 0) end++;
    if (end >= this.data.length) this.fail('string runs past the end', start);
    this.pos = end + 1;
    return Buffer.from(this.data.buffer, this.data.byteOffset + start, end - start).toString('utf8');
  }

  /** A GUID in the registry form 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX' (upper case), as llvm-pdbutil prints it. */
  guid(): string {
    const d1 = this.u32();
    const d2 = this.u16();
    const d3 = this.u16();
    const d4 = this.bytes(8);
    const hex = (v: number, w: number): string => v.toString(16).padStart(w, '0');
    const tail = Array.from(d4, (b) => hex(b, 2)).join('');
    return `${hex(d1, 8)}-${hex(d2, 4)}-${hex(d3, 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`.toUpperCase();
  }

  /**
   * CodeView numeric leaf: a u16 below 0x8000 is the value itself, otherwise it
   * names the width of the value that follows (LF_CHAR .. LF_UQUADWORD).
   */
  numericLeaf(): bigint {
    const at = this.pos;
    const leaf = this.u16();
    if (leaf < 0x8000) return BigInt(leaf);
    switch (leaf) {
      case 0x8000: // LF_CHAR
        return BigInt(((this.u8() << 24) >> 24));
      case 0x8001: // LF_SHORT
        return BigInt(this.i16());
      case 0x8002: // LF_USHORT
        return BigInt(this.u16());
      case 0x8003: // LF_LONG
        return BigInt(this.i32());
      case 0x8004: // LF_ULONG
        return BigInt(this.u32());
      case 0x8009: // LF_QUADWORD
        return this.i64();
      case 0x800a: // LF_UQUADWORD
        return this.u64();
      default:
        return this.fail(`unsupported numeric leaf 0x${leaf.toString(16)}`, at);
    }
  }
}
