/**
 * `josgdb doctor` as a user runs it: the built CLI, all checks passing on a
 * machine set up by `make deps`, then each check made to fail on purpose
 * (a program pointed at a path that does not exist, a port nobody listens on,
 * a file that is not an image, a PDB from another build), each failing the
 * command and naming the fix.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode } from '../src/cli/exit-codes';
import { buildSymbolFixture } from './support/symbol-fixtures';
import { CLI, STUB_IMAGE, STUB_PDB, ensureBuiltCli } from './support/built-cli';

const MISSING = '/nonexistent/program';

let work: string;

beforeAll(() => {
  ensureBuiltCli('doctor-command.js');
  work = mkdtempSync(path.join(tmpdir(), 'josgdb-doctor-'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
}

/** Runs the CLI asynchronously, so a TCP server in this process can accept its connection. */
function doctor(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'doctor', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout }));
  });
}

/** The report line for one check, with its fix line when there is one. */
function line(run: Run, name: string): string {
  const lines = run.stdout.split('\n');
  const i = lines.findIndex((l) => new RegExp(`^\\w+\\s+${name}: `).test(l));
  if (i < 0) throw new Error(`no "${name}" line in:\n${run.stdout}`);
  return lines[i + 1]?.trimStart().startsWith('fix:') ? `${lines[i]}\n${lines[i + 1]}` : lines[i]!;
}

/** A loopback TCP server standing in for QEMU's serial socket; records what it received. */
async function fakeSerialServer(): Promise<{ spec: string; connections: () => number; received: () => number; close: () => Promise<void> }> {
  let connections = 0;
  let received = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    connections++;
    sockets.push(socket);
    socket.on('data', (d) => (received += d.length));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    spec: `tcp:127.0.0.1:${port}`,
    connections: () => connections,
    received: () => received,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test('every check passes on this machine, with a reachable target and a matching image and PDB', async () => {
  const target = await fakeSerialServer();
  try {
    const run = await doctor('--target', target.spec, '--image', STUB_IMAGE, '--pdb', STUB_PDB);
    expect(run.stdout).not.toMatch(/^problem/m);
    expect(run.status).toBe(ExitCode.OK);
    for (const name of ['gdb', 'lldb', 'qemu', 'ovmf', 'clang', 'lld-link', 'target', 'image', 'pdb']) expect(line(run, name)).toMatch(/^ok /);
    expect(line(run, 'gdb')).toMatch(/gdb 1[3-9]\.|gdb [2-9]\d\./);
    expect(line(run, 'pdb')).toContain('matches the image');
    expect(run.stdout).toContain('all checks passed');
    // The target was opened, and nothing was sent to it.
    expect(target.connections()).toBe(1);
    expect(target.received()).toBe(0);
  } finally {
    await target.close();
  }
});

test('a missing gdb is a problem naming the package to install', async () => {
  const run = await doctor('--gdb', MISSING);
  expect(run.status).toBe(ExitCode.FAILURE);
  expect(line(run, 'gdb')).toMatch(/^problem\s+gdb: .*not found\n\s+fix: .*apt-get install gdb/);
});

test('a gdb older than 13 is a problem', async () => {
  const oldGdb = path.join(work, 'old-gdb');
  writeFileSync(oldGdb, '#!/bin/sh\necho "GNU gdb (GDB) 12.1"\n');
  chmodSync(oldGdb, 0o755);
  const run = await doctor('--gdb', oldGdb);
  expect(run.status).toBe(ExitCode.FAILURE);
  expect(line(run, 'gdb')).toMatch(/^problem\s+gdb: .*12\.1.*gdb 13 or newer is expected\n\s+fix: .*apt-get install gdb/);
});

test('a missing lldb is only a note: gdb alone is enough', async () => {
  const run = await doctor('--lldb', MISSING);
  expect(line(run, 'lldb')).toMatch(/^note\s+lldb: .*optional.*\n\s+fix: apt-get install lldb/);
  expect(run.status).toBe(ExitCode.OK);
});

test('a missing QEMU is a problem naming the package to install', async () => {
  const run = await doctor('--qemu', MISSING);
  expect(run.status).toBe(ExitCode.FAILURE);
  expect(line(run, 'qemu')).toMatch(/^problem\s+qemu: .*not found\n\s+fix: .*apt-get install qemu-system-x86/);
});

test('missing OVMF firmware is a problem naming the package to install', async () => {
  const run = await doctor('--ovmf', path.join(work, 'OVMF_CODE.fd'));
  expect(run.status).toBe(ExitCode.FAILURE);
  expect(line(run, 'ovmf')).toMatch(/^problem\s+ovmf: .*does not exist\n\s+fix: .*apt-get install ovmf/);
});

test('a missing clang or lld-link is a problem; a missing llvm-pdbutil is a note', async () => {
  const run = await doctor('--clang', MISSING, '--lld-link', `${MISSING}/lld-link`, '--llvm-pdbutil', `${MISSING}/llvm-pdbutil`);
  expect(run.status).toBe(ExitCode.FAILURE);
  expect(line(run, 'clang')).toMatch(/^problem\s+clang: .*not found.*\n\s+fix: .*apt-get install clang/);
  expect(line(run, 'lld-link')).toMatch(/^problem\s+lld-link: .*\n\s+fix: .*apt-get install lld/);
  expect(line(run, 'llvm-pdbutil')).toMatch(/^note\s+llvm-pdbutil: .*optional.*\n\s+fix: .*apt-get install llvm/);
  expect(run.stdout).toContain('2 problems found');
});

test('an unreachable target is a problem saying how to start QEMU', async () => {
  const run = await doctor('--target', 'tcp:127.0.0.1:1');
  expect(run.status).toBe(ExitCode.FAILURE);
  expect(line(run, 'target')).toMatch(/^problem\s+target: tcp:127\.0\.0\.1:1 cannot be opened.*\n\s+fix: .*-serial tcp:HOST:PORT,server=on,wait=off,nodelay=on/);
});

test('a file that is not a PE image is a problem', async () => {
  const notImage = path.join(work, 'kernel.elf');
  writeFileSync(notImage, '\x7fELF not a PE image');
  const run = await doctor('--image', notImage);
  expect(run.status).toBe(ExitCode.FAILURE);
  expect(line(run, 'image')).toMatch(/^problem\s+image: .*not a usable PE image.*\n\s+fix: .*PE\/COFF image/);
});

test('a PDB from another build is a problem naming both GUIDs', async () => {
  const other = buildSymbolFixture();
  const run = await doctor('--image', STUB_IMAGE, '--pdb', other.pdb);
  expect(run.status).toBe(ExitCode.FAILURE);
  expect(line(run, 'image')).toMatch(/^ok /);
  expect(line(run, 'pdb')).toMatch(/^problem\s+pdb: .*does not match the image.*GUID.*GUID.*\n\s+fix: .*--pdb/);
  expect(run.stdout).not.toContain('matches the image');
});
