/**
 * `DebugTarget` over the josx64 client: the only bridge module that speaks in
 * josx64 terms (InterruptFrame field names, StopRecord, feature names). Each
 * extension method exists only when the kernel announced the feature, so the rest
 * of the bridge tests capabilities by presence.
 */
import { Feature, HwBreakpointKind } from '../target/protocol';
import type { KernelClient, StopEvent } from '../target/client';
import type { InterruptFrame, KernelInfo, StopRecord } from '../target/messages';
import type { BreakpointUpdate } from './breakpoints';
import type { DebugTarget, HwBreakpointRequest, StopRecordView, TargetEvents, TargetInfo, TargetStop } from './debug-target';
import type { ExtendedContext, FrameRegisterValues } from './registers';

function toView(record: StopRecord): StopRecordView {
  const f = record.frame;
  return {
    frame: {
      rax: f.rax, rbx: f.rbx, rcx: f.rcx, rdx: f.rdx, rsi: f.rsi, rdi: f.rdi, rbp: f.rbp, rsp: f.rsp,
      r8: f.r8, r9: f.r9, r10: f.r10, r11: f.r11, r12: f.r12, r13: f.r13, r14: f.r14, r15: f.r15,
      rip: f.rip, rflags: f.rflags, cs: f.cs, ss: f.ss,
    },
    vector: Number(f.handlerId & 0xffn),
    errorCode: f.errorCode,
    control: { cr0: record.cr0, cr2: record.cr2, cr3: record.cr3, cr4: record.cr4 },
    instruction: record.instruction,
  };
}

function toTargetStop(ev: StopEvent): TargetStop {
  const record = toView(ev.record);
  if (ev.kind === 'hwBreakpoint') {
    return { kind: 'hwBreakpoint', record, callstack: ev.callstack, slot: ev.slot ?? 0, dr6: ev.dr6 ?? 0n };
  }
  return { kind: ev.kind, record, callstack: ev.callstack, ...(ev.stackBelow ? { stackBelow: ev.stackBelow } : {}) };
}

const HW_KIND = { execute: HwBreakpointKind.Execute, write: HwBreakpointKind.Write, access: HwBreakpointKind.ReadWrite } as const;

export class KernelTarget implements DebugTarget {
  readonly info: TargetInfo;
  private lastFrame: InterruptFrame | undefined;

  writeRegisters?: DebugTarget['writeRegisters'];
  breakIn?: DebugTarget['breakIn'];
  safeRead?: DebugTarget['safeRead'];
  safeWrite?: DebugTarget['safeWrite'];
  setHwBreakpoint?: DebugTarget['setHwBreakpoint'];
  rangeStep?: DebugTarget['rangeStep'];
  readContext?: DebugTarget['readContext'];
  reset?: DebugTarget['reset'];

  constructor(
    private readonly client: KernelClient,
    kernelInfo: KernelInfo,
  ) {
    const v = kernelInfo.version;
    this.info = {
      imageBase: kernelInfo.imageBase,
      entryPoint: kernelInfo.entryPoint,
      version: `${v.major}.${v.minor}.${v.patch}`,
      processors: kernelInfo.processors,
      memory: kernelInfo.memory,
      vendor: kernelInfo.vendor,
      hypervisor: kernelInfo.hypervisor,
    };
    const has = (f: string) => client.has(f);
    if (has(Feature.WriteRegisters)) {
      this.writeRegisters = async (frame: FrameRegisterValues) => {
        const base = this.lastFrame;
        if (!base) throw new Error('no stop frame to write registers into');
        const next: InterruptFrame = { ...base, ...frame };
        await client.writeRegisters(next);
        this.lastFrame = next;
      };
    }
    if (has(Feature.BreakIn)) this.breakIn = () => client.breakIn();
    if (has(Feature.SafeMemory)) {
      this.safeRead = async (address, length) => (await client.safeRead(address, length)).data;
      this.safeWrite = async (address, data) => (await client.safeWrite(address, data)).count;
    }
    if (has(Feature.HwBreakpoints)) {
      this.setHwBreakpoint = (r: HwBreakpointRequest) =>
        client.setHwBreakpoint({ slot: r.slot, kind: HW_KIND[r.kind], length: r.length, enable: r.enable, address: r.address });
    }
    if (has(Feature.RangeStep)) this.rangeStep = (start, end) => client.rangeStep(start, end);
    if (has(Feature.FullContext)) {
      this.readContext = async (): Promise<ExtendedContext> => {
        const c = await client.readContext();
        return {
          segments: { cs: c.cs, ds: c.ds, es: c.es, fs: c.fs, gs: c.gs, ss: c.ss },
          fsBase: c.fsBase,
          gsBase: c.gsBase,
          cr8: c.cr8,
          dr: { dr0: c.dr0, dr1: c.dr1, dr2: c.dr2, dr3: c.dr3, dr6: c.dr6, dr7: c.dr7 },
          fxsave: c.fxsave,
        };
      };
    }
    if (has(Feature.Reset)) {
      this.reset = async () => {
        await client.reset();
        this.resetListener?.();
      };
    }
    this.lastFrame = client.lastStop?.record.frame;
  }

