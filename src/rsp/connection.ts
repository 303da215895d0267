/**
 * One RSP session over a byte stream: acks, retransmission, no-ack mode, and a
 * strictly sequential request/reply loop. The handler sees typed commands and
 * returns the reply payload; it never writes to the socket. Interrupts (Ctrl-C)
 * bypass the queue so they arrive while a command (e.g. a continue) is still
 * being handled.
 *
 * Acknowledgment rules (gdb manual, "Packet Acknowledgment"):
 * - every well-formed packet we receive is acked with `+` at once, a bad
 *   checksum gets `-` (gdb retransmits);
 * - every packet we send waits for `+` before the next is sent; `-` resends it,
 *   at most `maxRetransmits` times;
 * - after we reply `OK` to QStartNoAckMode both sides stop acking (gdb still
 *   acks that `OK` itself; the stray `+` is ignored).
 */
import { errorReply, RspErrno, RspError } from './errors';
import { parseCommand, type RspCommand } from './commands';
import { describeEvent, encodePacket, RspDecoder, type RspEvent } from './framing';
import { printable } from './hex';

/** The subset of net.Socket we use, so tests can pass a fake. */
export interface RspStream {
  write(data: Buffer): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  destroy(): unknown;
}

/** A packet whose arguments did not parse; reply with `errorReply(cmd.error)` (or just throw it). */
export interface MalformedCommand {
  kind: 'malformed';
  error: RspError;
  payload: Buffer;
}

export type CommandHandler = (
  cmd: RspCommand | MalformedCommand,
) => Promise<string | Buffer | null> | string | Buffer | null;

export type TraceFn = (dir: 'in' | 'out', text: string) => void;

export interface RspConnectionOptions {
  /** Packet log (`--packet-log`): every packet, ack and interrupt, rendered printable. */
  trace?: TraceFn;
  /** Resends of one packet on `-` before giving up on it. Default 5. */
  maxRetransmits?: number;
  /** Largest packet accepted; bigger ones are dropped as garbage. Default 1 MiB. */
  maxPacketSize?: number;
}

export class RspConnection {
  private readonly decoder: RspDecoder;
  private readonly trace: TraceFn | undefined;
  private readonly maxRetransmits: number;
  private handler: CommandHandler | undefined;
  private readonly interruptListeners: (() => void)[] = [];
  private readonly closeListeners: ((err?: Error) => void)[] = [];

  private readonly incoming: Buffer[] = [];
  private busy = false;
  private idleWaiters: (() => void)[] = [];

  private readonly outgoing: Buffer[] = [];
  private unacked: { frame: Buffer; payload: Buffer; retries: number } | undefined;

  private noAck = false;
  private isClosed = false;
  private closeError: Error | undefined;

  /** lldb QEnableErrorStrings: append hex messages to `Enn` replies from thrown errors. */
  errorStrings = false;

