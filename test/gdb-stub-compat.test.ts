/**
 * Real gdb -> josgdb -> stub-uefi in QEMU in josx64 compatibility mode (the
 * kernel's flaws on, no extensions): the same gdb scenarios as
 * gdb-stub-extensions.test.ts, now served by the bridge's workarounds, or refused
 * with a clear message where the base protocol cannot do it. One VM; the assert,
 * from which a josx64 kernel never resumes (and which it cannot reset), runs last.
 */
import { decodeInstructionLength } from '../src/bridge/instruction';
import { GdbMi, miString } from './support/gdb-mi';
import { examined, hex, padded, replyTo, stopWithin, useStubVm } from './support/stub-vm';


describe('gdb against stub-uefi in QEMU, josx64 compatibility mode: the same scenarios through the workarounds', () => {
  const vm = useStubVm({ compat: true });
  const { at, original, gdb, packets } = vm;
  const currentRip = () => {
    const stop = vm.bridge.session.currentStop?.stop;
    if (!stop || stop.kind === 'assert' || vm.bridge.session.status !== 'stopped') throw new Error('the target is not stopped');
    return stop.record.frame.rip;
  };
  const byteList = (b: Buffer) => [...b].map((v) => '0x' + v.toString(16).padStart(2, '0'));
  /** The stop that a compiled int3 (g_trigger 5) brings about after gdb left. */
  const expectInt3Stop = async () => {
    const stop = await stopWithin(vm.bridge.session.waitForStop());
    expect(stop.stop.kind).toBe('breakpoint');
    if (stop.stop.kind === 'breakpoint') expect(original(stop.stop.record.frame.rip - 1n, 1)[0]).toBe(0xcc);
  };
  /**
   * A base-protocol kernel cannot be stopped from outside, and gdb connecting to a
   * running one waits for a stop that may never come. So every session ends by
   * arming the workload's compiled int3 (g_trigger 5) before gdb leaves (`end`:
   * detach, kill or gdb's own exit): the target stops there and the next session
   * finds it stopped.
   */
  const gdbThenStop = async (commands: string[], end?: 'detach' | 'kill') => {
    const out = await gdb([...commands, `set var *(int *)${hex(at('g_trigger'))} = 5`, ...(end ? [end] : [])]);
    await expectInt3Stop();
    return out;
  };

  it('starts stopped at main with no extension announced', async () => {
    const stop = await vm.bridge.session.waitForStop();
    expect(stop.stop.kind).toBe('breakpoint');
    if (stop.stop.kind === 'breakpoint') expect(stop.stop.record.frame.rip).toBe(at('main'));
    expect(vm.bridge.session.target.features.size).toBe(0);
  });

  it('refuses register writes with a clear error and leaves the registers as they were', async () => {
    const main = at('main');
    const out = await gdbThenStop(['info registers rax', 'set $rax = 0x1234', `set $rip = ${hex(at('demo_fault'))}`, 'info registers rax rip']);
    const why = 'the target cannot write registers (the josx64 base protocol has no register write)';
    expect(out).toContain(`Could not write register "rax"; remote failure reply 'E.${why}'`);
    expect(out).toContain(`Could not write register "rip"; remote failure reply 'E.${why}'`);
    const rax = [...out.matchAll(/^rax\s+(0x[0-9a-f]+)/gm)].map((m) => m[1]);
    expect(rax).toHaveLength(2);
    expect(rax[1]).toBe(rax[0]);
    expect(rax[0]).not.toBe('0x1234');
    expect(out).toMatch(new RegExp(`^rip\\s+${hex(main)}\\s`, 'm'));
    // The refusal travels as gdb's textual error reply, E.<why>, not a bare errno.
    expect(replyTo(await packets(), 'P')).toBe(`E.${why}`);
  });

  it('refuses hardware breakpoints and watchpoints cleanly; gdb keeps control and software breakpoints work', async () => {
    const demoB = at('demo_b');
    const expr = `*(unsigned long *)${hex(at('g_counter'))}`;
    const attempts = [`hbreak *${hex(demoB)}`, `watch ${expr}`, `rwatch ${expr}`, `awatch ${expr}`];
    const ripBefore = currentRip();
    const out = await gdbThenStop([
      ...attempts.flatMap((a) => [a, 'continue', 'delete']),
      'info registers rip',
      `break *${hex(demoB)}`,
      'continue',
    ]);
    // gdb takes the empty replies to Z1-Z4 as "not supported" and stops the resume
    // before it starts, so the target never ran with a watch it could not serve.
    expect(out).toContain('Cannot insert hardware breakpoint 1.');
    for (const n of [2, 3, 4]) expect(out).toContain(`Could not insert hardware watchpoint ${n}.`);
    expect(out.match(/Command aborted\./g)).toHaveLength(4);
    expect(out).toMatch(new RegExp(`^rip\\s+${hex(ripBefore)}\\s`, 'm'));
    expect(out).toMatch(new RegExp(`Breakpoint 5, ${padded(demoB)} in`));
    const log = await packets();
    for (const z of ['Z1,', 'Z2,', 'Z3,', 'Z4,']) expect(replyTo(log, z)).toBe('');
    expect(vm.bridge.session.hwSlots.every((slot) => slot === undefined)).toBe(true);
  });

  it('gdb falls back to a software watchpoint when told not to use hardware ones (single steps through the vm.bridge)', async () => {
    // From demo_c's entry the store to g_point.x in demo_b is a few dozen steps away.
    const demoB = at('demo_b');
    const out = await gdbThenStop([
      `break *${hex(at('demo_c'))}`,
      'continue',
      'delete',
      'set can-use-hw-watchpoints 0',
      `watch *(int *)${hex(at('g_point'))}`,
      'continue',
      'info registers rip',
      'delete',
    ]);
    expect(out).toMatch(/\nWatchpoint 2: \*\(int \*\)0x[0-9a-f]+\n\nOld value = -?\d+\nNew value = -?\d+\n/);
    const rip = BigInt(/^rip\s+(0x[0-9a-f]+)/m.exec(out)![1]!);
    expect(rip > demoB && rip < at('demo_a')).toBe(true);
  });

  it('an unmapped or non-canonical read is an error for gdb and does not wedge the kernel', async () => {
    const demoB = at('demo_b');
    const walksBefore = vm.bridge.session.memory.stats.pageWalks;
    const out = await gdbThenStop([
      'x/4xb 0x7ffffffff000',
      'x/4xb 0xffff800000000000',
      'x/4xb 0x8000000000000000',
      'info registers rip',
      `break *${hex(demoB)}`,
      'continue',
      'info registers rip',
    ]);
    expect(out).toContain('Cannot access memory at address 0x7ffffffff000');
    expect(out).toContain('Cannot access memory at address 0xffff800000000000');
    expect(out).toContain('Cannot access memory at address 0x8000000000000000');
    expect(out).toMatch(new RegExp(`Breakpoint 1, ${padded(demoB)} in`));
    expect(vm.bridge.session.status).toBe('stopped');
    // The vm.bridge asked the page tables (TraversePageTable) instead of reading blind.
    expect(vm.bridge.session.memory.stats.pageWalks).toBeGreaterThan(walksBefore);
  });

  it('code patched through gdb runs, reads back, and restores', async () => {
    const leaf = at('demo_leaf');
    const frame = at('demo_frame');
    const point = at('g_point');
    const counter = at('g_counter');
    const before = original(leaf, 3);
    const patch = [0x31, 0xc0, 0xc3]; // xor eax, eax; ret
    const out = await gdbThenStop([
      `break *${hex(frame)}`,
      'continue',
      ...patch.map((b, i) => `set {unsigned char}${hex(leaf + BigInt(i))} = ${b}`),
      `x/3xb ${hex(leaf)}`,
      'continue',
      `x/1dw ${hex(point)}`,
      `x/1dg ${hex(counter)}`,
      ...[...before].map((b, i) => `set {unsigned char}${hex(leaf + BigInt(i))} = ${b}`),
      `x/3xb ${hex(leaf)}`,
    ]);
    const xLines = out.split('\n').filter((l) => l.startsWith(hex(leaf) + ':'));
    expect(xLines[0]?.split(/\s+/).slice(1)).toEqual(['0x31', '0xc0', '0xc3']);
    const table = [1, 1, 2, 3, 5, 8, 13, 21];
    expect(examined(out, point)).toBe(BigInt(table[Number((examined(out, counter) + 3n) & 7n)]!));
    expect(xLines[1]?.split(/\s+/).slice(1)).toEqual(byteList(before));
    expect((await vm.bridge.session.readMemory(leaf, 3)).toString('hex')).toBe(before.toString('hex'));
  });

  it('Ctrl-C: the vm.bridge says at once that the target cannot be interrupted, and gdb stops at the next breakpoint', async () => {
    const trace = at('trace');
    const mi = await GdbMi.connect(vm.bridge.port);
    try {
      // trace() runs once a second (the workload's tick): the stop that ends the wait.
      // Stop at one tick first, so the interrupt goes out early in the next second.
      await mi.run(`-break-insert *${hex(trace)}`);
      await mi.run('-exec-continue');
      const tick = await mi.nextStop(10_000);
      expect(BigInt(miString(tick.results, 'frame', 'addr'))).toBe(trace);
      expect((await mi.run('-exec-continue')).cls).toBe('running');
      await new Promise((r) => setTimeout(r, 100));
      const mark = mi.transcript.length;
      const sent = performance.now();
      await mi.run('-exec-interrupt');
      const told = await mi.waitForText(/josgdb: this target cannot be interrupted \(the josx64 base protocol has no break-in\)/, { since: mark, timeoutMs: 5000 });
      expect(told - sent).toBeLessThan(1000);
      const stop = await mi.nextStop(10_000);
      expect(miString(stop.results, 'reason')).toBe('breakpoint-hit');
      expect(BigInt(miString(stop.results, 'frame', 'addr'))).toBe(trace);
      expect(stop.at).toBeGreaterThan(told);
    } finally {
      // Whatever happened: leave the target to stop at the int3 once gdb is gone.
      await mi.send('-break-delete');
      await mi.send(`-data-write-memory-bytes ${hex(at('g_trigger'))} 05000000`);
      await mi.close();
    }
    await expectInt3Stop();
  });

  it('detach, then a new gdb session attaches again: breakpoints work, no stray 0xCC', async () => {
    const demoB = at('demo_b');
    const demoC = at('demo_c');
    const leaf = at('demo_leaf');
    const first = await gdbThenStop([`break *${hex(demoB)}`, `break *${hex(leaf)}`, 'continue', 'continue'], 'detach');
    expect(first).toMatch(new RegExp(`Breakpoint 1, ${padded(demoB)} in`));
    expect(first).toMatch(new RegExp(`Breakpoint 2, ${padded(leaf)} in`));
    expect(first).toContain('[Inferior 1 (Remote target) detached]');
    for (const a of [demoB, leaf]) expect((await vm.bridge.session.readMemory(a, 8)).toString('hex')).toBe(original(a, 8).toString('hex'));
    const second = await gdbThenStop([`break *${hex(demoC)}`, 'continue', 'continue', `x/8xb ${hex(demoB)}`], 'detach');
    expect(second.match(new RegExp(`Breakpoint 1, ${padded(demoC)} in`, 'g'))).toHaveLength(2);
    const xLine = second.split('\n').find((l) => l.startsWith(hex(demoB) + ':'));
    expect(xLine?.split(/\s+/).slice(1)).toEqual(byteList(original(demoB, 8)));
    for (const a of [demoB, demoC, leaf]) expect((await vm.bridge.session.readMemory(a, 8)).toString('hex')).toBe(original(a, 8).toString('hex'));
  });

  it('kill without the reset extension releases the target; the vm.bridge keeps listening', async () => {
    const demoB = at('demo_b');
    const out = await gdbThenStop([`break *${hex(demoB)}`, 'continue'], 'kill');
    expect(out).toMatch(new RegExp(`Breakpoint 1, ${padded(demoB)} in`));
    expect(out).toContain('[Inferior 1 (Remote target) killed]');
    expect((await vm.bridge.session.readMemory(demoB, 8)).toString('hex')).toBe(original(demoB, 8).toString('hex'));
    const again = await gdbThenStop(['info registers rip']);
    const rip = BigInt(/^rip\s+(0x[0-9a-f]+)/m.exec(again)![1]!);
    expect(rip > at('demo_fault') && rip < at('main')).toBe(true);
  });

  it('faults map to their signals; continuing re-executes the fault (flaw 7) until the code is patched', async () => {
    const trigger = at('g_trigger');
    const demoB = at('demo_b');
    const inDemoFault = (rip: bigint) => rip >= at('demo_fault') && rip < at('main');
    const ripsOf = (out: string) => [...out.matchAll(/^rip\s+(0x[0-9a-f]+)/gm)].map((m) => BigInt(m[1]!));
    /** NOPs over the faulting instruction, to a breakpoint, the bytes back, the next trigger. */
    const stepPast = (rip: bigint, next: number) => {
      const length = decodeInstructionLength(original(rip, 15), rip);
      return [
        ...Array.from({ length }, (_, i) => `set {unsigned char}${hex(rip + BigInt(i))} = 0x90`),
        `break *${hex(demoB)}`,
        'continue',
        ...[...original(rip, length)].map((b, i) => `set {unsigned char}${hex(rip + BigInt(i))} = ${b}`),
        'delete',
        `set var *(int *)${hex(trigger)} = ${next}`,
        'continue',
        'info registers rip',
      ];
    };

    // #PF, twice at the same rip: the kernel cannot skip a faulting instruction.
    const pf = await gdb([`set var *(int *)${hex(trigger)} = 1`, 'continue', 'info registers rip', 'continue', 'info registers rip']);
    expect(pf.match(/Program received signal SIGSEGV, Segmentation fault\./g)).toHaveLength(2);
    expect(pf).toMatch(/josgdb: page fault \(#PF\) at rip 0x[0-9a-f]+, accessing 0x7ffffffff000 \(error code 0x0: page not present, read, kernel mode\)/);
    const [pfRip, pfAgain] = ripsOf(pf);
    expect(inDemoFault(pfRip!)).toBe(true);
    expect(pfAgain).toBe(pfRip);
    // gdb detached and the target resumed: it faulted again and sits there.
    expect((await stopWithin(vm.bridge.session.waitForStop())).stop.kind).toBe('pf');

    const gp = await gdb(stepPast(pfRip!, 2));
    expect(gp).toMatch(new RegExp(`Breakpoint 1, ${padded(demoB)} in`));
    expect(gp).toContain('Program received signal SIGSEGV, Segmentation fault.');
    expect(gp).toMatch(/josgdb: general protection fault \(#GP\) at rip 0x[0-9a-f]+, error code 0x0/);
    const [gpRip] = ripsOf(gp);
    expect(gpRip).toBe(pfRip); // the same load, now of a non-canonical address
    expect((await stopWithin(vm.bridge.session.waitForStop())).stop.kind).toBe('gpf');

    const ud = await gdb(stepPast(gpRip!, 3));
    expect(ud).toContain('Program received signal SIGILL, Illegal instruction.');
    expect(ud).toMatch(/josgdb: invalid opcode \(#UD\) at rip 0x[0-9a-f]+/);
    const [udRip] = ripsOf(ud);
    expect(inDemoFault(udRip!)).toBe(true);
    expect((await stopWithin(vm.bridge.session.waitForStop())).stop.kind).toBe('ud');

    const trap = await gdbThenStop(stepPast(udRip!, 5));
    expect(trap).toContain('Program received signal SIGTRAP, Trace/breakpoint trap.');
    const [trapRip] = ripsOf(trap);
    expect(original(trapRip! - 1n, 1)[0]).toBe(0xcc);
    for (const rip of [pfRip!, udRip!]) expect((await vm.bridge.session.readMemory(rip, 2)).toString('hex')).toBe(original(rip, 2).toString('hex'));
  });

  it('an assert stops with SIGABRT, shows cond/file/line, and continue is refused with a message', async () => {
    const out = await gdb([`set var *(int *)${hex(at('g_trigger'))} = 4`, 'continue', 'continue', 'set $rax = 1']);
    expect(out).toMatch(/josgdb: kernel assert failed: g_point\.x == -1 at src[\\/]workload\.c:\d+/);
    expect(out.match(/Program received signal SIGABRT, Aborted\./g)).toHaveLength(2);
    expect(out).toContain('josgdb: the kernel stopped in an assert and cannot resume or step; reboot the target to go on.');
    expect(out).toContain(`Could not write register "rax"; remote failure reply 'E.the kernel stopped in an assert: it sent no registers'`);
    expect(vm.bridge.session.status).toBe('asserted');
  });
});
