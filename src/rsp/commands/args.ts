/**
 * The shape of one parser table entry and the small argument helpers every
 * parser shares, so each parser file is only the grammar of its packets.
 */
import { malformed } from '../errors';
import { parseHexNumber } from '../hex';
import type { RspCommand } from './types';

export interface ParserEntry {
  /** Packet name exactly as it starts the payload (`m`, `qSupported`, `vCont?`). */
  prefix: string;
  /**
   * What may follow the prefix:
   * - `exact`: nothing (`qC`, `vCont?`),
   * - `sep`:   nothing, or a `:` `;` `,` separator and arguments (`qSupported:...`, `D;1`),
   * - `any`:   arguments glued to the name (`m1000,4`, `qRegisterInfo1a`).
   */
  tail: 'exact' | 'sep' | 'any';
  /** `args` is the payload after the prefix as latin1 text (1 char = 1 byte). */
  parse(args: string, payload: Buffer): RspCommand;
}

/** Split `a,b` exactly once; throws if the separator is missing. */
export function split2(text: string, sep: string, what: string): [string, string] {
  const at = text.indexOf(sep);
  if (at < 0) throw malformed(`${what}: expected '${sep}' in '${clip(text)}'`);
  return [text.slice(0, at), text.slice(at + sep.length)];
}

/** Require `args` to be empty (for packets with no arguments but `tail: any`). */
export function noArgs(args: string, what: string): void {
  if (args !== '') throw malformed(`${what}: unexpected arguments '${clip(args)}'`);
}

/** A byte count / length argument (hex, at most 2^31-1). */
export function parseLength(text: string, what: string): number {
  return parseHexNumber(text, what, 0x7fff_ffff);
}

/**
 * lldb's `;thread:<tid>;` suffix on g/G/p/P once QThreadSuffixSupported is
 * accepted. Returns the text before the suffix and the thread id.
 */
export function takeThreadSuffix(args: string): { body: string; thread?: number } {
  const at = args.indexOf(';thread:');
  if (at < 0) return { body: args };
  let tid = args.slice(at + ';thread:'.length);
  if (tid.endsWith(';')) tid = tid.slice(0, -1);
  return { body: args.slice(0, at), thread: parseHexNumber(tid, 'thread suffix') };
}

export function clip(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + '...' : text;
}
