/**
 * Unix-domain socket client link, for QEMU's `-serial unix:PATH,server=on,wait=off`.
 */
import * as net from 'net';
import { JosgdbError } from '../common/errors';
import type { Link } from './link';
import { SocketLink } from './stream';

function explain(err: NodeJS.ErrnoException, path: string): JosgdbError {
  switch (err.code) {
    case 'ENOENT':
      return new JosgdbError('LINK_UNREACHABLE', `no socket at ${path}: is QEMU running with -serial unix:${path},server=on,wait=off?`);
    case 'ECONNREFUSED':
      return new JosgdbError('LINK_UNREACHABLE', `nothing listens on ${path} (a stale socket file?)`);
    case 'EACCES':
      return new JosgdbError('LINK_UNREACHABLE', `permission denied connecting to ${path}: the socket belongs to another user (ls -l ${path}); run QEMU and josgdb as the same user`);
    default:
      return new JosgdbError('LINK_UNREACHABLE', `cannot connect to ${path}: ${err.message}`);
  }
}

export function openUnixLink(path: string): Promise<Link> {
  return new Promise<Link>((resolve, reject) => {
    const socket = net.connect({ path });
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.destroy();
      reject(explain(err, path));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new SocketLink(socket, `unix:${path}`));
    });
  });
}
