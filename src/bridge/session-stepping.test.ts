/**
 * Session stepping over a scripted target with memory: what reaches the link for
 * gdb's single steps, its step over a breakpoint, a range without the range-step
 * extension, and the stack bytes kept across a step.
 */
import pino from 'pino';
import type { DebugTarget, StopRecordView, TargetEvents } from './debug-target';
import type { FrameRegisterValues } from './registers';
import { Session } from './session';

const CODE = 0x140001000n;
const STACK = 0x7e000000n; // one page of stack memory
const RSP = STACK + 0x800n;

interface Instruction {
  bytes: number[];
  /** Where the step lands (default: the next instruction) and how it changes rsp and memory. */
  next?: bigint;
  rspDelta?: bigint;
  writes?: { address: bigint; bytes: number[] };
}

/** A target whose memory is one stack page and whose code is a table of instructions by address. */
class SteppingTarget implements DebugTarget {
  readonly description = 'scripted';
  readonly info = { imageBase: 0x140000000n, entryPoint: CODE, version: '0.1.0' };
  readonly features: ReadonlySet<string> = new Set();
  readonly calls: string[] = [];
  readonly stack = Buffer.alloc(0x1000, 0x11);
  rip = CODE;
  rsp = RSP;
  private handlers!: TargetEvents;

  constructor(private readonly code: Map<bigint, Instruction>) {}

  setEventHandlers(handlers: TargetEvents): void {
    this.handlers = handlers;
  }

  /** Reports a stop at the current rip with the given vector. */
  stopHere(vector: number): void {
    this.handlers.stop({ kind: 'breakpoint', record: this.record(vector), callstack: [0x140001234n] });
  }

  /** A fault-like stop whose instruction bytes are given as the kernel sent them. */
  stopHereWith(instruction: Buffer): void {
    const record = { ...this.record(14), instruction };
    this.handlers.stop({ kind: 'pf', record, callstack: [] });
  }

  record(vector: number): StopRecordView {
    const frame = Object.fromEntries(
      ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'].map((r) => [r, 0x10n]),
    ) as FrameRegisterValues;
    Object.assign(frame, { rip: this.rip, rsp: this.rsp, rflags: 0x202n, cs: 0x38n, ss: 0x30n });
    const insn = Buffer.alloc(15, 0xee);
    Buffer.from(this.code.get(this.rip)?.bytes ?? [0x90]).copy(insn);
    return { frame, vector, errorCode: 0n, control: { cr0: 0n, cr2: 0n, cr3: 0n, cr4: 0n }, instruction: insn };
  }

