/**
 * A bare RSP client over a real socket, for tests that must send what gdb never
 * would: it frames any payload, acks what it receives, and checks that every
 * packet coming back is well formed (framing and checksum).
 */
import net from 'net';
import { checksum, decodePayload, encodePacket } from '../../src/rsp/framing';

export interface RspReply {
  /** Console output packets (`O` + hex) that came before the final packet, decoded. */
  console: string;
  /** The final packet's payload. */
  payload: string;
}

export class RawRspClient {
  private buffer = Buffer.alloc(0);
  private packets: string[] = [];
  private waiter: (() => void) | undefined;
  private closedFlag = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawRspClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawRspClient(socket)));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Frames `payload` with a correct checksum and sends it. */
  send(payload: Buffer | string): void {
    this.socket.write(encodePacket(payload));
  }

  sendRaw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /**
   * The next reply: `O` console packets are collected until a final packet comes.
   * Undefined when nothing complete arrived within `timeoutMs` or the socket closed.
   */
  async reply(timeoutMs: number): Promise<RspReply | undefined> {
    let console = '';
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const packet = await this.nextPacket(deadline - Date.now());
      if (packet === undefined) return undefined;
      if (packet.startsWith('O') && packet !== 'OK' && /^O([0-9a-f]{2})+$/i.test(packet)) {
        console += Buffer.from(packet.slice(1), 'hex').toString('latin1');
        continue;
      }
      return { console, payload: packet };
    }
  }

  private async nextPacket(timeoutMs: number): Promise<string | undefined> {
    while (this.packets.length === 0) {
      if (this.closedFlag || timeoutMs <= 0) return undefined;
      const started = Date.now();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
      timeoutMs -= Date.now() - started;
    }
    return this.packets.shift();
  }

  /** Splits the byte stream into packets; anything malformed fails the test loudly. */
  private drain(): void {
    for (;;) {
      while (this.buffer.length > 0 && (this.buffer[0] === 0x2b || this.buffer[0] === 0x2d)) this.buffer = this.buffer.subarray(1);
      if (this.buffer.length === 0) return;
      if (this.buffer[0] !== 0x24) {
        throw new Error(`bridge sent a byte outside a packet: 0x${this.buffer[0]!.toString(16)} in ${JSON.stringify(this.buffer.toString('latin1').slice(0, 80))}`);
      }
      const hash = this.buffer.indexOf(0x23);
      if (hash < 0 || this.buffer.length < hash + 3) return;
      const wire = this.buffer.subarray(1, hash);
      const sum = this.buffer.subarray(hash + 1, hash + 3).toString('latin1');
      if (wire.includes(0x24)) throw new Error(`unescaped '$' inside a reply: ${JSON.stringify(wire.toString('latin1').slice(0, 80))}`);
      if (parseInt(sum, 16) !== checksum(wire) || !/^[0-9a-f]{2}$/.test(sum)) {
        throw new Error(`bad checksum ${sum} on reply ${JSON.stringify(wire.toString('latin1').slice(0, 80))}`);
      }
      this.packets.push(decodePayload(wire).toString('latin1'));
      this.buffer = this.buffer.subarray(hash + 3);
      this.socket.write('+');
    }
  }

  close(): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 500).unref();
    });
  }
}
