/**
 * Nobody let in: the listen address rule of the real CLI (a non-loopback
 * --listen is refused without --allow-remote, and warned about with it); Host
 * I/O serves josgdb's own generated file and nothing else (traversal, absolute
 * paths, symlinks, setfs, writes); monitor commands cannot run host programs or
 * read host files (the command table is pinned and hostile arguments are tried
 * with child_process and fs watched); a second gdb is refused and logged while
 * the first one's session goes on.
 */
import child_process, { spawn } from 'child_process';
import fs, { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import pino from 'pino';
import { Writable } from 'stream';
import { startBridge } from '../../src/bridge/bridge';
import { GdbHandlers } from '../../src/bridge/gdb-handlers';
import { HostFiles } from '../../src/bridge/host-files';
import { Session } from '../../src/bridge/session';
import { parseCommand } from '../../src/rsp/commands';
import { ALL_FEATURES, FakeKernel } from '../support/fake-kernel';
import { RawRspClient } from '../support/raw-rsp';
import { report, Tally } from './support/figures';
import { MemoryTarget } from './support/memory-target';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const tally = new Tally();
const hexName = (s: string) => Buffer.from(s, 'latin1').toString('hex');
afterAll(() => report({ suite: 'security', scenarios: tally.scenarios, faults: tally.faults, packets: tally.packets, checks: tally.checks, failures: tally.failures }));

/** Runs `josgdb serve` (the built CLI) until it exits or prints `until`; returns its output and exit code. */
function serve(args: string[], until?: RegExp, ms = 20_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // The CLI reads JOSGDB_* variables as options (yargs .env) and refuses unknown ones:
    // leave out the test runner's own (JOSGDB_RELIABILITY_OUT, JOSGDB_SOAK_*, ...).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JOSGDB_')));
    const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, NO_COLOR: '1' } });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`josgdb serve ${args.join(' ')}: no exit within ${ms} ms:\n${output}`));
    }, ms);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (until && until.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('security: the listen address', () => {
  let kernel: FakeKernel;
  beforeAll(async () => {
    expect(existsSync(CLI)).toBe(true); // `npm run build` first
    kernel = await FakeKernel.listen({});
  });
  afterAll(() => kernel.close());

  it.each(['0.0.0.0:0', '192.0.2.1:4444', '[::]:0', 'example.com:1234'])('refuses --listen %s without --allow-remote, before touching the target', async (listen) => {
    await tally.scenario(async () => {
      const connects = kernel.events.filter((e) => e.kind === 'connect').length;
      const { code, output } = await serve(['--target', `tcp:127.0.0.1:${kernel.port}`, '--listen', listen]);
      tally.check(code !== 0, `exit code ${code}`);
      tally.check(/not a loopback address/.test(output) && /--allow-remote/.test(output), `the refusal names --allow-remote:\n${output}`);
      tally.check(kernel.events.filter((e) => e.kind === 'connect').length === connects, 'the target was not contacted');
    });
  });

  it('listens on a non-loopback address with --allow-remote, and warns that anyone who reaches it controls the target', async () => {
    await tally.scenario(async () => {
      const { output } = await serve(['--target', `tcp:127.0.0.1:${kernel.port}`, '--listen', '0.0.0.0:0', '--allow-remote'], /every host that can reach/);
      tally.check(/listening on 0\.0\.0\.0: every host that can reach this port can control the target \(RSP has no authentication; an SSH tunnel/.test(output), `a warning:\n${output}`);
    });
  });
});

describe('security: Host I/O serves one generated file and nothing else', () => {
  const NAME = '/josgdb/BOOTX64.debug';
  const CONTENT = Buffer.from('\x7fELF generated symbol file', 'latin1');
  let tmp: string;
  let handlers: GdbHandlers;
  const ask = async (p: string) => String(await handlers.handle(parseCommand(Buffer.from(p, 'latin1'))));

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'josgdb-sec-'));
    writeFileSync(path.join(tmp, 'secret'), 'host secret\n');
    symlinkSync(path.join(tmp, 'secret'), path.join(tmp, 'BOOTX64.debug'));
    const files = new HostFiles();
    files.serve(NAME, () => CONTENT);
    const log = pino({ level: 'silent' });
    const target = new MemoryTarget();
    const session = new Session(target, log);
    target.start();
    handlers = new GdbHandlers({ session, log, linkDescription: 'memory', setLogLevel: () => true, symbolFile: { name: NAME, files }, peer: { send: () => undefined, closeAfterReply: () => undefined } });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('serves the generated file by its exact name, read-only', async () => {
    await tally.scenario(async () => {
      const fd = /^F([0-9a-f]+)$/.exec(await ask(`vFile:open:${hexName(NAME)},0,0`));
      tally.check(fd !== null, 'the served file opens');
      const data = await ask(`vFile:pread:${fd![1]},100,0`);
      tally.check(data.includes('ELF generated symbol file'), `pread gives the generated content: ${data}`);
      await ask(`vFile:close:${fd![1]}`);
    });
  });

  const hostile = () => [
    '/etc/passwd',
    '/josgdb/../etc/passwd',
    '/josgdb/BOOTX64.debug/../../../etc/passwd',
    '../../../../etc/passwd',
    'josgdb/BOOTX64.debug',
    'BOOTX64.debug',
    '/josgdb//BOOTX64.debug',
    '/josgdb/./BOOTX64.debug',
    '/josgdb/BOOTX64.debug/',
    '/JOSGDB/BOOTX64.DEBUG',
    '/josgdb/BOOTX64.debug\0/etc/passwd',
    `${tmp}/BOOTX64.debug`,
    `${tmp}/secret`,
    'target:/etc/passwd',
    '/proc/self/environ',
  ];

  it('refuses traversal, absolute and relative host paths, symlinks and near-miss names', async () => {
    await tally.scenario(async () => {
      for (const name of hostile()) {
        const reply = await ask(`vFile:open:${hexName(name)},0,0`);
        tally.check(reply === 'F-1,2', `open ${JSON.stringify(name)} gives ${reply}, not ENOENT`);
      }
    });
  });

  it('setfs to another process changes nothing: the same one file, the same refusals', async () => {
    await tally.scenario(async () => {
      for (const pid of ['1', '7fffffff', '0']) {
        expect(await ask(`vFile:setfs:${pid}`)).toMatch(/^F/);
        tally.check((await ask(`vFile:open:${hexName('/etc/passwd')},0,0`)) === 'F-1,2', `after setfs:${pid}, /etc/passwd is refused`);
        tally.check(/^F[0-9a-f]+$/.test(await ask(`vFile:open:${hexName(NAME)},0,0`)), `after setfs:${pid}, the served file still opens`);
      }
    });
  });

  it('refuses writes, creation, unlink and readlink', async () => {
    await tally.scenario(async () => {
      for (const flags of ['1', '2', '8', '200', '400', '601']) {
        tally.check((await ask(`vFile:open:${hexName(NAME)},${flags},1ff`)) === 'F-1,d', `open with flags ${flags} gives EACCES`);
        tally.check((await ask(`vFile:open:${hexName(path.join(tmp, 'new'))},${flags},1ff`)).startsWith('F-1,'), `creating a host file with flags ${flags} is refused`);
      }
      tally.check(!existsSync(path.join(tmp, 'new')), 'no host file was created');
      tally.check((await ask(`vFile:unlink:${hexName(path.join(tmp, 'secret'))}`)).startsWith('F-1,'), 'unlink is refused');
      tally.check(existsSync(path.join(tmp, 'secret')), 'the host file is still there');
      tally.check((await ask(`vFile:readlink:${hexName(path.join(tmp, 'BOOTX64.debug'))}`)).startsWith('F-1,'), 'readlink is refused');
      tally.check((await ask('vFile:pwrite:3,0,abcd')).startsWith('F-1,') || (await ask('vFile:pwrite:3,0,abcd')) === '', 'pwrite is refused');
    });
  });

  it('host-files.ts and the Host I/O handler never touch the host file system', () => {
    tally.scenarios++;
    for (const file of ['src/bridge/host-files.ts']) {
      const src = readFileSync(path.join(ROOT, file), 'utf8');
      tally.check(!/from '(node:)?(fs|fs\/promises|child_process|net|path)'/.test(src), `${file} imports no host file or process module`);
    }
  });
});

