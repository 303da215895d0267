/**
 * RSP framing: bytes <-> packets, nothing else.
 *
 * Wire format (gdb manual, "Overview" / "Packet Acknowledgment" / "Interrupts"):
 *
 *     $<payload>#<c1><c2>      c1c2 = sum of the payload bytes as sent, mod 256, hex
 *     +  -                     ack / nack (outside packets)
 *     0x03                     Ctrl-C interrupt (outside packets)
 *
 * Inside the payload `}` escapes the next byte (XOR 0x20) and `X*n` is
 * run-length encoding (repeat X n-29 more times). gdb never run-length encodes
 * what it sends, but expanding it costs one branch, so we do.
 *
 * `RspDecoder` is a pure, synchronous byte pump: it never does I/O, never
 * throws, keeps at most `maxPacketSize` bytes of partial packet, and
 * resynchronises on garbage (bytes outside packets, a `$` inside a packet,
 * oversized packets). Checksums are computed over the escaped wire bytes.
 */
import { escapeBinary, printable, unescapeBinary } from './hex';

export type RspEvent =
  | { kind: 'ack' }
  | { kind: 'nack' }
  | { kind: 'interrupt' }
  | { kind: 'packet'; payload: Buffer }
  | { kind: 'bad-checksum'; payload: Buffer; expected: number; received: string }
  | { kind: 'garbage'; bytes: Buffer };

export const DEFAULT_MAX_PACKET_SIZE = 1 << 20;

const DOLLAR = 0x24;
const HASH = 0x23;
const PLUS = 0x2b;
const MINUS = 0x2d;
const CTRL_C = 0x03;
const STAR = 0x2a;
const ESCAPE = 0x7d;

type State = 'idle' | 'body' | 'checksum1' | 'checksum2';

export class RspDecoder {
  private state: State = 'idle';
  private body: Buffer[] = [];
  private bodyLength = 0;
  private checksumHi = 0;
  private readonly maxPacketSize: number;

  constructor(opts: { maxPacketSize?: number } = {}) {
    this.maxPacketSize = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
  }

  /** Bytes of an unfinished packet held between pushes (always <= maxPacketSize + 1). */
  get bufferedBytes(): number {
    return this.bodyLength;
  }

  /** True while inside a `$...#cc` frame. */
  get inPacket(): boolean {
    return this.state !== 'idle';
  }

  push(chunk: Uint8Array): RspEvent[] {
    const events: RspEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'idle': {
          const b = chunk[i]!;
          if (b === DOLLAR) {
            this.startBody();
          } else if (b === PLUS) {
            events.push({ kind: 'ack' });
          } else if (b === MINUS) {
            events.push({ kind: 'nack' });
          } else if (b === CTRL_C) {
            events.push({ kind: 'interrupt' });
          } else {
            // A run of bytes outside any packet: one garbage event.
            let j = i + 1;
            while (j < chunk.length && !isFrameStart(chunk[j]!)) j++;
            events.push({ kind: 'garbage', bytes: Buffer.from(chunk.subarray(i, j)) });
            i = j;
            break;
          }
          i++;
          break;
        }
        case 'body': {
          let j = i;
          while (j < chunk.length && chunk[j] !== HASH && chunk[j] !== DOLLAR) j++;
          if (this.bodyLength + (j - i) > this.maxPacketSize) {
            // Oversized: drop what we hold and resync on the next '$'.
            events.push({ kind: 'garbage', bytes: this.dropBody(chunk.subarray(i, j)) });
            i = j;
            break;
          }
          if (j > i) this.appendBody(chunk.subarray(i, j));
          i = j;
          if (j === chunk.length) break;
          if (chunk[j] === HASH) {
            this.state = 'checksum1';
          } else {
            // A '$' inside a packet: the previous frame lost its end. Start over.
            events.push({ kind: 'garbage', bytes: this.dropBody() });
            this.startBody();
          }
          i = j + 1;
          break;
        }
        case 'checksum1':
          this.checksumHi = chunk[i++]!;
          this.state = 'checksum2';
          break;
        case 'checksum2': {
          const lo = chunk[i++]!;
          events.push(this.finish(this.checksumHi, lo));
          this.reset();
          break;
        }
      }
    }
    return events;
  }

  private dropBody(tail?: Uint8Array): Buffer {
    const parts = [Buffer.from([DOLLAR]), ...this.body];
    if (tail && tail.length > 0) parts.push(Buffer.from(tail));
    this.reset();
    return Buffer.concat(parts);
  }

  private startBody(): void {
    this.state = 'body';
    this.body = [];
    this.bodyLength = 0;
  }

  private reset(): void {
    this.state = 'idle';
    this.body = [];
    this.bodyLength = 0;
  }

  private appendBody(part: Uint8Array): void {
    // Copy: the caller may reuse its chunk buffer after push() returns.
    this.body.push(Buffer.from(part));
    this.bodyLength += part.length;
  }

  private finish(hi: number, lo: number): RspEvent {
    const wire = Buffer.concat(this.body, this.bodyLength);
    const payload = decodePayload(wire);
    const expected = checksum(wire);
    const received = String.fromCharCode(hi, lo);
    const parsed = /^[0-9a-fA-F]{2}$/.test(received) ? parseInt(received, 16) : -1;
    if (parsed === expected) return { kind: 'packet', payload };
    return { kind: 'bad-checksum', payload, expected, received };
  }
}

