/**
 * The debugging session with one target: its state machine (running, stopped,
 * asserted, wedged, disconnected), the breakpoints the host owns, registers and
 * memory of the current stop, and every resume. It knows the target only through
 * `DebugTarget` and gdb not at all: `gdb-handlers.ts` translates RSP to these calls.
 */
import type { Logger } from 'pino';
import { deferred, Deferred } from '../common/async';
import { hex } from '../common/bytes';
import { JosgdbError } from '../common/errors';
import { BreakpointTable, BreakpointUpdate, KernelBreakpointList, planBreakpointSync } from './breakpoints';
import type { DebugTarget, HwBreakpointRequest, StopRecordView, TargetStop } from './debug-target';
import { planResume, ResumeAction } from './execution';
import { decodeInstructionLength, predictStep } from './instruction';
import { MappedRange, StackCarry, TargetMemory } from './memory';
import { memoryWrittenBy } from './step-writes';
import {
  addExtendedContext,
  applyRegisterWrites,
  frameToRegisters,
  RegisterValue,
} from './registers';
import { describeFault, Signal, StopDescription } from './stop-reason';

/** `resetting`: the machine reboots (kill with `reset`); the next stop is the new boot's first. */
export type SessionState = 'running' | 'stopped' | 'asserted' | 'wedged' | 'resetting' | 'disconnected';

export interface HwSlot {
  type: 1 | 2 | 3 | 4; // gdb Z type: 1 hw break, 2 write, 3 read, 4 access
  address: bigint;
  length: number;
}

/** A stop as the session reports it: the target's stop and what it means to gdb. */
export interface SessionStop {
  stop: TargetStop;
  description: StopDescription;
}

const HW_KIND: Record<HwSlot['type'], HwBreakpointRequest['kind']> = { 1: 'execute', 2: 'write', 3: 'access', 4: 'access' };

export class Session {
  readonly breakpoints = new BreakpointTable();
  readonly kernelBreakpoints: KernelBreakpointList;
  readonly memory: TargetMemory;
  readonly hwSlots: (HwSlot | undefined)[] = [undefined, undefined, undefined, undefined];

  private state: SessionState = 'running';
  private current: SessionStop | undefined;
  /** The last stop was caused by the bridge's own single step: its TF is not the user's. */
  private stoppedByOwnStep = false;
  private registerCache: Map<string, RegisterValue> | undefined;
  private contextFetched = false;
  private stopWaiters: Deferred<SessionStop>[] = [];
  private resumeInFlight = false;
  /** The current stop is the kernel hitting an entry of its own list (see execution.ts). */
  private stoppedOnListedBreakpoint = false;
  private releaseAtNextStop: { resume: boolean } | undefined;
  /** The stop a single step started from: its stack bytes may carry over to the next stop. */
  private steppedFrom: StopRecordView | undefined;
  /** The range the bridge is stepping through itself, and whether gdb interrupted it. */
  private range: { interrupted: boolean } | undefined;
  private readonly traceListeners = new Set<(text: string) => void>();
  private readonly stateListeners = new Set<(state: SessionState, detail?: string) => void>();

  constructor(
    readonly target: DebugTarget,
    private readonly log: Logger,
    options: { kernelBreakpoints?: bigint[] | 'unknown' } = {},
  ) {
    this.kernelBreakpoints = new KernelBreakpointList(options.kernelBreakpoints ?? 'unknown');
    this.memory = new TargetMemory(
      {
        readMemory: (a, n) => target.readMemory(a, n),
        writeMemory: (a, d) => target.writeMemory(a, d),
        pageWalk: (a) => target.pageWalk(a),
        safeRead: target.safeRead?.bind(target),
        safeWrite: target.safeWrite?.bind(target),
      },
      () => this.kernelBreakpoints.enabled(),
    );
    target.setEventHandlers({
      stop: (stop) => this.onTargetStop(stop),
      trace: (text) => this.onTrace(text),
      wedged: (message) => this.onWedged(message),
      close: (reason) => this.onTargetClosed(reason),
    });
  }

