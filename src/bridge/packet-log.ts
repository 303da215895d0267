/**
 * `--packet-log FILE`: both links in one readable, timestamped file, so a user can
 * see what gdb asked and what that cost on the serial line.
 *
 *     0.001234 gdb    -> $qSupported:multiprocess+;...#xx
 *     0.001300 target <- ReadTargetMemory 0400000014000000...
 *     0.001950 target -> 0408000010000000...
 *
 * Target bytes are logged raw, in hex, as they crossed the link; what josgdb
 * sends is one request per write, named by its header.
 */
import { createWriteStream, WriteStream } from 'fs';
import type { Link } from '../link/link';
import { HANDSHAKE, HEADER_SIZE, packetName } from '../target/protocol';

export type PacketLink = 'gdb' | 'target';
export type PacketDirection = 'in' | 'out';

export class PacketLog {
  private readonly start = process.hrtime.bigint();
  private readonly stream: WriteStream;

  constructor(path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
  }

  write(link: PacketLink, direction: PacketDirection, text: string): void {
    const elapsed = Number(process.hrtime.bigint() - this.start) / 1e9;
    const arrow = direction === 'in' ? '->' : '<-';
    this.stream.write(`${elapsed.toFixed(6)} ${link.padEnd(6)} ${arrow} ${text}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

/** A target link whose bytes, both ways, also go to the packet log. */
export class TracedLink implements Link {
  constructor(
    private readonly inner: Link,
    private readonly log: PacketLog,
  ) {
    inner.onData((chunk) => log.write('target', 'in', chunk.toString('hex')));
  }

  get description(): string {
    return this.inner.description;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  write(data: Buffer): void {
    const hex = data.toString('hex');
    const named = data.length >= HEADER_SIZE && !data.equals(HANDSHAKE) ? `${packetName(data.readUInt32LE(0), 'toKernel')} ${hex}` : hex;
    this.log.write('target', 'out', named);
    this.inner.write(data);
  }
  close(): void {
    this.inner.close();
  }
  onData(cb: (chunk: Buffer) => void): void {
    this.inner.onData(cb);
  }
  onClose(cb: (err?: Error) => void): void {
    this.inner.onClose(cb);
  }
}
