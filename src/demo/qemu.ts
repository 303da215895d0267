/**
 * Boots stub-uefi (or any UEFI image) in QEMU with OVMF for the demo, the tests
 * and the benchmark. Every QEMU it starts is killed by pid when the caller stops
 * it, when the process exits, and on Ctrl-C, so no VM outlives a run.
 */
import { ChildProcess, spawn } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { JosgdbError } from '../common/errors';

/**
 * Where Debian (and Fedora) install OVMF: code and a variables template beside
 * it ('' for a combined image). The demo boots the first that exists and
 * `josgdb doctor` checks the same list, so the two never disagree.
 */
export const OVMF_CANDIDATES: readonly (readonly [code: string, vars: string])[] = [
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
  ['/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/edk2/ovmf/OVMF_VARS.fd'],
  ['/usr/share/qemu/OVMF.fd', ''],
];

/** The directories OVMF_CANDIDATES looks in, for messages: "/usr/share/OVMF, /usr/share/edk2/ovmf, ...". */
export const OVMF_SEARCH_DIRS: string = [...new Set(OVMF_CANDIDATES.map(([code]) => path.dirname(code)))].join(', ');

export function findOvmf(): { code: string; vars: string } {
  for (const [code, vars] of OVMF_CANDIDATES) {
    if (existsSync(code) && (vars === '' || existsSync(vars))) return { code, vars };
  }
  throw new JosgdbError('BAD_ARGUMENT', `OVMF firmware not found (looked in ${OVMF_SEARCH_DIRS}); install the Debian package "ovmf"`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface QemuOptions {
  /** The UEFI application to boot as \EFI\BOOT\BOOTX64.EFI. */
  efi: string;
  /** Boot stub-uefi in josx64 compatibility mode (flaws on, extensions off). */
  compat?: boolean;
  /** TCP port for the debug UART; a free one when omitted. */
  serialPort?: number;
  /** Also open QEMU's own gdbstub on this loopback port (for comparisons). */
  gdbPort?: number;
  /** The debug UART is COM1 (a josx64-style image) instead of stub-uefi's COM2. */
  debugOnCom1?: boolean;
  memoryMb?: number;
}

export interface QemuInstance {
  readonly pid: number;
  readonly serialPort: number;
  /** `tcp:127.0.0.1:PORT`: the josgdb `--target` for this VM. */
  readonly targetSpec: string;
  readonly rundir: string;
  readonly consoleLog: string;
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export async function launchQemu(options: QemuOptions): Promise<QemuInstance> {
  if (!existsSync(options.efi)) {
    throw new JosgdbError('BAD_ARGUMENT', `UEFI image ${options.efi} not found (build it with "make stub")`);
  }
  const { code, vars } = findOvmf();
  const serialPort = options.serialPort ?? (await freePort());
  const rundir = mkdtempSync(path.join(os.tmpdir(), 'josgdb-qemu-'));
  const esp = path.join(rundir, 'esp');
  mkdirSync(path.join(esp, 'EFI', 'BOOT'), { recursive: true });
  copyFileSync(options.efi, path.join(esp, 'EFI', 'BOOT', 'BOOTX64.EFI'));
  if (options.compat) {
    mkdirSync(path.join(esp, 'josgdb'));
    writeFileSync(path.join(esp, 'josgdb', 'compat'), 'josx64 compatibility mode\n');
  }
  const varsCopy = path.join(rundir, 'vars.fd');
  if (vars) copyFileSync(vars, varsCopy);
  const consoleLog = path.join(rundir, 'console.log');
  const debugSerial = `tcp:127.0.0.1:${serialPort},server=on,wait=off,nodelay=on`;
  const args = [
    '-machine', 'q35',
    '-m', String(options.memoryMb ?? 512),
    '-drive', `if=pflash,format=raw,readonly=on,file=${code}`,
    ...(vars ? ['-drive', `if=pflash,format=raw,file=${varsCopy}`] : []),
    '-drive', `format=raw,file=fat:rw:${esp}`,
    ...(options.debugOnCom1 ? ['-serial', debugSerial] : ['-serial', `file:${consoleLog}`, '-serial', debugSerial]),
    ...(options.gdbPort ? ['-gdb', `tcp:127.0.0.1:${options.gdbPort}`] : []),
    '-display', 'none', '-monitor', 'none', '-net', 'none',
  ];
  installExitHook();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (codeNum) => {
      running.delete(child);
      resolve(codeNum);
    });
    child.on('error', () => {
      running.delete(child);
      resolve(-1);
    });
  });
  // QEMU opens the serial socket at start; wait until it accepts, or report why it died.
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null || child.pid === undefined) {
      await exited;
      throw new JosgdbError('LINK_UNREACHABLE', `QEMU exited at start: ${stderr.trim() || 'no message'} (is qemu-system-x86 installed?)`);
    }
    if (await canConnect(serialPort)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new JosgdbError('LINK_UNREACHABLE', `QEMU did not open its serial port ${serialPort} within 15 s (a slow machine? run it again; josgdb doctor checks QEMU)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid!,
    serialPort,
    targetSpec: `tcp:127.0.0.1:${serialPort}`,
    rundir,
    consoleLog,
    exited,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(rundir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The firmware console text QEMU wrote for a VM (COM1), for error messages. */
export function readConsoleLog(instance: QemuInstance): string {
  try {
    return readFileSync(instance.consoleLog, 'latin1');
  } catch {
    return '';
  }
}
