/**
 * Link specs as the user types them (docs/hardware.md has the full syntax):
 *
 *   tcp:HOST:PORT      tcp:[::1]:PORT      HOST:PORT      tcp:PORT (127.0.0.1)
 *   tcp-listen:HOST:PORT (josgdb listens, QEMU -serial tcp:HOST:PORT connects)
 *   unix:PATH
 *   serial:PATH[:BAUD] /dev/ttyUSB0[:BAUD] COM3[:BAUD] /dev/pts/3 (QEMU -serial pty)
 *
 * followed by comma-separated options:
 *
 *   serial lines:  8N1 (data bits 5-8, parity N/E/O/M/S, stop bits 1/1.5/2),
 *                  databits=8 parity=none stopbits=1, flow=none|rtscts|xonxoff
 *   any link:      throttle=BAUD, jitter=MS (pace both directions like a UART)
 *
 *   serial:/dev/ttyUSB0:115200,8N1,flow=rtscts     tcp:127.0.0.1:5555,throttle=115200,jitter=2
 */
import { JosgdbError } from '../common/errors';
import type { Link } from './link';
import { DEFAULT_BAUD, isBaudRate, openSerialLink, type SerialSettings } from './serial';
import { openTcpLink, openTcpListenLink } from './tcp';
import { throttleLink, type ThrottleOptions } from './throttle';
import { openUnixLink } from './unix';

export type LinkSpec = (
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'tcp-listen'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'serial'; path: string; baud: number; serial?: SerialSettings }
) & { throttle?: ThrottleOptions };

export interface OpenLinkOptions {
  /** Baud rate for a serial device when the spec names none (default 38400, josx64's rate). */
  baud?: number;
  connectTimeoutMs?: number;
  /** Pace the link like a UART (`--throttle`); a throttle in the spec wins. */
  throttle?: ThrottleOptions;
  /** tcp-listen: called once listening, before the target connects. */
  onListening?: (where: string) => void;
}

const USAGE =
  'expected tcp:HOST:PORT, HOST:PORT, tcp-listen:HOST:PORT, unix:PATH, serial:DEVICE[:BAUD] or a device path such as /dev/ttyUSB0, ' +
  'optionally followed by ,8N1 ,flow=rtscts ,throttle=BAUD ,jitter=MS';

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

/** Parses `BAUD[,JITTER_MS]` (the --throttle option). */
export function parseThrottle(text: string): ThrottleOptions {
  const m = /^(\d+)(?:,(\d+(?:\.\d+)?)(?:ms)?)?$/.exec(text.trim());
  const baud = m ? Number(m[1]) : NaN;
  if (!m || !(baud > 0)) throw new JosgdbError('BAD_ARGUMENT', `--throttle "${text}": expected BAUD or BAUD,JITTER_MS, e.g. 115200 or 115200,2`);
  return m[2] !== undefined ? { baud, jitterMs: Number(m[2]) } : { baud };
}

const PARITIES: Record<string, SerialSettings['parity']> = { n: 'none', e: 'even', o: 'odd', m: 'mark', s: 'space' };

function applyOptions(spec: string, base: LinkSpec, options: string[]): LinkSpec {
  const out: LinkSpec = { ...base };
  const serial = (what: string): SerialSettings => {
    if (out.kind !== 'serial') bad(spec, `${what} applies to serial devices only`);
    return (out.serial ??= {});
  };
  for (const raw of options) {
    const o = raw.trim();
    const frame = /^([5-8])([neoms])(1\.5|1|2)$/i.exec(o);
    if (frame) {
      const s = serial(o);
      s.dataBits = Number(frame[1]) as SerialSettings['dataBits'];
      s.parity = PARITIES[frame[2].toLowerCase()];
      s.stopBits = Number(frame[3]) as SerialSettings['stopBits'];
      continue;
    }
    const kv = /^([a-z]+)=(.+)$/i.exec(o);
    if (!kv) bad(spec, `unknown option "${o}"`);
    const [, key, value] = kv;
    switch (key.toLowerCase()) {
      case 'databits':
        if (!/^[5-8]$/.test(value)) bad(spec, `databits must be 5, 6, 7 or 8, not "${value}"`);
        serial(key).dataBits = Number(value) as SerialSettings['dataBits'];
        break;
      case 'parity': {
        const p = Object.values(PARITIES).find((x) => x === value.toLowerCase());
        if (!p) bad(spec, `parity must be none, even, odd, mark or space, not "${value}"`);
        serial(key).parity = p;
        break;
      }
      case 'stopbits':
        if (!/^(1|1\.5|2)$/.test(value)) bad(spec, `stopbits must be 1, 1.5 or 2, not "${value}"`);
        serial(key).stopBits = Number(value) as SerialSettings['stopBits'];
        break;
      case 'flow':
        if (!/^(none|rtscts|xonxoff)$/.test(value)) bad(spec, `flow must be none, rtscts or xonxoff, not "${value}"`);
        serial(key).flow = value as SerialSettings['flow'];
        break;
      case 'throttle':
        if (!/^\d+$/.test(value) || !(Number(value) > 0)) bad(spec, `throttle must be a baud rate, not "${value}"`);
        out.throttle = { ...out.throttle, baud: Number(value) };
        break;
      case 'jitter':
        if (!/^\d+(\.\d+)?(ms)?$/.test(value)) bad(spec, `jitter must be milliseconds, not "${value}"`);
        out.throttle = { baud: out.throttle?.baud ?? 0, jitterMs: parseFloat(value) };
        break;
      default:
        bad(spec, `unknown option "${key}"`);
    }
  }
  if (out.throttle && !(out.throttle.baud > 0)) bad(spec, 'jitter needs throttle=BAUD');
  return out;
}