  get status(): SessionState {
    return this.state;
  }

  get currentStop(): SessionStop | undefined {
    return this.current;
  }

  onTraceText(listener: (text: string) => void): () => void {
    this.traceListeners.add(listener);
    return () => this.traceListeners.delete(listener);
  }

  onStateChange(listener: (state: SessionState, detail?: string) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Resolves with the current stop, or the next one if the target runs. */
  waitForStop(): Promise<SessionStop> {
    if (this.current && this.state !== 'running') return Promise.resolve(this.current);
    return this.nextStop();
  }

  // ---------------------------------------------------------------- registers

  async readRegisters(): Promise<Map<string, RegisterValue>> {
    // An assert sends no register frame, yet gdb reads registers at every stop and
    // cannot handle a stop without a pc ("PC register is not available", and the
    // SIGABRT is never shown). So rip reads as 0, plainly not a code address, and
    // every other register as unavailable; the console line names cond, file and line.
    if (this.state === 'asserted') return new Map([['rip', 0n]]);
    const record = this.requireRecord();
    if (!this.registerCache) {
      this.registerCache = frameToRegisters(record.frame, record.control, { hideTrapFlag: this.stoppedByOwnStep });
    }
    return this.registerCache;
  }

  /** Registers that only the `full-context` record carries (FPU/SSE, segments, debug registers). */
  async readExtendedRegisters(): Promise<Map<string, RegisterValue>> {
    const values = await this.readRegisters();
    if (this.state === 'asserted') return values;
    if (!this.contextFetched && this.target.readContext) {
      this.contextFetched = true;
      addExtendedContext(values, await this.target.readContext());
    }
    return values;
  }

  async writeRegisters(writes: Map<string, bigint>): Promise<void> {
    const record = this.requireRecord();
    if (!this.target.writeRegisters) {
      throw new JosgdbError('UNSUPPORTED', 'the target cannot write registers (the josx64 base protocol has no register write)');
    }
    const result = applyRegisterWrites(record.frame, writes);
    if ('unsupported' in result) {
      throw new JosgdbError('UNSUPPORTED', `register ${result.unsupported} cannot be written on this target`);
    }
    await this.target.writeRegisters(result.frame);
    record.frame = result.frame;
    this.registerCache = undefined;
    // The kernel keeps the stopped context in its trap frame, on the stack below rsp:
    // bytes read there before the write are stale now.
    this.memory.invalidate();
  }

  // ------------------------------------------------------------------- memory

  async readMemory(address: bigint, length: number): Promise<Buffer> {
    this.requireStopped();
    return this.memory.read(address, length);
  }

  async writeMemory(address: bigint, data: Buffer): Promise<void> {
    this.requireStopped();
    const end = address + BigInt(data.length);
    const overlapsArmed = !this.kernelBreakpoints.known
      ? false
      : this.kernelBreakpoints.enabled().some((a) => a >= address && a < end);
    if (overlapsArmed) {
      // The kernel would later "restore" its stale copy of these bytes over the
      // user's write: take its breakpoints out first, re-sync on resume.
      await this.sendBreakpointUpdate([]);
    }
    await this.memory.write(address, data);
  }

  // -------------------------------------------------------------- breakpoints

  async insertBreakpoint(type: number, address: bigint, length: number): Promise<void> {
    this.requireStopped();
    if (type === 0) {
      await this.memory.rememberOriginal(address);
      this.breakpoints.insert(address);
      return;
    }
    const setHw = this.target.setHwBreakpoint;
    if (!setHw) throw new JosgdbError('UNSUPPORTED', 'the target has no hardware breakpoints');
    const z = type as HwSlot['type'];
    if (this.hwSlots.some((s) => s && s.type === z && s.address === address && s.length === length)) return;
    const slot = this.hwSlots.findIndex((s) => s === undefined);
    if (slot < 0) throw new JosgdbError('BAD_ARGUMENT', 'all four hardware breakpoint slots (DR0-DR3) are in use');
    const len = z === 1 ? 1 : length;
    if (![1, 2, 4, 8].includes(len) || address % BigInt(len) !== 0n) {
      throw new JosgdbError('BAD_ARGUMENT', `a hardware watchpoint must be 1, 2, 4 or 8 bytes and aligned (got ${length} at ${hex(address)})`);
    }
    await setHw.call(this.target, { slot, kind: HW_KIND[z], length: len, enable: true, address });
    this.hwSlots[slot] = { type: z, address, length };
  }

  async removeBreakpoint(type: number, address: bigint, length: number): Promise<void> {
    if (type === 0) {
      this.breakpoints.remove(address);
      return;
    }
    const slot = this.hwSlots.findIndex((s) => s && s.type === type && s.address === address && (type === 1 || s.length === length));
    if (slot < 0) return;
    await this.target.setHwBreakpoint?.({ slot, kind: HW_KIND[type as HwSlot['type']], length: 1, enable: false, address });
    this.hwSlots[slot] = undefined;
  }

  // ---------------------------------------------------------------- execution

  /** Resumes and resolves with the stop that ends the action (which may take forever for a continue). */
  async resume(action: ResumeAction): Promise<SessionStop> {
    if (this.state === 'asserted') {
      throw new JosgdbError('TARGET_ASSERT', 'the kernel stopped in an assert and cannot resume; reboot the target');
    }
    this.requireStopped();
    if (this.resumeInFlight) throw new JosgdbError('TARGET_RUNNING', 'the target is already resuming');
    this.resumeInFlight = true;
    try {
      if (action.kind === 'step') return await this.stepOnce();
      if (action.kind === 'range' && !this.target.rangeStep) return await this.stepThroughRange(action);
      const record = this.requireRecord();
      const rip = record.frame.rip;
      const plan = planResume(action, { rip, hitListedBreakpoint: this.stoppedOnListedBreakpoint }, this.kernelBreakpoints, this.breakpoints.list());
      if (plan.stepOffFirst) {
        if (this.kernelBreakpoints.mayBeNonEmpty) await this.sendBreakpointUpdate([]);
        const stepped = await this.resumeOnce('step');
        const landed = stepped.stop;
        const isPlainTrap = landed.kind === 'breakpoint' && landed.record.vector === 1;
        if (!isPlainTrap) {
          await this.syncBreakpoints();
          return stepped;
        }
        if (action.kind === 'range') {
          const pc = landed.record.frame.rip;
          if (pc < action.start || pc >= action.end) {
            await this.syncBreakpoints();
            return stepped;
          }
        }
      }
      await this.syncBreakpoints();
      if (action.kind === 'range') return await this.resumeOnce({ start: action.start, end: action.end });
      return await this.resumeOnce('continue');
    } finally {
      this.resumeInFlight = false;
    }
  }

  /**
   * One instruction. A single step can stop at no breakpoint but the one where it
   * lands, so gdb's breakpoint changes wait for the next continue: gdb removes the
   * breakpoint at pc, steps over it and inserts it again around every hit, and that
   * costs no byte on the link. Only a step from an address in the kernel's list needs
   * care (flaws 1, 3 and 6, see execution.ts): in place when the kernel's own step
   * off its breakpoint is safe, otherwise with the list emptied first.
   */
  private async stepOnce(): Promise<SessionStop> {
    const record = this.requireRecord();
    const rip = record.frame.rip;
    if (!this.kernelBreakpoints.mayContain(rip) && !this.stoppedOnListedBreakpoint) return this.resumeOnce('step');
    if (!this.canStepOffInPlace(record)) {
      if (this.kernelBreakpoints.mayBeNonEmpty) await this.sendBreakpointUpdate([]);
    }
    return this.resumeOnce('step');
  }

  /**
   * The kernel stopped on a breakpoint of its list and steps off it by itself (it
   * restored the byte and re-arms it after the instruction), with the list untouched,
   * so flaw 3 cannot arise. Flaw 1 (a one-byte instruction, or landing just after a
   * listed address) and flaw 6 (landing on a listed address) rule out what this
   * cannot predict: branches, and a landing next to a listed address.
   */
  private canStepOffInPlace(record: StopRecordView): boolean {
    const rip = record.frame.rip;
    const kernel = this.kernelBreakpoints;
    if (!kernel.known || !this.stoppedOnListedBreakpoint || !kernel.enabled().includes(rip)) return false;
    const step = predictStep(record.instruction, rip);
    if (!step || !step.fallsThrough || step.length < 2) return false;
    const landing = rip + BigInt(step.length);
    return !kernel.mayContain(landing) && !kernel.mayContain(landing - 1n);
  }

  /**
   * gdb's vCont;r on a target without `range-step`: the bridge steps with TraceStep
   * while rip stays in [start, end) and answers gdb once. The link still carries every
   * step, but gdb's round trip per instruction is gone. It ends early on any other
   * stop, on one of gdb's breakpoints, and on gdb's Ctrl-C.
   */
  private async stepThroughRange(range: { start: bigint; end: bigint }): Promise<SessionStop> {
    const state = { interrupted: false };
    this.range = state;
    try {
      for (;;) {
        const stepped = await this.stepOnce();
        const { stop } = stepped;
        // gdb waits for the SIGINT of its Ctrl-C: a SIGTRAP inside the range would send it stepping on
        if (state.interrupted && stop.kind === 'breakpoint' && stop.record.vector === 1) return { stop, description: { signal: Signal.SIGINT } };
        if (stop.kind !== 'breakpoint' || stop.record.vector !== 1 || state.interrupted) return stepped;
        const pc = stop.record.frame.rip;
        if (pc < range.start || pc >= range.end || this.breakpoints.has(pc)) return stepped;
      }
    } finally {
      this.range = undefined;
    }
  }

  /** gdb's Ctrl-C: break in where the target can, say plainly where it cannot. */
  async interrupt(): Promise<boolean> {
    if (this.range) {
      // a range the bridge steps through itself ends after the step under way
      this.range.interrupted = true;
      return true;
    }
    if (this.state !== 'running') return true;
    if (!this.target.breakIn) return false;
    await this.target.breakIn();
    return true;
  }

  /**
   * The end of a gdb session by any route (detach, kill, disconnect): no breakpoint
   * byte stays in target memory, hardware breakpoints are cleared, the target runs on.
   */
  async release(options: { resume: boolean }): Promise<void> {
    this.breakpoints.clear();
    if (this.state === 'running') {
      // The kernel still holds breakpoints: take them out at the next stop, which
      // a target with break-in can bring about now.
      this.releaseAtNextStop = options;
      if (this.target.breakIn) await this.target.breakIn();
      return;
    }
    if (this.state !== 'stopped' && this.state !== 'asserted') return;
    for (let slot = 0; slot < 4; slot++) {
      const s = this.hwSlots[slot];
      if (s) await this.target.setHwBreakpoint?.({ slot, kind: HW_KIND[s.type], length: 1, enable: false, address: s.address });
      this.hwSlots[slot] = undefined;
    }
    const armedBefore = this.kernelBreakpoints.enabled();
    if (this.kernelBreakpoints.mayBeNonEmpty) await this.sendBreakpointUpdate([]);
    await this.repairStrayBreakpoints(armedBefore);
    if (options.resume && this.state === 'stopped') {
      await this.startResume('continue');
    }
  }

  /**
   * gdb's kill on a target with `reset`: the machine reboots. Nothing of the old boot
   * survives it, so the session forgets it all first: gdb's breakpoints, the hardware
   * slots, the original bytes it recorded, the current stop. The new boot arms its own
   * breakpoint at main again, so the kernel's list is unknown, as after the first
   * handshake. The session waits in `resetting` for the new boot's first stop (the
   * target handshakes again); a gdb that connects meanwhile waits for it too, and
   * is not sent a break-in the rebooting kernel could not read.
   */
  async reset(): Promise<void> {
    const reset = this.target.reset;
    if (!reset) throw new JosgdbError('UNSUPPORTED', 'the target cannot be reset (no "reset" extension)');
    if (this.state === 'disconnected') throw new JosgdbError('LINK_CLOSED', 'the target is not connected');
    this.forgetBoot();
    await reset.call(this.target);
  }

  /**
   * The machine rebooted on its own (QEMU killed and started again, a power cycle):
   * found when a kernel last seen stopped no longer answers after the link came back.
   * Everything of the old boot is forgotten as for a reset; the bridge handshakes
   * again and the new boot's first stop ends the `resetting` state.
   */
  rebooted(): void {
    this.forgetBoot();
  }

  private forgetBoot(): void {
    this.breakpoints.clear();
    this.hwSlots.fill(undefined);
    this.kernelBreakpoints.markUnknown();
    this.memory.forget();
    this.releaseAtNextStop = undefined;
    this.current = undefined;
    this.registerCache = undefined;
    this.contextFetched = false;
    this.stoppedOnListedBreakpoint = false;
    this.stoppedByOwnStep = false;
    this.state = 'resetting';
    this.emitState('resetting');
  }

  /**
   * Flaw 3 can leave a 0xCC the kernel no longer lists. The host knows every original
   * byte, so after a clear it checks the addresses it ever armed and writes back any
   * byte that still reads 0xCC.
   */
  private async repairStrayBreakpoints(addresses: bigint[]): Promise<void> {
    this.memory.invalidate();
    for (const address of addresses) {
      const original = this.memory.originalByte(address);
      if (original === undefined || original === 0xcc) continue;
      const [now] = await this.memory.read(address, 1);
      if (now === 0xcc) {
        this.log.warn({ address: hex(address) }, `repairing a breakpoint byte the kernel left at ${hex(address)}`);
        await this.memory.write(address, Buffer.from([original]));
      }
    }
  }

  async syncBreakpoints(): Promise<void> {
    for (const update of planBreakpointSync(this.kernelBreakpoints, this.breakpoints.list())) {
      await this.sendBreakpointUpdate(update);
    }
  }

  private async sendBreakpointUpdate(update: BreakpointUpdate): Promise<void> {
    await this.target.updateBreakpoints(update);
    this.kernelBreakpoints.apply(update);
    this.memory.invalidate();
  }

  private async resumeOnce(how: 'continue' | 'step' | { start: bigint; end: bigint }): Promise<SessionStop> {
    const waiter = this.addStopWaiter();
    try {
      await this.startResume(how);
    } catch (err) {
      // No stop is coming for a resume the target never took. A waiter left in
      // the list would count as a debugger waiting (a release would then not
      // resume the target), and its rejection by a later disconnect would go
      // unhandled and end the process.
      this.stopWaiters = this.stopWaiters.filter((w) => w !== waiter);
      waiter.promise.catch(() => undefined);
      throw err;
    }
    return waiter.promise;
  }

  private async startResume(how: 'continue' | 'step' | { start: bigint; end: bigint }): Promise<void> {
    const current = this.current?.stop;
    const before = { state: this.state, steppedFrom: this.steppedFrom, stoppedByOwnStep: this.stoppedByOwnStep };
    this.steppedFrom = how === 'step' && current && current.kind !== 'assert' ? current.record : undefined;
    this.state = 'running';
    this.stoppedByOwnStep = how !== 'continue';
    this.registerCache = undefined;
    this.contextFetched = false;
    this.emitState('running');
    try {
      if (typeof how === 'object') await this.target.rangeStep!(how.start, how.end);
      else await this.target.resume(how);
    } catch (err) {
      // Refused or never sent: the kernel is still stopped where it was. Unless
      // the link said otherwise meanwhile (closed, wedged, a new stop), the
      // session is too, so gdb can go on reading it or try again.
      if (this.state === 'running' && this.current?.stop === current) {
        this.state = before.state;
        this.steppedFrom = before.steppedFrom;
        this.stoppedByOwnStep = before.stoppedByOwnStep;
        this.log.warn(`the target did not take the ${typeof how === 'object' ? 'range step' : how}: ${err instanceof Error ? err.message : String(err)}`);
        this.emitState(this.state);
      }
      throw err;
    }
  }

  private nextStop(): Promise<SessionStop> {
    return this.addStopWaiter().promise;
  }

  private addStopWaiter(): Deferred<SessionStop> {
    const waiter = deferred<SessionStop>();
    this.stopWaiters.push(waiter);
    return waiter;
  }

  // ------------------------------------------------------------------- events

  private onTargetStop(stop: TargetStop): void {
    const description = this.describe(stop);
    this.current = { stop, description };
    this.registerCache = undefined;
    this.contextFetched = false;
    if (stop.kind === 'assert') {
      this.state = 'asserted';
      this.memory.newStop();
    } else {
      this.state = 'stopped';
      // The kernel zero-fills the bytes it could not read (rip in an unmapped page, after
      // a jump there): 00 00 would decode, but it is no code and no sign of a mapped page.
      const readable = stop.record.instruction.some((b) => b !== 0);
      const length = readable ? decodeInstructionLength(stop.record.instruction, stop.record.frame.rip) : 0;
      const carry = stop.kind === 'breakpoint' && stop.record.vector === 1 && this.steppedFrom ? stackAcrossStep(this.steppedFrom, stop.record) : undefined;
      this.memory.newStop({
        code: { address: stop.record.frame.rip, bytes: stop.record.instruction.subarray(0, length) },
        mapped: stackReadByKernel(stop),
        carry,
        rsp: stop.record.frame.rsp,
        ...('stackBelow' in stop && stop.stackBelow?.length
          ? { stackBelow: { address: stop.record.frame.rsp - BigInt(stop.stackBelow.length), bytes: stop.stackBelow } }
          : {}),
      });
    }
    if (stop.kind !== 'breakpoint' || stop.record.vector !== 1) this.stoppedByOwnStep = false;
    this.stoppedOnListedBreakpoint =
      stop.kind === 'breakpoint' && stop.record.vector === 3 && this.kernelBreakpoints.mayContain(stop.record.frame.rip);
    this.log.debug({ kind: stop.kind, signal: description.signal }, 'target stopped');
    this.emitState(this.state);
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const w of waiters) w.resolve(this.current);
    const release = this.releaseAtNextStop;
    if (release) {
      this.releaseAtNextStop = undefined;
      // A debugger that connected meanwhile may already wait for this stop: the
      // previous session's breakpoints still go, but the target stays stopped for it.
      const resume = release.resume && waiters.length === 0;
      this.release({ resume }).catch((err) => this.log.error(`could not release the target: ${err instanceof Error ? err.message : err}`));
    }
  }

