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
      return new JosgdbError('LINK_UNREACHABLE', `cannot resolve host "${host}"`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new JosgdbError('LINK_UNREACHABLE', `cannot reach ${where} (${err.code})`);
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
      reject(new JosgdbError('LINK_UNREACHABLE', `no connection to ${host}:${port} within ${timeoutMs} ms`));
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
