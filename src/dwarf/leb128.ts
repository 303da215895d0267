/**
 * LEB128, the variable-length integers of DWARF. Values are limited to 64 bits
 * (unsigned 0..2^64-1, signed -2^63..2^63-1), so an encoding is at most 10 bytes
 * and a writer can reserve that much up front. `number` values take a fast path
 * (they must be safe integers); `bigint` covers the full 64-bit range.
 */
import { JosgdbError } from '../common/errors';

/** Longest encoding of a 64-bit value. */
export const MAX_LEB128_BYTES = 10;

const U64_MAX = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;

function badValue(kind: string, value: number | bigint): JosgdbError {
  return new JosgdbError('BAD_ARGUMENT', `${kind}: ${String(value)} is not encodable as a 64-bit LEB128 value`);
}

/** Writes `value` as ULEB128 into `out` at `pos` (room for 10 bytes needed); returns the position after it. */
export function writeUleb(out: Uint8Array, pos: number, value: number | bigint): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw badValue('ULEB128', value);
    let v = value;
    while (v >= 0x80) {
      out[pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    out[pos++] = v;
    return pos;
  }
  if (value < 0n || value > U64_MAX) throw badValue('ULEB128', value);
  let v = value;
  while (v >= 0x80n) {
    out[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[pos++] = Number(v);
  return pos;
}

/** Writes `value` as SLEB128 into `out` at `pos` (room for 10 bytes needed); returns the position after it. */
export function writeSleb(out: Uint8Array, pos: number, value: number | bigint): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw badValue('SLEB128', value);
    let v = value;
    for (;;) {
      const byte = ((v % 0x80) + 0x80) % 0x80;
      v = Math.floor(v / 0x80); // arithmetic shift right by 7
      const signBitSet = (byte & 0x40) !== 0;
      if ((v === 0 && !signBitSet) || (v === -1 && signBitSet)) {
        out[pos++] = byte;
        return pos;
      }
      out[pos++] = byte | 0x80;
    }
  }
  if (value < S64_MIN || value > S64_MAX) throw badValue('SLEB128', value);
  let v = value;
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n; // bigint >> is arithmetic
    const signBitSet = (byte & 0x40) !== 0;
    if ((v === 0n && !signBitSet) || (v === -1n && signBitSet)) {
      out[pos++] = byte;
      return pos;
    }
    out[pos++] = byte | 0x80;
  }
}

export function encodeUleb(value: number | bigint): Buffer {
  const tmp = Buffer.alloc(MAX_LEB128_BYTES);
  return tmp.subarray(0, writeUleb(tmp, 0, value));
}

export function encodeSleb(value: number | bigint): Buffer {
  const tmp = Buffer.alloc(MAX_LEB128_BYTES);
  return tmp.subarray(0, writeSleb(tmp, 0, value));
}

/** Number of bytes `value` takes as ULEB128. */
export function ulebSize(value: number | bigint): number {
  return encodeUleb(value).length;
}

export interface DecodedLeb {
  value: bigint;
  /** Bytes consumed. */
  length: number;
}

function truncated(kind: string, offset: number): JosgdbError {
  return new JosgdbError('OUT_OF_BOUNDS', `${kind} at offset ${offset} runs past the end of the buffer`);
}

export function decodeUleb(buf: Uint8Array, offset = 0): DecodedLeb {
  let result = 0n;
  let shift = 0n;
  let pos = offset;
  for (;;) {
    if (pos >= buf.length) throw truncated('ULEB128', offset);
    const byte = buf[pos++];
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) return { value: result, length: pos - offset };
  }
}

export function decodeSleb(buf: Uint8Array, offset = 0): DecodedLeb {
  let result = 0n;
  let shift = 0n;
  let pos = offset;
  for (;;) {
    if (pos >= buf.length) throw truncated('SLEB128', offset);
    const byte = buf[pos++];
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) {
      if ((byte & 0x40) !== 0) result -= 1n << shift;
      return { value: result, length: pos - offset };
    }
  }
}
