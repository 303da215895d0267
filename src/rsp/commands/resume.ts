/**
 * Resumption: `c [addr]`, `s [addr]`, `C sig[;addr]`, `S sig[;addr]`, `vCont?`
 * and `vCont;action[:thread-id]...` with actions c, Csig, s, Ssig, t and
 * `r start,end` (range stepping).
 */
import { malformed } from '../errors';
import { parseHexBigint, parseHexNumber } from '../hex';
import { split2, type ParserEntry } from './args';
import { parseThreadId } from './thread-id';
import type { VContAction } from './types';

function signal(text: string, what: string): number {
  return parseHexNumber(text, `${what} signal`, 0xff);
}

function withSignal(args: string, what: string): { signal: number; addr?: bigint } {
  const semi = args.indexOf(';');
  if (semi < 0) return { signal: signal(args, what) };
  return { signal: signal(args.slice(0, semi), what), addr: parseHexBigint(args.slice(semi + 1), `${what} address`) };
}

function parseAction(text: string): VContAction {
  const colon = text.indexOf(':');
  const body = colon < 0 ? text : text.slice(0, colon);
  const threadPart = colon < 0 ? undefined : parseThreadId(text.slice(colon + 1));
  const thread = threadPart === undefined ? {} : { thread: threadPart };
  const op = body[0];
  const rest = body.slice(1);
  switch (op) {
    case 'c':
    case 's':
      if (rest !== '') throw malformed(`vCont: action '${body}' takes no argument`);
      return { op: op === 'c' ? 'continue' : 'step', ...thread };
    case 'C':
    case 'S':
      return { op: op === 'C' ? 'continue' : 'step', signal: signal(rest, 'vCont'), ...thread };
    case 't':
      if (rest !== '') throw malformed(`vCont: action '${body}' takes no argument`);
      return { op: 'stop', ...thread };
    case 'r': {
      const [s, e] = split2(rest, ',', 'vCont r');
      return { op: 'rangeStep', start: parseHexBigint(s, 'vCont r start'), end: parseHexBigint(e, 'vCont r end'), ...thread };
    }
    default:
      throw malformed(`vCont: unknown action '${body}'`);
  }
}

export const resumeParsers: ParserEntry[] = [
  {
    prefix: 'c',
    tail: 'any',
    parse: (args) => (args === '' ? { kind: 'continue' } : { kind: 'continue', addr: parseHexBigint(args, 'c address') }),
  },
  {
    prefix: 's',
    tail: 'any',
    parse: (args) => (args === '' ? { kind: 'step' } : { kind: 'step', addr: parseHexBigint(args, 's address') }),
  },
  { prefix: 'C', tail: 'any', parse: (args) => ({ kind: 'continueWithSignal', ...withSignal(args, 'C') }) },
  { prefix: 'S', tail: 'any', parse: (args) => ({ kind: 'stepWithSignal', ...withSignal(args, 'S') }) },
  { prefix: 'vCont?', tail: 'exact', parse: () => ({ kind: 'vContQuery' }) },
  {
    prefix: 'vCont',
    tail: 'sep',
    parse: (args) => {
      if (!args.startsWith(';') || args.length < 2) throw malformed('vCont: expected ;action');
      return { kind: 'vCont', actions: args.slice(1).split(';').map(parseAction) };
    },
  },
];
