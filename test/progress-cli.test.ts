/**
 * The status line as a user meets it: `josgdb serve` waiting for a target that
 * prints firmware lines and never answers the handshake. With stderr on a
 * terminal (a pty from `script`) the line shows what the target said; with
 * stderr on a pipe (a log collector, a CI job) nothing but the logs is written.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { ExitCode } from '../src/cli/exit-codes';
import { CLI, STUB_IMAGE, STUB_PDB, ensureBuiltCli } from './support/built-cli';
import { FakeKernel } from './support/fake-kernel';

const FIRMWARE_LINE = 'BdsDxe: loading Boot0001 "UEFI QEMU HARDDISK"';

beforeAll(() => ensureBuiltCli('progress.js'));

/** A loopback server standing in for QEMU's serial socket: firmware chatter, no handshake. */
async function chattyTarget(): Promise<{ spec: string; close: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.write(`\x1b[2J${FIRMWARE_LINE}\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    spec: `tcp:127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function run(command: string, args: string[]): Promise<{ status: number | null; output: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', TERM: 'dumb' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output, stderr }));
  });
}

const serveArgs = (spec: string) => [CLI, 'serve', '--target', spec, '--listen', '127.0.0.1:0', '--handshake-timeout', '2', '--no-reconnect'];

test('stderr on a pipe: no status line, only the JSON log lines and the error', async () => {
  const target = await chattyTarget();
  try {
    const res = await run(process.execPath, serveArgs(target.spec));
    expect(res.status).toBe(ExitCode.HANDSHAKE_TIMEOUT);
    expect(res.stderr).not.toContain('\x1b[K');
    expect(res.stderr).not.toContain('last from the target');
    // JSON log records, then the error (which quotes the target's lines).
    const lines = res.stderr.trim().split('\n');
    const error = lines.findIndex((line) => line.startsWith('josgdb: '));
    expect(error).toBeGreaterThan(0);
    for (const line of lines.slice(0, error)) expect(() => JSON.parse(line) as unknown).not.toThrow();
  } finally {
    await target.close();
  }
});

test('stderr on a terminal: the status line says what josgdb waits for and what the target said', async () => {
  const target = await chattyTarget();
  try {
    // script(1) gives the command a pty for stdin, stdout and stderr; -e passes its exit status on.
    const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    // A pty from script has no size; 200 columns keep the status line from being cut.
    const command = `stty cols 200; ${[process.execPath, ...serveArgs(target.spec)].map(shellQuote).join(' ')}`;
    const res = await run('script', ['-qec', command, '/dev/null']);
    expect(res.status).toBe(ExitCode.HANDSHAKE_TIMEOUT);
    expect(res.output).toContain(`josgdb: waiting for the target's handshake on ${target.spec}`);
    expect(res.output).toContain(`last from the target: ${FIRMWARE_LINE}`);
    // A log line erases the status line first, so it starts a line of its own.
    expect(res.output).toMatch(/\r\x1b\[K\[[\d:.]+\] [^\n]*INFO[^\n]*connecting to the target/);
    // Erased before the error is printed: the error starts its own line.
    expect(res.output).toMatch(/\r\x1b\[Kjosgdb: [^\n]*handshake/);
  } finally {
    await target.close();
  }
});

test('the status line follows the start: the handshake, then the symbols it reads, and it is gone once gdb can connect', async () => {
  const kernel = await FakeKernel.listen({});
  const spec = `tcp:127.0.0.1:${kernel.port}`;
  const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const args = [CLI, 'serve', '--target', spec, '--listen', '127.0.0.1:0', '--no-reconnect', '--image', STUB_IMAGE, '--pdb', STUB_PDB];
  const child = spawn('script', ['-qec', `stty cols 400; ${[process.execPath, ...args].map(shellQuote).join(' ')}`, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', TERM: 'dumb', XDG_STATE_HOME: tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('waiting for gdb on')) resolve();
      });
      void closed.then(() => reject(new Error(`serve ended before it listened:\n${output}`)));
    });
  } finally {
    // The target going away ends serve (--no-reconnect), and with it script.
    await kernel.close();
  }
  expect(await closed).toBe(ExitCode.TARGET_LOST);
  const handshake = output.indexOf(`josgdb: waiting for the target's handshake on ${spec}`);
  const symbols = output.indexOf(`josgdb: reading the symbols (${STUB_IMAGE}, ${STUB_PDB})`);
  const listening = output.indexOf('waiting for gdb on');
  expect(handshake).toBeGreaterThan(-1);
  expect(symbols).toBeGreaterThan(handshake);
  expect(listening).toBeGreaterThan(symbols);
  // Once gdb can connect the line is erased and never drawn again.
  const lastDraw = output.lastIndexOf('\r\x1b[Kjosgdb: ');
  expect(output.slice(lastDraw + 4)).toMatch(/^josgdb: [^\r\n]*\r\x1b\[K/);
  expect(output.slice(listening)).not.toMatch(/\r\x1b\[Kjosgdb: (waiting|reading|opening)/);
});