describe('security: monitor commands never run host programs or read host files', () => {
  const KNOWN = ['help', 'info', 'regs', 'cpuid', 'rdmsr', 'pt', 'breakpoints', 'sym', 'addr', 'disas', 'bt', 'lldb', 'log'];
  let handlers: GdbHandlers;
  const monitor = async (line: string) => {
    const r = String(await handlers.handle(parseCommand(Buffer.from('qRcmd,' + hexName(line), 'latin1'))));
    return r === 'OK' || r === '' ? r : /^[0-9a-f]*$/.test(r) ? Buffer.from(r, 'hex').toString('latin1') : r;
  };

  beforeAll(() => {
    const log = pino({ level: 'silent' });
    const target = new MemoryTarget();
    const session = new Session(target, log);
    target.start();
    const sent: string[] = [];
    handlers = new GdbHandlers({ session, log, linkDescription: 'memory', setLogLevel: (l) => ['trace', 'debug', 'info', 'warn', 'error'].includes(l), peer: { send: (p) => void sent.push(p), closeAfterReply: () => undefined } });
  });

  it('the command table is exactly the reviewed set, and monitor.ts imports no process, file or network module', async () => {
    await tally.scenario(async () => {
      const src = readFileSync(path.join(ROOT, 'src/bridge/monitor.ts'), 'utf8');
      const names = [...src.matchAll(/^\s{4}name: '([a-z-]+)',$/gm)].map((m) => m[1]);
      tally.check(JSON.stringify(names) === JSON.stringify(KNOWN), `monitor commands ${names.join(' ')}: a new one must be reviewed here`);
      tally.check(!/from '(node:)?(fs|fs\/promises|child_process|net|http|https|dgram|worker_threads|vm)'/.test(src), 'monitor.ts imports nothing that reaches the host');
      const help = await monitor('help');
      for (const n of KNOWN) tally.check(help.includes(`monitor ${n}`), `help lists ${n}`);
    });
  });

  it('hostile arguments run nothing and read nothing', async () => {
    await tally.scenario(async () => {
      const watched = [
        ...(['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const).map((f) => jest.spyOn(child_process, f)),
        ...(['readFileSync', 'readFile', 'openSync', 'open', 'createReadStream', 'readdirSync', 'readlinkSync', 'writeFileSync'] as const).map((f) => jest.spyOn(fs, f)),
      ];
      try {
        const lines = [
          'shell id', '!id', 'sh -c id', 'source /etc/passwd', 'log /etc/passwd', 'log $(id)', 'log `id`', 'sym /etc/passwd', 'addr ../../etc/passwd',
          'disas /etc/passwd', 'pt $(cat /etc/passwd)', 'help; id', 'help && id', 'lldb /etc/passwd', 'bt /etc/passwd', 'info /etc/passwd',
          'cpuid $(id)', 'rdmsr /etc/shadow', 'regs > /tmp/x', 'breakpoints | sh', 'python import os', 'file /etc/passwd', 'dump memory /tmp/x 0 10',
        ];
        for (const line of lines) {
          const out = await monitor(line);
          tally.check(!/root:|uid=\d+/.test(out), `monitor ${line} printed host data: ${out}`);
        }
        for (const spy of watched) tally.check(spy.mock.calls.length === 0, `${spy.getMockName()} was called by a monitor command`);
      } finally {
        for (const spy of watched) spy.mockRestore();
      }
    });
  });
});

describe('security: one gdb at a time', () => {
  it('refuses and logs a second connection without disturbing the first', async () => {
    await tally.scenario(async () => {
      const kernel = await FakeKernel.listen({ features: [...ALL_FEATURES] });
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const bridge = await startBridge({ target: `tcp:127.0.0.1:${kernel.port}`, listenHost: '127.0.0.1', listenPort: 0, log: pino({ level: 'info' }, sink), handshakeTimeoutMs: 30_000 });
      try {
        await bridge.session.waitForStop();
        const first = await RawRspClient.connect(bridge.port);
        first.send('?');
        tally.check(/^T05/.test((await first.reply(10_000))?.payload ?? ''), 'the first gdb gets a stop');
        for (let i = 0; i < 3; i++) {
          const second = await RawRspClient.connect(bridge.port);
          second.send('?');
          const r = await second.reply(2000);
          tally.check(r === undefined && second.closed, `connection ${i + 2} is closed without a reply (${JSON.stringify(r)})`);
          tally.faults++;
        }
        tally.check(lines.filter((l) => /refused a second debugger/.test(l)).length === 3, `each refusal is logged:\n${lines.join('')}`);
        first.send('g');
        tally.check(/^[0-9a-fx]+$/.test((await first.reply(10_000))?.payload ?? ''), 'the first gdb still reads registers');
        first.send('D');
        tally.check((await first.reply(10_000))?.payload === 'OK', 'the first gdb detaches normally');
        await first.close();
      } finally {
        await bridge.close();
        await kernel.close();
      }
    });
  });
});