/** Parses a link spec; throws BAD_ARGUMENT naming the accepted forms. */
export function parseLinkSpec(spec: string, opts: OpenLinkOptions = {}): LinkSpec {
  const [head, ...options] = spec.trim().split(',');
  const base = parseBase(spec, head, opts);
  return options.length ? applyOptions(spec, base, options) : base;
}

/**
 * The rate for a serial spec that names none: --baud, else josx64's. Checked
 * here, where it is known to come from --baud, so the error names the option
 * (and main.ts adds JOSGDB_BAUD or the config file when it was set there).
 */
function optionBaud(opts: OpenLinkOptions): number {
  const baud = opts.baud ?? DEFAULT_BAUD;
  if (!isBaudRate(baud)) {
    throw new JosgdbError('BAD_ARGUMENT', `--baud ${baud}: a baud rate is a positive whole number, e.g. 115200 (josx64 uses 38400)`);
  }
  return baud;
}

/** The :BAUD of a serial spec (digits only, by the caller's pattern). */
function specBaud(spec: string, digits: string): number {
  const baud = Number(digits);
  if (!isBaudRate(baud)) bad(spec, `the baud rate must be a positive whole number such as 115200 (josx64 uses 38400), not ${digits}`);
  return baud;
}

function parseBase(spec: string, s: string, opts: OpenLinkOptions): LinkSpec {
  if (s.startsWith('tcp-listen:')) {
    const hp = hostPort(spec, s.slice(11));
    return { kind: 'tcp-listen', host: hp.kind === 'tcp' ? hp.host : '127.0.0.1', port: hp.kind === 'tcp' ? hp.port : 0 };
  }
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
    return { kind: 'serial', path, baud: m ? specBaud(spec, m[2]) : optionBaud(opts) };
  }
  const bare = /^(\/.*?|COM\d+)(?::(\d+))?$/i.exec(s);
  if (bare) return { kind: 'serial', path: bare[1], baud: bare[2] !== undefined ? specBaud(spec, bare[2]) : optionBaud(opts) };
  if (/^(\[[^\]]+\]|[A-Za-z0-9.-]+):\d+$/.test(s)) return hostPort(spec, s);
  return bad(spec, 'unrecognised form');
}

function describeBase(spec: LinkSpec): string {
  const host = (h: string) => (h.includes(':') ? `[${h}]` : h);
  switch (spec.kind) {
    case 'tcp':
      return `tcp:${host(spec.host)}:${spec.port}`;
    case 'tcp-listen':
      return `tcp-listen:${host(spec.host)}:${spec.port}`;
    case 'unix':
      return `unix:${spec.path}`;
    case 'serial':
      return `serial:${spec.path}:${spec.baud}`;
  }
}

/** The spec in its canonical form (parseLinkSpec reads it back to the same value). */
export function describeLinkSpec(spec: LinkSpec): string {
  const parts = [describeBase(spec)];
  if (spec.kind === 'serial' && spec.serial) {
    const s = spec.serial;
    if (s.dataBits !== undefined) parts.push(`databits=${s.dataBits}`);
    if (s.parity !== undefined) parts.push(`parity=${s.parity}`);
    if (s.stopBits !== undefined) parts.push(`stopbits=${s.stopBits}`);
    if (s.flow !== undefined) parts.push(`flow=${s.flow}`);
  }
  if (spec.throttle) {
    parts.push(`throttle=${spec.throttle.baud}`);
    if (spec.throttle.jitterMs !== undefined) parts.push(`jitter=${spec.throttle.jitterMs}`);
  }
  return parts.join(',');
}

/** Opens the link a spec names. Rejects with BAD_ARGUMENT or LINK_UNREACHABLE (with a hint). */
export async function openLink(spec: string, opts: OpenLinkOptions = {}): Promise<Link> {
  const parsed = parseLinkSpec(spec, opts);
  const link = await openBase(parsed, opts);
  const throttle = parsed.throttle ?? opts.throttle;
  return throttle ? throttleLink(link, throttle.baud, { jitterMs: throttle.jitterMs }) : link;
}

function openBase(parsed: LinkSpec, opts: OpenLinkOptions): Promise<Link> {
  switch (parsed.kind) {
    case 'tcp':
      return openTcpLink(parsed.host, parsed.port, { connectTimeoutMs: opts.connectTimeoutMs });
    case 'tcp-listen':
      return openTcpListenLink(parsed.host, parsed.port, { acceptTimeoutMs: opts.connectTimeoutMs, onListening: opts.onListening });
    case 'unix':
      return openUnixLink(parsed.path);
    case 'serial':
      return openSerialLink(parsed.path, parsed.baud, parsed.serial);
  }
}
