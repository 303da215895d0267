/**
 * The TCP endpoint gdb and lldb connect to. One debugger at a time: a second
 * connection is refused (closed at once) with a log line naming the peer, because
 * two front ends driving one stopped CPU would undo each other's breakpoints.
 * Whatever way a connection ends (detach, kill, a dropped socket), the session is
 * released: no breakpoint byte stays in the target and the target runs on.
 */
import net from 'net';
import type { Logger } from 'pino';
import { errorMessage, JosgdbError } from '../common/errors';
import { RspConnection, type RspStream } from '../rsp';
import { GdbHandlers } from './gdb-handlers';
import type { PacketLog } from './packet-log';
import type { HostFiles } from './host-files';
import type { Session } from './session';
import type { SymbolLookup } from './symbol-lookup';
import type { LoadedSymbols } from '../symbols/loader';

export interface GdbServerOptions {
  host: string;
  port: number;
  session: Session;
  log: Logger;
  linkDescription: string;
  packetLog?: PacketLog;
  setLogLevel(level: string): boolean;
  /** The synthesised symbol file gdb may load over the connection. */
  symbolFile?: { name: string; files: HostFiles };
  symbols?: SymbolLookup;
  /** The image and PDB loaded for the target: lldb is told where the image file is (see GdbHandlerContext.image). */
  image?: LoadedSymbols;
  /** Sees every byte of each debugger connection (`--record`, replay checks). */
  tap?: RspTap;
  /** Called once listening, before the "waiting for gdb" line is logged (a status line ends first). */
  onListening?: () => void;
}

/** Every byte on a debugger connection: `rx` from the debugger, `tx` to it. */
export interface RspTap {
  connected(peer: string): void;
  data(dir: 'rx' | 'tx', bytes: Buffer): void;
  closed(error?: string): void;
}

function tapped(socket: net.Socket, tap: RspTap): RspStream {
  return {
    write: (data: Buffer) => {
      tap.data('tx', data);
      return socket.write(data);
    },
    on: (event: string, listener: (arg?: never) => void) =>
      event === 'data' ? socket.on('data', (chunk: Buffer) => (tap.data('rx', chunk), listener(chunk as never))) : socket.on(event, listener),
    destroy: () => socket.destroy(),
  } as RspStream;
}

export class GdbServer {
  private server: net.Server | undefined;
  private active: { conn: RspConnection; handlers: GdbHandlers; peer: string } | undefined;
  private readonly closedWaiters = new Set<() => void>();

  constructor(private readonly options: GdbServerOptions) {}

  get address(): net.AddressInfo {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new Error('gdb server is not listening');
    return a;
  }

  get connected(): boolean {
    return this.active !== undefined;
  }

  listen(): Promise<void> {
    const { host, port, log } = this.options;
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.accept(socket));
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') {
          reject(new JosgdbError('LISTEN_FAILED', `cannot listen on ${host}:${port}: the port is in use (is another josgdb running? pick another with --listen)`));
        } else {
          reject(new JosgdbError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.message}`));
        }
      });
      server.listen(port, host, () => {
        this.server = server;
        const a = this.address;
        this.options.onListening?.();
        log.info(`waiting for gdb on ${a.address}:${a.port} (gdb -ex "target remote ${a.address}:${a.port}")`);
        resolve();
      });
    });
  }

  /** Resolves when the current gdb connection (if any) has ended and the session was released. */
  whenDisconnected(): Promise<void> {
    if (!this.active) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.add(resolve));
  }

  async close(): Promise<void> {
    this.active?.conn.close();
    await this.whenDisconnected();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(socket: net.Socket): void {
    const { log, session, packetLog } = this.options;
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    if (this.active) {
      log.warn(`refused a second debugger from ${peer}: ${this.active.peer} is connected (one debugger at a time)`);
      socket.destroy();
      return;
    }
    log.info(`debugger connected from ${peer}`);
    this.options.symbolFile?.files.reset();
    const tap = this.options.tap;
    tap?.connected(peer);
    const conn = new RspConnection(tap ? tapped(socket, tap) : socket, {
      trace: packetLog ? (dir, text) => packetLog.write('gdb', dir, text) : undefined,
    });
    let closeAfterReply = false;
    const handlers = new GdbHandlers({
      session,
      log,
      linkDescription: this.options.linkDescription,
      setLogLevel: this.options.setLogLevel,
      symbolFile: this.options.symbolFile,
      symbols: this.options.symbols,
      image: this.options.image,
      peer: {
        send: (payload) => conn.sendAsync(payload),
        closeAfterReply: () => {
          closeAfterReply = true;
        },
      },
    });
    this.active = { conn, handlers, peer };
    conn.onCommand(async (cmd) => {
      const reply = await handlers.handle(cmd);
      if (closeAfterReply) {
        // gdb closes after D/k itself; close anyway if it lingers.
        setTimeout(() => conn.close(), 500).unref();
      }
      return reply;
    });
    conn.onInterrupt(() => void handlers.interrupt());
    conn.onClose((err) => {
      tap?.closed(err?.message);
      handlers.dispose();
      if (err) log.warn(`debugger connection from ${peer} failed: ${err.message}`);
      else log.info(`debugger from ${peer} disconnected`);
      // After D or k the session is already released; a second release would take
      // the target's next stop for itself.
      const release = closeAfterReply ? Promise.resolve() : session.release({ resume: true });
      // release() takes the breakpoints out before it resumes, and a failure at
      // any step before the resume (the break-in, the breakpoint update, the
      // byte repair) leaves some in: "may" because a failed resume leaves none.
      void release
        .catch((e) =>
          log.error(
            `could not release the target after the debugger left: ${errorMessage(e)}; ` +
              'the kernel may still hold breakpoints: reconnect gdb and detach, or restart the target',
          ),
        )
        .finally(() => {
          this.active = undefined;
          for (const w of this.closedWaiters) w();
          this.closedWaiters.clear();
        });
    });
  }
}
