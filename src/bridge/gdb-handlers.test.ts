/**
 * GdbHandlers over a scripted DebugTarget: the RSP-level behaviour the QEMU e2e
 * tests found missing (the reply to `?` on a running or faulted target, register
 * reads in an assert, refusals gdb prints verbatim, kill with reset).
 */
import pino from 'pino';
import { errorReply, RspError } from '../rsp';
import type { DebugTarget, StopRecordView, TargetEvents, TargetStop } from './debug-target';
import { GdbHandlers } from './gdb-handlers';
import type { FrameRegisterValues } from './registers';
import { Session } from './session';

const RIP = 0x140001000n;

function record(vector: number, rip = RIP): StopRecordView {
  const frame = Object.fromEntries(
    ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'].map((r) => [r, 0x10n]),
  ) as FrameRegisterValues;
  Object.assign(frame, { rip, rflags: 0x202n, cs: 0x38n, ss: 0x30n });
  return { frame, vector, errorCode: 0n, control: { cr0: 0n, cr2: 0x7ffffffff000n, cr3: 0n, cr4: 0n }, instruction: Buffer.from([0x90]) };
}

class ScriptedTarget implements DebugTarget {
  readonly description = 'scripted';
  readonly info = { imageBase: 0x140000000n, entryPoint: RIP, version: '0.1.0' };
  readonly calls: string[] = [];
  handlers!: TargetEvents;
  breakIn?: () => Promise<void>;
  reset?: () => Promise<void>;
  setHwBreakpoint?: (r: { slot: number; kind: string; enable: boolean }) => Promise<void>;

  constructor(readonly features: ReadonlySet<string>) {
    if (features.has('break-in')) this.breakIn = async () => void this.calls.push('breakIn');
    if (features.has('reset')) this.reset = async () => void this.calls.push('reset');
    if (features.has('hw-breakpoints')) {
      this.setHwBreakpoint = async (r) => void this.calls.push(`hw ${r.slot} ${r.kind} ${r.enable ? 'on' : 'off'}`);
    }
  }

