/**
 * The josx64 kernel debugger wire protocol: the single source of truth for packet
 * ids, directions, body sizes, limits and struct layouts. The codec, the client and
 * the fake kernel all read these tables; nothing else in target/ spells an id or an
 * offset. docs/protocol.md is the prose statement of the same facts.
 *
 *     header: u32 id, u32 length (8 bytes, little-endian), then `length` body bytes
 *
 * A reply's id is the request's id + 0x800. There is no framing byte, checksum or
 * acknowledgement, so the limits below are what lets the decoder tell a real header
 * from garbage: a header announcing an absurd length is rejected, never allocated.
 */

export const HEADER_SIZE = 8;
export const REPLY_OFFSET = 0x800;

/** Every packet id the project knows, base protocol and extensions. */
export const PacketId = {
  // base protocol, host -> kernel
  Continue: 0,
  ReadTargetMemory: 4,
  WriteTargetMemory: 5,
  GetTaskList: 7,
  TraceStep: 8,
  TraversePageTable: 9,
  RDMSR: 11,
  UpdateBreakpoints: 13,
  SingleStep: 15,
  CPUID: 17,
  MemoryMap: 18,
  HiveDump: 19,
  HiveSet: 20,
  HiveGet: 21,
  // base protocol, kernel -> host
  Trace: 1,
  KernelConnectionInfo: 2,
  Breakpoint: 3,
  GPF: 6,
  Assert: 10,
  UD: 12,
  BreakpointCallstack: 14,
  PF: 16,
  ReadTargetMemoryResp: 0x804,
  GetTaskListResp: 0x807,
  TraversePageTableResp: 0x809,
  RDMSRResp: 0x80b,
  CPUIDResp: 0x811,
  // extensions, host -> kernel
  WriteRegisters: 0x40,
  BreakIn: 0x41,
  SafeRead: 0x42,
  SafeWrite: 0x43,
  SetHwBreakpoint: 0x44,
  RangeStep: 0x45,
  ReadContext: 0x46,
  Reset: 0x47,
  TraceStepCompact: 0x48,
  // extensions, kernel -> host
  WriteRegistersResp: 0x840,
  BreakInStop: 0x841,
  SafeReadResp: 0x842,
  SafeWriteResp: 0x843,
  SetHwBreakpointResp: 0x844,
  ReadContextResp: 0x846,
  Exception: 0x50,
  HwBreakpoint: 0x52,
  CompactStop: 0x53,
} as const;
export type PacketIdName = keyof typeof PacketId;

/** Extension names as announced in KernelConnectionInfo's `features` list. */
export const Feature = {
  WriteRegisters: 'write-registers',
  BreakIn: 'break-in',
  SafeMemory: 'safe-memory',
  FullContext: 'full-context',
  HwBreakpoints: 'hw-breakpoints',
  RangeStep: 'range-step',
  AllExceptions: 'all-exceptions',
  Reset: 'reset',
  CompactStop: 'compact-stop',
} as const;
export type FeatureName = (typeof Feature)[keyof typeof Feature];
export const ALL_FEATURES: readonly FeatureName[] = Object.values(Feature);

/** UpdateBreakpoints entry state. */
export const BreakpointState = { Enabled: 0, Disabled: 1, Cleared: 2 } as const;
export type BreakpointState = (typeof BreakpointState)[keyof typeof BreakpointState];

/** safe-memory reply status. */
export const SafeMemoryStatus = { Ok: 0, PageFault: 1, GeneralProtection: 2, TooLarge: 3 } as const;
export type SafeMemoryStatus = (typeof SafeMemoryStatus)[keyof typeof SafeMemoryStatus];

/** SetHwBreakpoint kind (the DR7 R/W field; 2 = I/O is not offered). */
export const HwBreakpointKind = { Execute: 0, Write: 1, ReadWrite: 3 } as const;
export type HwBreakpointKind = (typeof HwBreakpointKind)[keyof typeof HwBreakpointKind];
export const HW_BREAKPOINT_SLOTS = 4;
export const HW_BREAKPOINT_LENGTHS: readonly number[] = [1, 2, 4, 8];

// ---------------------------------------------------------------- limits

