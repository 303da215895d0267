/**
 * TCP client link, for QEMU's `-serial tcp:HOST:PORT,server=on,wait=off`. Nagle is
 * off on our side (setNoDelay): the protocol is request/reply with small packets,
 * and QEMU needs `nodelay=on` on its side for the same reason.
 */
import * as net from 'net';
import { JosgdbError } from '../common/errors';
import type { Link } from './link';
import { SocketLink } from './stream';

export interface TcpLinkOptions {
  /** Give up connecting after this long (default 5000 ms). */
  connectTimeoutMs?: number;
}

function explain(err: NodeJS.ErrnoException, host: string, port: number): JosgdbError {
  const where = `${host}:${port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return new JosgdbError(
        'LINK_UNREACHABLE',
        `nothing listens on ${where}: is QEMU running with -serial tcp:${where},server=on,wait=off?`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new JosgdbError('LINK_UNREACHABLE', `cannot resolve host "${host}" in --target: check the name, or give an IP address such as 127.0.0.1`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new JosgdbError('LINK_UNREACHABLE', `cannot reach ${where} (${err.code}): is the machine up, and is the port not blocked by a firewall?`);
    default:
      return new JosgdbError('LINK_UNREACHABLE', `cannot connect to ${where}: ${err.message}`);
  }
}

export function openTcpLink(host: string, port: number, opts: TcpLinkOptions = {}): Promise<Link> {
  const timeoutMs = opts.connectTimeoutMs ?? 5000;
  return new Promise<Link>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new JosgdbError('LINK_UNREACHABLE', `no connection to ${host}:${port} within ${timeoutMs} ms (a firewall dropping packets? for a VM on this machine use 127.0.0.1)`));
    }, timeoutMs);
    timer.unref();
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(explain(err, host, port));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(new SocketLink(socket, `tcp:${host}:${port}`));
    });
  });
}

export interface TcpListenOptions {
  /** Give up when no target connected within this long (default: wait for ever). */
  acceptTimeoutMs?: number;
  onListening?: (where: string) => void;
}

/**
 * The other way round, for QEMU's `-serial tcp:HOST:PORT` without `server`: josgdb
 * listens and the first connection becomes the link. The listening socket is
 * closed at once, so a reopen after a drop listens afresh (QEMU started with
 * `reconnect=1` connects again).
 */
export function openTcpListenLink(host: string, port: number, opts: TcpListenOptions = {}): Promise<Link> {
  return new Promise<Link>((resolve, reject) => {
    const server = net.createServer();
    let timer: NodeJS.Timeout | undefined;
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(
        new JosgdbError(
          'LINK_UNREACHABLE',
          err.code === 'EADDRINUSE'
            ? `cannot listen for the target on ${host}:${port}: the port is in use`
            : `cannot listen for the target on ${host}:${port}: ${err.message}`,
        ),
      );
    });
    server.once('connection', (socket) => {
      if (timer) clearTimeout(timer);
      server.close();
      socket.setNoDelay(true);
      resolve(new SocketLink(socket, `tcp-listen:${host}:${port} (target at ${socket.remoteAddress}:${socket.remotePort})`));
    });
    server.listen(port, host, () => {
      const a = server.address() as net.AddressInfo;
      opts.onListening?.(`${a.address}:${a.port}`);
      if (opts.acceptTimeoutMs !== undefined) {
        timer = setTimeout(() => {
          server.close();
          reject(new JosgdbError('LINK_UNREACHABLE', `no target connected to ${host}:${a.port} within ${opts.acceptTimeoutMs} ms: is QEMU running with -serial tcp:${host}:${a.port}?`));
        }, opts.acceptTimeoutMs);
        timer.unref();
      }
    });
  });
}
