/**
 * Session-level packets: halt reason, no-ack negotiation, detach/kill, and the
 * small queries gdb sends once per connection (qAttached, qOffsets, qTStatus,
 * qSymbol, vMustReplyEmpty).
 */
import { malformed } from '../errors';
import { hexDecodeText, parseHexBigint, parseHexNumber } from '../hex';
import { clip, type ParserEntry } from './args';

function optionalPid(args: string, sep: string, what: string): number | undefined {
  if (args === '') return undefined;
  if (!args.startsWith(sep)) throw malformed(`${what}: unexpected '${clip(args)}'`);
  return parseHexNumber(args.slice(1), `${what} pid`);
}

export const sessionParsers: ParserEntry[] = [
  { prefix: '?', tail: 'exact', parse: () => ({ kind: 'haltReason' }) },
  { prefix: 'QStartNoAckMode', tail: 'exact', parse: () => ({ kind: 'QStartNoAckMode' }) },
  {
    prefix: 'D',
    tail: 'any',
    parse: (args) => {
      const pid = optionalPid(args, ';', 'D');
      return pid === undefined ? { kind: 'detach' } : { kind: 'detach', pid };
    },
  },
  { prefix: 'k', tail: 'exact', parse: () => ({ kind: 'kill' }) },
  {
    prefix: 'vKill',
    tail: 'sep',
    parse: (args) => {
      const pid = optionalPid(args, ';', 'vKill');
      return pid === undefined ? { kind: 'kill' } : { kind: 'kill', pid };
    },
  },
  {
    prefix: 'qAttached',
    tail: 'sep',
    parse: (args) => {
      const pid = optionalPid(args, ':', 'qAttached');
      return pid === undefined ? { kind: 'qAttached' } : { kind: 'qAttached', pid };
    },
  },
  { prefix: 'qOffsets', tail: 'exact', parse: () => ({ kind: 'qOffsets' }) },
  { prefix: 'qTStatus', tail: 'exact', parse: () => ({ kind: 'qTStatus' }) },
  { prefix: 'vMustReplyEmpty', tail: 'exact', parse: () => ({ kind: 'vMustReplyEmpty' }) },
  {
    prefix: 'qSymbol',
    tail: 'sep',
    parse: (args) => {
      // qSymbol::  |  qSymbol:<value hex or empty>:<name hex>
      if (!args.startsWith(':')) throw malformed(`qSymbol: expected ':'`);
      const rest = args.slice(1);
      const colon = rest.indexOf(':');
      if (colon < 0) throw malformed(`qSymbol: expected 'value:name'`);
      const valueText = rest.slice(0, colon);
      const nameHex = rest.slice(colon + 1);
      if (valueText === '' && nameHex === '') return { kind: 'qSymbol' };
      const name = hexDecodeText(nameHex, 'qSymbol name');
      if (valueText === '') return { kind: 'qSymbol', name };
      return { kind: 'qSymbol', name, value: parseHexBigint(valueText, 'qSymbol value') };
    },
  },
];
