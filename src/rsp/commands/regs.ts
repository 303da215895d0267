/**
 * Register access: `g`, `G XX...`, `p n`, `P n=XX...`, each optionally followed
 * by lldb's `;thread:tid;` suffix. Values stay raw target-order bytes here; the
 * register table (../registers.ts) knows sizes and meaning.
 */
import { malformed } from '../errors';
import { hexDecode, parseHexNumber } from '../hex';
import { noArgs, split2, takeThreadSuffix, type ParserEntry } from './args';

const MAX_REGNUM = 0xffff;

export const registerParsers: ParserEntry[] = [
  {
    prefix: 'g',
    tail: 'any',
    parse: (args) => {
      const { body, thread } = takeThreadSuffix(args);
      noArgs(body, 'g');
      return thread === undefined ? { kind: 'readRegisters' } : { kind: 'readRegisters', thread };
    },
  },
  {
    prefix: 'G',
    tail: 'any',
    parse: (args) => {
      const { body, thread } = takeThreadSuffix(args);
      if (body === '') throw malformed('G: no register data');
      const data = hexDecode(body, 'G register data');
      return thread === undefined ? { kind: 'writeRegisters', data } : { kind: 'writeRegisters', data, thread };
    },
  },
  {
    prefix: 'p',
    tail: 'any',
    parse: (args) => {
      const { body, thread } = takeThreadSuffix(args);
      const regnum = parseHexNumber(body, 'p register number', MAX_REGNUM);
      return thread === undefined ? { kind: 'readRegister', regnum } : { kind: 'readRegister', regnum, thread };
    },
  },
  {
    prefix: 'P',
    tail: 'any',
    parse: (args) => {
      const { body, thread } = takeThreadSuffix(args);
      const [n, hex] = split2(body, '=', 'P');
      const regnum = parseHexNumber(n, 'P register number', MAX_REGNUM);
      if (hex === '') throw malformed('P: no value');
      const value = hexDecode(hex, 'P value');
      return thread === undefined
        ? { kind: 'writeRegister', regnum, value }
        : { kind: 'writeRegister', regnum, value, thread };
    },
  },
];
