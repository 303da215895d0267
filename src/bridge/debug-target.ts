/**
 * What the bridge needs from a target, with each protocol extension an optional
 * capability. A base-protocol josx64 kernel and the extended stub are one code
 * path: the bridge asks `if (target.breakIn)` instead of comparing versions.
 * `kernel-target.ts` implements this over the josx64 client; tests may implement
 * it directly.
 */
import type { BreakpointUpdate } from './breakpoints';
import type { PageWalk } from './memory';
import type { ControlRegisters, ExtendedContext, FrameRegisterValues } from './registers';

export interface StopRecordView {
  frame: FrameRegisterValues;
  vector: number;
  errorCode: bigint;
  control: ControlRegisters;
  /** The 15 bytes the kernel copied from rip; only the first instruction's length is valid. */
  instruction: Buffer;
}

export type TargetStop =
  | {
      kind: 'breakpoint' | 'gpf' | 'ud' | 'pf' | 'exception' | 'breakIn';
      record: StopRecordView;
      callstack: bigint[];
      /** The stack bytes right below rsp as they were at the stop, [rsp - length, rsp), when the target sent them. */
      stackBelow?: Buffer;
    }
  | { kind: 'hwBreakpoint'; record: StopRecordView; callstack: bigint[]; slot: number; dr6: bigint }
  | { kind: 'assert'; cond: string; file: string; line: number };

export interface HwBreakpointRequest {
  slot: number;
  kind: 'execute' | 'write' | 'access';
  length: number;
  enable: boolean;
  address: bigint;
}

export interface TargetInfo {
  imageBase: bigint;
  entryPoint: bigint;
  version: string;
  processors?: number;
  memory?: bigint;
  vendor?: string;
  hypervisor?: string;
}

export interface TargetEvents {
  stop(stop: TargetStop): void;
  trace(text: string): void;
  /** The kernel faulted inside its own serial code (an unmapped read): only a reboot helps. */
  wedged(message: string): void;
  close(reason: string): void;
}

export interface DebugTarget {
  readonly description: string;
  readonly info: TargetInfo;
  readonly features: ReadonlySet<string>;

  setEventHandlers(handlers: TargetEvents): void;

  readMemory(address: bigint, length: number): Promise<Buffer>;
  writeMemory(address: bigint, data: Buffer): Promise<void>;
  pageWalk(address: bigint): Promise<PageWalk>;
  updateBreakpoints(update: BreakpointUpdate): Promise<void>;
  /** Resumes; the outcome arrives as a `stop` event. */
  resume(kind: 'continue' | 'step'): Promise<void>;
  rdmsr(msr: number): Promise<bigint>;
  cpuid(leaf: number, subleaf: number): Promise<{ eax: number; ebx: number; ecx: number; edx: number }>;
  close(): void;

  // Extensions: present only when the target announced them.
  writeRegisters?(frame: FrameRegisterValues): Promise<void>;
  breakIn?(): Promise<void>;
  safeRead?(address: bigint, length: number): Promise<Buffer>;
  safeWrite?(address: bigint, data: Buffer): Promise<number>;
  setHwBreakpoint?(request: HwBreakpointRequest): Promise<void>;
  /** Steps while start <= rip < end; the outcome arrives as a `stop` event. */
  rangeStep?(start: bigint, end: bigint): Promise<void>;
  readContext?(): Promise<ExtendedContext>;
  reset?(): Promise<void>;
}
