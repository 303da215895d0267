/** `qRcmd,<hex>`: gdb's `monitor <command>`, decoded to text for the bridge's command table. */
import { malformed } from '../errors';
import { hexDecodeText } from '../hex';
import type { ParserEntry } from './args';

export const monitorParsers: ParserEntry[] = [
  {
    prefix: 'qRcmd',
    tail: 'sep',
    parse: (args) => {
      if (!args.startsWith(',')) throw malformed(`qRcmd: expected ',hex'`);
      return { kind: 'monitor', command: hexDecodeText(args.slice(1), 'qRcmd command') };
    },
  },
];
