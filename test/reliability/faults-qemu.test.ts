/**
 * Fault scenarios against stub-uefi in QEMU (normal mode, every extension), one
 * VM at a time, with the bridge reaching QEMU's serial socket through a proxy
 * that cuts the link, injects garbage and counts handshakes. After every
 * scenario the invariants are checked: the target's code bytes equal the image
 * file at every address a breakpoint was ever set (read from the kernel itself,
 * below the bridge's shadow of its own 0xCC bytes), a new gdb gets answers, the
 * process's RSS stays bounded, and every request got a reply or an error within
 * its timeout (each wait below has one).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import type { RunningBridge } from '../../src/bridge/bridge';
import { launchQemu, type QemuInstance } from '../../src/demo/qemu';
import { imageFileReader, stubPublicRvas } from '../../src/demo/stub-symbols';
import { bridgeTo } from '../support/bridge-harness';
import { spawn } from 'child_process';
import { GDB, runGdb } from '../support/gdb';
import { RawRspClient } from '../support/raw-rsp';
import { STUB_EFI, STUB_PDB } from '../support/stub';
import { report, rssMb, Tally } from './support/figures';
import { LinkProxy } from './support/link-proxy';

const hex = (v: bigint) => v.toString(16);
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms).unref())]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The socket goes away with a TCP reset, as when gdb's process dies. */
const drop = (c: RawRspClient) => (c as unknown as { socket: import('net').Socket }).socket.resetAndDestroy();