/** Largest ReadTargetMemory / WriteTargetMemory the client issues (bigger requests are refused locally). */
export const MAX_MEMORY_TRANSFER = 0x10000;
/** safe-memory's own limit (status 3 beyond it). */
export const SAFE_MEMORY_MAX = 0x10000;
/** josx64 formats traces into a few hundred bytes; anything near this is not a trace header. */
export const MAX_TRACE_LENGTH = 4096;
/** josx64 writes its connection JSON into a 1 KiB buffer; leave room for extension targets. */
export const MAX_INFO_LENGTH = 16384;
/** josx64's assert JSON buffer is 512 bytes. */
export const MAX_ASSERT_LENGTH = 4096;
/** call_stack_size is a u16. */
export const MAX_CALLSTACK_ENTRIES = 0xffff;
/** UpdateBreakpoints entries per packet (the kernel allocates the body from a 2 MiB arena). */
export const MAX_BREAKPOINT_ENTRIES = 4096;

// ---------------------------------------------------------------- layouts

/** InterruptFrame: 22 x u64 in this order (the kernel's interrupt_stack_t). */
export const INTERRUPT_FRAME_FIELDS = [
  'rdi', 'rsi', 'rbp', 'rdx', 'rcx', 'rbx', 'rax',
  'r15', 'r14', 'r13', 'r12', 'r11', 'r10', 'r9', 'r8',
  'handlerId', 'errorCode', 'rip', 'cs', 'rflags', 'rsp', 'ss',
] as const;
export type InterruptFrameField = (typeof INTERRUPT_FRAME_FIELDS)[number];
export const INTERRUPT_FRAME_SIZE = 176;

/** Byte offset of a field inside the InterruptFrame. */
export function frameFieldOffset(field: InterruptFrameField): number {
  return INTERRUPT_FRAME_FIELDS.indexOf(field) * 8;
}

/**
 * StopRecord (225 bytes): InterruptFrame, u8 instruction[15], u64 cr0, cr2, cr3,
 * cr4, u16 call_stack_size.
 */
export const INSTRUCTION_BYTES = 15;
export const StopRecordLayout = {
  frame: 0,
  instruction: 176,
  cr0: 191,
  cr2: 199,
  cr3: 207,
  cr4: 215,
  callStackSize: 223,
  size: 225,
} as const;
export const STOP_RECORD_SIZE = 225;

/**
 * CompactStop (0x53), the stop after a TraceStepCompact: u32 mask, then a u64
 * for each set bit, in bit order, then u8 instruction[15], then u8 count and
 * `count` bytes of the stack right below rsp ([rsp - count, rsp), at most 64).
 * Bits 0-21 are the InterruptFrame's fields, 22-25 cr0, cr2, cr3, cr4: a set bit
 * is a field that differs from the stop record the kernel reported before; no
 * callstack follows.
 */
export const COMPACT_STOP_FIELDS = [...INTERRUPT_FRAME_FIELDS, 'cr0', 'cr2', 'cr3', 'cr4'] as const;
export type CompactStopField = (typeof COMPACT_STOP_FIELDS)[number];
export const COMPACT_STOP_MAX_BELOW = 64;
export const COMPACT_STOP_MIN_SIZE = 4 + INSTRUCTION_BYTES + 1;
export const COMPACT_STOP_MAX_SIZE = COMPACT_STOP_MIN_SIZE + 8 * COMPACT_STOP_FIELDS.length + COMPACT_STOP_MAX_BELOW;

/** HwBreakpoint stop (0x52): u8 slot, u64 dr6, StopRecord. */
export const HW_BREAKPOINT_STOP_SIZE = 1 + 8 + STOP_RECORD_SIZE;

/**
 * Context record (0x846), 596 bytes: u16 cs, ds, es, fs, gs, ss; u64 fs_base,
 * gs_base, cr8, dr0, dr1, dr2, dr3, dr6, dr7; the 512-byte FXSAVE64 area.
 */
export const CONTEXT_SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss'] as const;
export const CONTEXT_U64S = ['fsBase', 'gsBase', 'cr8', 'dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7'] as const;
export const FXSAVE_SIZE = 512;
export const CONTEXT_FXSAVE_OFFSET = 6 * 2 + 9 * 8;
export const CONTEXT_SIZE = CONTEXT_FXSAVE_OFFSET + FXSAVE_SIZE;