  constructor(
    private readonly stream: RspStream,
    opts: RspConnectionOptions = {},
  ) {
    this.decoder = new RspDecoder(opts.maxPacketSize !== undefined ? { maxPacketSize: opts.maxPacketSize } : {});
    this.trace = opts.trace;
    this.maxRetransmits = opts.maxRetransmits ?? 5;
    stream.on('data', (chunk) => this.onData(chunk));
    stream.on('error', (err) => this.markClosed(err));
    stream.on('close', () => this.markClosed());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get noAckMode(): boolean {
    return this.noAck;
  }

  /** Set the (single) command handler. Without one, every command gets the empty reply. */
  onCommand(handler: CommandHandler): void {
    this.handler = handler;
  }

  /** Ctrl-C (0x03) from the client; delivered immediately, even mid-command. */
  onInterrupt(listener: () => void): void {
    this.interruptListeners.push(listener);
  }

  /** The stream closed (with the error, if it failed). Called once. */
  onClose(listener: (err?: Error) => void): void {
    if (this.isClosed) listener(this.closeError);
    else this.closeListeners.push(listener);
  }

  /** A reply that comes later than its command: the stop reply after `c`/`s`/`vCont`. */
  sendStopReply(payload: string | Buffer): void {
    this.sendPacket(payload);
  }

  /** Any other target-initiated packet, e.g. `O` console output while running. */
  sendAsync(payload: string | Buffer): void {
    this.sendPacket(payload);
  }

  /** Resolves once no command is queued or being handled (tests, orderly shutdown). */
  whenIdle(): Promise<void> {
    if (!this.busy && this.incoming.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    if (this.isClosed) return;
    this.stream.destroy();
    this.markClosed();
  }

  // --- input ---

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    let events: RspEvent[];
    try {
      events = this.decoder.push(chunk);
    } catch {
      return; // the decoder does not throw; belt and braces
    }
    for (const ev of events) this.onEvent(ev);
  }

  private onEvent(ev: RspEvent): void {
    this.trace?.('in', describeEvent(ev));
    switch (ev.kind) {
      case 'ack':
        if (this.unacked) {
          this.unacked = undefined;
          this.flushOutgoing();
        }
        break;
      case 'nack':
        this.retransmit();
        break;
      case 'interrupt':
        for (const l of this.interruptListeners) this.safely(l);
        break;
      case 'bad-checksum':
        if (this.noAck) {
          // Nobody will retransmit in no-ack mode; over TCP a mismatch is a
          // client quirk, not line noise, so process what we got.
          this.accept(ev.payload);
        } else {
          this.writeRaw(Buffer.from('-'), '-');
        }
        break;
      case 'packet':
        this.accept(ev.payload);
        break;
      case 'garbage':
        break;
    }
  }

  private accept(payload: Buffer): void {
    if (!this.noAck) {
      this.writeRaw(Buffer.from('+'), '+');
      // The client only sends a new command after it has our previous reply,
      // so a lost `+` must not stall our output queue.
      if (this.unacked) {
        this.unacked = undefined;
        this.flushOutgoing();
      }
    }
    this.incoming.push(payload);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.incoming.length > 0 && !this.isClosed) {
        const payload = this.incoming.shift()!;
        let cmd: RspCommand | MalformedCommand;
        try {
          cmd = parseCommand(payload);
        } catch (err) {
          const error = err instanceof RspError ? err : new RspError(RspErrno.EINVAL, String(err));
          cmd = { kind: 'malformed', error, payload };
        }
        let reply: string | Buffer | null;
        try {
          if (this.handler) reply = await this.handler(cmd);
          else reply = cmd.kind === 'malformed' ? errorReply(cmd.error, { errorStrings: this.errorStrings }) : '';
        } catch (err) {
          reply = errorReply(err, { errorStrings: this.errorStrings });
        }
        if (reply === null || this.isClosed) continue;
        this.sendPacket(reply);
        if (cmd.kind === 'QStartNoAckMode' && isOk(reply)) {
          this.noAck = true;
          // Anything still waiting for an ack goes out now, unacked.
          this.unacked = undefined;
          this.flushOutgoing();
        }
        // lldb asked for `Enn;hex-text` errors and the handler agreed: it then shows
        // our reason ("cannot read 0x0: page not present") instead of a bare errno.
        if (cmd.kind === 'QEnableErrorStrings' && isOk(reply)) this.errorStrings = true;
      }
    } finally {
      this.busy = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  // --- output ---

  private sendPacket(payload: string | Buffer): void {
    if (this.isClosed) return;
    const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    this.outgoing.push(data);
    this.flushOutgoing();
  }

  private flushOutgoing(): void {
    while (!this.isClosed && !this.unacked && this.outgoing.length > 0) {
      const payload = this.outgoing.shift()!;
      const frame = encodePacket(payload);
      this.writeRaw(frame, printable(payload, 4096));
      if (!this.noAck) this.unacked = { frame, payload, retries: 0 };
    }
  }

  private retransmit(): void {
    const u = this.unacked;
    if (!u || this.noAck) return;
    if (u.retries >= this.maxRetransmits) {
      this.trace?.('out', `<giving up after ${u.retries} retransmits> ${printable(u.payload, 256)}`);
      this.unacked = undefined;
      this.flushOutgoing();
      return;
    }
    u.retries++;
    this.writeRaw(u.frame, printable(u.payload, 4096));
  }

  private writeRaw(data: Buffer, traceText: string): void {
    if (this.isClosed) return;
    this.trace?.('out', traceText);
    try {
      this.stream.write(data);
    } catch (err) {
      this.markClosed(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private markClosed(err?: Error): void {
    if (err && !this.closeError) this.closeError = err;
    if (this.isClosed) return;
    this.isClosed = true;
    this.incoming.length = 0;
    this.outgoing.length = 0;
    this.unacked = undefined;
    const listeners = this.closeListeners.splice(0);
    for (const l of listeners) this.safely(() => l(this.closeError));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // A listener's bug must not take the session down.
    }
  }
}

function isOk(reply: string | Buffer): boolean {
  return (typeof reply === 'string' ? reply : reply.toString('latin1')) === 'OK';
}
