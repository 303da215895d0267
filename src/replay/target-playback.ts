/**
 * The recorded target, played back as a Link: josgdb's writes are checked byte
 * for byte against what it wrote when recording, and each recorded reply is
 * delivered once everything written before it in the recording has been written
 * again. So the kernel's answers keep their order relative to josgdb's requests,
 * whatever the new session's timing, and a stop the kernel reported by itself
 * (a breakpoint hit after a continue) comes as soon as the continue is sent.
 *
 * The handshake is the one timing-dependent write: josgdb repeats it every half
 * second until the kernel answers, so a recording holds as many as the boot took.
 * Repeats are collapsed to the last one, and extra repeats in the replay ignored.
 */
import { BaseLink } from '../link/link';
import type { RecordingEvent } from '../recording/format';
import { HANDSHAKE } from '../target/protocol';
import type { Divergence } from './divergence';

type Step = { dir: 'tx' | 'rx'; bytes: Buffer; t: number };

/** The target link's byte events of the first link the recording opened, handshake repeats collapsed. */
export function targetSteps(events: RecordingEvent[]): Step[] {
  const raw: Step[] = [];
  let opens = 0;
  for (const e of events) {
    if ('event' in e && e.event === 'open' && e.link === 'target') {
      if (++opens > 1) break; // a reconnection: the replay covers the first link only
    }
    if ('bytes' in e && e.link === 'target') raw.push({ dir: e.dir, bytes: e.bytes, t: e.t });
  }
  const isHandshake = (s: Step) => s.dir === 'tx' && s.bytes.equals(HANDSHAKE);
  const out: Step[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (isHandshake(raw[i])) {
      const nextTx = raw.slice(i + 1).find((s) => s.dir === 'tx');
      if (nextTx && isHandshake(nextTx)) continue;
    }
    out.push(raw[i]);
  }
  return out;
}

function hexOf(bytes: Buffer, max = 48): string {
  const h = bytes.subarray(0, max).toString('hex').replace(/(.{8})/g, '$1 ').trim();
  return bytes.length > max ? `${h} ...(${bytes.length} bytes)` : `${h} (${bytes.length} bytes)`;
}

export class TargetPlayback extends BaseLink {
  readonly description: string;
  private step = 0;
  private offset = 0;
  private writes = 0;
  private lastMatchedHandshake = false;
  private diverged = false;
  private readonly recent: string[] = [];
  private held: Step[] = [];

  constructor(
    private readonly steps: Step[],
    recordedDescription: string,
    private readonly onDivergence: (d: Divergence) => void,
  ) {
    super();
    this.description = `replay of ${recordedDescription}`;
    setImmediate(() => this.deliver());
  }

  /** Recorded byte events still to be played or matched. */
  get remaining(): number {
    return this.steps.length - this.step + this.held.length;
  }

  write(data: Buffer): void {
    if (this.closed || this.diverged) return;
    this.writes++;
    if (data.equals(HANDSHAKE) && this.lastMatchedHandshake && this.offset === 0 && !this.atHandshake()) return;
    for (let i = 0; i < data.length; i++) {
      // Replies recorded before this write that the session has not waited for
      // (pre-handshake console text while josgdb already sends the handshake):
      // they still come, in order, right after it.
      while (this.offset === 0 && this.steps[this.step]?.dir === 'rx') this.held.push(this.steps[this.step++]);
      const s = this.steps[this.step];
      if (!s || s.dir !== 'tx' || s.bytes[this.offset] !== data[i]) {
        this.diverged = true;
        const expected = s?.dir === 'tx' ? s.bytes.subarray(this.offset) : undefined;
        this.onDivergence({
          side: 'target',
          index: this.writes,
          expected: expected ? hexOf(expected) : s ? `no write: the recording waits for the target to send ${hexOf(s.bytes)}` : undefined,
          got: hexOf(data.subarray(i)),
          recordedAt: s?.t,
          before: [...this.recent],
        });
        return;
      }
      if (++this.offset === s.bytes.length) {
        this.lastMatchedHandshake = s.bytes.equals(HANDSHAKE);
        this.remember(`josgdb -> target ${hexOf(s.bytes, 16)}`);
        this.step++;
        this.offset = 0;
      }
    }
    setImmediate(() => this.deliver());
  }

  private atHandshake(): boolean {
    const s = this.steps[this.step];
    return s !== undefined && s.dir === 'tx' && s.bytes.equals(HANDSHAKE);
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 3) this.recent.shift();
  }

  private deliver(): void {
    for (const s of this.held.splice(0)) if (!this.closed) this.emitData(s.bytes);
    while (!this.closed && this.step < this.steps.length && this.steps[this.step].dir === 'rx') {
      const s = this.steps[this.step++];
      this.remember(`target -> josgdb ${hexOf(s.bytes, 16)}`);
      this.emitData(s.bytes);
    }
  }

  close(): void {
    this.emitClose();
  }
}