/** FXSAVE64 layout (Intel SDM vol. 1, 10.5.1). */
export const FxsaveLayout = {
  fcw: 0,
  fsw: 2,
  ftw: 4,
  fop: 6,
  fip: 8,
  fdp: 16,
  mxcsr: 24,
  mxcsrMask: 28,
  st0: 32, // 8 registers, 16-byte slots, 10 significant bytes
  xmm0: 160, // 16 registers, 16 bytes each
} as const;

export const PAGE_TABLE_REPLY_SIZE = 8 + 4 * 8;
export const RDMSR_REPLY_SIZE = 12;
export const CPUID_REPLY_SIZE = 24;
export const READ_REQUEST_SIZE = 12;
export const BREAKPOINT_ENTRY_SIZE = 9;
export const HW_BREAKPOINT_REQUEST_SIZE = 12;
export const RANGE_STEP_REQUEST_SIZE = 16;
export const STATUS_REPLY_SIZE = 4;
export const SAFE_REPLY_HEADER_SIZE = 8;

/**
 * The handshake. josx64 matches `josx` with a naive matcher (a mismatch resets it
 * without re-examining the byte), and everything the host sends after the match is
 * read as packets. Each copy is therefore 8 bytes: `----` resets any partial match
 * (it holds none of j, o, s, x), and a copy that arrives after the kernel connected
 * is read as one whole header (id 0x2d2d2d2d, length 0x78736f6a) that josx64
 * traces as an unhandled packet without consuming a body. Repeating the handshake
 * can thus never break framing, whichever copy the kernel matches.
 */
export const HANDSHAKE = Buffer.from('----josx', 'latin1');
export const HANDSHAKE_MAGIC = Buffer.from('josx', 'latin1');
/** The id a late handshake copy is read as, and its traced complaint, which the client hides. */
export const HANDSHAKE_AS_HEADER_ID = HANDSHAKE.readUInt32LE(0);
export const HANDSHAKE_AS_HEADER_LENGTH = HANDSHAKE.readUInt32LE(4);
export const HANDSHAKE_ECHO_TRACE = `[debugger] unhandled packet id ${HANDSHAKE_AS_HEADER_ID | 0}, length ${HANDSHAKE_AS_HEADER_LENGTH | 0}`;

// ---------------------------------------------------------------- packet table

export type Direction = 'toKernel' | 'toHost';

export interface PacketSpec {
  id: number;
  name: string;
  direction: Direction;
  /** Present for extension packets: the feature that must be announced. */
  feature?: FeatureName;
  /** Smallest and largest plausible body length (inclusive). */
  minLength: number;
  maxLength: number;
  /** Body length must be a multiple of this (callstack, breakpoint entries). */
  multipleOf?: number;
  /** For requests: the id of the reply packet, if the kernel answers. */
  replyId?: number;
  /** Declared by josx64 but never sent / never handled: kept for names, never decoded or encoded. */
  declaredOnly?: boolean;
}

function spec(
  id: number,
  name: string,
  direction: Direction,
  minLength: number,
  maxLength: number,
  extra: Partial<PacketSpec> = {},
): PacketSpec {
  return { id, name, direction, minLength, maxLength, ...extra };
}

const P = PacketId;
const F = Feature;

