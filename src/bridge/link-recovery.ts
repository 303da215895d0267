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
import { sleep } from '../common/async';
import { errorMessage } from '../common/errors';
import type { Link } from '../link/link';
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
        await client.replaceLink(link, { state: seen.state, lastStop: seen.stop, lastAssert: seen.assertion });
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
