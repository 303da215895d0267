/**
 * Thread packets: `H op thread-id`, `T thread-id`, `qC`, `qfThreadInfo`,
 * `qsThreadInfo`, `qThreadExtraInfo,thread-id`. A kernel debugger has one
 * "thread" per CPU at most, but gdb insists on asking.
 */
import { malformed } from '../errors';
import type { ParserEntry } from './args';
import { parseThreadId } from './thread-id';

export const threadParsers: ParserEntry[] = [
  {
    prefix: 'H',
    tail: 'any',
    parse: (args) => {
      const op = args[0];
      if (op === undefined || !/^[a-zA-Z]$/.test(op)) throw malformed(`H: expected an operation letter`);
      return { kind: 'setThread', op, thread: parseThreadId(args.slice(1)) };
    },
  },
  { prefix: 'T', tail: 'any', parse: (args) => ({ kind: 'threadAlive', thread: parseThreadId(args) }) },
  { prefix: 'qC', tail: 'exact', parse: () => ({ kind: 'currentThread' }) },
  { prefix: 'qfThreadInfo', tail: 'exact', parse: () => ({ kind: 'threadInfoFirst' }) },
  { prefix: 'qsThreadInfo', tail: 'exact', parse: () => ({ kind: 'threadInfoNext' }) },
  {
    prefix: 'qThreadExtraInfo',
    tail: 'sep',
    parse: (args) => {
      if (!args.startsWith(',')) throw malformed(`qThreadExtraInfo: expected ',thread-id'`);
      return { kind: 'threadExtraInfo', thread: parseThreadId(args.slice(1)) };
    },
  },
];
