/**
 * Real gdb -> josgdb -> stub-uefi in QEMU with OVMF: the base-protocol scenario of
 * issue 2 against real x86-64 execution, in normal mode and in josx64
 * compatibility mode (flaws on, extensions off). One VM per mode.
 */
import { existsSync } from 'fs';
import { launchQemu, type QemuInstance } from '../src/demo/qemu';
import type { RunningBridge } from '../src/bridge/bridge';
import { bridgeTo } from './support/bridge-harness';
import { runGdb } from './support/gdb';
import { STUB_EFI, STUB_PDB } from './support/stub';
import { imageFileReader, stubPublicRvas } from '../src/demo/stub-symbols';

const hex = (v: bigint) => '0x' + v.toString(16);
const padded = (v: bigint) => '0x0*' + v.toString(16);

describe.each([
  ['normal mode', false],
  ['josx64 compatibility mode', true],
])('gdb against stub-uefi in QEMU: %s', (_name, compat) => {
  let qemu: QemuInstance;
  let bridge: RunningBridge;
  let rva: Map<string, bigint>;
  let fileBytes: (rva: bigint, length: number) => Buffer;

  beforeAll(async () => {
    expect(existsSync(STUB_EFI)).toBe(true);
    rva = stubPublicRvas(STUB_EFI, STUB_PDB);
    fileBytes = imageFileReader(STUB_EFI);
    qemu = await launchQemu({ efi: STUB_EFI, compat });
    bridge = await bridgeTo(qemu.targetSpec);
    await bridge.session.waitForStop();
  });

  afterAll(async () => {
    await bridge?.close();
    await qemu?.stop();
  });

  it('announces extensions only in normal mode', () => {
    expect(bridge.session.target.features.size > 0).toBe(!compat);
  });

  it('stops at main, steps, breaks, shows original bytes at breakpoints, and detaches clean', async () => {
    const base = bridge.session.target.info.imageBase;
    const at = (name: string) => {
      const r = rva.get(name);
      if (r === undefined) throw new Error(`no symbol ${name} in the stub's PDB`);
      return base + r;
    };
    const demoB = at('demo_b');
    const leaf = at('demo_leaf');
    const trigger = at('g_trigger');
    const { output } = await runGdb(bridge.port, [
      'info registers rip',
      `break *${hex(leaf)}`,
      `break *${hex(demoB)}`,
      'continue',
      'info registers rip',
      `x/8xb ${hex(leaf)}`,
      ...Array(10).fill('stepi'),
      'info registers rip',
      'continue',
      'info registers rip',
      // after detach the workload runs into a compiled int3, so the test can look at memory
      `set var *(int*)${hex(trigger)} = 5`,
      'detach',
    ]);
    expect(output).toMatch(new RegExp(`Breakpoint 2, ${padded(demoB)}`));
    const expected = [...fileBytes(leaf - base, 8)].map((b) => '0x' + b.toString(16).padStart(2, '0'));
    const xLine = output.split('\n').find((l) => l.startsWith(hex(leaf) + ':'));
    expect(xLine?.split(/\s+/).slice(1)).toEqual(expected);
    expect(output).toMatch(new RegExp(`Breakpoint 1, ${padded(leaf)}`));
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    const stop = await bridge.session.waitForStop();
    expect(stop.stop.kind).toBe('breakpoint');
    for (const addr of [demoB, leaf]) {
      const now = await bridge.session.readMemory(addr, 8);
      expect(now.toString('hex')).toBe(fileBytes(addr - base, 8).toString('hex'));
    }
  });
});
