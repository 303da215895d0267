import { withTimeout } from '../common/async';
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { isJosgdbError } from '../common/errors';
import type { Link } from './link';
import { linkPair } from './memory';
import { describeLinkSpec, openLink, parseLinkSpec, parseThrottle } from './open';
import { readRecording, recordLink } from './recorder';
import { openSerialLink } from './serial';
import { openTcpLink } from './tcp';
import { throttleLink } from './throttle';
import { openUnixLink } from './unix';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function collect(link: Link): { data: () => Buffer; closed: Promise<Error | undefined> } {
  const chunks: Buffer[] = [];
  link.onData((c) => chunks.push(c));
  return { data: () => Buffer.concat(chunks), closed: new Promise((r) => link.onClose(r)) };
}

async function codeOf(p: Promise<unknown>): Promise<[string | undefined, string]> {
  try {
    await p;
  } catch (err) {
    return [isJosgdbError(err) ? err.code : undefined, (err as Error).message];
  }
  throw new Error('expected a rejection');
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('linkPair', () => {
  it('delivers both ways, keeps bytes written before anyone listens, closes both ends', async () => {
    const [a, b] = linkPair();
    a.write(Buffer.from('early'));
    await sleep(1);
    const rb = collect(b);
    const ra = collect(a);
    b.write(Buffer.from('pong'));
    await sleep(1);
    expect(rb.data().toString()).toBe('early');
    expect(ra.data().toString()).toBe('pong');
    a.close();
    expect(await rb.closed).toBeUndefined();
    expect(b.closed).toBe(true);
    expect(() => b.write(Buffer.from('x'))).toThrow(/closed/);
    let late = false;
    b.onClose(() => (late = true));
    expect(late).toBe(true);
  });

  it('can cut writes into chunks', async () => {
    const [a, b] = linkPair({ split: (d) => [...d].map((x) => Buffer.from([x])) });
    const chunks: Buffer[] = [];
    b.onData((c) => chunks.push(c));
    a.write(Buffer.from('abc'));
    await sleep(1);
    expect(chunks.map((c) => c.toString())).toEqual(['a', 'b', 'c']);
  });
});

describe('tcp', () => {
  it('connects, exchanges bytes with Nagle off, and reports the peer closing', async () => {
    const server = net.createServer((sock) => {
      sock.on('data', (d) => sock.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const link = await openLink(`tcp:127.0.0.1:${port}`);
    expect(link.description).toBe(`tcp:127.0.0.1:${port}`);
    const r = collect(link);
    link.write(Buffer.from('hi'));
    for (let i = 0; i < 50 && r.data().length < 7; i++) await sleep(5);
    expect(r.data().toString()).toBe('echo:hi');
    link.close();
    await r.closed;
    expect(link.closed).toBe(true);
    expect(() => link.write(Buffer.from('x'))).toThrow(/closed/);
    await new Promise<void>((res) => server.close(() => res()));
  });

  it('names the link and says it closed when the peer resets it', async () => {
    // A reset after the connection is up, as when QEMU is killed mid-session.
    const server = net.createServer((sock) => void sleep(20).then(() => sock.resetAndDestroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const link = await openLink(`tcp:127.0.0.1:${port}`);
    const err = await collect(link).closed;
    expect(isJosgdbError(err, 'LINK_CLOSED')).toBe(true);
    expect(err?.message).toMatch(new RegExp(`^tcp:127\\.0\\.0\\.1:${port} closed: .*ECONNRESET`));
    await new Promise<void>((res) => server.close(() => res()));
  });

  it('explains a host name that does not resolve, naming --target', async () => {
    // .invalid never resolves (RFC 2606); without DNS the lookup fails at once too.
    const [code, message] = await codeOf(openTcpLink('josgdb-no-such-host.invalid', 5555, { connectTimeoutMs: 10_000 }));
    expect(code).toBe('LINK_UNREACHABLE');
    expect(message).toBe('cannot resolve host "josgdb-no-such-host.invalid" in --target: check the name, or give an IP address such as 127.0.0.1');
  });

  it('explains a refused connection', async () => {
    const port = await freePort();
    const [code, message] = await codeOf(openTcpLink('127.0.0.1', port));
    expect(code).toBe('LINK_UNREACHABLE');
    expect(message).toBe(`nothing listens on 127.0.0.1:${port}: is QEMU running with -serial tcp:127.0.0.1:${port},server=on,wait=off?`);
  });
});

describe('unix', () => {
  it('connects to a socket and explains a missing one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-link-'));
    const sockPath = path.join(dir, 's');
    const server = net.createServer((sock) => sock.end('bye'));
    await new Promise<void>((r) => server.listen(sockPath, r));
    const link = await openLink(`unix:${sockPath}`);
    const r = collect(link);
    await r.closed;
    expect(r.data().toString()).toBe('bye');
    server.close();
    const [code, message] = await codeOf(openUnixLink(path.join(dir, 'missing')));
    expect(code).toBe('LINK_UNREACHABLE');
    expect(message).toMatch(/no socket at .*missing: is QEMU running with -serial unix:/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('serial', () => {
  it('talks to a pty through the serialport package', async () => {
    execFileSync('python3', ['-c', 'import pty']);
    // A pty pair: python holds the master and echoes upper-cased bytes.
    const py = spawn('python3', [
      '-c',
      'import os,pty,tty,sys\nm,s=pty.openpty()\ntty.setraw(s)\nprint(os.ttyname(s),flush=True)\nwhile True:\n d=os.read(m,100)\n os.write(m,d.upper())',
    ]);
    try {
      const ptyPath = await new Promise<string>((resolve) => py.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
      const link = await openLink(`serial:${ptyPath}:115200`);
      expect(link.description).toBe(`${ptyPath} at 115200 baud`);
      const r = collect(link);
      link.write(Buffer.from('josx'));
      for (let i = 0; i < 100 && r.data().length < 4; i++) await sleep(10);
      expect(r.data().toString()).toBe('JOSX');
      link.close();
      await withTimeout(r.closed, 10_000, 'closing the serial link');
    } finally {
      py.kill();
    }
  });

  it('refuses a bad rate from a caller that skipped parseLinkSpec as its own mistake, not the user\'s', async () => {
    const [code, message] = await codeOf(openSerialLink('/dev/josgdb-no-such-tty', 0));
    expect(code).toBeUndefined();
    expect(message).toBe('openSerialLink: baud rate 0 is not a positive whole number');
  });

  it('explains a missing device', async () => {
    const [code, message] = await codeOf(openLink('/dev/josgdb-no-such-tty'));
    expect(code).toBe('LINK_UNREACHABLE');
    expect(message).toBe('no serial device at /dev/josgdb-no-such-tty (unplugged? for a USB adapter see ls /dev/serial/by-id)');
  });
});

describe('parseLinkSpec', () => {
  it.each([
    ['tcp:127.0.0.1:5555', { kind: 'tcp', host: '127.0.0.1', port: 5555 }],
    ['tcp:localhost:1234', { kind: 'tcp', host: 'localhost', port: 1234 }],
    ['tcp:5555', { kind: 'tcp', host: '127.0.0.1', port: 5555 }],
    ['tcp:[::1]:5555', { kind: 'tcp', host: '::1', port: 5555 }],
    ['localhost:5555', { kind: 'tcp', host: 'localhost', port: 5555 }],
    ['unix:/tmp/qemu.sock', { kind: 'unix', path: '/tmp/qemu.sock' }],
    ['serial:/dev/ttyS0:115200', { kind: 'serial', path: '/dev/ttyS0', baud: 115200 }],
    ['serial:/dev/ttyS0', { kind: 'serial', path: '/dev/ttyS0', baud: 38400 }],
    ['/dev/ttyUSB0', { kind: 'serial', path: '/dev/ttyUSB0', baud: 38400 }],
    ['COM3', { kind: 'serial', path: 'COM3', baud: 38400 }],
  ])('%s', (spec, want) => {
    expect(parseLinkSpec(spec)).toEqual(want);
    expect(parseLinkSpec(describeLinkSpec(parseLinkSpec(spec)))).toEqual(want);
  });
  it('uses the baud option for a bare device path', () => {
    expect(parseLinkSpec('/dev/ttyUSB0', { baud: 115200 })).toEqual({ kind: 'serial', path: '/dev/ttyUSB0', baud: 115200 });
  });
  it.each([0, -9600, 1.5, NaN])('refuses --baud %s naming the option, not the spec', (baud) => {
    for (const spec of ['/dev/ttyUSB0', 'serial:/dev/ttyUSB0', 'COM3,8N1']) {
      expect(() => parseLinkSpec(spec, { baud })).toThrow(`--baud ${baud}: a baud rate is a positive whole number, e.g. 115200 (josx64 uses 38400)`);
    }
  });
  it('ignores --baud when the spec names its own rate, and for links that are not serial', () => {
    expect(parseLinkSpec('/dev/ttyUSB0:115200', { baud: 0 })).toEqual({ kind: 'serial', path: '/dev/ttyUSB0', baud: 115200 });
    expect(parseLinkSpec('tcp:5555', { baud: 0 })).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5555 });
  });
  it.each(['serial:/dev/ttyS0:0', '/dev/ttyS0:0', 'COM3:00'])('refuses the rate 0 in %s naming the spec', (spec) => {
    expect(() => parseLinkSpec(spec, { baud: 115200 })).toThrow(
      new RegExp(`^link "${spec}": the baud rate must be a positive whole number such as 115200 \\(josx64 uses 38400\\), not 0+; expected tcp:HOST:PORT`),
    );
  });
  it.each(['tcp:host:99999', 'tcp:host:x', 'unix:', 'bogus', 'ftp://x'])('refuses %s naming the accepted forms', (spec) => {
    expect(() => parseLinkSpec(spec)).toThrow(/expected tcp:HOST:PORT/);
  });
  it.each([
    ['tcp-listen:127.0.0.1:5555', { kind: 'tcp-listen', host: '127.0.0.1', port: 5555 }],
    ['tcp-listen:5555', { kind: 'tcp-listen', host: '127.0.0.1', port: 5555 }],
    ['/dev/pts/3', { kind: 'serial', path: '/dev/pts/3', baud: 38400 }],
    ['/dev/ttyUSB0:115200', { kind: 'serial', path: '/dev/ttyUSB0', baud: 115200 }],
    ['COM4:57600', { kind: 'serial', path: 'COM4', baud: 57600 }],
    [
      'serial:/dev/ttyUSB0:115200,8N1',
      { kind: 'serial', path: '/dev/ttyUSB0', baud: 115200, serial: { dataBits: 8, parity: 'none', stopBits: 1 } },
    ],
    [
      '/dev/ttyS1,7E2,flow=rtscts',
      { kind: 'serial', path: '/dev/ttyS1', baud: 38400, serial: { dataBits: 7, parity: 'even', stopBits: 2, flow: 'rtscts' } },
    ],
    [
      'serial:COM3:9600,databits=8,parity=odd,stopbits=1.5,flow=xonxoff',
      { kind: 'serial', path: 'COM3', baud: 9600, serial: { dataBits: 8, parity: 'odd', stopBits: 1.5, flow: 'xonxoff' } },
    ],
    ['tcp:127.0.0.1:5555,throttle=115200', { kind: 'tcp', host: '127.0.0.1', port: 5555, throttle: { baud: 115200 } }],
    ['unix:/tmp/q.sock,throttle=38400,jitter=2.5', { kind: 'unix', path: '/tmp/q.sock', throttle: { baud: 38400, jitterMs: 2.5 } }],
  ])('options: %s', (spec, want) => {
    expect(parseLinkSpec(spec)).toEqual(want);
    expect(parseLinkSpec(describeLinkSpec(parseLinkSpec(spec)))).toEqual(want);
  });
  it.each([
    ['tcp:127.0.0.1:5555,8N1', /8N1 applies to serial devices only/],
    ['/dev/ttyS0,parity=maybe', /parity must be none, even, odd, mark or space, not "maybe"/],
    ['/dev/ttyS0,databits=9', /databits must be 5, 6, 7 or 8/],
    ['/dev/ttyS0,flow=hw', /flow must be none, rtscts or xonxoff/],
    ['/dev/ttyS0,speed=9600', /unknown option "speed"/],
    ['tcp:5555,jitter=2', /jitter needs throttle=BAUD/],
  ])('refuses %s', (spec, why) => {
    expect(() => parseLinkSpec(spec)).toThrow(why);
  });
  it('parses --throttle BAUD[,JITTER_MS]', () => {
    expect(parseThrottle('115200')).toEqual({ baud: 115200 });
    expect(parseThrottle('115200,2')).toEqual({ baud: 115200, jitterMs: 2 });
    expect(() => parseThrottle('fast')).toThrow('--throttle "fast": expected BAUD or BAUD,JITTER_MS, e.g. 115200 or 115200,2');
  });
});

describe('tcp-listen', () => {
  it('waits for the target to connect, then carries bytes both ways', async () => {
    const port = await freePort();
    let listening = '';
    const opening = openLink(`tcp-listen:127.0.0.1:${port}`, { onListening: (w) => (listening = w) });
    for (let i = 0; i < 50 && !listening; i++) await sleep(5);
    expect(listening).toBe(`127.0.0.1:${port}`);
    const qemu = net.connect({ host: '127.0.0.1', port });
    const link = await opening;
    expect(link.description).toMatch(new RegExp(`^tcp-listen:127.0.0.1:${port} \\(target at 127.0.0.1:\\d+\\)$`));
    const r = collect(link);
    qemu.write('kernel');
    const got: Buffer[] = [];
    qemu.on('data', (d) => got.push(d));
    link.write(Buffer.from('josx'));
    for (let i = 0; i < 100 && (r.data().length < 6 || got.length === 0); i++) await sleep(5);
    expect(r.data().toString()).toBe('kernel');
    expect(Buffer.concat(got).toString()).toBe('josx');
    qemu.destroy();
    await r.closed;
  });
  it('gives up after the accept timeout naming the QEMU option', async () => {
    const port = await freePort();
    const [code, message] = await codeOf(openLink(`tcp-listen:127.0.0.1:${port}`, { connectTimeoutMs: 50 }));
    expect(code).toBe('LINK_UNREACHABLE');
    expect(message).toBe(`no target connected to 127.0.0.1:${port} within 50 ms: is QEMU running with -serial tcp:127.0.0.1:${port}?`);
  });
});

describe('recordLink', () => {
  it('appends both directions to a JSONL file that readRecording replays', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-rec-'));
    const file = path.join(dir, 'session.jsonl');
    const [a, b] = linkPair();
    const rec = recordLink(a, file);
    const r = collect(rec);
    rec.write(Buffer.from('josx'));
    b.write(Buffer.from([2, 0, 0, 0]));
    await sleep(5);
    expect(r.data()).toEqual(Buffer.from([2, 0, 0, 0]));
    rec.close();
    await r.closed;
    const events = readRecording(fs.readFileSync(file, 'utf8'));
    expect(events.map((e) => [e.dir, e.bytes.toString('hex')])).toEqual([
      ['tx', '6a6f7378'],
      ['rx', '02000000'],
    ]);
    expect(events[1].t).toBeGreaterThanOrEqual(events[0].t);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('throttleLink', () => {
  it('delivers no faster than the baud rate', async () => {
    const [a, b] = linkPair();
    const slow = throttleLink(a, 9600); // 960 bytes/s
    const r = collect(slow);
    const t0 = Date.now();
    b.write(Buffer.alloc(96, 1));
    while (r.data().length < 96) await sleep(5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
    const rb = collect(b);
    slow.write(Buffer.from('ok'));
    for (let i = 0; i < 100 && rb.data().length < 2; i++) await sleep(5);
    expect(rb.data().toString()).toBe('ok');
    slow.close();
  });
  it('applies a throttle from the spec or the option', async () => {
    const server = net.createServer((sock) => sock.on('data', (d) => sock.write(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const a = await openLink(`tcp:127.0.0.1:${port},throttle=9600,jitter=30`);
    expect(a.description).toBe(`throttled to 9600 baud (jitter 30 ms): tcp:127.0.0.1:${port}`);
    const b = await openLink(`tcp:127.0.0.1:${port}`, { throttle: { baud: 115200 } });
    expect(b.description).toBe(`throttled to 115200 baud: tcp:127.0.0.1:${port}`);
    const r = collect(b);
    b.write(Buffer.from('x'.repeat(1152)));
    const t0 = Date.now();
    while (r.data().length < 1152) await sleep(5);
    // 1152 bytes at 11,520 bytes/s: about 100 ms each way, the two directions overlapping
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    a.close();
    b.close();
    await new Promise<void>((res) => server.close(() => res()));
  });
});
