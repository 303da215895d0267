import { EventEmitter } from 'node:events';
import type { RspCommand } from './commands';
import { RspConnection, type MalformedCommand, type RspStream } from './connection';
import { RspErrno, RspError } from './errors';
import { encodePacket, RspDecoder, type RspEvent } from './framing';
import { deferred } from '../common/async';

/** The client's end of an in-memory stream: what the connection wrote, decoded. */
class FakeStream extends EventEmitter implements RspStream {
  readonly written: Buffer[] = [];
  destroyed = false;
  private readonly dec = new RspDecoder();
  readonly seen: RspEvent[] = [];
  write(data: Buffer): boolean {
    this.written.push(Buffer.from(data));
    this.seen.push(...this.dec.push(data));
    return true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  /** Client sends raw bytes. */
  send(data: string | Buffer): void {
    this.emit('data', typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }
  sendPacket(payload: string | Buffer): void {
    this.send(encodePacket(payload));
  }
  /** Events seen so far, as compact strings: '+', '-', or the packet payload. */
  take(): string[] {
    const out = this.seen.splice(0).map((e) =>
      e.kind === 'ack' ? '+' : e.kind === 'nack' ? '-' : e.kind === 'packet' ? `$${e.payload.toString('latin1')}` : `?${e.kind}`,
    );
    return out;
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(handler?: (cmd: RspCommand | MalformedCommand) => Promise<string | Buffer | null> | string | Buffer | null) {
  const stream = new FakeStream();
  const trace: string[] = [];
  const conn = new RspConnection(stream, { trace: (dir, text) => trace.push(`${dir} ${text}`), maxRetransmits: 2 });
  const seen: (RspCommand | MalformedCommand)[] = [];
  if (handler) {
    conn.onCommand((cmd) => {
      seen.push(cmd);
      return handler(cmd);
    });
  }
  return { stream, conn, seen, trace };
}

describe('RspConnection acks', () => {
  it('acks a packet, replies, and waits for + before sending the next packet', async () => {
    const { stream, conn } = setup((cmd) => (cmd.kind === 'haltReason' ? 'S05' : ''));
    stream.sendPacket('?');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+', '$S05']);
    conn.sendAsync('O6869');
    expect(stream.take()).toEqual([]); // S05 not acked yet
    stream.send('+');
    expect(stream.take()).toEqual(['$O6869']);
  });

  it('nacks a bad checksum without calling the handler; gdb retransmits', async () => {
    const { stream, conn, seen } = setup(() => 'OK');
    stream.send('$qC#00');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['-']);
    expect(seen).toEqual([]);
    stream.sendPacket('qC');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+', '$OK']);
  });

  it('retransmits on -, at most maxRetransmits times, then moves on', async () => {
    const { stream, conn, trace } = setup(() => 'OK');
    stream.sendPacket('qC');
    await conn.whenIdle();
    conn.sendAsync('O41');
    expect(stream.take()).toEqual(['+', '$OK']);
    stream.send('-');
    expect(stream.take()).toEqual(['$OK']);
    stream.send('-');
    expect(stream.take()).toEqual(['$OK']);
    stream.send('-'); // third nack: give up on OK, send the queued packet
    expect(stream.take()).toEqual(['$O41']);
    expect(trace.some((t) => t.includes('giving up'))).toBe(true);
  });

  it('treats the next command as an implicit ack of the previous reply', async () => {
    const { stream, conn } = setup((cmd) => (cmd.kind === 'currentThread' ? 'QC1' : 'OK'));
    stream.sendPacket('qC');
    await conn.whenIdle();
    stream.sendPacket('qC'); // no '+' for the first reply
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+', '$QC1', '+', '$QC1']);
  });

  it('stops acking after OK to QStartNoAckMode', async () => {
    const { stream, conn } = setup((cmd) => (cmd.kind === 'QStartNoAckMode' ? 'OK' : 'S05'));
    stream.sendPacket('QStartNoAckMode');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+', '$OK']);
    expect(conn.noAckMode).toBe(true);
    stream.send('+'); // gdb acks the OK; ignored
    stream.sendPacket('?');
    await conn.whenIdle();
    conn.sendAsync('O41');
    expect(stream.take()).toEqual(['$S05', '$O41']);
    stream.send('$?#00'); // bad checksum in no-ack mode: processed, not nacked
    await conn.whenIdle();
    expect(stream.take()).toEqual(['$S05']);
  });

  it('stays in ack mode if the handler refuses QStartNoAckMode', async () => {
    const { stream, conn } = setup(() => '');
    stream.sendPacket('QStartNoAckMode');
    await conn.whenIdle();
    expect(conn.noAckMode).toBe(false);
    expect(stream.take()).toEqual(['+', '$']);
  });
});

describe('RspConnection command loop', () => {
  it('handles commands strictly one at a time, in order', async () => {
    const first = deferred<string>();
    const { stream, conn, seen } = setup((cmd) => (cmd.kind === 'readMemory' ? first.promise : 'OK'));
    stream.send(Buffer.concat([encodePacket('m1000,4'), encodePacket('qC')]));
    await tick();
    expect(seen.map((c) => c.kind)).toEqual(['readMemory']);
    expect(stream.take()).toEqual(['+', '+']);
    first.resolve('cc909090');
    await conn.whenIdle();
    expect(seen.map((c) => c.kind)).toEqual(['readMemory', 'currentThread']);
    expect(stream.take()).toEqual(['$cc909090']);
    stream.send('+');
    expect(stream.take()).toEqual(['$OK']);
  });

  it('delivers Ctrl-C while a command is being handled', async () => {
    const stopped = deferred<null>();
    const { stream, conn } = setup((cmd) => (cmd.kind === 'continue' ? stopped.promise : ''));
    const interrupts: number[] = [];
    conn.onInterrupt(() => {
      interrupts.push(1);
      stopped.resolve(null);
      conn.sendStopReply('T02thread:1;');
    });
    stream.sendPacket('c');
    await tick();
    stream.send('\x03');
    await conn.whenIdle();
    expect(interrupts).toEqual([1]);
    expect(stream.take()).toEqual(['+', '$T02thread:1;']);
  });

  it('null reply sends nothing; the stop reply comes later', async () => {
    const { stream, conn } = setup(() => null);
    stream.sendPacket('vCont;c');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+']);
    conn.sendStopReply('T05thread:1;swbreak:;');
    expect(stream.take()).toEqual(['$T05thread:1;swbreak:;']);
  });

  it('passes malformed packets to the handler and replies with what it returns', async () => {
    const { stream, conn, seen } = setup((cmd) => {
      if (cmd.kind === 'malformed') throw cmd.error;
      return '';
    });
    stream.sendPacket('m1000');
    await conn.whenIdle();
    expect(seen[0]).toMatchObject({ kind: 'malformed', payload: Buffer.from('m1000') });
    expect((seen[0] as MalformedCommand).error.errno).toBe(RspErrno.EINVAL);
    expect(stream.take()).toEqual(['+', '$E16']);
  });

  it.each<[string, unknown, string]>([
    ['RspError', new RspError(RspErrno.EFAULT, 'bad'), 'E0e'],
    ['Error', new Error('boom'), 'E01'],
    ['string', 'boom', 'E01'],
  ])('turns a thrown %s into an E reply', async (_n, thrown, reply) => {
    const { stream, conn } = setup(async () => {
      throw thrown;
    });
    stream.sendPacket('m1000,4');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+', `$${reply}`]);
  });

  it('adds error strings when enabled', async () => {
    const { stream, conn } = setup(() => {
      throw new RspError(RspErrno.EFAULT, 'no');
    });
    conn.errorStrings = true;
    stream.sendPacket('m1000,4');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+', '$E0e;6e6f']);
  });

  it("turns error strings on once lldb's QEnableErrorStrings got OK, not before and not when refused", async () => {
    let enable = '';
    const { stream, conn } = setup((cmd) => {
      if (cmd.kind === 'QEnableErrorStrings') return enable;
      throw new RspError(RspErrno.EFAULT, 'no');
    });
    stream.sendPacket('QEnableErrorStrings');
    await conn.whenIdle();
    stream.send('+');
    expect(conn.errorStrings).toBe(false);
    enable = 'OK';
    stream.sendPacket('m1000,4');
    await conn.whenIdle();
    stream.send('+');
    stream.sendPacket('QEnableErrorStrings');
    await conn.whenIdle();
    stream.send('+');
    stream.sendPacket('m1000,4');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+', '$', '+', '$E0e', '+', '$OK', '+', '$E0e;6e6f']);
  });

  it('without a handler: empty reply, E16 for malformed', async () => {
    const { stream, conn } = setup();
    stream.sendPacket('qC');
    await conn.whenIdle();
    stream.send('+');
    stream.sendPacket('pzz');
    await conn.whenIdle();
    expect(stream.take()).toEqual(['+', '$', '+', '$E16']);
  });

  it('sends Buffer replies with binary escaping', async () => {
    const data = Buffer.from([0x6c, 0x24, 0x23, 0x7d, 0x2a, 0x00]);
    const { stream, conn } = setup(() => data);
    stream.sendPacket('qXfer:features:read:target.xml:0,10');
    await conn.whenIdle();
    const [, pkt] = stream.take();
    expect(pkt).toBe('$' + data.toString('latin1'));
    expect(Buffer.concat(stream.written.slice(1)).subarray(1, 11).toString('latin1')).toBe('l}\x04}\x03}]}\n\x00');
  });

  it('traces packets, acks and interrupts', async () => {
    const { stream, conn, trace } = setup(() => 'OK');
    stream.sendPacket('qC');
    await conn.whenIdle();
    stream.send('+\x03');
    expect(trace).toEqual(['in qC', 'out +', 'out OK', 'in +', 'in ^C']);
  });
});

describe('RspConnection close', () => {
  it('reports close once and drops replies after it', async () => {
    const pending = deferred<string>();
    const { stream, conn } = setup(() => pending.promise);
    const closes: (Error | undefined)[] = [];
    conn.onClose((e) => closes.push(e));
    stream.sendPacket('g');
    await tick();
    stream.emit('error', new Error('ECONNRESET'));
    stream.emit('close');
    pending.resolve('00');
    await conn.whenIdle();
    conn.sendAsync('O41');
    expect(closes).toHaveLength(1);
    expect(closes[0]?.message).toBe('ECONNRESET');
    expect(stream.take()).toEqual(['+']);
    expect(conn.closed).toBe(true);
    const late: unknown[] = [];
    conn.onClose((e) => late.push(e));
    expect(late).toHaveLength(1);
  });

  it('close() destroys the stream', () => {
    const { stream, conn } = setup();
    conn.close();
    expect(stream.destroyed).toBe(true);
    expect(conn.closed).toBe(true);
  });

  it('survives a throwing interrupt listener', () => {
    const { stream, conn } = setup();
    const calls: number[] = [];
    conn.onInterrupt(() => {
      throw new Error('bug');
    });
    conn.onInterrupt(() => calls.push(1));
    expect(() => stream.send('\x03')).not.toThrow();
    expect(calls).toEqual([1]);
  });
});