  private describe(stop: TargetStop): StopDescription {
    switch (stop.kind) {
      case 'assert':
        return {
          signal: Signal.SIGABRT,
          console: `josgdb: kernel assert failed: ${stop.cond} at ${stop.file}:${stop.line} (the kernel cannot resume from an assert; reboot it to go on)`,
        };
      case 'breakIn':
        return { signal: Signal.SIGINT };
      case 'hwBreakpoint': {
        const slot = this.hwSlots[stop.slot];
        if (!slot || slot.type === 1) return { signal: Signal.SIGTRAP, reason: { kind: 'hwbreak' } };
        const kind = slot.type === 2 ? 'watch' : slot.type === 3 ? 'rwatch' : 'awatch';
        return { signal: Signal.SIGTRAP, reason: { kind, addr: slot.address } };
      }
      case 'breakpoint': {
        const { vector, frame } = stop.record;
        const swbreak = vector === 3 && this.breakpoints.has(frame.rip);
        return swbreak ? { signal: Signal.SIGTRAP, reason: { kind: 'swbreak' } } : { signal: Signal.SIGTRAP };
      }
      default: {
        const r = stop.record;
        return describeFault({ vector: r.vector, rip: r.frame.rip, errorCode: r.errorCode, cr2: r.control.cr2 });
      }
    }
  }

