/**
 * `--packet-log FILE`: both links in one readable, timestamped file, so a user can
 * see what gdb asked and what that cost on the serial line.
 *
 *     0.001234 gdb    -> $qSupported:multiprocess+;...#xx
 *     0.001300 target <- ReadTargetMemory 0x140001000 16
 */
import { createWriteStream, WriteStream } from 'fs';

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
