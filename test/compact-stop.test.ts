/**
 * The compact-stop extension end to end: real gdb -> josgdb -> the josx64 test
 * double with every extension. Each stepi travels as TraceStepCompact and comes
 * back as a CompactStop (only the fields that changed, and the stack right below
 * rsp); the registers and stack gdb then shows must be the machine's own, step
 * after step, across calls, pushes and a register gdb wrote in between (the
 * kernel diffs against the record it last sent, josgdb against the record it
 * last received).
 */
import { FakeKernel, ALL_FEATURES, sym } from './support/fake-kernel';
import { bridgeTo } from './support/bridge-harness';
import { gdbInstalled } from './support/gdb';
import { GdbMi } from './support/gdb-mi';
import type { RunningBridge } from '../src/bridge/bridge';

const hex = (v: bigint) => '0x' + v.toString(16);
const GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'] as const;

/** `info registers` lines as name -> value. */
function registersShown(output: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const m of output.matchAll(/^(\w+)\s+(0x[0-9a-f]+)/gm)) out.set(m[1]!, BigInt(m[2]!));
  return out;
}

describe('compact-stop: stepi against the josx64 double with every extension', () => {
  let kernel: FakeKernel;
  let bridge: RunningBridge;
  let gdb: GdbMi;
  const sent: string[] = [];

  beforeAll(async () => {
    expect(gdbInstalled()).toBe(true);
    kernel = await FakeKernel.listen({ features: [...ALL_FEATURES] });
    kernel.on('event', (e: { kind: string; detail: string }) => {
      if (e.kind === 'tx' || e.kind === 'rx') sent.push(`${e.kind} ${e.detail}`);
    });
    bridge = await bridgeTo(`tcp:127.0.0.1:${kernel.port}`);
    await bridge.session.waitForStop();
    gdb = await GdbMi.connect(bridge.port);
  }, 60_000);

  afterAll(async () => {
    await gdb?.close();
    await bridge?.close();
    await kernel?.close();
  });

  async function expectMachineRegisters(step: number): Promise<void> {
    const shown = registersShown((await gdb.cli('info registers')).output);
    const truth = kernel.registers;
    const want = Object.fromEntries(GPRS.map((r) => [r, hex(truth[r])]));
    const got = Object.fromEntries(GPRS.map((r) => [r, shown.has(r) ? hex(shown.get(r)!) : 'missing']));
    expect({ step, ...got }).toEqual({ step, ...want });
    expect({ step, eflags: shown.get('eflags') !== undefined ? hex(shown.get('eflags')! & ~0x100n) : 'missing' }).toEqual({
      step,
      eflags: hex(truth.rflags & ~0x100n),
    });
    // The stack around rsp as gdb reads it: the part below rsp came with the CompactStop.
    const from = truth.rsp - 32n;
    const x = (await gdb.cli(`x/48xb ${hex(from)}`)).output;
    const shownBytes = [...x.matchAll(/\b0x([0-9a-f]{2})\b/g)].map((m) => m[1]!);
    const memory = [...kernel.readMemoryDirect(from, 48)].map((b) => b.toString(16).padStart(2, '0'));
    expect({ step, stack: shownBytes.join(' ') }).toEqual({ step, stack: memory.join(' ') });
  }

  it('shows the machine registers after every compact step, through calls and a register gdb wrote', async () => {
    await gdb.cli(`break *${hex(sym('func_b'))}`);
    await gdb.run('-exec-continue');
    await gdb.nextStop();
    await expectMachineRegisters(0);
    sent.length = 0;
    for (let step = 1; step <= 40; step++) {
      if (step === 5) await gdb.cli('set var $rbx = 0x1234abcd'); // a write between two compact stops
      await gdb.run('-exec-step-instruction');
      await gdb.nextStop();
      await expectMachineRegisters(step);
    }
    expect(sent.filter((l) => l.startsWith('rx id=0x40'))).toHaveLength(1); // the write went through WriteRegisters
    // Every step went compact: TraceStepCompact out, CompactStop back, never a whole Breakpoint record or a callstack.
    const steps = sent.filter((l) => l.startsWith('rx id=0x48'));
    const compact = sent.filter((l) => l.startsWith('tx id=0x53'));
    expect(steps).toHaveLength(40);
    expect(compact).toHaveLength(40);
    expect(sent.filter((l) => /^tx id=0x(3|e) /.test(l))).toEqual([]);
  }, 120_000);
});
