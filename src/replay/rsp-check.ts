/**
 * Compares a new debugger connection with a recorded one, packet by packet in
 * each direction: what gdb sends (`gdb`) and what josgdb answers (`josgdb-reply`).
 * Acks are left out: whether they appear depends on no-ack mode timing, not on
 * the session. Ctrl-C counts as a packet (`^C`).
 */
import type { RspTap } from '../bridge/gdb-server';
import type { RecordingEvent } from '../recording/format';
import { RspDecoder, type RspEvent } from '../rsp/framing';
import { packetText, type Divergence } from './divergence';

interface Recorded {
  text: string;
  t: number;
}

function packetsOf(events: { t: number; bytes: Buffer }[]): Recorded[] {
  const decoder = new RspDecoder();
  const out: Recorded[] = [];
  for (const e of events) for (const ev of decoder.push(e.bytes)) {
    const text = eventText(ev);
    if (text !== undefined) out.push({ text, t: e.t });
  }
  return out;
}

function eventText(ev: RspEvent): string | undefined {
  switch (ev.kind) {
    case 'packet':
      return packetText(ev.payload);
    case 'interrupt':
      return '^C';
    default:
      return undefined;
  }
}

/** The recorded debugger connections, in order: the packets each side sent. */
export function recordedConnections(events: RecordingEvent[]): { fromGdb: Recorded[]; toGdb: Recorded[] }[] {
  const conns: { rx: { t: number; bytes: Buffer }[]; tx: { t: number; bytes: Buffer }[] }[] = [];
  for (const e of events) {
    if ('event' in e && e.event === 'connect') conns.push({ rx: [], tx: [] });
    else if ('bytes' in e && e.link === 'gdb' && conns.length) conns[conns.length - 1][e.dir].push(e);
  }
  return conns.map((c) => ({ fromGdb: packetsOf(c.rx), toGdb: packetsOf(c.tx) }));
}

class Direction {
  private readonly decoder = new RspDecoder();
  private next = 0;

  constructor(
    private readonly side: 'gdb' | 'josgdb-reply',
    private readonly expected: Recorded[],
    private readonly check: RspCheck,
  ) {}

  push(bytes: Buffer): void {
    for (const ev of this.decoder.push(bytes)) {
      const text = eventText(ev);
      if (text === undefined) continue;
      const want = this.expected[this.next];
      const index = ++this.next;
      if (want?.text === text) this.check.matched(this.side, text);
      else this.check.diverged({ side: this.side, index, expected: want?.text, got: text, recordedAt: want?.t });
    }
  }

  /** The connection closed: anything the recording still has is a divergence. */
  end(): void {
    const want = this.expected[this.next];
    if (want) this.check.diverged({ side: this.side, index: this.next + 1, expected: want.text, got: undefined, recordedAt: want.t });
  }
}

export class RspCheck {
  private readonly connections: ReturnType<typeof recordedConnections>;
  private current: { rx: Direction; tx: Direction } | undefined;
  private started = 0;
  private readonly recent: string[] = [];
  private reported = false;

  constructor(
    events: RecordingEvent[],
    private readonly onDivergence: (d: Divergence) => void,
    private readonly onLastConnectionClosed: () => void,
  ) {
    this.connections = recordedConnections(events);
  }

  get recordedConnectionCount(): number {
    return this.connections.length;
  }

  matched(side: 'gdb' | 'josgdb-reply', text: string): void {
    this.recent.push(`${side === 'gdb' ? 'gdb    ->' : 'josgdb <-'} ${text.length > 80 ? text.slice(0, 80) + '...' : text}`);
    if (this.recent.length > 3) this.recent.shift();
  }

  diverged(d: Omit<Divergence, 'before'>): void {
    if (this.reported) return;
    this.reported = true;
    this.onDivergence({ ...d, before: [...this.recent] });
  }

  readonly tap: RspTap = {
    connected: () => {
      const rec = this.connections[this.started++] ?? { fromGdb: [], toGdb: [] };
      this.current = { rx: new Direction('gdb', rec.fromGdb, this), tx: new Direction('josgdb-reply', rec.toGdb, this) };
    },
    data: (dir, bytes) => this.current?.[dir].push(bytes),
    closed: () => {
      this.current?.rx.end();
      this.current?.tx.end();
      this.current = undefined;
      if (this.started >= this.connections.length) this.onLastConnectionClosed();
    },
  };
}
