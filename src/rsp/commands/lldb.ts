/**
 * lldb's extensions (lldb/docs/resources/lldbgdbremote.md). lldb probes these
 * on connect; parsing them to typed kinds lets the bridge answer the useful ones
 * (qHostInfo, qRegisterInfo, qMemoryRegionInfo) and reply empty to the rest.
 */
import { malformed } from '../errors';
import { hexDecodeText, parseHexBigint, parseHexNumber } from '../hex';
import { type ParserEntry } from './args';

export const lldbParsers: ParserEntry[] = [
  { prefix: 'qHostInfo', tail: 'exact', parse: () => ({ kind: 'qHostInfo' }) },
  { prefix: 'qProcessInfo', tail: 'exact', parse: () => ({ kind: 'qProcessInfo' }) },
  { prefix: 'QThreadSuffixSupported', tail: 'exact', parse: () => ({ kind: 'QThreadSuffixSupported' }) },
  { prefix: 'QListThreadsInStopReply', tail: 'exact', parse: () => ({ kind: 'QListThreadsInStopReply' }) },
  { prefix: 'qGDBServerVersion', tail: 'exact', parse: () => ({ kind: 'qGDBServerVersion' }) },
  { prefix: 'QEnableErrorStrings', tail: 'exact', parse: () => ({ kind: 'QEnableErrorStrings' }) },
  { prefix: 'jThreadsInfo', tail: 'exact', parse: () => ({ kind: 'jThreadsInfo' }) },
  {
    prefix: 'qRegisterInfo',
    tail: 'any',
    parse: (args) => ({ kind: 'qRegisterInfo', regnum: parseHexNumber(args, 'qRegisterInfo register number', 0xffff) }),
  },
  {
    prefix: 'qThreadStopInfo',
    tail: 'any',
    parse: (args) => ({ kind: 'qThreadStopInfo', thread: parseHexNumber(args, 'qThreadStopInfo thread') }),
  },
  {
    prefix: 'qMemoryRegionInfo',
    tail: 'sep',
    parse: (args) => {
      if (args === '') return { kind: 'qMemoryRegionInfo' };
      if (!args.startsWith(':')) throw malformed(`qMemoryRegionInfo: expected ':addr'`);
      return { kind: 'qMemoryRegionInfo', addr: parseHexBigint(args.slice(1), 'qMemoryRegionInfo address') };
    },
  },
  {
    prefix: 'qWatchpointSupportInfo',
    tail: 'sep',
    parse: (args) => {
      if (args !== '' && args !== ':') throw malformed('qWatchpointSupportInfo: unexpected arguments');
      return { kind: 'qWatchpointSupportInfo' };
    },
  },
  {
    prefix: 'qFileLoadAddress',
    tail: 'sep',
    parse: (args) => {
      if (!args.startsWith(':') || args.length === 1) throw malformed('qFileLoadAddress: expected ":hex-encoded path"');
      return { kind: 'qFileLoadAddress', path: hexDecodeText(args.slice(1), 'qFileLoadAddress path') };
    },
  },
];
