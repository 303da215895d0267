/**
 * A TCP proxy between the bridge and QEMU's serial socket: the fault injector of
 * the reliability scenarios. It can cut the target link (at once, or after the
 * kernel has sent some more bytes: "in the middle of a reply"), inject bytes
 * towards the bridge as if the kernel had sent them, point at a new upstream
 * (QEMU restarted on another port) and count the handshakes (`josx`) the bridge
 * sends the kernel.
 */
import net from 'net';

export class LinkProxy {
  private readonly server: net.Server;
  private down: net.Socket | undefined;
  private up: net.Socket | undefined;
  private cutAfter: number | undefined;
  private hostBytes = '';
  /** `josx` sequences the bridge sent the kernel (handshakes). */
  handshakes = 0;
  /** Connections the bridge opened through the proxy. */
  connections = 0;
  /** Bytes from the bridge are dropped until the next connection (a killed bridge says nothing more). */
  private muteHost = false;
  /** Bytes from the kernel that are held back (not delivered) while set. */
  holdKernel = false;
  port = 0;
  /** Sent to the bridge on the next connection, as if the kernel had (the tail of a reply the drop cut). */
  onNextConnect: Buffer | undefined;

  private constructor(private upstreamPort: number) {
    this.server = net.createServer((sock) => this.accept(sock));
  }

  static async start(upstreamPort: number): Promise<LinkProxy> {
    const p = new LinkProxy(upstreamPort);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', () => resolve()));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  get spec(): string {
    return `tcp:127.0.0.1:${this.port}`;
  }

  setUpstream(port: number): void {
    this.upstreamPort = port;
  }

  private accept(down: net.Socket): void {
    this.connections++;
    this.muteHost = false;
    if (this.onNextConnect) {
      down.write(this.onNextConnect);
      this.onNextConnect = undefined;
    }
    down.setNoDelay(true);
    const up = net.connect(this.upstreamPort, '127.0.0.1');
    up.setNoDelay(true);
    this.down = down;
    this.up = up;
    const end = () => {
      down.destroy();
      up.destroy();
    };
    up.on('data', (chunk: Buffer) => {
      if (this.holdKernel) return;
      if (this.cutAfter !== undefined) {
        if (chunk.length >= this.cutAfter) {
          down.write(chunk.subarray(0, this.cutAfter));
          this.cutAfter = undefined;
          end();
          return;
        }
        this.cutAfter -= chunk.length;
      }
      down.write(chunk);
    });
    down.on('data', (chunk: Buffer) => {
      if (this.muteHost) return;
      this.hostBytes = (this.hostBytes + chunk.toString('latin1')).slice(-64);
      const n = this.hostBytes.split('josx').length - 1;
      if (n > 0) {
        this.handshakes += n;
        this.hostBytes = this.hostBytes.slice(this.hostBytes.lastIndexOf('josx') + 4);
      }
      up.write(chunk);
    });
    up.on('close', end);
    down.on('close', end);
    up.on('error', () => undefined);
    down.on('error', () => undefined);
  }

  /** From now on nothing the bridge sends reaches the kernel (until it connects again). */
  muteBridge(): void {
    this.muteHost = true;
  }

  /** Drops the link now (both sides see a close). */
  cut(): void {
    this.down?.destroy();
    this.up?.destroy();
  }

  /** Drops the link once the kernel has sent `bytes` more bytes. */
  cutAfterKernelBytes(bytes: number): void {
    this.cutAfter = bytes;
  }

  /** Bytes the bridge receives as if the kernel had sent them. */
  inject(bytes: Buffer): void {
    this.down?.write(bytes);
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
