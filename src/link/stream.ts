/**
 * A Link over a Node socket (TCP or Unix): shared by tcp.ts and unix.ts.
 */
import type { Socket } from 'net';
import { JosgdbError } from '../common/errors';
import { BaseLink } from './link';

export class SocketLink extends BaseLink {
  constructor(
    private readonly socket: Socket,
    readonly description: string,
  ) {
    super();
    let lastError: Error | undefined;
    socket.on('data', (chunk: Buffer) => this.emitData(chunk));
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.on('close', () => {
      this.emitClose(lastError ? new JosgdbError('LINK_CLOSED', `${description} closed: ${lastError.message}`) : undefined);
    });
  }

  write(data: Buffer): void {
    if (this.closed || this.socket.destroyed) {
      throw new JosgdbError('LINK_CLOSED', `${this.description} is closed`);
    }
    this.socket.write(data);
  }

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.emitClose();
  }
}
