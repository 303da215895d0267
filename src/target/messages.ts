/**
 * Typed messages of the josx64 protocol: what the kernel sends (KernelMessage),
 * what the host sends (KernelRequest), and the decoder's out-of-band events
 * (noise before the handshake, garbage, the unmapped-read wedge). Field names are
 * camelCase; every address and every u64 is a bigint.
 */
import type { BreakpointState, CompactStopField, HwBreakpointKind, InterruptFrameField, SafeMemoryStatus, StopKind } from './protocol';

export type { StopKind } from './protocol';

/** The 176-byte frame the kernel's interrupt stub pushed; every field a u64. */
export type InterruptFrame = Record<InterruptFrameField, bigint>;

export interface StopRecord {
  frame: InterruptFrame;
  /** The 15 bytes the kernel copied from rip (only the instruction's length is valid; the rest is stack leftovers). */
  instruction: Buffer;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  /** How many u64 the BreakpointCallstack packet that follows carries (0: none follows). */
  callStackSize: number;
}

export interface Context {
  cs: number;
  ds: number;
  es: number;
  fs: number;
  gs: number;
  ss: number;
  fsBase: bigint;
  gsBase: bigint;
  cr8: bigint;
  dr0: bigint;
  dr1: bigint;
  dr2: bigint;
  dr3: bigint;
  dr6: bigint;
  dr7: bigint;
  /** The 512-byte FXSAVE64 image (see decodeFxsave). */
  fxsave: Buffer;
}

export interface Fxsave {
  fcw: number;
  fsw: number;
  /** Abridged tag byte as stored by FXSAVE. */
  ftw: number;
  fop: number;
  fip: bigint;
  fdp: bigint;
  mxcsr: number;
  mxcsrMask: number;
  /** st0..st7, 10 bytes each (80-bit extended). */
  st: Buffer[];
  /** xmm0..xmm15, 16 bytes each. */
  xmm: Buffer[];
}

/** A JSON value as the tolerant parser returns it: every integer is a bigint, exactly. */
export type JsonValue = null | boolean | bigint | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface KernelInfo {
  version: { major: number; minor: number; patch: number };
  imageBase: bigint;
  entryPoint: bigint;
  processors: number;
  memory: bigint;
  vendor: string;
  /** hypervisor.id, made printable (josx64 sends it from uninitialised memory under QEMU). */
  hypervisor?: string;
  xsave?: { size: number; bitmap: bigint };
  /** Announced extensions; empty for a josx64 kernel. Unknown names are kept too. */
  features: ReadonlySet<string>;
  /** The exact body bytes as latin1 text: `parseKernelInfo(info.raw)` rebuilds the same info (for a bridge restart). */
  raw: string;
  json: JsonValue;
  /** Fields that were missing or of the wrong type (defaults were used). */
  warnings: string[];
}

export interface BreakpointEntry {
  address: bigint;
  state: BreakpointState;
}

export interface HwBreakpointSpec {
  slot: number;
  kind: HwBreakpointKind;
  /** 1, 2, 4 or 8; 1 for execute. */
  length: number;
  /** false clears the slot. */
  enable: boolean;
  address: bigint;
}

// ---------------------------------------------------------------- kernel -> host

export type KernelMessage =
  | { kind: 'trace'; text: string }
  | { kind: 'connectionInfo'; info: KernelInfo }
  | { kind: 'stop'; stopKind: StopKind; record: StopRecord; slot?: number; dr6?: bigint }
  /** The stop after a TraceStepCompact: what changed since the stop record before it (the client fills in the rest). */
  | { kind: 'compactStop'; changed: Partial<Record<CompactStopField, bigint>>; instruction: Buffer; stackBelow: Buffer }
  | { kind: 'callstack'; addresses: bigint[] }
  | { kind: 'assert'; cond: string; file: string; line: number; raw: string }
  | { kind: 'memory'; data: Buffer }
  | { kind: 'pageTable'; address: bigint; pml4e: bigint; pdpte: bigint; pde: bigint; pte: bigint }
  | { kind: 'msr'; msr: number; lo: number; hi: number; value: bigint }
  | { kind: 'cpuid'; leaf: number; subleaf: number; eax: number; ebx: number; ecx: number; edx: number }
  | { kind: 'writeRegistersReply'; status: number }
  | { kind: 'safeReadReply'; status: SafeMemoryStatus | number; count: number; data: Buffer }
  | { kind: 'safeWriteReply'; status: SafeMemoryStatus | number; count: number }
  | { kind: 'hwBreakpointReply'; status: number }
  | { kind: 'context'; context: Context };

export type KernelMessageKind = KernelMessage['kind'];

/** Everything the decoder reports: messages plus what is not a message. */
export type KernelEvent =
  | KernelMessage
  /** A line of pre-handshake text (firmware console, raw kernel traces), escapes and control bytes removed. */
  | { kind: 'noise'; text: string }
  /** Bytes skipped while looking for a plausible header. */
  | { kind: 'garbage'; bytes: Buffer; reason: string }
  /**
   * A ReadTargetMemory faulted inside the kernel: the 0x804 header announced the
   * length, `partial` bytes came (those before the fault), then a PF/GPF packet.
   * The kernel now waits in a nested loop where Continue faults again.
   */
  | { kind: 'wedge'; address: bigint; length: number; partial: Buffer; faultKind: 'pf' | 'gpf'; fault: StopRecord };

export type KernelEventKind = KernelEvent['kind'];

// ---------------------------------------------------------------- host -> kernel

export type ResumeKind = 'continue' | 'traceStep' | 'singleStep';

export type KernelRequest =
  | { kind: 'continue' }
  | { kind: 'traceStep' }
  | { kind: 'singleStep' }
  | { kind: 'readMemory'; address: bigint; length: number }
  | { kind: 'writeMemory'; address: bigint; data: Buffer }
  | { kind: 'traversePageTable'; address: bigint }
  | { kind: 'rdmsr'; msr: number }
  | { kind: 'cpuid'; leaf: number; subleaf: number }
  | { kind: 'updateBreakpoints'; entries: BreakpointEntry[] }
  | { kind: 'memoryMap' }
  | { kind: 'hiveDump' }
  // extensions
  | { kind: 'writeRegisters'; frame: InterruptFrame }
  | { kind: 'breakIn' }
  | { kind: 'safeRead'; address: bigint; length: number }
  | { kind: 'safeWrite'; address: bigint; data: Buffer }
  | { kind: 'setHwBreakpoint'; hw: HwBreakpointSpec }
  | { kind: 'rangeStep'; start: bigint; end: bigint }
  | { kind: 'readContext' }
  | { kind: 'reset' }
  | { kind: 'traceStepCompact' };

export type KernelRequestKind = KernelRequest['kind'];

/** What the kernel's input side sees (HostStreamDecoder): the model of josx64's reader. */
export type HostEvent =
  | { kind: 'handshake' }
  | { kind: 'request'; request: KernelRequest; raw: Buffer }
  /** An id the kernel does not handle: josx64 traces it and does NOT consume a body. */
  | { kind: 'unknown'; id: number; length: number };
