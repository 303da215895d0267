/**
 * `qXfer:object:read:annex:offset,length` (target.xml, memory maps, ...). Writes
 * (`qXfer:object:write:...`) are not parsed: we advertise no writable object,
 * so they fall through to `unknown` and get the empty reply.
 */
import { malformed } from '../errors';
import { parseHexNumber } from '../hex';
import { parseLength, split2, type ParserEntry } from './args';
import type { RspCommand } from './types';

export const xferParsers: ParserEntry[] = [
  {
    prefix: 'qXfer',
    tail: 'sep',
    parse: (args): RspCommand => {
      const parts = args.split(':');
      // ['', object, op, annex, 'offset,length']
      if (parts[0] !== '' || parts.length < 3) throw malformed('qXfer: expected qXfer:object:op:...');
      const object = parts[1]!;
      const op = parts[2]!;
      if (op !== 'read') return { kind: 'unknown', name: `qXfer:${object}:${op}` };
      if (parts.length !== 5 || object === '') throw malformed('qXfer: expected qXfer:object:read:annex:offset,length');
      const [off, len] = split2(parts[4]!, ',', 'qXfer');
      return {
        kind: 'qXferRead',
        object,
        annex: parts[3]!,
        offset: parseHexNumber(off, 'qXfer offset'),
        length: parseLength(len, 'qXfer length'),
      };
    },
  },
];