  async readMemory(address: bigint, length: number): Promise<Buffer> {
    if (address >= CODE && address < CODE + 0x1000n) return Buffer.from(this.code.get(address)?.bytes ?? [0x90]).subarray(0, length);
    this.calls.push(`read ${(address - STACK).toString(16)} ${length}`);
    const offset = Number(address - STACK);
    return Buffer.from(this.stack.subarray(offset, offset + length));
  }
  async writeMemory(): Promise<void> {}
  async pageWalk() {
    this.calls.push('walk');
    return { pml4e: 1n, pdpte: 0x81n, pde: 0n, pte: 0n };
  }
  async updateBreakpoints(update: { address: bigint }[]): Promise<void> {
    this.calls.push(`update ${update.length}`);
  }
  /** The next resume fails as a refused or unsent request would, and the kernel stays where it is. */
  refuseNextResume: Error | undefined;
  async resume(kind: 'continue' | 'step'): Promise<void> {
    const refusal = this.refuseNextResume;
    this.refuseNextResume = undefined;
    if (refusal) throw refusal;
    this.calls.push(kind);
    if (kind !== 'step') return;
    const insn = this.code.get(this.rip);
    if (!insn) throw new Error(`no instruction at ${this.rip.toString(16)}`);
    if (insn.writes) Buffer.from(insn.writes.bytes).copy(this.stack, Number(insn.writes.address - STACK));
    this.rsp += insn.rspDelta ?? 0n;
    this.rip = insn.next ?? this.rip + BigInt(insn.bytes.length);
    setImmediate(() => this.stopHere(1));
  }
  async rdmsr(): Promise<bigint> {
    return 0n;
  }
  async cpuid() {
    return { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  }
  close(): void {}

  /** The link goes away, as the client reports it. */
  closeLink(reason: string): void {
    this.handlers.close(reason);
  }
}

function setup(code: [bigint, Instruction][], kernelBreakpoints: bigint[] = []) {
  const target = new SteppingTarget(new Map(code));
  const session = new Session(target, pino({ level: 'silent' }), { kernelBreakpoints });
  return { target, session };
}

const settle = () => new Promise((r) => setImmediate(r));

const NOP: Instruction = { bytes: [0x90] };
const ADD_TO_GLOBAL: Instruction = { bytes: [0x48, 0x01, 0x05, 0x10, 0x00, 0x00, 0x00] }; // add [rip+0x10], rax: 7 bytes, falls through

describe('Session stepping', () => {
  it("sends gdb's breakpoint changes at the next continue, not before a single step", async () => {
    const { target, session } = setup([[CODE, NOP], [CODE + 1n, NOP]]);
    target.stopHere(1);
    await session.insertBreakpoint(0, CODE + 0x40n, 1);
    await session.resume({ kind: 'step' });
    expect(target.calls.filter((c) => !c.startsWith('read') && c !== 'walk')).toEqual(['step']);
    void session.resume({ kind: 'continue' }); // runs until a stop that never comes
    await settle();
    expect(target.calls.filter((c) => !c.startsWith('read') && c !== 'walk')).toEqual(['step', 'update 1', 'continue']);
  });

  it("steps over a hit breakpoint in place, with the kernel's list untouched, when the landing is predictable", async () => {
    const { target, session } = setup([[CODE, ADD_TO_GLOBAL]], [CODE]);
    target.stopHere(3);
    await session.insertBreakpoint(0, CODE, 1);
    // gdb: z0 at pc, step, Z0 at pc again, continue
    await session.removeBreakpoint(0, CODE, 1);
    const stepped = await session.resume({ kind: 'step' });
    expect(stepped.stop.kind === 'breakpoint' && stepped.stop.record.frame.rip).toBe(CODE + 7n);
    await session.insertBreakpoint(0, CODE, 1);
    void session.resume({ kind: 'continue' });
    await settle();
    expect(target.calls.filter((c) => !c.startsWith('read') && c !== 'walk')).toEqual(['step', 'continue']);
  });

  it.each([
    ['a one-byte instruction (flaw 1)', { bytes: [0x55], rspDelta: -8n }],
    ['a call (the landing is not the next instruction)', { bytes: [0xe8, 0x00, 0x01, 0x00, 0x00], next: CODE + 0x105n, rspDelta: -8n }],
  ])('empties the list before stepping off a hit breakpoint at %s', async (_name, insn) => {
    const { target, session } = setup([[CODE, insn]], [CODE]);
    target.stopHere(3);
    await session.insertBreakpoint(0, CODE, 1);
    await session.removeBreakpoint(0, CODE, 1);
    await session.resume({ kind: 'step' });
    expect(target.calls.filter((c) => !c.startsWith('read') && c !== 'walk')).toEqual(['update 0', 'step']);
  });

  it('steps through a range itself without the range-step extension and answers once', async () => {
    const { target, session } = setup([[CODE, NOP], [CODE + 1n, NOP], [CODE + 2n, NOP], [CODE + 3n, NOP]]);
    target.stopHere(1);
    const stop = await session.resume({ kind: 'range', start: CODE, end: CODE + 3n });
    expect(stop.stop.kind === 'breakpoint' && stop.stop.record.frame.rip).toBe(CODE + 3n);
    expect(target.calls.filter((c) => c === 'step')).toHaveLength(3);
  });

  it("ends a range it steps through at one of gdb's breakpoints inside it", async () => {
    const { target, session } = setup([[CODE, NOP], [CODE + 1n, NOP], [CODE + 2n, NOP], [CODE + 3n, NOP]]);
    target.stopHere(1);
    await session.insertBreakpoint(0, CODE + 2n, 1);
    const stop = await session.resume({ kind: 'range', start: CODE, end: CODE + 3n });
    expect(stop.stop.kind === 'breakpoint' && stop.stop.record.frame.rip).toBe(CODE + 2n);
  });

  it("ends a range it steps through at gdb's Ctrl-C, with the SIGINT gdb waits for", async () => {
    const loop: Instruction = { bytes: [0xeb, 0xfe], next: CODE }; // jmp to itself: a one-line busy loop
    const { target, session } = setup([[CODE, loop]]);
    target.stopHere(1);
    const ended = session.resume({ kind: 'range', start: CODE, end: CODE + 2n });
    for (let i = 0; i < 5; i++) await settle();
    expect(await session.interrupt()).toBe(true);
    const stop = await ended;
    expect(stop.description.signal).toBe(2);
    expect(target.calls.filter((c) => c === 'step').length).toBeGreaterThan(1);
  });

  it('keeps the stack bytes of the last stop across a step, except those the instruction wrote', async () => {
    // mov [rsp+8], rcx (rcx = 0x10 in the scripted frame)
    const mov: Instruction = { bytes: [0x48, 0x89, 0x4c, 0x24, 0x08], writes: { address: RSP + 8n, bytes: [0x10, 0, 0, 0, 0, 0, 0, 0] } };
    const { target, session } = setup([[CODE, mov], [CODE + 5n, NOP]]);
    target.stopHere(1);
    await session.waitForStop();
    const before = await session.readMemory(RSP, 64);
    expect(before[8]).toBe(0x11);
    await session.resume({ kind: 'step' });
    target.calls.length = 0;
    const after = await session.readMemory(RSP, 64);
    expect(after.equals(target.stack.subarray(0x800, 0x840))).toBe(true);
    expect(after[8]).toBe(0x10);
    // only the written quadword is read again: [rsp+8, rsp+16)
    expect(target.calls).toEqual(['read 808 8']);
  });

  it('never keeps bytes below the new rsp (the trap frame lives there), nor anything after an instruction it cannot bound', async () => {
    const push: Instruction = { bytes: [0x55], rspDelta: -8n };
    const repMovsb: Instruction = { bytes: [0xf3, 0xa4] };
    const { target, session } = setup([[CODE, push], [CODE + 1n, repMovsb], [CODE + 3n, NOP]]);
    target.stopHere(1);
    await session.waitForStop();
    await session.readMemory(RSP - 16n, 64);
    await session.resume({ kind: 'step' });
    target.calls.length = 0;
    await session.readMemory(RSP - 16n, 64);
    expect(target.calls).toEqual(['read 7f0 16']); // [new rsp - 8, old rsp) and below: read again; the rest kept
    await session.resume({ kind: 'step' }); // rep movsb: its length is in rcx
    target.calls.length = 0;
    await session.readMemory(RSP - 16n, 64);
    expect(target.calls).toEqual(['read 7f0 64']);
  });

  it('takes zero-filled instruction bytes (rip in an unmapped page) for neither code nor a mapped page', async () => {
    const { target, session } = setup([]);
    target.rip = 0x7f0000001000n;
    target.stopHereWith(Buffer.alloc(15));
    await session.readMemory(0x7f0000001000n, 2).catch(() => undefined);
    expect(target.calls).toContain('walk'); // asked the page tables instead of trusting the zeros
  });

  it("takes the stack page the kernel scanned for the callstack as mapped: no page walk for gdb's stack read", async () => {
    const { target, session } = setup([[CODE, NOP]]);
    target.stopHere(1);
    await session.waitForStop();
    await session.readMemory(RSP, 64);
    expect(target.calls).not.toContain('walk');
    await session.readMemory(STACK + 0x2000n, 8).catch(() => undefined);
    expect(target.calls).toContain('walk');
  });

  it('stays stopped where it was when the target does not take a resume, so gdb can read it and try again', async () => {
    const { target, session } = setup([[CODE, NOP], [CODE + 1n, NOP]]);
    const states: string[] = [];
    session.onStateChange((state) => states.push(state));
    target.stopHere(1);
    target.refuseNextResume = new Error('write EPIPE');
    await expect(session.resume({ kind: 'step' })).rejects.toThrow('EPIPE');
    expect(states.slice(-2)).toEqual(['running', 'stopped']);
    const stop = await session.waitForStop();
    expect(stop.stop.kind === 'assert' ? undefined : stop.stop.record.frame.rip).toBe(CODE);
    expect((await session.readRegisters()).get('rip')).toBe(CODE);
    target.refuseNextResume = new Error('write EPIPE');
    await expect(session.resume({ kind: 'continue' })).rejects.toThrow('EPIPE');
    const stepped = await session.resume({ kind: 'step' });
    expect(stepped.stop.kind === 'assert' ? undefined : stepped.stop.record.frame.rip).toBe(CODE + 1n);
  });

  it('leaves no stop waiter behind a resume the target did not take: a later disconnect rejects nothing unhandled', async () => {
    const { target, session } = setup([[CODE, NOP]]);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      target.stopHere(1);
      target.refuseNextResume = new Error('link closed while sending');
      await expect(session.resume({ kind: 'continue' })).rejects.toThrow('link closed');
      target.closeLink('the serial device went away');
      await settle();
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
