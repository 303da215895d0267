/**
 * Real gdb -> josgdb -> stub-uefi in QEMU (normal mode: josx64 flaws off, every
 * extension announced): what the extensions make possible. Register writes that
 * change control flow, Ctrl-C, hardware breakpoints and watchpoints, guarded reads
 * of unmapped memory, code patches, range stepping, every fault's signal, kill
 * (reset) and re-attaching after detach. One VM for the whole file; the assert
 * test, which leaves the kernel unable to resume, runs last and is followed by
 * `kill`, whose reset is itself under test (one reboot, no second VM).
 */
import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';
import path from 'path';
import { GdbMi, miString } from './support/gdb-mi';
import { examined, hex, padded, replyTo, stopWithin, useStubVm } from './support/stub-vm';


describe('gdb against stub-uefi in QEMU, normal mode: the extensions', () => {
  const vm = useStubVm({ compat: false });
  const { at, original, gdb, packets } = vm;
  const base = () => vm.base();

  it('starts stopped at main with every extension announced', async () => {
    const stop = await vm.bridge.session.waitForStop();
    expect(stop.stop.kind).toBe('breakpoint');
    if (stop.stop.kind === 'breakpoint') expect(stop.stop.record.frame.rip).toBe(at('main'));
    for (const f of ['write-registers', 'break-in', 'safe-memory', 'hw-breakpoints', 'range-step', 'reset', 'all-exceptions', 'compact-stop']) {
      expect(vm.bridge.session.target.features.has(f)).toBe(true);
    }
  });

  it('register writes change control flow: a forced return value and a jump to another function', async () => {
    const leaf = at('demo_leaf');
    const factorial = at('demo_factorial');
    const demoFault = at('demo_fault');
    const point = at('g_point');
    const trigger = at('g_trigger');
    const out = await gdb([
      `break *${hex(leaf)}`,
      'continue',
      'info registers rcx',
      // Return from demo_leaf by hand with rax = 0xa0: demo_c adds g_table[(rcx - 3) & 7]
      // and demo_b stores the low byte of that in g_point.x.
      'set $rax = 0xa0',
      'set $rip = *(unsigned long *)$rsp',
      'set $rsp = $rsp + 8',
      'delete',
      `break *${hex(factorial)}`,
      'continue',
      `x/1dw ${hex(point)}`,
      // Second: jump from demo_leaf's entry into demo_fault(5), whose compiled int3 is
      // reached only through this rip write (g_trigger stays 0).
      'delete',
      `break *${hex(leaf)}`,
      'continue',
      'set $rcx = 5',
      `set $rip = ${hex(demoFault)}`,
      'delete',
      'continue',
      'info registers rip',
      'x/1xb $rip - 1',
      `x/1dw ${hex(trigger)}`,
    ]);
    const rcx = BigInt(/^rcx\s+(0x[0-9a-f]+)/m.exec(out)![1]!);
    const table = [1, 1, 2, 3, 5, 8, 13, 21];
    expect(out).toMatch(new RegExp(`Breakpoint 2, ${padded(factorial)}`));
    expect(examined(out, point)).toBe(BigInt((0xa0 + table[Number((rcx - 3n) & 7n)]!) & 0xff));
    expect(out).toContain('Program received signal SIGTRAP');
    const rip = BigInt(/^rip\s+(0x[0-9a-f]+)/m.exec(out)![1]!);
    expect(rip > demoFault && rip < at('main')).toBe(true);
    expect(out).toMatch(new RegExp(`^${hex(rip - 1n)}:\\s+0xcc$`, 'm'));
    expect(examined(out, trigger)).toBe(0n);
  });

  it('hbreak, watch, rwatch and awatch stop with the reason gdb names', async () => {
    const demoB = at('demo_b');
    const main = at('main');
    const counter = at('g_counter');
    const lastResult = at('g_last_result');
    const expr = `*(unsigned long *)${hex(counter)}`;
    const before = (await packets()).length;
    const out = await gdb([
      `hbreak *${hex(demoB)}`,
      'continue',
      'info registers rip',
      'delete',
      `watch ${expr}`,
      'continue',
      'delete',
      `rwatch ${expr}`,
      'continue',
      'delete',
      `awatch ${expr}`,
      'continue',
      'delete',
      // g_last_result is stored every iteration and loaded once a second (the tick's
      // trace): a read watchpoint must stop at the load, not at the store.
      `watch *(unsigned long *)${hex(lastResult)}`,
      'continue',
      'info registers rip',
      'delete',
      `rwatch *(unsigned long *)${hex(lastResult)}`,
      'continue',
      'info registers rip',
      'delete',
    ]);
    expect(out).toMatch(new RegExp(`Hardware assisted breakpoint 1 at ${padded(demoB)}`));
    expect(out).toMatch(new RegExp(`Breakpoint 1, ${padded(demoB)} in`));
    const rips = [...out.matchAll(/^rip\s+(0x[0-9a-f]+)/gm)].map((m) => BigInt(m[1]!));
    expect(rips[0]).toBe(demoB);
    const escaped = expr.replace(/[*()]/g, (c) => '\\' + c);
    const write = new RegExp(`\\nHardware watchpoint 2: ${escaped}\\n\\nOld value = (\\d+)\\nNew value = (\\d+)\\n`).exec(out);
    expect(write).not.toBeNull();
    expect(BigInt(write![2]!)).toBe(BigInt(write![1]!) + 1n);
    expect(out).toMatch(new RegExp(`\\nHardware read watchpoint 3: ${escaped}\\n\\nValue = \\d+\\n`));
    expect(out).toMatch(new RegExp(`\\nHardware access \\(read/write\\) watchpoint 4: ${escaped}\\n\\n(Value = \\d+|Old value = \\d+\\nNew value = \\d+)\\n`));
    expect(out).toMatch(/\nHardware watchpoint 5: .*\n\nOld value = \d+\nNew value = \d+\n/);
    expect(out).toMatch(/\nHardware read watchpoint 6: .*\n\nValue = \d+\n/);
    const [storeRip, loadRip] = [rips[1]!, rips[2]!];
    expect(storeRip > main && storeRip < at('task_main')).toBe(true);
    expect(loadRip > main && loadRip < at('task_main')).toBe(true);
    expect(loadRip).not.toBe(storeRip);
    const log = (await packets()).slice(before);
    // x86 has no read-only watchpoint: the vm.bridge declines Z3 (as gdbserver does) and gdb
    // watches reads with an access watchpoint, ignoring the hits that changed the value.
    expect(replyTo(log, 'Z3,')).toBe('');
    for (const z of ['Z1,', 'Z2,', 'Z4,']) expect(replyTo(log, z)).toBe('OK');
    expect(log).toMatch(/gdb +<- T05[^\n]*;hwbreak:;/);
    for (const kind of ['watch', 'awatch']) {
      expect(log).toMatch(new RegExp(`gdb +<- T05[^\\n]*;${kind}:0*${counter.toString(16)};`));
    }
    // gdb removed them all, and the vm.bridge cleared DR0-DR3 when gdb left.
    expect(vm.bridge.session.hwSlots.every((s) => s === undefined)).toBe(true);
  });

  it('an unmapped or non-canonical read is an error for gdb, and the target goes on', async () => {
    const demoB = at('demo_b');
    const out = await gdb([
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
    expect(out).toMatch(new RegExp(`^rip\\s+${hex(demoB)}\\s`, 'm'));
  });

  it('code patched through gdb runs, reads back, and restores', async () => {
    const leaf = at('demo_leaf');
    // demo_frame runs once per iteration after demo_a (demo_factorial recurses).
    const frame = at('demo_frame');
    const point = at('g_point');
    const counter = at('g_counter');
    const before = original(leaf, 3);
    // xor eax, eax; ret: demo_leaf returns 0, so demo_b stores g_table[(g_counter + 3) & 7].
    const patch = [0x31, 0xc0, 0xc3];
    const out = await gdb([
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
    expect(xLines[1]?.split(/\s+/).slice(1)).toEqual([...before].map((b) => '0x' + b.toString(16).padStart(2, '0')));
  });

  it('gdb range-steps with vCont;r when it knows function bounds (next in a function without line info)', async () => {
    // Without line tables gdb's `next` steps "until exit from function", over the
    // function's bounds: demo_frame's two loops run inside the stub in one vCont;r.
    // (A function that calls others would need unwind info for gdb to see the call.)
    const frame = at('demo_frame');
    const main = at('main');
    const elf = symbolElf(vm.tmp, base(), vm.rva, ['demo_leaf', 'demo_c', 'demo_b', 'demo_a', 'demo_factorial', 'demo_frame', 'main']);
    const before = (await packets()).length;
    const out = await gdb([`symbol-file ${elf}`, `break *${hex(frame)}`, 'continue', 'x/1gx $sp', 'next', 'info registers rip']);
    expect(out).toContain('Single stepping until exit from function demo_frame,');
    // The stop is the return address demo_frame was called with, in main.
    const returnAddress = BigInt(/^0x[0-9a-f]+:\s+(0x[0-9a-f]+)$/m.exec(out)![1]!);
    expect(returnAddress > main && returnAddress < at('task_main')).toBe(true);
    expect(out).toMatch(new RegExp(`^rip\\s+${hex(returnAddress)}\\s+${hex(returnAddress)} <main\\+\\d+>`, 'm'));
    const log = (await packets()).slice(before);
    const ranges = log.match(new RegExp(`gdb +-> vCont;r${frame.toString(16)},[0-9a-f]+`, 'g')) ?? [];
    expect(ranges.length).toBeGreaterThanOrEqual(1);
  });

  it('compact steps: after each stepi gdb shows the trap frame the stub saved on the stack', async () => {
    // Each step comes back as a CompactStop (the registers that changed); the stub's
    // trap frame is the InterruptFrame on its stack, right below rsp rounded down to
    // 16 (where the CPU pushed ss), and read from memory it is the ground truth.
    const steps = 30;
    const before = (await packets()).length;
    const commands = [`break *${hex(at('demo_a'))}`, 'continue', 'delete'];
    for (let i = 0; i < steps; i++) commands.push('stepi', 'info registers', 'x/22gx (((unsigned long)$sp) & ~15) - 176', 'echo ==STEP==\\n');
    const out = await gdb(commands);
    const chunks = out.split('==STEP==').slice(0, steps);
    expect(chunks).toHaveLength(steps);
    const FRAME = ['rdi', 'rsi', 'rbp', 'rdx', 'rcx', 'rbx', 'rax', 'r15', 'r14', 'r13', 'r12', 'r11', 'r10', 'r9', 'r8', '', '', 'rip', 'cs', 'eflags', 'rsp', 'ss'];
    chunks.forEach((chunk, step) => {
      const shown = new Map([...chunk.matchAll(/^(\w+)\s+(0x[0-9a-f]+)/gm)].map((m) => [m[1]!, BigInt(m[2]!)]));
      const saved = [...chunk.matchAll(/^0x[0-9a-f]+(?: <[^>]*>)?:((?:\s+0x[0-9a-f]+)+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).map((v) => BigInt(v)));
      expect(saved).toHaveLength(22);
      const want: Record<string, string> = {};
      const got: Record<string, string> = {};
      FRAME.forEach((name, i) => {
        if (!name) return;
        // The trap flag of josgdb's own step is not the program's: gdb is shown rflags without it.
        const flags = (v: bigint): bigint => (name === 'eflags' ? v & 0xffffffffn & ~0x100n : v);
        want[name] = hex(flags(saved[i]!));
        got[name] = shown.has(name) ? hex(flags(shown.get(name)!)) : 'missing';
      });
      expect({ step, ...got }).toEqual({ step, ...want });
    });
    // The packet log names each request josgdb wrote to the target: every stepi was a TraceStepCompact.
    const log = (await packets()).slice(before);
    expect(log.match(/target +<- TraceStepCompact 4800000000000000$/gm)?.length).toBe(steps);
    expect(log.match(/target +<- TraceStep /gm)).toBeNull();
  });

  it('Ctrl-C stops a busy loop within a second with SIGINT', async () => {
    const busy = at('demo_busy_loop');
    const busyEnd = at('demo_fault');
    const trigger = at('g_trigger');
    const spin = at('g_spin');
    const mi = await GdbMi.connect(vm.bridge.port);
    try {
      await mi.run(`-data-write-memory-bytes ${hex(trigger)} 07000000`);
      const spinBefore = (await mi.run(`-data-evaluate-expression "*(unsigned long *)${hex(spin)}"`)).results.value;
      expect((await mi.run('-exec-continue')).cls).toBe('running');
      // Let the workload reach the loop and spin there for a while.
      await new Promise((r) => setTimeout(r, 500));
      const sent = performance.now();
      await mi.run('-exec-interrupt');
      const stop = await mi.nextStop(10_000);
      const latency = stop.at - sent;
      expect(miString(stop.results, 'reason')).toBe('signal-received');
      expect(miString(stop.results, 'signal-name')).toBe('SIGINT');
      const pc = BigInt(miString(stop.results, 'frame', 'addr'));
      expect(pc >= busy && pc < busyEnd).toBe(true);
      expect(latency).toBeLessThan(1000);
      expect(mi.transcript).toContain('Program received signal SIGINT, Interrupt.');
      if (process.env.JOSGDB_SHOW_LATENCY) process.stderr.write(`Ctrl-C to *stopped: ${latency.toFixed(1)} ms\n`);
      const spinAfter = (await mi.run(`-data-evaluate-expression "*(unsigned long *)${hex(spin)}"`)).results.value;
      expect(BigInt(String(spinAfter))).toBeGreaterThan(BigInt(String(spinBefore)));
      // End the loop: the workload leaves demo_busy_loop when g_trigger changes.
      await mi.run(`-data-write-memory-bytes ${hex(trigger)} 00000000`);
      const regs = await mi.cli('info registers rip');
      expect(regs.output).toMatch(new RegExp(`^rip\\s+${hex(pc)}\\s`, 'm'));
    } finally {
      await mi.close();
    }
    // gdb left (detach): the target runs on outside the loop. Break in through the
    // session to look at it: g_trigger is 0 and the loop was left.
    expect(await vm.bridge.session.interrupt()).toBe(true);
    const stop = await stopWithin(vm.bridge.session.waitForStop());
    expect(stop.stop.kind).toBe('breakIn');
    expect((await vm.bridge.session.readMemory(trigger, 4)).readInt32LE(0)).toBe(0);
  });

  it('detach, then a new gdb session attaches again: breakpoints work, no stray 0xCC', async () => {
    const demoB = at('demo_b');
    const demoC = at('demo_c');
    const leaf = at('demo_leaf');
    const first = await gdb([`break *${hex(demoB)}`, `break *${hex(leaf)}`, 'continue', 'detach']);
    expect(first).toMatch(new RegExp(`Breakpoint 1, ${padded(demoB)} in`));
    expect(first).toContain('[Inferior 1 (Remote target) detached]');
    // Between the sessions, with no debugger attached: the target runs clean.
    expect(await vm.bridge.session.interrupt()).toBe(true);
    await stopWithin(vm.bridge.session.waitForStop());
    for (const a of [demoB, leaf]) expect((await vm.bridge.session.readMemory(a, 8)).toString('hex')).toBe(original(a, 8).toString('hex'));
    const second = await gdb([
      `break *${hex(demoC)}`,
      'continue',
      'continue',
      'info breakpoints',
      `x/8xb ${hex(demoB)}`,
      'detach',
    ]);
    expect(second.match(new RegExp(`Breakpoint 1, ${padded(demoC)} in`, 'g'))).toHaveLength(2);
    // Breakpoint numbers start again: gdb knows nothing of the first session's.
    expect(second).not.toContain('Breakpoint 2');
    const xLine = second.split('\n').find((l) => l.startsWith(hex(demoB) + ':'));
    expect(xLine?.split(/\s+/).slice(1)).toEqual([...original(demoB, 8)].map((b) => '0x' + b.toString(16).padStart(2, '0')));
    expect(await vm.bridge.session.interrupt()).toBe(true);
    await stopWithin(vm.bridge.session.waitForStop());
    for (const a of [demoB, demoC, leaf]) expect((await vm.bridge.session.readMemory(a, 8)).toString('hex')).toBe(original(a, 8).toString('hex'));
  });

  it('every fault stops with its signal and a console line, and continuing restarts the task', async () => {
    const trigger = at('g_trigger');
    const demoFault = at('demo_fault');
    // [g_trigger, the vm.bridge's console line (printed before the stop), gdb's signal line]
    const steps: [number, RegExp | undefined, string][] = [
      [1, /josgdb: page fault \(#PF\) at rip (0x[0-9a-f]+), accessing 0x7ffffffff000 \(error code 0x0: page not present, read, kernel mode\)\n/, 'SIGSEGV, Segmentation fault'],
      [2, /josgdb: general protection fault \(#GP\) at rip (0x[0-9a-f]+), error code 0x0\n/, 'SIGSEGV, Segmentation fault'],
      [3, /josgdb: invalid opcode \(#UD\) at rip (0x[0-9a-f]+)\n/, 'SIGILL, Illegal instruction'],
      [5, undefined, 'SIGTRAP, Trace/breakpoint trap'],
      [6, /josgdb: divide error \(#DE\) at rip (0x[0-9a-f]+)\n/, 'SIGFPE, Arithmetic exception'],
    ];
    const out = await gdb(steps.flatMap(([n]) => [`set var *(int *)${hex(trigger)} = ${n}`, 'continue', 'info registers rip']));
    // One chunk per `continue`: what gdb printed from the resume to the rip it showed.
    const ends = [...out.matchAll(/^rip\s+.*$/gm)].map((m) => m.index! + m[0].length);
    const chunks = ends.map((end, i) => out.slice(i === 0 ? 0 : ends[i - 1], end));
    expect(chunks).toHaveLength(steps.length);
    const rips = steps.map(([, consoleLine, signal], i) => {
      const text = chunks[i]!;
      expect(text).toContain(`\nProgram received signal ${signal}.\n`);
      const rip = BigInt(/^rip\s+(0x[0-9a-f]+)/m.exec(text)![1]!);
      expect(rip >= demoFault && rip < at('main')).toBe(true);
      if (consoleLine) {
        const m = consoleLine.exec(text);
        expect(m).not.toBeNull();
        expect(BigInt(m![1]!)).toBe(rip);
        expect(text.indexOf(m![0])).toBeLessThan(text.indexOf('Program received signal'));
      }
      return rip;
    });
    // #PF and #GP fault on the same load (of an unmapped, then a non-canonical address).
    expect(rips[1]).toBe(rips[0]);
    // Continuing from a fault restarts the task instead of faulting again (flaw 7 fixed):
    // the stub says so in the next resume's output, for each of the three faults before int3.
    for (const i of [1, 2, 3]) expect(chunks[i]).toContain('restarting task "main"');
    // An int3 is no fault: continuing goes on after it.
    expect(chunks[4]).not.toContain('restarting task');
  });

  it('an assert stops with SIGABRT and refuses to continue; kill resets the machine and a new session finds it at main', async () => {
    const trigger = at('g_trigger');
    const counter = at('g_counter');
    const out = await gdb([`set var *(int *)${hex(trigger)} = 4`, 'continue', 'continue', 'kill']);
    expect(out).toContain('Program received signal SIGABRT, Aborted.');
    expect(out).toMatch(/josgdb: kernel assert failed: g_point\.x == -1 at src[\\/]workload\.c:\d+/);
    expect(out).toContain('josgdb: the kernel stopped in an assert and cannot resume or step; reboot the target to go on.');
    expect(out.match(/Program received signal SIGABRT/g)).toHaveLength(2);
    expect(out).toContain('[Inferior 1 (Remote target) killed]');
    // The machine reboots; the vm.bridge keeps listening, handshakes again and the new
    // boot stops at main, with the workload's counter back at 0.
    const rebooted = await stopWithin(vm.bridge.session.waitForStop(), 60_000);
    expect(rebooted.stop.kind).toBe('breakpoint');
    const demoB = at('demo_b');
    const again = await gdb(['info registers rip', `x/1dg ${hex(counter)}`, `break *${hex(demoB)}`, 'continue']);
    expect(again).toMatch(new RegExp(`^rip\\s+${hex(at('main'))}\\s`, 'm'));
    expect(again).toMatch(new RegExp(`^${hex(counter)}:\\s+0$`, 'm'));
    expect(again).toMatch(new RegExp(`Breakpoint 1, ${padded(demoB)} in`));
  });
});

/**
 * An ELF file with nothing but sized function symbols at the stub's run-time
 * addresses, so gdb knows function bounds (as minimal symbols, no line info) until
 * josgdb serves the PDB's symbols itself. Built with clang and ld.lld.
 */
function symbolElf(dir: string, imageBase: bigint, rvas: Map<string, bigint>, names: string[]): string {
  const sorted = [...rvas.entries()].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const funcs = names.map((name) => {
    const i = sorted.findIndex(([n]) => n === name);
    if (i < 0 || i + 1 >= sorted.length) throw new Error(`no symbol ${name}`);
    return { name, rva: sorted[i]![1], size: sorted[i + 1]![1] - sorted[i]![1] };
  });
  funcs.sort((a, b) => (a.rva < b.rva ? -1 : 1));
  const first = funcs[0]!.rva;
  const asm = ['.text'];
  for (const f of funcs) {
    asm.push(`.org 0x${(f.rva - first).toString(16)}`, `.globl ${f.name}`, `.type ${f.name},@function`, `${f.name}:`, `.size ${f.name}, ${f.size}`);
  }
  const last = funcs[funcs.length - 1]!;
  asm.push(`.org 0x${(last.rva + last.size - first).toString(16)}`, '');
  const src = path.join(dir, 'syms.s');
  const obj = path.join(dir, 'syms.o');
  const script = path.join(dir, 'syms.ld');
  const elf = path.join(dir, 'syms.elf');
  writeFileSync(src, asm.join('\n'));
  writeFileSync(script, `SECTIONS { . = 0x${(imageBase + first).toString(16)}; .text : { *(.text) } }\n`);
  execFileSync('clang', ['-target', 'x86_64-unknown-none-elf', '-c', src, '-o', obj]);
  execFileSync('ld.lld', ['-T', script, '-e', funcs[0]!.name, obj, '-o', elf]);
  return elf;
}