  get description(): string {
    return this.client.description;
  }

  get features(): ReadonlySet<string> {
    return this.client.features;
  }

  private handlers: TargetEvents | undefined;
  private linkLossHandler: ((reason: string) => void) | undefined;
  private changeListener: (() => void) | undefined;
  private resetListener: (() => void) | undefined;

  /** Called once a Reset went out: the machine reboots and must be handshaken again. */
  onReset(listener: (() => void) | undefined): void {
    this.resetListener = listener;
  }

  /**
   * While set, a dropped link goes to `handler` instead of ending the session: the
   * bridge reopens the link and the kernel (which kept its state) carries on.
   */
  onLinkLost(handler: ((reason: string) => void) | undefined): void {
    this.linkLossHandler = handler;
  }

  /** Gives up on the link: the session ends as if no recovery had been tried. */
  endSession(reason: string): void {
    this.handlers?.close(reason);
  }

  /** A line for gdb's console and the log, from the bridge itself. */
  notify(text: string): void {
    this.handlers?.trace(text);
  }

  /** Called after every change to what the kernel holds that the client does not track (its breakpoint list). */
  onKernelStateChanged(listener: (() => void) | undefined): void {
    this.changeListener = listener;
  }

  /** Delivers a stop the client saw before the handlers were set (it came with the handshake). */
  replayLastStop(): void {
    if (!this.handlers) return;
    const last = this.client.lastStop;
    if (last && this.client.state === 'stopped') this.handlers.stop(toTargetStop(last));
    const assertion = this.client.lastAssert;
    if (assertion && this.client.state === 'asserted') this.handlers.stop({ kind: 'assert', ...assertion });
  }

  setEventHandlers(handlers: TargetEvents): void {
    this.handlers = handlers;
    this.client.on('stop', (ev) => {
      this.lastFrame = ev.record.frame;
      handlers.stop(toTargetStop(ev));
    });
    this.client.on('assert', (ev) => {
      this.lastFrame = undefined;
      handlers.stop({ kind: 'assert', cond: ev.cond, file: ev.file, line: ev.line });
    });
    this.client.on('trace', (text) => handlers.trace(text));
    this.client.on('wedge', (ev) => handlers.wedged(ev.message));
    this.client.on('close', (err) => {
      const reason = err ? err.message : 'closed';
      if (this.linkLossHandler) this.linkLossHandler(reason);
      else handlers.close(reason);
    });
  }

  readMemory(address: bigint, length: number): Promise<Buffer> {
    return this.client.readMemory(address, length);
  }
  writeMemory(address: bigint, data: Buffer): Promise<void> {
    return this.client.writeMemory(address, data);
  }
  pageWalk(address: bigint) {
    return this.client.traversePageTable(address);
  }
  async updateBreakpoints(update: BreakpointUpdate): Promise<void> {
    try {
      await this.client.updateBreakpoints(update);
    } finally {
      this.changeListener?.();
    }
  }
  resume(kind: 'continue' | 'step'): Promise<void> {
    // Never SingleStep: its transient breakpoint stays in the kernel's list (flaw 5).
    return this.client.resume(kind === 'continue' ? 'continue' : 'traceStep');
  }
  async rdmsr(msr: number): Promise<bigint> {
    return (await this.client.rdmsr(msr)).value;
  }
  cpuid(leaf: number, subleaf: number) {
    return this.client.cpuid(leaf, subleaf);
  }
  close(): void {
    this.client.close();
  }
}
