/**
 * gdb thread-id syntax ("thread-id syntax" in the manual): `tid`, `-1` (all),
 * `0` (any), and with multiprocess extensions `ppid.tid` or `ppid` (= all threads
 * of pid). Ids are hex.
 */
import { malformed } from '../errors';
import { parseHexNumber } from '../hex';
import type { ThreadId, ThreadIdPart } from './types';

function parsePart(text: string, what: string): ThreadIdPart {
  if (text === '-1') return 'all';
  const n = parseHexNumber(text, what);
  return n === 0 ? 'any' : n;
}

export function parseThreadId(text: string): ThreadId {
  if (text.length === 0) throw malformed('thread id: empty');
  if (text[0] === 'p') {
    const dot = text.indexOf('.');
    if (dot < 0) return { pid: parsePart(text.slice(1), 'thread id pid'), tid: 'all' };
    return { pid: parsePart(text.slice(1, dot), 'thread id pid'), tid: parsePart(text.slice(dot + 1), 'thread id tid') };
  }
  return { tid: parsePart(text, 'thread id') };
}

/** Inverse of parseThreadId (without multiprocess unless a pid is present). */
export function formatThreadId(id: ThreadId): string {
  const part = (p: ThreadIdPart): string => (p === 'all' ? '-1' : p === 'any' ? '0' : p.toString(16));
  return id.pid === undefined ? part(id.tid) : `p${part(id.pid)}.${part(id.tid)}`;
}
