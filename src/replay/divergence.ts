/** The first point where a replayed session stops matching its recording. */
import { printable } from '../rsp/hex';

export interface Divergence {
  /**
   * `gdb`: the new debugger sent a different packet (a different command sequence,
   * another gdb version); `josgdb-reply`: josgdb answered gdb differently than it
   * did when recording (a bridge change); `target`: josgdb asked the target for
   * something else than the recording holds, so the replay cannot answer.
   */
  side: 'gdb' | 'josgdb-reply' | 'target';
  /** 1-based number of the packet (gdb sides) or write (target) in its direction. */
  index: number;
  /** What the recording has there (undefined: the recording had ended). */
  expected: string | undefined;
  /** What the replay saw (undefined: the debugger disconnected). */
  got: string | undefined;
  /** Seconds into the recording where the expected item was recorded. */
  recordedAt: number | undefined;
  /** The last packets that matched, oldest first, for context. */
  before: string[];
}

export function packetText(payload: Buffer): string {
  return printable(payload, 200);
}

export function describeDivergence(d: Divergence): string {
  const what =
    d.side === 'gdb'
      ? `gdb packet #${d.index}`
      : d.side === 'josgdb-reply'
        ? `josgdb's reply #${d.index} to gdb`
        : `josgdb's write #${d.index} to the target`;
  const when = d.recordedAt !== undefined ? ` (recorded at ${d.recordedAt.toFixed(3)} s)` : '';
  const lines = [`the session diverges from the recording at ${what}${when}:`];
  lines.push(`  expected: ${d.expected ?? '(nothing: the recording ends here)'}`);
  lines.push(`  got:      ${d.got ?? '(nothing: the debugger disconnected)'}`);
  if (d.before.length) lines.push(`  after:    ${d.before.join('\n            ')}`);
  return lines.join('\n');
}
