/**
 * The serial path end to end: gdb -> josgdb -> a serial device (a pty standing in
 * for the cable, opened through the serialport package) -> the josx64 test double,
 * with the link throttled to 115200 baud as a real UART would pace it:
 * handshake, a breakpoint stop, a Ctrl-C-free step, memory reads, detach.
 * Plus the errors a user meets with real devices.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import pino from 'pino';
import { startBridge, type RunningBridge } from '../src/bridge/bridge';
import { isJosgdbError } from '../src/common/errors';
import { BaudCheck } from '../src/link/baud-check';
import { openLink } from '../src/link/open';
import { explainSerialError } from '../src/link/serial';
import { FakeKernel, sym } from './support/fake-kernel';
import { gdbInstalled, runGdb } from './support/gdb';
import { ptyCableTo, type PtyCable } from './support/pty-cable';

const hex = (v: bigint) => '0x' + v.toString(16);
const padded = (v: bigint) => '0x0*' + v.toString(16);

describe('serial link over a pty at 115200 baud (throttled), against the josx64 double', () => {
  let kernel: FakeKernel;
  let cable: PtyCable;
  let bridge: RunningBridge;
  let handshakeMs = 0;

  beforeAll(async () => {
    expect(gdbInstalled()).toBe(true);
    kernel = await FakeKernel.listen({});
    cable = await ptyCableTo(kernel.port);
    const t0 = Date.now();
    bridge = await startBridge({
      target: `serial:${cable.path}:115200,8N1,throttle=115200`,
      listenHost: '127.0.0.1',
      listenPort: 0,
      log: pino({ level: (process.env.JOSGDB_TEST_LOG as pino.Level | undefined) ?? 'silent' }, pino.destination(2)),
      handshakeTimeoutMs: 20_000,
      reconnect: false,
    });
    await bridge.session.waitForStop();
    handshakeMs = Date.now() - t0;
  }, 60_000);

  afterAll(async () => {
    await bridge?.close();
    cable?.close();
    await kernel?.close();
  });

  it('handshakes over the device, paced like a UART', () => {
    expect(bridge.client.description).toBe(`throttled to 115200 baud: ${cable.path} at 115200 baud`);
    // The connection info alone is a few hundred bytes: at 11,520 bytes/s that is tens of ms.
    expect(handshakeMs).toBeGreaterThanOrEqual(20);
  });

  it('stops at a breakpoint, steps, reads memory and detaches clean', async () => {
    const leaf = sym('leaf');
    const t0 = Date.now();
    const { output } = await runGdb(bridge.port, [
      'info registers rip',
      `break *${hex(leaf)}`,
      'continue',
      'info registers rip',
      'stepi',
      'info registers rip',
      `x/8xb ${hex(leaf)}`,
      'x/64xb $sp',
      'detach',
    ]);
    const elapsed = Date.now() - t0;
    expect(output).toMatch(new RegExp(`rip\\s+${hex(sym('main'))}`));
    expect(output).toMatch(new RegExp(`Breakpoint 1, ${padded(leaf)}`));
    expect(output).toMatch(new RegExp(`rip\\s+${hex(sym('leaf_nop'))}`));
    const code = kernel.originalCode();
    const offset = Number(leaf - code.address);
    const want = [...code.bytes.subarray(offset, offset + 8)].map((b) => '0x' + b.toString(16).padStart(2, '0'));
    const xLine = output.split('\n').find((l) => l.startsWith(hex(leaf)));
    expect(xLine?.split(/\s+/).slice(-8)).toEqual(want);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    await bridge.server.whenDisconnected();
    await new Promise((r) => setTimeout(r, 300));
    expect(kernel.strayBreakpointBytes()).toEqual([]);
    // Stop records, frames and memory crossed a 115200 baud line: it took measurable time.
    expect(elapsed).toBeGreaterThan(100);
  }, 90_000);
});

describe('serial link errors a user meets', () => {
  it('refuses a device another program holds (exclusive open) and releases it on close', async () => {
    const kernel = await FakeKernel.listen({});
    const cable = await ptyCableTo(kernel.port);
    try {
      const first = await openLink(`serial:${cable.path}:115200`);
      let err: unknown;
      await openLink(`serial:${cable.path}:115200`).catch((e: unknown) => (err = e));
      expect(isJosgdbError(err, 'LINK_UNREACHABLE')).toBe(true);
      expect((err as Error).message).toBe(
        `${cable.path} is busy: another program has it open (another josgdb, minicom, screen, ModemManager?); "fuser ${cable.path}" names it`,
      );
      first.close();
      await new Promise((r) => setTimeout(r, 100));
      const again = await openLink(`serial:${cable.path}:115200`);
      again.close();
    } finally {
      cable.close();
      await kernel.close();
    }
  });

  it('names the group to join when the device is not accessible', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-dev-'));
    const dev = path.join(dir, 'ttyUSB0');
    fs.writeFileSync(dev, '');
    const group = fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => Number(l.split(':')[2]) === fs.statSync(dev).gid)?.split(':')[0];
    const e = explainSerialError(new Error('Error: Permission denied, cannot open ' + dev), dev);
    expect(e.message).toBe(`permission denied opening ${dev}: it belongs to the group "${group}"; join it with "sudo usermod -aG ${group} $USER" and log in again`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports a device that goes away mid-session, whichever way the hang-up reaches the tty', async () => {
    // The tty sees the master vanish either as EIO/EBADF or, a few times in a hundred,
    // as end of file: serialport alone retries the end-of-file read forever, so the
    // scenario runs many times for the rare path to show up.
    const kernel = await FakeKernel.listen({});
    try {
      for (let round = 0; round < 40; round++) {
        const cable = await ptyCableTo(kernel.port);
        const link = await openLink(`serial:${cable.path}:115200`);
        const closed = new Promise<Error | undefined>((r) => link.onClose(r));
        cable.process.kill('SIGKILL'); // the master side vanishes, as an unplugged adapter's tty does
        let timer: NodeJS.Timeout | undefined;
        const err = await Promise.race([closed, new Promise<string>((r) => (timer = setTimeout(() => r('still open after 5 s'), 5_000)))]);
        clearTimeout(timer);
        if (typeof err === 'string') link.close();
        expect({ round, closed: typeof err === 'string' ? err : err?.message }).toEqual({
          round,
          closed: expect.stringMatching(new RegExp(`^${cable.path} at 115200 baud: the device went away \\(unplugged\\?\\)`)),
        });
      }
    } finally {
      await kernel.close();
    }
  }, 120_000);

  it('waits for an unplugged device to come back and carries on with gdb connected', async () => {
    // The device name is a symlink, as /dev/serial/by-id/... is: the adapter comes back as a new tty under the same name.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-byid-'));
    const byId = path.join(dir, 'usb-FTDI_FT232R_USB_UART-if00-port0');
    const kernel = await FakeKernel.listen({});
    let cable = await ptyCableTo(kernel.port);
    fs.symlinkSync(cable.path, byId);
    const messages: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void messages.push((JSON.parse(line) as { msg: string }).msg) });
    const bridge = await startBridge({
      target: `${byId}:115200`,
      listenHost: '127.0.0.1',
      listenPort: 0,
      log: logger,
      handshakeTimeoutMs: 20_000,
      reconnectDelayMs: { initial: 50, max: 200 },
    });
    try {
      await bridge.session.waitForStop();
      // gdb stays connected throughout: it waits in a shell command while the cable is out.
      const gdb = runGdb(bridge.port, ['info registers rip', 'shell sleep 3', 'x/4xb $pc', 'stepi', 'info registers rip', 'detach']);
      for (let i = 0; i < 200 && !messages.some((m) => /debugger connected/.test(m)); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      cable.close(); // unplugged
      for (let i = 0; i < 100 && !messages.some((m) => /dropped/.test(m)); i++) await new Promise((r) => setTimeout(r, 20));
      expect(messages.find((m) => /dropped/.test(m))).toMatch(
        new RegExp(`^the target link ${byId} at 115200 baud dropped \\(.*the device went away \\(unplugged\\?\\).*\\); reconnecting`),
      );
      await new Promise((r) => setTimeout(r, 300)); // a few failed attempts: no device
      cable = await ptyCableTo(kernel.port); // plugged in again
      fs.rmSync(byId);
      fs.symlinkSync(cable.path, byId);
      const { output } = await gdb;
      expect(messages.find((m) => /restored/.test(m))).toMatch(/^target link .* restored after \d+ attempt\(s\); the kernel was last seen stopped/);
      expect(output).toMatch(new RegExp(`rip\\s+${hex(sym('main'))}`));
      expect(output).toMatch(new RegExp(`^${hex(sym('main'))}:\\s+0x`, 'm'));
      expect(output).toContain('[Inferior 1 (Remote target) detached]');
      expect(output).not.toMatch(/Cannot access memory|Remote connection closed/);
    } finally {
      await bridge.close();
      cable.close();
      await kernel.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('suspects the baud rate when the pre-handshake text is noise', () => {
    const check = new BaudCheck();
    expect(check.feed('BdsDxe: loading Boot0001 "UEFI QEMU HARDDISK QM00001" from PciRoot(0x0)/Pci(0x1F,0x2)')).toBe(false);
    const noisy = new BaudCheck();
    const garbled = Buffer.from([0xe6, 0x98, 0x1e, 0xf8, 0x80, 0x66, 0xfe, 0x86, 0x78, 0x9e, 0xe0, 0x18]).toString('latin1');
    let warned = 0;
    for (let i = 0; i < 8; i++) if (noisy.feed(garbled)) warned++;
    expect(warned).toBe(1);
  });
});
