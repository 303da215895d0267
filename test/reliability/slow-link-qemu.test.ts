/**
 * A slow, jittery serial line: the stub in QEMU behind a link paced at 115200
 * and at 38400 baud (8N1) with up to 3 ms of random delay per burst, as a USB
 * serial adapter gives. Timeouts scale with the baud rate, so a normal gdb
 * session (connect, breakpoint by name, backtrace, steps, a 1 KiB memory read,
 * detach) must see no timeout and no error, and leave no 0xCC.
 */
import type { RunningBridge } from '../../src/bridge/bridge';
import { launchQemu, type QemuInstance } from '../../src/demo/qemu';
import { imageFileReader, stubPublicRvas } from '../../src/demo/stub-symbols';
import { bridgeTo } from '../support/bridge-harness';
import { runGdb } from '../support/gdb';
import { STUB_EFI, STUB_PDB } from '../support/stub';

describe.each([115200, 38400])('reliability: a %i-baud line with jitter (stub-uefi in QEMU)', (baud) => {
  let qemu: QemuInstance;
  let bridge: RunningBridge;

  beforeAll(async () => {
    qemu = await launchQemu({ efi: STUB_EFI });
    bridge = await bridgeTo(`${qemu.targetSpec},throttle=${baud},jitter=3`, { symbols: { image: STUB_EFI, pdb: STUB_PDB } });
    await bridge.session.waitForStop();
  });

  afterAll(async () => {
    await bridge?.close();
    await qemu?.stop();
  });

  it('a whole gdb session sees no timeout or error', async () => {
    const rva = stubPublicRvas(STUB_EFI, STUB_PDB);
    const fileBytes = imageFileReader(STUB_EFI);
    const started = Date.now();
    const { output } = await runGdb(
      bridge.port,
      ['break demo_leaf', 'continue', 'bt', 'stepi', 'stepi', 'next', 'x/1024xb $sp', 'print g_point', 'delete', 'detach'],
      300_000,
    );
    // a second session on the running kernel (break-in over the slow line)
    const check = await runGdb(bridge.port, ['x/16xb demo_leaf', 'detach'], 300_000);
    const seconds = (Date.now() - started) / 1000;
    expect(output).toMatch(/Breakpoint 1, demo_leaf/);
    expect(output).toMatch(/#4 .*main \(\)/);
    expect(output).toMatch(/= \{x = -?\d+, y = 4, name = 0x[0-9a-f]+ "origin"\}/);
    expect(output).not.toMatch(/timed? ?out|Remote failure|Remote connection closed|Ignoring packet error/i);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    expect(check.output).toContain('[Inferior 1 (Remote target) detached]');
    // after the first session: demo_leaf's bytes are the image file's (the breakpoint is gone)
    const leaf = [...check.output.matchAll(/<demo_leaf(?:\+\d+)?>:((?:\s+0x[0-9a-f]{2}\b)+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/).map(Number));
    expect(leaf).toEqual([...fileBytes(rva.get('demo_leaf')!, 16)]);
    process.stderr.write(`slow link ${baud} baud: whole session ${seconds.toFixed(1)} s\n`);
  });
});

