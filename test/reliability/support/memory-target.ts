/**
 * A DebugTarget that is all in memory and answers at once, for the 100,000-packet
 * RSP fuzz: an image of NOPs-and-friends (no 0xCC anywhere) at a base, pages
 * present only inside it, a josx64-style breakpoint list (a real 0xCC per enabled
 * entry, the original byte kept by the "kernel"), and resumes that stop on the
 * next tick (a step one byte on, a continue at the first armed breakpoint). It
 * keeps `intended`: the image as the bridge's users wrote it, which target memory
 * must equal once the session is released.
 */
import type { BreakpointUpdate } from '../../../src/bridge/breakpoints';
import type { DebugTarget, HwBreakpointRequest, StopRecordView, TargetEvents } from '../../../src/bridge/debug-target';
import type { PageWalk } from '../../../src/bridge/memory';
import type { FrameRegisterValues } from '../../../src/bridge/registers';

export const BASE = 0x140000000n;
export const SIZE = 0x10000;

export class MemoryTarget implements DebugTarget {
  readonly description = 'memory';
  readonly info = { imageBase: BASE, entryPoint: BASE + 0x1000n, version: '0.1.0' };
  readonly features: ReadonlySet<string> = new Set(['write-registers', 'break-in', 'safe-memory', 'hw-breakpoints', 'range-step']);
  readonly memory: Buffer;
  readonly intended: Buffer;
  /** address -> original byte, for every enabled entry of the kernel's list. */
  private readonly armed = new Map<bigint, number>();
  private handlers: TargetEvents | undefined;
  private frame: FrameRegisterValues;
  running = false;
  stops = 0;

  constructor() {
    const pattern = [0x55, 0x48, 0x89, 0xe5, 0x90, 0x90, 0x31, 0xc0, 0x5d, 0xc3];
    this.memory = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; i++) this.memory[i] = pattern[i % pattern.length]!;
    this.intended = Buffer.from(this.memory);
    const regs = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
    this.frame = Object.fromEntries(regs.map((r, i) => [r, BigInt(i) * 0x1000n])) as FrameRegisterValues;
    Object.assign(this.frame, { rip: BASE + 0x1000n, rflags: 0x202n, cs: 0x38n, ss: 0x30n, rsp: BASE + 0x8000n });
  }

  private offset(address: bigint, length: number): number | undefined {
    if (address < BASE || address + BigInt(length) > BASE + BigInt(SIZE)) return undefined;
    return Number(address - BASE);
  }

  setEventHandlers(handlers: TargetEvents): void {
    this.handlers = handlers;
  }

  record(vector: number): StopRecordView {
    const at = this.offset(this.frame.rip, 15);
    const instruction = at === undefined ? Buffer.alloc(15) : Buffer.from(this.memory.subarray(at, at + 15));
    return { frame: { ...this.frame }, vector, errorCode: 0n, control: { cr0: 0x80000011n, cr2: 0n, cr3: 0x1000n, cr4: 0x20n }, instruction };
  }

  /** The first stop, as after a handshake. */
  start(): void {
    this.stopWith(3);
  }

  private stopWith(vector: number, kind: 'breakpoint' | 'breakIn' = 'breakpoint'): void {
    this.running = false;
    this.stops++;
    this.handlers?.stop({ kind, record: this.record(vector), callstack: [] });
  }

  async readMemory(address: bigint, length: number): Promise<Buffer> {
    const at = this.offset(address, length);
    if (at === undefined) throw new Error(`MemoryTarget: a read of unmapped memory at 0x${address.toString(16)} reached the target (a josx64 kernel would wedge)`);
    return Buffer.from(this.memory.subarray(at, at + length));
  }
  async writeMemory(address: bigint, data: Buffer): Promise<void> {
    const at = this.offset(address, data.length);
    if (at === undefined) throw new Error(`MemoryTarget: a write to unmapped memory at 0x${address.toString(16)} reached the target`);
    data.copy(this.memory, at);
    data.copy(this.intended, at);
  }
  async safeRead(address: bigint, length: number): Promise<Buffer> {
    const out = Buffer.alloc(0);
    const at = this.offset(address, length);
    return at === undefined ? out : Buffer.from(this.memory.subarray(at, at + length));
  }
  async safeWrite(address: bigint, data: Buffer): Promise<number> {
    const at = this.offset(address, data.length);
    if (at === undefined) return 0;
    await this.writeMemory(address, data);
    return data.length;
  }
  async pageWalk(address: bigint): Promise<PageWalk> {
    const inside = this.offset(address, 1) !== undefined;
    return { pml4e: 1n, pdpte: 1n, pde: 1n, pte: inside ? 1n : 0n };
  }
  async updateBreakpoints(update: BreakpointUpdate): Promise<void> {
    if (update.length === 0) {
      for (const [address, original] of this.armed) this.memory[this.offset(address, 1)!] = original;
      this.armed.clear();
      return;
    }
    for (const { address, state } of update) {
      const at = this.offset(address, 1);
      if (at === undefined) continue;
      if (state === 0 && !this.armed.has(address)) {
        this.armed.set(address, this.memory[at]!);
        this.memory[at] = 0xcc;
      }
    }
  }
  async resume(kind: 'continue' | 'step'): Promise<void> {
    this.running = true;
    setImmediate(() => {
      if (kind === 'step') {
        this.frame.rip += 1n;
        if (this.offset(this.frame.rip, 1) === undefined) this.frame.rip = BASE + 0x1000n;
        this.stopWith(1);
        return;
      }
      const next = [...this.armed.keys()].filter((a) => a !== this.frame.rip).sort((a, b) => (a < b ? -1 : 1))[0];
      if (next !== undefined) {
        this.frame.rip = next;
        this.memory[this.offset(next, 1)!] = this.armed.get(next)!; // restored while stopped, as josx64 does
        this.armed.delete(next);
        this.stopWith(3);
      }
      // otherwise it runs until a break-in
    });
  }
  async rangeStep(): Promise<void> {
    return this.resume('step');
  }
  async breakIn(): Promise<void> {
    if (this.running) setImmediate(() => this.stopWith(0x20, 'breakIn'));
  }
  async writeRegisters(frame: FrameRegisterValues): Promise<void> {
    this.frame = { ...frame };
  }
  async setHwBreakpoint(_request: HwBreakpointRequest): Promise<void> {}
  async rdmsr(): Promise<bigint> {
    return 0xfee00900n;
  }
  async cpuid() {
    return { eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 };
  }
  close(): void {}
}
