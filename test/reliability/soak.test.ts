/**
 * Soak: many stepi and breakpoint hits through the real gdb against stub-uefi in
 * QEMU, with the bridge's RSS and open file descriptors printed at the start and
 * the end. CI runs a short form; `npm run reliability -- --soak` runs 10,000
 * stepi and 1,000 breakpoint hits (JOSGDB_SOAK_STEPS / JOSGDB_SOAK_HITS).
 */
import { mkdtempSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import type { RunningBridge } from '../../src/bridge/bridge';
import { launchQemu, type QemuInstance } from '../../src/demo/qemu';
import { imageFileReader, stubPublicRvas } from '../../src/demo/stub-symbols';
import { bridgeTo } from '../support/bridge-harness';
import { runGdb } from '../support/gdb';
import { STUB_EFI, STUB_PDB } from '../support/stub';
import { openFds, report, rssMb, Tally } from './support/figures';

const STEPS = Number(process.env.JOSGDB_SOAK_STEPS ?? 300);
const HITS = Number(process.env.JOSGDB_SOAK_HITS ?? 50);

describe('reliability: soak', () => {
  let qemu: QemuInstance;
  let bridge: RunningBridge;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'josgdb-soak-'));
    qemu = await launchQemu({ efi: STUB_EFI });
    bridge = await bridgeTo(qemu.targetSpec, { stateFile: path.join(tmp, 'state.json') });
    await bridge.session.waitForStop();
  }, 120_000);
  afterAll(async () => {
    await bridge?.close();
    await qemu?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(`${STEPS} stepi and ${HITS} breakpoint hits through gdb, memory and descriptors flat`, async () => {
    const tally = new Tally();
    tally.scenarios = 1;
    const rva = stubPublicRvas(STUB_EFI, STUB_PDB);
    const fileBytes = imageFileReader(STUB_EFI);
    const leaf = bridge.session.target.info.imageBase + rva.get('demo_leaf')!;
    // warm up once (first gdb, caches, the JIT) before the start figures
    await runGdb(bridge.port, ['info registers rip', 'detach']);
    await bridge.server.whenDisconnected();
    const start = { rss: rssMb(), fds: openFds(), at: Date.now() };
    process.stdout.write(`soak start: RSS ${start.rss} MB, ${start.fds} open fds\n`);
    const { output } = await runGdb(
      bridge.port,
      [
        'set pagination off',
        `break *0x${leaf.toString(16)}`,
        // gdb ignores the breakpoint HITS-1 times: each is still a real stop through the bridge, resumed by gdb
        `ignore 1 ${HITS - 1}`,
        'continue',
        'info breakpoints',
        'delete',
        `stepi ${STEPS}`,
        'info registers rip',
        'detach',
      ],
      3_600_000,
    );
    await bridge.server.whenDisconnected();
    const end = { rss: rssMb(), fds: openFds(), at: Date.now() };
    process.stdout.write(`soak end: RSS ${end.rss} MB, ${end.fds} open fds, ${((end.at - start.at) / 1000).toFixed(1)} s\n`);
    const hits = /breakpoint already hit (\d+) time/.exec(output);
    tally.check(hits !== null && Number(hits[1]) === HITS, `gdb counted ${hits?.[1]} hits, expected ${HITS}:\n${output.slice(-3000)}`);
    tally.check(/rip\s+0x[0-9a-f]+/.test(output), 'gdb read rip after the steps');
    tally.check(output.includes('[Inferior 1 (Remote target) detached]'), 'gdb detached');
    // stops: HITS breakpoint hits and STEPS steps, each one a stop the session saw
    tally.packets = HITS + STEPS;
    // the breakpoint byte is gone from the kernel
    if (bridge.session.status === 'running') await bridge.session.interrupt();
    await bridge.session.waitForStop();
    const raw = await bridge.session.target.readMemory(leaf, 1);
    tally.check(raw.equals(fileBytes(rva.get('demo_leaf')!, 1)), `the kernel holds 0x${raw.toString('hex')} at demo_leaf after the soak`);
    tally.check(end.rss < start.rss + 100, `RSS grew from ${start.rss} to ${end.rss} MB`);
    tally.check(end.fds <= start.fds + 2, `open fds grew from ${start.fds} to ${end.fds}`);
    report({ suite: `soak (${STEPS} stepi, ${HITS} hits)`, scenarios: 1, faults: 0, packets: 0, checks: tally.checks, failures: tally.failures, rssBeforeMb: start.rss, rssAfterMb: end.rss, fdsBefore: start.fds, fdsAfter: end.fds, notes: `${((end.at - start.at) / 1000).toFixed(1)} s` });
  }, 3_600_000);
});
