/** `--listen HOST:PORT` parsing and the loopback rule: anything else needs --allow-remote. */
import { JosgdbError } from '../common/errors';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new JosgdbError('BAD_ARGUMENT', `--listen "${text}": expected HOST:PORT or PORT, e.g. 127.0.0.1:1234`);
  }
  return { host: m[1] || '127.0.0.1', port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
