/**
 * `Z type,addr,kind[;cond...][;cmds:...]` and `z type,addr,kind`. Types 0-4
 * (software, hardware, write/read/access watchpoint). Target-side conditions and
 * commands are kept raw in `extra`; we do not evaluate agent bytecode.
 */
import { malformed } from '../errors';
import { parseHexBigint, parseHexNumber } from '../hex';
import { split2, type ParserEntry } from './args';
import { BREAKPOINT_TYPES, type BreakpointType } from './types';

function parseZ(args: string, what: string): { type: BreakpointType; addr: bigint; size: number; extra?: string } {
  const semi = args.indexOf(';');
  const head = semi < 0 ? args : args.slice(0, semi);
  const [typeText, rest] = split2(head, ',', what);
  const [addrText, sizeText] = split2(rest, ',', what);
  if (!/^[0-9]$/.test(typeText)) throw malformed(`${what}: bad type '${typeText}'`);
  const type = BREAKPOINT_TYPES[Number(typeText)];
  if (type === undefined) throw malformed(`${what}: unknown type ${typeText}`);
  const addr = parseHexBigint(addrText, `${what} address`);
  const size = parseHexNumber(sizeText, `${what} kind`, 0xffff);
  return semi < 0 ? { type, addr, size } : { type, addr, size, extra: args.slice(semi + 1) };
}

export const breakpointParsers: ParserEntry[] = [
  {
    prefix: 'Z',
    tail: 'any',
    parse: (args) => ({ kind: 'insertBreakpoint', ...parseZ(args, 'Z') }),
  },
  {
    prefix: 'z',
    tail: 'any',
    parse: (args) => {
      const { type, addr, size, extra } = parseZ(args, 'z');
      if (extra !== undefined) throw malformed('z: unexpected conditions');
      return { kind: 'removeBreakpoint', type, addr, size };
    },
  },
];
