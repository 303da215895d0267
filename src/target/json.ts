/**
 * A tolerant JSON parser for the kernel's JSON bodies. josx64 writes its JSON
 * unescaped into a byte buffer: strings may hold raw non-UTF-8 bytes (the
 * hypervisor id comes from uninitialised memory under QEMU) and numbers are 64-bit
 * addresses that a double cannot hold. So: input is bytes, a string is decoded as
 * UTF-8 when its bytes are valid UTF-8 and as latin1 otherwise, raw control bytes
 * inside strings are accepted, and every integer is returned as an exact bigint.
 * The structure itself (braces, commas, colons) is checked strictly: it is what
 * tells a real KernelConnectionInfo from noise that happens to look like a header.
 */
import { JosgdbError } from '../common/errors';
import type { JsonValue } from './messages';

const MAX_DEPTH = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text: UTF-8 when valid, else latin1 (one char per byte, so nothing is lost). */
export function decodeTolerant(bytes: Uint8Array): string {
  let ascii = true;
  for (const b of bytes) {
    if (b >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes).toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

class Parser {
  pos = 0;
  constructor(private readonly b: Buffer) {}

  fail(what: string): never {
    throw new JosgdbError('PROTOCOL', `JSON: ${what} at offset ${this.pos}`);
  }

  ws(): void {
    while (this.pos < this.b.length) {
      const c = this.b[this.pos];
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.ws();
    if (this.pos >= this.b.length) this.fail('unexpected end');
    const c = this.b[this.pos];
    if (c === 0x7b) return this.object(depth);
    if (c === 0x5b) return this.array(depth);
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal('true')) return true;
    if (this.literal('false')) return false;
    if (this.literal('null')) return null;
    return this.fail(`unexpected byte 0x${c.toString(16)}`);
  }

  literal(word: string): boolean {
    if (this.b.toString('latin1', this.pos, this.pos + word.length) === word) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  object(depth: number): JsonValue {
    this.pos++; // {
    const out: { [key: string]: JsonValue } = Object.create(null) as { [key: string]: JsonValue };
    this.ws();
    if (this.b[this.pos] === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.b[this.pos] !== 0x22) this.fail('expected a key');
      const key = this.string();
      this.ws();
      if (this.b[this.pos] !== 0x3a) this.fail("expected ':'");
      this.pos++;
      out[key] = this.value(depth + 1);
      this.ws();
      const c = this.b[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): JsonValue {
    this.pos++; // [
    const out: JsonValue[] = [];
    this.ws();
    if (this.b[this.pos] === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.b[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or ']'");
    }
  }

  string(): string {
    this.pos++; // opening quote
    let text = '';
    let runStart = this.pos;
    const flush = (end: number): void => {
      if (end > runStart) text += decodeTolerant(this.b.subarray(runStart, end));
    };
    while (this.pos < this.b.length) {
      const c = this.b[this.pos];
      if (c === 0x22) {
        flush(this.pos);
        this.pos++;
        return text;
      }
      if (c === 0x5c) {
        flush(this.pos);
        const e = this.b[this.pos + 1];
        this.pos += 2;
        switch (e) {
          case 0x22: text += '"'; break;
          case 0x5c: text += '\\'; break;
          case 0x2f: text += '/'; break;
          case 0x62: text += '\b'; break;
          case 0x66: text += '\f'; break;
          case 0x6e: text += '\n'; break;
          case 0x72: text += '\r'; break;
          case 0x74: text += '\t'; break;
          case 0x75: {
            const h = this.b.toString('latin1', this.pos, this.pos + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('bad \\u escape');
            text += String.fromCharCode(parseInt(h, 16));
            this.pos += 4;
            break;
          }
          default:
            if (e === undefined) this.fail('unterminated string');
            // tolerant: an unknown escape keeps the character
            text += String.fromCharCode(e);
        }
        runStart = this.pos;
        continue;
      }
      this.pos++;
    }
    return this.fail('unterminated string');
  }

  number(): JsonValue {
    const start = this.pos;
    if (this.b[this.pos] === 0x2d) this.pos++;
    const digits = (): number => {
      const s = this.pos;
      while (this.pos < this.b.length && this.b[this.pos] >= 0x30 && this.b[this.pos] <= 0x39) this.pos++;
      return this.pos - s;
    };
    if (digits() === 0) this.fail('bad number');
    let integer = true;
    if (this.b[this.pos] === 0x2e) {
      integer = false;
      this.pos++;
      if (digits() === 0) this.fail('bad fraction');
    }
    if (this.b[this.pos] === 0x65 || this.b[this.pos] === 0x45) {
      integer = false;
      this.pos++;
      if (this.b[this.pos] === 0x2b || this.b[this.pos] === 0x2d) this.pos++;
      if (digits() === 0) this.fail('bad exponent');
    }
    const text = this.b.toString('latin1', start, this.pos);
    return integer ? BigInt(text) : Number(text);
  }
}

/** Parses one JSON value from bytes; trailing whitespace and NUL bytes are allowed, anything else is an error. */
export function parseJsonTolerant(input: Buffer | string): JsonValue {
  const b = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const p = new Parser(b);
  const v = p.value(0);
  while (p.pos < b.length) {
    const c = b[p.pos];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0) p.pos++;
    else p.fail('trailing bytes');
  }
  return v;
}

export function isJsonObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
