/**
 * `parseCommand(payload) -> RspCommand`: one dispatch table built from the
 * per-family parser files. Longest prefix wins, so `vCont?` beats `vCont` and
 * `qC` never swallows `qCRC`. Unknown packets become `{kind:'unknown'}` (the
 * bridge answers with the empty packet, which is how RSP says "not
 * supported"); malformed arguments of a known packet throw `RspError(EINVAL)` and
 * nothing else ever escapes.
 */
import { malformed, RspError } from '../errors';
import type { ParserEntry } from './args';
import { breakpointParsers } from './breakpoints';
import { hostIoParsers } from './host-io';
import { lldbParsers } from './lldb';
import { memoryParsers } from './memory';
import { monitorParsers } from './monitor';
import { registerParsers } from './regs';
import { resumeParsers } from './resume';
import { sessionParsers } from './session';
import { supportedParsers } from './supported';
import { threadParsers } from './threads';
import type { RspCommand } from './types';
import { xferParsers } from './xfer';

export * from './types';
export { parseThreadId, formatThreadId } from './thread-id';
export { clientSupports, parseFeatures } from './supported';
export type { ParserEntry } from './args';

/** Every parser, longest prefix first. */
export const PARSERS: readonly ParserEntry[] = [
  ...sessionParsers,
  ...supportedParsers,
  ...registerParsers,
  ...memoryParsers,
  ...breakpointParsers,
  ...resumeParsers,
  ...threadParsers,
  ...xferParsers,
  ...monitorParsers,
  ...lldbParsers,
  ...hostIoParsers,
].sort((a, b) => b.prefix.length - a.prefix.length);

const SEPARATORS = ':;,';

function matches(entry: ParserEntry, text: string): boolean {
  if (!text.startsWith(entry.prefix)) return false;
  if (entry.tail === 'any') return true;
  if (text.length === entry.prefix.length) return true;
  return entry.tail === 'sep' && SEPARATORS.includes(text[entry.prefix.length]!);
}

const MAX_NAME = 64;

/**
 * The packet's name for logs and `unknown`: for the multi-letter families
 * (q, Q, v, j, _) the text up to the first separator, otherwise the first char.
 */
export function packetName(payload: Buffer): string {
  const text = payload.toString('latin1', 0, Math.min(payload.length, MAX_NAME * 2));
  if (text === '') return '';
  if (!'qQvj_'.includes(text[0]!)) return text[0]!;
  const end = text.search(/[:;,?=]/);
  return (end < 0 ? text : text.slice(0, end)).slice(0, MAX_NAME);
}

export function parseCommand(payload: Buffer): RspCommand {
  const text = payload.toString('latin1');
  for (const entry of PARSERS) {
    if (!matches(entry, text)) continue;
    try {
      return entry.parse(text.slice(entry.prefix.length), payload);
    } catch (err) {
      if (err instanceof RspError) throw err;
      throw malformed(`${entry.prefix}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { kind: 'unknown', name: packetName(payload) };
}
