/**
 * The RSP's two data encodings, kept apart from framing so parsers and reply
 * builders share one strict implementation:
 *
 * - hex: two lowercase digits per byte (`m`, `M`, `g`, `p`, `qRcmd`, `O`). Numbers
 *   in packet arguments are big-endian hex without `0x`; register values are
 *   target byte order (little-endian on amd64).
 * - binary: raw bytes where `$ # } *` are escaped as `}` followed by the byte
 *   XOR 0x20 (`X`, `qXfer` replies, `x` replies). `*` must be escaped because a
 *   bare `*` means run-length encoding to the receiver.
 *
 * Decoders throw `RspError(EINVAL)` on malformed input; they never guess.
 */
import { malformed } from './errors';

const HEX_DIGIT = /^[0-9a-fA-F]+$/;

export function hexEncode(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** Strict: even length, hex digits only (empty string -> empty buffer). */
export function hexDecode(text: string, what = 'hex data'): Buffer {
  if (text.length % 2 !== 0) throw malformed(`${what}: odd number of hex digits`);
  if (text.length > 0 && !HEX_DIGIT.test(text)) throw malformed(`${what}: not hex`);
  return Buffer.from(text, 'hex');
}

export function hexEncodeText(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex');
}

export function hexDecodeText(hex: string, what = 'hex text'): string {
  return hexDecode(hex, what).toString('utf8');
}

/** A non-negative hex number up to 64 bits (leading zeros allowed), as bigint. */
export function parseHexBigint(text: string, what = 'number'): bigint {
  if (text.length === 0 || !HEX_DIGIT.test(text)) throw malformed(`${what}: expected hex, got '${clip(text)}'`);
  const value = BigInt('0x' + text);
  if (value > 0xffff_ffff_ffff_ffffn) throw malformed(`${what}: ${clip(text)} does not fit in 64 bits`);
  return value;
}

/** A non-negative hex number as a JS number, at most `max` (default 2^53-1). */
export function parseHexNumber(text: string, what = 'number', max = Number.MAX_SAFE_INTEGER): number {
  const value = parseHexBigint(text, what);
  if (value > BigInt(max)) throw malformed(`${what}: 0x${value.toString(16)} exceeds 0x${max.toString(16)}`);
  return Number(value);
}

/** `value` as `size` little-endian bytes (two's complement, truncated to size). */
export function encodeLE(value: bigint, size: number): Buffer {
  const out = Buffer.alloc(size);
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Little-endian bytes as an unsigned bigint. */
export function decodeLE(data: Uint8Array): bigint {
  let v = 0n;
  for (let i = data.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]!);
  return v;
}

/** Register-style hex: `size` bytes little-endian, two hex digits each. */
export function leHex(value: bigint, size: number): string {
  return encodeLE(value, size).toString('hex');
}

/** gdb's "value unavailable" marker for a register of `size` bytes. */
export function unavailableHex(size: number): string {
  return 'x'.repeat(size * 2);
}

const ESCAPE = 0x7d; // '}'

function needsEscape(b: number): boolean {
  return b === 0x23 /* # */ || b === 0x24 /* $ */ || b === ESCAPE || b === 0x2a /* * */;
}

/** Escape `$ # } *` as `}` + (byte ^ 0x20). */
export function escapeBinary(data: Uint8Array): Buffer {
  let extra = 0;
  for (const b of data) if (needsEscape(b)) extra++;
  if (extra === 0) return Buffer.from(data);
  const out = Buffer.alloc(data.length + extra);
  let o = 0;
  for (const b of data) {
    if (needsEscape(b)) {
      out[o++] = ESCAPE;
      out[o++] = b ^ 0x20;
    } else {
      out[o++] = b;
    }
  }
  return out;
}

/**
 * Undo `escapeBinary`. Lenient by design (it runs on every received packet): a
 * trailing lone `}` is kept as is rather than throwing.
 */
export function unescapeBinary(data: Uint8Array): Buffer {
  if (data.indexOf(ESCAPE) < 0) return Buffer.from(data);
  const out = Buffer.alloc(data.length);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === ESCAPE && i + 1 < data.length) out[o++] = data[++i]! ^ 0x20;
    else out[o++] = b;
  }
  return out.subarray(0, o);
}

/** Printable rendering of packet bytes for logs: ASCII as is, the rest as \xNN. */
export function printable(data: Uint8Array, max = Infinity): string {
  let s = '';
  const n = Math.min(data.length, max);
  for (let i = 0; i < n; i++) {
    const b = data[i]!;
    s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0');
  }
  if (n < data.length) s += `...(${data.length - n} more bytes)`;
  return s;
}

function clip(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + '...' : text;
}