  private onTrace(text: string): void {
    this.log.info({ channel: 'target' }, text);
    for (const l of this.traceListeners) l(text);
  }

  private onWedged(message: string): void {
    this.state = 'wedged';
    this.log.error(message);
    this.emitState('wedged', message);
    this.rejectWaiters(new JosgdbError('TARGET_WEDGED', message));
  }

  private onTargetClosed(reason: string): void {
    this.state = 'disconnected';
    this.emitState('disconnected', reason);
    this.rejectWaiters(new JosgdbError('LINK_CLOSED', `target link closed: ${reason}`));
  }

  private rejectWaiters(err: Error): void {
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  private emitState(state: SessionState, detail?: string): void {
    for (const l of this.stateListeners) l(state, detail);
  }

  private requireStopped(): void {
    if (this.state === 'stopped' || this.state === 'asserted') return;
    if (this.state === 'running') throw new JosgdbError('TARGET_RUNNING', 'the target is running');
    if (this.state === 'resetting') throw new JosgdbError('TARGET_RUNNING', 'the target is rebooting');
    if (this.state === 'wedged') throw new JosgdbError('TARGET_WEDGED', 'the target is wedged in a fault inside its debugger; reboot it');
    throw new JosgdbError('LINK_CLOSED', 'the target is not connected');
  }

  private requireRecord(): StopRecordView {
    this.requireStopped();
    const stop = this.current?.stop;
    if (!stop || stop.kind === 'assert') {
      throw new JosgdbError('TARGET_ASSERT', 'the kernel stopped in an assert: it sent no registers');
    }
    return stop.record;
  }
}

/**
 * The stack the kernel read for the stop's callstack packet: it scans every slot from
 * rsp (rounded down to 8) towards the stack top for code addresses, so with N of them
 * found it read at least N slots there, and those pages are mapped.
 */
function stackReadByKernel(stop: TargetStop): MappedRange[] {
  if (!('callstack' in stop) || stop.callstack.length === 0) return [];
  return [{ address: stop.record.frame.rsp & ~7n, length: stop.callstack.length * 8 }];
}

/** How far above rsp stack bytes are carried across a step: gdb reads a line or two there. */
const CARRIED_STACK_WINDOW = 0x2000n;

/**
 * After a single step, the stack bytes of the last stop at or above both the old and
 * the new rsp are still true unless the instruction wrote them. Below rsp they are
 * not: the trap that reported the step pushed its frame there. A stop that is not
 * where the instruction leads (an interrupt came first) keeps nothing.
 */
function stackAcrossStep(from: StopRecordView, to: StopRecordView): StackCarry | undefined {
  const step = predictStep(from.instruction, from.frame.rip);
  if (!step) return undefined;
  const length = step.length;
  if (step.fallsThrough && to.frame.rip !== from.frame.rip + BigInt(step.length)) return undefined;
  const keepFrom = from.frame.rsp > to.frame.rsp ? from.frame.rsp : to.frame.rsp;
  const frame: Record<string, bigint> = from.frame;
  return {
    keepFrom,
    keepTo: from.frame.rsp + CARRIED_STACK_WINDOW,
    written: memoryWrittenBy(from.instruction.subarray(0, length), from.frame.rip, (name) => frame[name]),
  };
}
