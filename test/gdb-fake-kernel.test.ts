/**
 * Real gdb -> josgdb -> the josx64 test double, over real sockets: the base
 * protocol behaviours of issue 2, with the kernel's flaws off and on.
 */
import { FakeKernel, sym } from './support/fake-kernel';
import { gdbInstalled, GDB, runGdb } from './support/gdb';
import { bridgeTo } from './support/bridge-harness';
import type { RunningBridge } from '../src/bridge/bridge';

const hex = (v: bigint) => "0x" + v.toString(16);
const padded = (v: bigint) => "0x0*" + v.toString(16);

describe.each([
  ['a fixed kernel', false],
  ['josx64 flaws on (compat)', true],
])('gdb against the fake kernel: %s', (_name, compat) => {
  let kernel: FakeKernel;
  let bridge: RunningBridge;

  beforeAll(async () => {
    expect(gdbInstalled()).toBe(true);
    kernel = await FakeKernel.listen({ compat });
    bridge = await bridgeTo(`tcp:127.0.0.1:${kernel.port}`);
    await bridge.session.waitForStop();
  });

  afterAll(async () => {
    await bridge?.close();
    await kernel?.close();
  });

  it(`connects, reads registers, steps, stops at a breakpoint, and detaches clean (${GDB})`, async () => {
    const funcB = sym('func_b');
    const leaf = sym('leaf');
    const { output } = await runGdb(bridge.port, [
      'info registers rip',
      'x/4xb $pc',
      `break *${hex(leaf)}`,
      `break *${hex(funcB)}`,
      'continue',
      'info registers rip',
      `x/8xb ${hex(leaf)}`,
      'stepi',
      'stepi',
      'stepi',
      'info registers rip',
      'continue',
      'info registers rip',
      'detach',
    ]);
    expect(output).toMatch(new RegExp(`rip\\s+${hex(sym('main'))}`));
    expect(output).toMatch(new RegExp(`Breakpoint 2, ${padded(funcB)}`));
    // the bytes at an armed breakpoint read as the original code, never 0xcc
    const code = kernel.originalCode();
    const offset = Number(leaf - code.address);
    const expected = [...code.bytes.subarray(offset, offset + 8)].map((b) => '0x' + b.toString(16).padStart(2, '0'));
    const xLine = output.split('\n').find((l) => l.startsWith(hex(leaf) + ' <') || l.startsWith(hex(leaf) + ':'));
    expect(xLine).toBeDefined();
    expect(xLine!.split(/\s+/).slice(1)).toEqual(expected);
    expect(output).toMatch(new RegExp(`Breakpoint 1, ${padded(leaf)}`));
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    await bridge.server.whenDisconnected();
    await new Promise((r) => setTimeout(r, 300));
    expect(kernel.strayBreakpointBytes()).toEqual([]);
    expect(kernel.breakpointList().filter((b) => b.active)).toEqual([]);
  });
});