/** Sum of bytes mod 256. */
export function checksum(data: Uint8Array): number {
  let sum = 0;
  for (const b of data) sum = (sum + b) & 0xff;
  return sum;
}

/**
 * Wire payload -> data: expand run-length encoding, then undo `}` escaping, in
 * one pass. A `*` right after an escape pair repeats the unescaped byte.
 */
export function decodePayload(wire: Uint8Array): Buffer {
  if (wire.indexOf(STAR) < 0) return unescapeBinary(wire); // the common case: no RLE
  const out: number[] = [];
  for (let i = 0; i < wire.length; i++) {
    const b = wire[i]!;
    if (b === ESCAPE && i + 1 < wire.length) {
      out.push(wire[++i]! ^ 0x20);
    } else if (b === STAR && out.length > 0 && i + 1 < wire.length) {
      const count = wire[++i]! - 29;
      const last = out[out.length - 1]!;
      for (let k = 0; k < count; k++) out.push(last);
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

function isFrameStart(b: number): boolean {
  return b === DOLLAR || b === PLUS || b === MINUS || b === CTRL_C;
}

function frame(start: number, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const body = escapeBinary(data);
  const out = Buffer.alloc(body.length + 4);
  out[0] = start;
  body.copy(out, 1);
  out[body.length + 1] = HASH;
  out.write(checksum(body).toString(16).padStart(2, '0'), body.length + 2, 'latin1');
  return out;
}

/** `$<escaped payload>#cc`. Strings are UTF-8; `$ # } *` are escaped. */
export function encodePacket(payload: Buffer | string): Buffer {
  return frame(DOLLAR, payload);
}

/** `%<escaped payload>#cc` (non-stop notifications such as `%Stop:T05...`). */
export function encodeNotification(payload: Buffer | string): Buffer {
  return frame(0x25, payload);
}

/** Short human-readable form of an event, for packet logs. */
export function describeEvent(ev: RspEvent): string {
  switch (ev.kind) {
    case 'ack':
      return '+';
    case 'nack':
      return '-';
    case 'interrupt':
      return '^C';
    case 'packet':
      return printable(ev.payload, 4096);
    case 'bad-checksum':
      return `<bad checksum ${ev.received}, expected ${ev.expected.toString(16).padStart(2, '0')}> ${printable(ev.payload, 4096)}`;
    case 'garbage':
      return `<garbage> ${printable(ev.bytes, 256)}`;
  }
}
