/**
 * An in-memory pair of connected links for tests: what one side writes, the other
 * receives, asynchronously (a microtask later, as real I/O would), optionally cut
 * into arbitrary chunks. Closing either side closes both.
 */
import { JosgdbError } from '../common/errors';
import type { Link } from './link';
import { BaseLink } from './link';

export interface LinkPairOptions {
  /** Cuts each write into the chunks the peer receives (default: one chunk per write). */
  split?: (data: Buffer) => Buffer[];
}

class MemoryLink extends BaseLink {
  peer!: MemoryLink;
  constructor(
    readonly description: string,
    private readonly split: ((data: Buffer) => Buffer[]) | undefined,
  ) {
    super();
  }

  write(data: Buffer): void {
    if (this.closed) throw new JosgdbError('LINK_CLOSED', `${this.description} is closed`);
    const copy = Buffer.from(data);
    const chunks = this.split ? this.split(copy) : [copy];
    const peer = this.peer;
    queueMicrotask(() => {
      for (const c of chunks) peer.deliver(c);
    });
  }

  deliver(chunk: Buffer): void {
    this.emitData(chunk);
  }

  close(): void {
    this.shut();
  }

  shut(err?: Error): void {
    if (this.closed) return;
    this.emitClose(err);
    this.peer.shut(err);
  }
}

/** [host side, target side]. */
export function linkPair(opts: LinkPairOptions = {}): [Link, Link] {
  const a = new MemoryLink('memory:host', opts.split);
  const b = new MemoryLink('memory:target', opts.split);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