export const PACKETS: readonly PacketSpec[] = [
  // host -> kernel, base
  spec(P.Continue, 'Continue', 'toKernel', 0, 0),
  spec(P.ReadTargetMemory, 'ReadTargetMemory', 'toKernel', 12, 12, { replyId: P.ReadTargetMemoryResp }),
  // The header says 12; `length` data bytes follow outside the counted body.
  spec(P.WriteTargetMemory, 'WriteTargetMemory', 'toKernel', 12, 12),
  spec(P.GetTaskList, 'GetTaskList', 'toKernel', 0, 0, { declaredOnly: true }),
  spec(P.TraceStep, 'TraceStep', 'toKernel', 0, 0),
  spec(P.TraversePageTable, 'TraversePageTable', 'toKernel', 8, 8, { replyId: P.TraversePageTableResp }),
  spec(P.RDMSR, 'RDMSR', 'toKernel', 4, 4, { replyId: P.RDMSRResp }),
  spec(P.UpdateBreakpoints, 'UpdateBreakpoints', 'toKernel', 0, MAX_BREAKPOINT_ENTRIES * BREAKPOINT_ENTRY_SIZE, {
    multipleOf: BREAKPOINT_ENTRY_SIZE,
  }),
  spec(P.SingleStep, 'SingleStep', 'toKernel', 0, 0),
  spec(P.CPUID, 'CPUID', 'toKernel', 8, 8, { replyId: P.CPUIDResp }),
  spec(P.MemoryMap, 'MemoryMap', 'toKernel', 0, 0),
  spec(P.HiveDump, 'HiveDump', 'toKernel', 0, 0),
  spec(P.HiveSet, 'HiveSet', 'toKernel', 0, 0, { declaredOnly: true }),
  spec(P.HiveGet, 'HiveGet', 'toKernel', 0, 0, { declaredOnly: true }),
  // host -> kernel, extensions
  spec(P.WriteRegisters, 'WriteRegisters', 'toKernel', INTERRUPT_FRAME_SIZE, INTERRUPT_FRAME_SIZE, {
    feature: F.WriteRegisters,
    replyId: P.WriteRegistersResp,
  }),
  spec(P.BreakIn, 'BreakIn', 'toKernel', 0, 0, { feature: F.BreakIn }),
  spec(P.SafeRead, 'SafeRead', 'toKernel', 12, 12, { feature: F.SafeMemory, replyId: P.SafeReadResp }),
  spec(P.SafeWrite, 'SafeWrite', 'toKernel', 12, 12 + SAFE_MEMORY_MAX, { feature: F.SafeMemory, replyId: P.SafeWriteResp }),
  spec(P.SetHwBreakpoint, 'SetHwBreakpoint', 'toKernel', 12, 12, {
    feature: F.HwBreakpoints,
    replyId: P.SetHwBreakpointResp,
  }),
  spec(P.RangeStep, 'RangeStep', 'toKernel', 16, 16, { feature: F.RangeStep }),
  spec(P.ReadContext, 'ReadContext', 'toKernel', 0, 0, { feature: F.FullContext, replyId: P.ReadContextResp }),
  spec(P.Reset, 'Reset', 'toKernel', 0, 0, { feature: F.Reset }),
  spec(P.TraceStepCompact, 'TraceStepCompact', 'toKernel', 0, 0, { feature: F.CompactStop }),

  // kernel -> host, base
  spec(P.Trace, 'Trace', 'toHost', 1, MAX_TRACE_LENGTH),
  spec(P.KernelConnectionInfo, 'KernelConnectionInfo', 'toHost', 2, MAX_INFO_LENGTH),
  spec(P.Breakpoint, 'Breakpoint', 'toHost', STOP_RECORD_SIZE, STOP_RECORD_SIZE),
  spec(P.GPF, 'GPF', 'toHost', STOP_RECORD_SIZE, STOP_RECORD_SIZE),
  spec(P.Assert, 'Assert', 'toHost', 2, MAX_ASSERT_LENGTH),
  spec(P.UD, 'UD', 'toHost', STOP_RECORD_SIZE, STOP_RECORD_SIZE),
  spec(P.BreakpointCallstack, 'BreakpointCallstack', 'toHost', 8, MAX_CALLSTACK_ENTRIES * 8, { multipleOf: 8 }),
  spec(P.PF, 'PF', 'toHost', STOP_RECORD_SIZE, STOP_RECORD_SIZE),
  spec(P.ReadTargetMemoryResp, 'ReadTargetMemory_Resp', 'toHost', 1, MAX_MEMORY_TRANSFER),
  spec(P.GetTaskListResp, 'GetTaskList_Resp', 'toHost', 8, 8, { declaredOnly: true }),
  spec(P.TraversePageTableResp, 'TraversePageTable_Resp', 'toHost', PAGE_TABLE_REPLY_SIZE, PAGE_TABLE_REPLY_SIZE),
  spec(P.RDMSRResp, 'RDMSR_Resp', 'toHost', RDMSR_REPLY_SIZE, RDMSR_REPLY_SIZE),
  spec(P.CPUIDResp, 'CPUID_Resp', 'toHost', CPUID_REPLY_SIZE, CPUID_REPLY_SIZE),
  // kernel -> host, extensions
  spec(P.WriteRegistersResp, 'WriteRegisters_Resp', 'toHost', STATUS_REPLY_SIZE, STATUS_REPLY_SIZE, {
    feature: F.WriteRegisters,
  }),
  spec(P.BreakInStop, 'BreakIn_Stop', 'toHost', STOP_RECORD_SIZE, STOP_RECORD_SIZE, { feature: F.BreakIn }),
  spec(P.SafeReadResp, 'SafeRead_Resp', 'toHost', SAFE_REPLY_HEADER_SIZE, SAFE_REPLY_HEADER_SIZE + SAFE_MEMORY_MAX, {
    feature: F.SafeMemory,
  }),
  spec(P.SafeWriteResp, 'SafeWrite_Resp', 'toHost', SAFE_REPLY_HEADER_SIZE, SAFE_REPLY_HEADER_SIZE, {
    feature: F.SafeMemory,
  }),
  spec(P.SetHwBreakpointResp, 'SetHwBreakpoint_Resp', 'toHost', STATUS_REPLY_SIZE, STATUS_REPLY_SIZE, {
    feature: F.HwBreakpoints,
  }),
  spec(P.ReadContextResp, 'ReadContext_Resp', 'toHost', CONTEXT_SIZE, CONTEXT_SIZE, { feature: F.FullContext }),
  spec(P.Exception, 'Exception', 'toHost', STOP_RECORD_SIZE, STOP_RECORD_SIZE, { feature: F.AllExceptions }),
  spec(P.HwBreakpoint, 'HwBreakpoint', 'toHost', HW_BREAKPOINT_STOP_SIZE, HW_BREAKPOINT_STOP_SIZE, {
    feature: F.HwBreakpoints,
  }),
  spec(P.CompactStop, 'CompactStop', 'toHost', COMPACT_STOP_MIN_SIZE, COMPACT_STOP_MAX_SIZE, { feature: F.CompactStop }),
];

