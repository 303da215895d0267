/**
 * Memory access: `m addr,len`, `M addr,len:hex`, `X addr,len:binary`,
 * `x addr,len`. The declared length must match the data actually sent; a
 * mismatch is a malformed packet, never a silent truncation. `X`/`x` with length
 * 0 are the clients' "is this packet supported?" probes and are valid.
 */
import { malformed } from '../errors';
import { hexDecode, parseHexBigint } from '../hex';
import { parseLength, split2, type ParserEntry } from './args';

function addrLength(text: string, what: string): { addr: bigint; length: number } {
  const [a, l] = split2(text, ',', what);
  return { addr: parseHexBigint(a, `${what} address`), length: parseLength(l, `${what} length`) };
}

export const memoryParsers: ParserEntry[] = [
  {
    prefix: 'm',
    tail: 'any',
    parse: (args) => ({ kind: 'readMemory', ...addrLength(args, 'm') }),
  },
  {
    prefix: 'x',
    tail: 'any',
    parse: (args) => ({ kind: 'readMemoryBinary', ...addrLength(args, 'x') }),
  },
  {
    prefix: 'M',
    tail: 'any',
    parse: (args) => {
      const [header, hex] = split2(args, ':', 'M');
      const { addr, length } = addrLength(header, 'M');
      const data = hexDecode(hex, 'M data');
      if (data.length !== length) throw malformed(`M: length ${length} but ${data.length} bytes of data`);
      return { kind: 'writeMemory', addr, data };
    },
  },
  {
    prefix: 'X',
    tail: 'any',
    parse: (args, payload) => {
      // Binary data: take it from the payload buffer, not the latin1 text.
      const colon = args.indexOf(':');
      if (colon < 0) throw malformed(`X: expected ':'`);
      const { addr, length } = addrLength(args.slice(0, colon), 'X');
      const data = Buffer.from(payload.subarray(1 + colon + 1));
      if (data.length !== length) throw malformed(`X: length ${length} but ${data.length} bytes of data`);
      return { kind: 'writeMemoryBinary', addr, data };
    },
  },
];