describe('reliability: faults against stub-uefi in QEMU', () => {
  const tally = new Tally();
  let qemu: QemuInstance;
  let proxy: LinkProxy;
  let bridge: RunningBridge;
  let tmp: string;
  let stateFile: string;
  let rva = new Map<string, bigint>();
  let fileBytes: (rva: bigint, length: number) => Buffer;
  let rssBefore = 0;
  /** Every address a breakpoint was ever set at (with the scenario that set it). */
  const everArmed = new Set<bigint>();
  let handshakesAtStart = 0;
  /**
   * The bridge process dies: nothing more reaches the kernel, and the state file
   * stays as it was at that instant (the in-process bridge's orderly close would
   * release the session, so its link is muted first and the file put back).
   */
  async function killBridge(): Promise<void> {
    const saved = readFileSync(stateFile);
    proxy.muteBridge();
    await bridge.close();
    writeFileSync(stateFile, saved);
  }
  const at = (name: string) => bridge.session.target.info.imageBase + rva.get(name)!;

  beforeAll(async () => {
    rva = stubPublicRvas(STUB_EFI, STUB_PDB);
    fileBytes = imageFileReader(STUB_EFI);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'josgdb-reliability-'));
    stateFile = path.join(tmp, 'state.json');
    qemu = await launchQemu({ efi: STUB_EFI });
    proxy = await LinkProxy.start(qemu.serialPort);
    bridge = await bridgeTo(proxy.spec, { stateFile });
    await within(bridge.session.waitForStop(), 60_000, 'first stop');
    rssBefore = rssMb();
    // the bridge repeats `josx` every 500 ms while the firmware boots: one handshake, several copies
    handshakesAtStart = proxy.handshakes;
  }, 120_000);

  afterAll(async () => {
    await bridge?.close();
    await proxy?.close();
    await qemu?.stop();
    report({ suite: 'faults (QEMU)', scenarios: tally.scenarios, faults: tally.faults, packets: 0, checks: tally.checks, failures: tally.failures, rssBeforeMb: rssBefore, rssAfterMb: rssMb() });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * A new gdb connects, reads registers and detaches (which releases everything
   * the session or a previous bridge armed); then the target is stopped (break-in)
   * and the kernel's own bytes are compared with the image file.
   */
  async function invariants(what: string): Promise<void> {
    const session = bridge.session;
    const { output } = await runGdb(bridge.port, ['info registers rip', 'x/2i $pc', 'detach'], 60_000);
    tally.check(/rip\s+0x[0-9a-f]+/.test(output), `${what}: a new gdb reads registers:\n${output}`);
    tally.check(output.includes('[Inferior 1 (Remote target) detached]'), `${what}: a new gdb detaches:\n${output}`);
    await within(bridge.server.whenDisconnected(), 10_000, `${what}: gdb gone`);
    await sleep(200);
    if (session.status === 'running') await within(session.interrupt(), 10_000, `${what}: break-in`);
    if (session.status !== 'stopped') await within(session.waitForStop(), 20_000, `${what}: stop`);
    const base = session.target.info.imageBase;
    for (const address of everArmed) {
      const actual = await within(session.target.readMemory(address, 1), 10_000, `${what}: raw read`);
      const expected = fileBytes(address - base, 1);
      tally.check(actual.equals(expected), `${what}: the kernel holds 0x${actual.toString('hex')} at 0x${hex(address)}, the image file 0x${expected.toString('hex')}`);
    }
    tally.check(rssMb() < rssBefore + 200, `${what}: RSS ${rssMb()} MB (started at ${rssBefore} MB)`);
  }

  async function rsp(): Promise<RawRspClient> {
    const c = await RawRspClient.connect(bridge.port);
    c.send('?');
    const r = await c.reply(20_000);
    expect(r?.payload).toMatch(/^T/);
    return c;
  }
  async function ask(c: RawRspClient, payload: string, ms = 20_000): Promise<string> {
    c.send(payload);
    const r = await c.reply(ms);
    if (!r) throw new Error(`no reply to ${payload} within ${ms} ms`);
    return r.payload;
  }
  async function arm(c: RawRspClient, name: string): Promise<bigint> {
    const a = at(name);
    everArmed.add(a);
    expect(await ask(c, `Z0,${hex(a)},1`)).toBe('OK');
    return a;
  }

  it('gdb socket reset while stopped at a breakpoint', async () => {
    await tally.scenario(async () => {
      const c = await rsp();
      const leaf = await arm(c, 'demo_leaf');
      expect(await ask(c, 'c', 30_000)).toMatch(/^T05/);
      await arm(c, 'demo_c');
      drop(c);
      tally.faults++;
      await within(bridge.server.whenDisconnected(), 10_000, 'disconnect');
      await invariants('socket reset while stopped');
      expect(everArmed.has(leaf)).toBe(true);
    });
  });

  it('gdb socket reset while running', async () => {
    await tally.scenario(async () => {
      const c = await rsp();
      await arm(c, 'demo_factorial');
      await arm(c, 'demo_b');
      expect(await ask(c, 'z0,' + hex(at('demo_factorial')) + ',1')).toBe('OK');
      expect(await ask(c, 'z0,' + hex(at('demo_b')) + ',1')).toBe('OK');
      await arm(c, 'demo_frame');
      c.send('c');
      await sleep(30);
      drop(c);
      tally.faults++;
      await within(bridge.server.whenDisconnected(), 10_000, 'disconnect');
      await invariants('socket reset while running');
    });
  });

  it('gdb killed mid-packet (half a packet, then the socket is gone)', async () => {
    await tally.scenario(async () => {
      const c = await rsp();
      await arm(c, 'demo_a');
      c.sendRaw(`$m${hex(at('main'))},4`);
      await sleep(50);
      drop(c);
      tally.faults++;
      await within(bridge.server.whenDisconnected(), 10_000, 'disconnect');
      await invariants('gdb killed mid-packet');
    });
  });

  it('the real gdb killed with SIGKILL while the target runs', async () => {
    await tally.scenario(async () => {
      everArmed.add(at('demo_leaf'));
      // our own gdb process, so that it is this one (by its pid) that gets killed
      const gdb = spawn(GDB, ['-batch', '-nx', '-ex', 'set confirm off', '-ex', `target remote 127.0.0.1:${bridge.port}`,
        '-ex', `break *0x${hex(at('demo_leaf'))}`, '-ex', 'continue', '-ex', 'delete', '-ex', 'continue'], { stdio: 'ignore' });
      const run = new Promise((resolve) => gdb.on('exit', resolve));
      // wait until gdb resumed past the breakpoint, then kill it
      for (let i = 0; i < 200 && !(bridge.session.status === 'running' && bridge.server.connected && bridge.session.breakpoints.list().length === 0); i++) await sleep(50);
      await sleep(300);
      gdb.kill('SIGKILL');
      tally.faults++;
      await run;
      await within(bridge.server.whenDisconnected(), 10_000, 'disconnect');
      await invariants('gdb SIGKILL while running');
    });
  });

  it('the target link drops in the middle of a memory read, and while running', async () => {
    await tally.scenario(async () => {
      const c = await rsp();
      await arm(c, 'demo_c');
      // a 16 KB read: the reply is cut after 100 of its bytes
      proxy.cutAfterKernelBytes(100);
      c.send(`m${hex(at('main'))},4000`);
      const r = await c.reply(30_000);
      tally.faults++;
      expect(r?.payload).toMatch(/^(E|[0-9a-f]+$)/);
      // the link comes back and the same read works
      for (let i = 0; i < 100 && bridge.client.state === 'disconnected'; i++) await sleep(50);
      const again = await ask(c, `m${hex(at('main'))},40`);
      tally.check(Buffer.from(again, 'hex').equals(fileBytes(rva.get('main')!, 0x40)), 'read after the link came back equals the image');
      // now while running
      expect(await ask(c, `z0,${hex(at('demo_c'))},1`)).toBe('OK');
      c.send('c');
      await sleep(200);
      proxy.cut();
      tally.faults++;
      await sleep(500);
      c.sendRaw('\x03');
      const stop = await c.reply(20_000);
      expect(stop?.payload).toMatch(/^T/);
      await c.close();
      await within(bridge.server.whenDisconnected(), 10_000, 'disconnect');
      await invariants('link drop');
      expect(proxy.handshakes).toBe(handshakesAtStart);
    });
  });

  it('garbage on the target link while stopped: random bytes, a 4 GiB header, a cut body, a wrong id', async () => {
    await tally.scenario(async () => {
      const c = await rsp();
      const main = at('main');
      const expected = fileBytes(rva.get('main')!, 16).toString('hex');
      const header = (id: number, length: number) => {
        const b = Buffer.alloc(8);
        b.writeUInt32LE(id, 0);
        b.writeUInt32LE(length >>> 0, 4);
        return b;
      };
      const garbage: [string, Buffer][] = [
        ['random bytes', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 17) & 0xff))],
        ['a header announcing 4 GiB', header(0x804, 0xffffffff)],
        ['a cut stop record', Buffer.concat([header(3, 225), Buffer.alloc(60, 0x41)])],
        ['a reply with a wrong id', Buffer.concat([header(0x811, 24), Buffer.alloc(24, 7)])],
      ];
      for (const [what, bytes] of garbage) {
        proxy.inject(bytes);
        tally.faults++;
        await sleep(300);
        const reply = await ask(c, `m${hex(main)},10`, 30_000);
        tally.check(reply === expected, `after ${what}: m of main gives ${reply}, the image ${expected}`);
      }
      await c.close();
      await within(bridge.server.whenDisconnected(), 10_000, 'disconnect');
      await invariants('garbage on the link');
    });
  });

  it('the bridge killed and restarted with --attach while stopped and while running', async () => {
    await tally.scenario(async () => {
      const c = await rsp();
      await arm(c, 'demo_point_sum');
      expect(await ask(c, 'c', 30_000)).toMatch(/^T05/);
      // the process vanishes: nothing released, the kernel keeps its breakpoint
      await killBridge();
      tally.faults++;
      bridge = await bridgeTo(proxy.spec, { stateFile, attach: true });
      await within(bridge.session.waitForStop(), 20_000, 'attached stop');
      tally.check(proxy.handshakes === handshakesAtStart, `no second handshake after the restart while stopped (${proxy.handshakes})`);
      await invariants('bridge restart while stopped');
      // while running
      const d = await rsp();
      await arm(d, 'demo_factorial');
      expect(await ask(d, 'z0,' + hex(at('demo_factorial')) + ',1')).toBe('OK');
      d.send('c');
      await sleep(300);
      await killBridge();
      tally.faults++;
      bridge = await bridgeTo(proxy.spec, { stateFile, attach: true });
      tally.check(bridge.session.status === 'running', `the restarted bridge knows the kernel runs (${bridge.session.status})`);
      tally.check(proxy.handshakes === handshakesAtStart, `no second handshake after the restart while running (${proxy.handshakes})`);
      await invariants('bridge restart while running');
    });
  });

  it('QEMU killed and restarted: a new boot, a new handshake, no stale breakpoint', async () => {
    await tally.scenario(async () => {
      const c = await rsp();
      await arm(c, 'demo_b');
      expect(await ask(c, 'c', 30_000)).toMatch(/^T05/);
      const port = qemu.serialPort;
      process.kill(qemu.pid, 'SIGKILL');
      await qemu.exited;
      await qemu.stop();
      tally.faults++;
      qemu = await launchQemu({ efi: STUB_EFI, serialPort: port });
      // gdb learns that the old boot is gone, and the new boot's first stop
      const msgs: string[] = [];
      const deadline = Date.now() + 90_000;
      let last: string | undefined;
      while (Date.now() < deadline) {
        c.send('?');
        const r = await c.reply(5000);
        if (r) {
          msgs.push(r.console);
          last = r.payload;
          if (/^T05/.test(r.payload) && bridge.session.status === 'stopped' && proxy.handshakes > handshakesAtStart) break;
        }
        if (c.closed) break;
        await sleep(500);
      }
      tally.check(proxy.handshakes > handshakesAtStart, `a new handshake with the new boot (${proxy.handshakes} josx copies in all); last reply ${last}; console ${msgs.join('|')}`);
      const stop = bridge.session.currentStop?.stop;
      tally.check(stop?.kind === 'breakpoint' && stop.record.frame.rip === at('main'), 'the new boot stops at main');
      // the bridge carries no breakpoint from the old boot
      tally.check(bridge.session.breakpoints.list().length === 0, 'no breakpoint carried across the reboot');
      await c.close().catch(() => undefined);
      await within(bridge.server.whenDisconnected(), 10_000, 'disconnect');
      await invariants('QEMU restart');
    });
  }, 180_000);
});