const byDirection: Record<Direction, Map<number, PacketSpec>> = { toKernel: new Map(), toHost: new Map() };
for (const p of PACKETS) byDirection[p.direction].set(p.id, p);

/** The spec of a packet id in one direction (undefined when the id is unknown there). */
export function packetSpec(id: number, direction: Direction): PacketSpec | undefined {
  return byDirection[direction].get(id);
}

/** A human name for an id, for logs and error messages ("ReadTargetMemory", "id 0x7f"). */
export function packetName(id: number, direction?: Direction): string {
  const s = direction ? packetSpec(id, direction) : (packetSpec(id, 'toHost') ?? packetSpec(id, 'toKernel'));
  return s ? s.name : `id 0x${id.toString(16)}`;
}

/** Largest body any kernel -> host packet may announce: the decoder never buffers more than a header plus this. */
export const MAX_BODY_LENGTH = Math.max(
  ...PACKETS.filter((p) => p.direction === 'toHost' && !p.declaredOnly).map((p) => p.maxLength),
);

/** Stop packets and the kind of stop each reports. */
export type StopKind = 'breakpoint' | 'gpf' | 'ud' | 'pf' | 'exception' | 'breakIn' | 'hwBreakpoint';
export const STOP_PACKETS: ReadonlyMap<number, StopKind> = new Map<number, StopKind>([
  [P.Breakpoint, 'breakpoint'],
  [P.GPF, 'gpf'],
  [P.UD, 'ud'],
  [P.PF, 'pf'],
  [P.Exception, 'exception'],
  [P.BreakInStop, 'breakIn'],
  [P.HwBreakpoint, 'hwBreakpoint'],
]);
export const STOP_KIND_IDS: Readonly<Record<StopKind, number>> = {
  breakpoint: P.Breakpoint,
  gpf: P.GPF,
  ud: P.UD,
  pf: P.PF,
  exception: P.Exception,
  breakIn: P.BreakInStop,
  hwBreakpoint: P.HwBreakpoint,
};

/** CPU exception vectors josx64 reports (handler_id). */
export const Vector = { Debug: 1, Breakpoint: 3, InvalidOpcode: 6, GeneralProtection: 13, PageFault: 14 } as const;
