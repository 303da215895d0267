/**
 * Link specs as the user types them:
 *
 *   tcp:HOST:PORT      tcp:[::1]:PORT      HOST:PORT      tcp:PORT (127.0.0.1)
 *   unix:PATH
 *   serial:PATH[:BAUD] /dev/ttyUSB0        COM3
 */
import { JosgdbError } from '../common/errors';
import type { Link } from './link';
import { DEFAULT_BAUD, openSerialLink } from './serial';
import { openTcpLink } from './tcp';
import { openUnixLink } from './unix';

export type LinkSpec =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'serial'; path: string; baud: number };

export interface OpenLinkOptions {
  /** Baud rate for a serial device when the spec names none (default 38400, josx64's rate). */
  baud?: number;
  connectTimeoutMs?: number;
}

const USAGE = 'expected tcp:HOST:PORT, HOST:PORT, unix:PATH, serial:DEVICE[:BAUD] or a device path such as /dev/ttyUSB0';

function bad(spec: string, why: string): never {
  throw new JosgdbError('BAD_ARGUMENT', `link "${spec}": ${why}; ${USAGE}`);
}

function port(spec: string, text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) bad(spec, `"${text}" is not a TCP port`);
  return n;
}

function hostPort(spec: string, rest: string): LinkSpec {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(rest);
  if (v6) return { kind: 'tcp', host: v6[1], port: port(spec, v6[2]) };
  const i = rest.lastIndexOf(':');
  if (i < 0) return { kind: 'tcp', host: '127.0.0.1', port: port(spec, rest) };
  const host = rest.slice(0, i) || '127.0.0.1';
  return { kind: 'tcp', host, port: port(spec, rest.slice(i + 1)) };
}

/** Parses a link spec; throws BAD_ARGUMENT naming the accepted forms. */
export function parseLinkSpec(spec: string, opts: OpenLinkOptions = {}): LinkSpec {
  const s = spec.trim();
  const baud = opts.baud ?? DEFAULT_BAUD;
  if (s.startsWith('tcp:')) return hostPort(spec, s.slice(4));
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (!path) bad(spec, 'no socket path');
    return { kind: 'unix', path };
  }
  if (s.startsWith('serial:')) {
    const rest = s.slice(7);
    const m = /^(.*):(\d+)$/.exec(rest);
    const path = m ? m[1] : rest;
    if (!path) bad(spec, 'no device path');
    const b = m ? Number(m[2]) : baud;
    if (!(b > 0)) bad(spec, `bad baud rate ${m?.[2] ?? b}`);
    return { kind: 'serial', path, baud: b };
  }
  if (s.startsWith('/') || /^COM\d+$/i.test(s)) return { kind: 'serial', path: s, baud };
  if (/^(\[[^\]]+\]|[A-Za-z0-9.-]+):\d+$/.test(s)) return hostPort(spec, s);
  return bad(spec, 'unrecognised form');
}

export function describeLinkSpec(spec: LinkSpec): string {
  switch (spec.kind) {
    case 'tcp':
      return `tcp:${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
    case 'unix':
      return `unix:${spec.path}`;
    case 'serial':
      return `serial:${spec.path}:${spec.baud}`;
  }
}

/** Opens the link a spec names. Rejects with BAD_ARGUMENT or LINK_UNREACHABLE (with a hint). */
export async function openLink(spec: string, opts: OpenLinkOptions = {}): Promise<Link> {
  const parsed = parseLinkSpec(spec, opts);
  switch (parsed.kind) {
    case 'tcp':
      return openTcpLink(parsed.host, parsed.port, { connectTimeoutMs: opts.connectTimeoutMs });
    case 'unix':
      return openUnixLink(parsed.path);
    case 'serial':
      return openSerialLink(parsed.path, parsed.baud);
  }
}