  setEventHandlers(handlers: TargetEvents): void {
    this.handlers = handlers;
  }
  stop(stop: TargetStop): void {
    this.handlers.stop(stop);
  }
  async readMemory(_address: bigint, length: number): Promise<Buffer> {
    return Buffer.alloc(length, 0x90);
  }
  async writeMemory(): Promise<void> {}
  async pageWalk() {
    return { pml4e: 1n, pdpte: 0x81n, pde: 0n, pte: 0n };
  }
  async updateBreakpoints(update: { address: bigint }[]): Promise<void> {
    this.calls.push(`update ${update.length}`);
  }
  /** Set: resumes fail with it, as a refused or unsent request does. */
  refuseResume?: Error;
  async resume(kind: 'continue' | 'step'): Promise<void> {
    if (this.refuseResume) throw this.refuseResume;
    this.calls.push(kind);
  }
  async rdmsr(): Promise<bigint> {
    return 0n;
  }
  async cpuid() {
    return { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  }
  close(): void {}
}

function setup(features: string[] = []) {
  const target = new ScriptedTarget(new Set(features));
  const log = pino({ level: 'silent' });
  const session = new Session(target, log);
  const sent: string[] = [];
  const handlers = new GdbHandlers({
    session,
    log,
    linkDescription: 'test',
    setLogLevel: () => true,
    peer: { send: (p) => void sent.push(p), closeAfterReply: () => undefined },
  });
  return { target, session, sent, handlers };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('GdbHandlers', () => {
  it('answers ? on a fault with the stop reply alone: no O packet, which gdb would take for the reply', async () => {
    const { target, sent, handlers } = setup();
    target.stop({ kind: 'pf', record: record(14), callstack: [] });
    const reply = await handlers.handle({ kind: 'haltReason' });
    expect(String(reply)).toMatch(/^T0b/);
    expect(sent).toEqual([]);
  });

  it('still shows the fault on the console when a resume ends in it', async () => {
    const { target, sent, handlers } = setup();
    target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    expect(await handlers.handle({ kind: 'continue' })).toBeNull();
    await settle();
    target.stop({ kind: 'pf', record: record(14), callstack: [] });
    await settle();
    expect(sent[0]).toMatch(/^O/);
    expect(Buffer.from(sent[0]!.slice(1), 'hex').toString()).toContain('page fault (#PF)');
    expect(sent[sent.length - 1]).toMatch(/^T0b/);
  });

  it('breaks in when gdb connects to a running target that can be interrupted', async () => {
    const { target, session, handlers } = setup(['break-in']);
    target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    await session.release({ resume: true });
    expect(session.status).toBe('running');
    const reply = handlers.handle({ kind: 'haltReason' });
    await settle();
    expect(target.calls).toContain('breakIn');
    target.stop({ kind: 'breakIn', record: record(0x20), callstack: [] });
    expect(String(await reply)).toMatch(/^T02/);
  });

  it('waits for the next stop on a running target without break-in', async () => {
    const { target, session, handlers } = setup();
    target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    await session.release({ resume: true });
    let answered = false;
    const reply = handlers.handle({ kind: 'haltReason' }).then((r) => ((answered = true), r));
    await settle();
    expect(answered).toBe(false);
    expect(target.calls).not.toContain('breakIn');
    target.stop({ kind: 'breakpoint', record: record(3, RIP + 5n), callstack: [] });
    expect(String(await reply)).toMatch(/^T05/);
  });

  it('refuses a register write on a base-protocol target with a message gdb shows (E.text)', async () => {
    const { target, handlers } = setup();
    target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    const err = await handlers.handle({ kind: 'writeRegister', regnum: 0, value: Buffer.alloc(8) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RspError);
    expect(errorReply(err)).toBe('E.the target cannot write registers (the josx64 base protocol has no register write)');
  });

  it('gives gdb a pc of 0 and every other register unavailable in an assert (there is no frame)', async () => {
    const { target, handlers } = setup();
    target.stop({ kind: 'assert', cond: 'x == 1', file: 'a.c', line: 3 });
    const g = String(await handlers.handle({ kind: 'readRegisters' }));
    expect(g.slice(0, 16)).toBe('xxxxxxxxxxxxxxxx'); // rax
    expect(g.slice(16 * 16, 17 * 16)).toBe('0000000000000000'); // rip
    const err = await handlers.handle({ kind: 'writeRegister', regnum: 0, value: Buffer.alloc(8) }).catch((e: unknown) => e);
    expect(errorReply(err)).toBe('E.the kernel stopped in an assert: it sent no registers');
  });

  it('declines Z3 for gdb (x86 has no read-only watchpoint: gdb then emulates rwatch with Z4) but serves it to lldb', async () => {
    const { target, session, handlers } = setup(['hw-breakpoints']);
    target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    const read = { kind: 'insertBreakpoint', type: 'read', addr: 0x2000n, size: 8 } as const;
    expect(await handlers.handle(read)).toBe('');
    expect(await handlers.handle({ kind: 'insertBreakpoint', type: 'access', addr: 0x2000n, size: 8 })).toBe('OK');
    expect(target.calls).toEqual(['hw 0 access on']);
    await handlers.handle({ kind: 'qHostInfo' });
    expect(await handlers.handle(read)).toBe('OK');
    expect(session.hwSlots[1]).toEqual({ type: 3, address: 0x2000n, length: 8 });
  });

  it('kill with reset: the session forgets the old boot and waits for the new one', async () => {
    const { target, session, handlers } = setup(['reset']);
    target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    await handlers.handle({ kind: 'insertBreakpoint', type: 'software', addr: RIP + 0x10n, size: 1 });
    expect(await handlers.handle({ kind: 'kill' })).toBe('OK');
    expect(target.calls).toEqual(['reset']);
    expect(session.status).toBe('resetting');
    expect(session.breakpoints.size).toBe(0);
    expect(session.kernelBreakpoints.known).toBe(false);
    const next = session.waitForStop();
    target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    expect((await next).stop.kind).toBe('breakpoint');
    expect(session.status).toBe('stopped');
  });

  it('answers a resume the target did not take with an error, which gdb shows and stays stopped on; lldb gets the exit', async () => {
    const { target, session, sent, handlers } = setup();
    target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    target.refuseResume = new Error('write EPIPE');
    expect(await handlers.handle({ kind: 'continue' })).toBeNull();
    await settle();
    await settle();
    expect(Buffer.from(sent[0]!.slice(1), 'hex').toString()).toBe('josgdb: write EPIPE\n');
    expect(sent[sent.length - 1]).toBe('E05');
    expect(session.status).toBe('stopped');
    target.refuseResume = undefined;
    expect(await handlers.handle({ kind: 'continue' })).toBeNull();
    await settle();
    // Taken this time: the kernel's list is cleared and the stop stepped off first, as after any breakpoint stop.
    expect(target.calls).toEqual(['update 0', 'step']);

    const lldb = setup();
    lldb.target.stop({ kind: 'breakpoint', record: record(3), callstack: [] });
    await lldb.handlers.handle({ kind: 'qHostInfo' });
    lldb.target.refuseResume = new Error('write EPIPE');
    expect(await lldb.handlers.handle({ kind: 'continue' })).toBeNull();
    await settle();
    await settle();
    expect(lldb.sent[lldb.sent.length - 1]).toBe('X09');
  });
});
