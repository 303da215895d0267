/**
 * Keeps the target link up. When it drops (QEMU's socket closed, a USB serial
 * adapter unplugged), the kernel keeps its state: QEMU even keeps the machine
 * running and only discards serial output while nobody listens. So the bridge
 * reopens the same link spec, attaches without a handshake in the state the
 * kernel was last seen in, and the debugging session goes on. gdb stays
 * connected throughout and hears about it on its console.
 *
 * What cannot be known: a stop that happened while the link was down was lost
 * with QEMU's discarded output, so a kernel last seen running may in fact sit
 * in a stop. The bridge does not break in on its own (gdb would see a SIGINT
 * nobody asked for); the user's Ctrl-C does it on a target with break-in.
 */
import type { Logger } from 'pino';
import { sleep, withTimeout } from '../common/async';
import { errorMessage } from '../common/errors';
import { BaseLink, type Link } from '../link/link';
import type { AssertEvent, KernelClient, KernelState, StopEvent } from '../target/client';
import type { KernelTarget } from './kernel-target';

export interface LinkRecoveryOptions {
  client: KernelClient;
  target: KernelTarget;
  reopen: () => Promise<Link>;
  log: Logger;
  /** First retry delay; it doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /**
   * A kernel last seen stopped must answer a CPUID probe once the link is back; one
   * that does not has rebooted (QEMU restarted, a power cycle) and waits for `josx`.
   * Called then: the bridge forgets the old boot and handshakes with the new one.
   */
  onRebooted?: () => Promise<void>;
  /** How long the probe waits (default 3 s). */
  probeMs?: number;
  /** How long the line must be quiet after a reconnect to a stopped kernel (default 50 ms). */
  quietMs?: number;
}

interface LastSeen {
  state: Exclude<KernelState, 'disconnected'>;
  stop?: StopEvent;
  assertion?: AssertEvent;
}

export class LinkRecovery {
  private lastSeen: LastSeen | undefined;
  private stopped = false;

  constructor(private readonly options: LinkRecoveryOptions) {
    const { client, target } = options;
    client.on('state', () => this.remember());
    client.on('stop', () => this.remember());
    client.on('assert', () => this.remember());
    this.remember();
    target.onLinkLost((reason) => void this.recover(reason));
  }

  /** Stops retrying; a link lost after this ends the session. */
  stop(): void {
    this.stopped = true;
    this.options.target.onLinkLost(undefined);
  }

  private remember(): void {
    const { client } = this.options;
    if (client.state !== 'disconnected') {
      this.lastSeen = { state: client.state, stop: client.lastStop, assertion: client.lastAssert };
    }
  }

  private async answersProbe(): Promise<boolean> {
    try {
      await withTimeout(this.options.client.cpuid(0, 0), this.options.probeMs ?? 3000, 'CPUID probe');
      return true;
    } catch {
      return false;
    }
  }

  private async recover(reason: string): Promise<void> {
    const { client, target, log } = this.options;
    const seen = this.lastSeen;
    if (!seen || client.wedged) {
      target.endSession(reason);
      return;
    }
    log.error(`the target link ${client.description} dropped (${reason}); reconnecting, the kernel keeps its state meanwhile`);
    target.notify(`josgdb: the target link ${client.description} dropped (${reason}); reconnecting...`);
    let delay = this.options.initialDelayMs ?? 250;
    const maxDelay = this.options.maxDelayMs ?? 5000;
    for (let attempt = 1; !this.stopped; attempt++) {
      let link: Link | undefined;
      try {
        link = await this.options.reopen();
        if (this.stopped) {
          link.close();
          break;
        }
        if (seen.state !== 'running') {
          // A kernel in its stop loop sends nothing unasked, but the link may have
          // dropped in the middle of a reply: the rest of it arrives now (QEMU keeps
          // what it could not send, a UART's FIFO drains). It would be read as
          // garbage at best and as a header announcing a long body at worst, so it
          // is discarded until the line is quiet, before anything is asked.
          const gated = new QuietGate(link);
          const discarded = await gated.drain(this.options.quietMs ?? 50, 10_000);
          if (discarded > 0) log.warn(`discarded ${discarded} bytes the kernel was still sending when the link dropped (an interrupted reply)`);
          link = gated;
        }
        await client.replaceLink(link, { state: seen.state, lastStop: seen.stop, lastAssert: seen.assertion });
        if (seen.state === 'stopped' && this.options.onRebooted && !(await this.answersProbe())) {
          log.warn(`the kernel on ${client.description} no longer answers as a stopped kernel: it rebooted; handshaking with the new boot`);
          target.notify(
            'josgdb: the target rebooted while the link was down; the old boot\'s breakpoints and state are gone. Handshaking with the new boot: its first stop (at main) is the new state.',
          );
          this.lastSeen = undefined;
          await this.options.onRebooted();
          log.info(`handshook with the new boot on ${client.description}`);
          return;
        }
        log.info(`target link ${client.description} restored after ${attempt} attempt(s); the kernel was last seen ${seen.state}`);
        target.notify(`josgdb: target link restored; the kernel was last seen ${seen.state}`);
        return;
      } catch (err) {
        link?.close();
        if (attempt === 1 || attempt % 10 === 0) {
          log.warn(`reconnecting to ${client.description} failed (attempt ${attempt}): ${errorMessage(err)}; retrying`);
        }
      }
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    }
    target.endSession(reason);
  }
}

/**
 * A reopened link whose incoming bytes are thrown away until the line has been
 * quiet for a while; afterwards it passes everything on (BaseLink keeps bytes
 * that arrive before anyone listens for the first listener).
 */
class QuietGate extends BaseLink {
  private draining = true;
  private lastData = Date.now();
  private discarded = 0;

  constructor(private readonly inner: Link) {
    super();
    inner.onData((chunk) => {
      if (this.draining) {
        this.discarded += chunk.length;
        this.lastData = Date.now();
        return;
      }
      this.emitData(chunk);
    });
    inner.onClose((err) => this.emitClose(err));
  }

  get description(): string {
    return this.inner.description;
  }

  /** Resolves with the number of bytes thrown away once nothing came for `quietMs` (or after `maxMs`). */
  async drain(quietMs: number, maxMs: number): Promise<number> {
    const started = Date.now();
    while (!this.inner.closed && Date.now() - this.lastData < quietMs && Date.now() - started < maxMs) {
      await sleep(Math.max(10, quietMs - (Date.now() - this.lastData)));
    }
    this.draining = false;
    return this.discarded;
  }

  write(data: Buffer): void {
    this.inner.write(data);
  }
  close(): void {
    this.inner.close();
  }
}
