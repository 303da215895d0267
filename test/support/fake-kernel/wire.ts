/**
 * The josx64 wire format, written independently of src/target so the fake is an
 * oracle for that codec rather than a copy of it. Packet = u32 id, u32 length, body;
 * all little-endian, all packed.
 */
import { ByteWriter } from '../../../src/common/bytes';

export const Id = {
  Continue: 0,
  Trace: 1,
  KernelConnectionInfo: 2,
  Breakpoint: 3,
  ReadTargetMemory: 4,
  WriteTargetMemory: 5,
  GPF: 6,
  GetTaskList: 7,
  TraceStep: 8,
  TraversePageTable: 9,
  Assert: 10,
  RDMSR: 11,
  UD: 12,
  UpdateBreakpoints: 13,
  BreakpointCallstack: 14,
  SingleStep: 15,
  PF: 16,
  CPUID: 17,
  MemoryMap: 18,
  HiveDump: 19,
  // extensions (docs/protocol.md)
  WriteRegisters: 0x40,
  BreakIn: 0x41,
  SafeRead: 0x42,
  SafeWrite: 0x43,
  SetHwBreakpoint: 0x44,
  RangeStep: 0x45,
  ReadContext: 0x46,
  Reset: 0x47,
  TraceStepCompact: 0x48,
  Exception: 0x50,
  HwBreakpoint: 0x52,
  CompactStop: 0x53,
} as const;

export const RESPONSE = 0x800;

/** InterruptFrame order: 22 x u64, 176 bytes. */
export const FRAME_FIELDS = [
  'rdi', 'rsi', 'rbp', 'rdx', 'rcx', 'rbx', 'rax', 'r15', 'r14', 'r13', 'r12', 'r11', 'r10', 'r9', 'r8',
  'handler_id', 'error_code', 'rip', 'cs', 'rflags', 'rsp', 'ss',
] as const;
export type FrameField = (typeof FRAME_FIELDS)[number];
export type Frame = Record<FrameField, bigint>;

export const FRAME_SIZE = 176;
export const STOP_RECORD_SIZE = 225;
export const CONTEXT_SIZE = 596;

export function packet(id: number, body: Uint8Array = Buffer.alloc(0)): Buffer {
  return new ByteWriter().u32(id).u32(body.length).bytes(body).toBuffer();
}

export function encodeFrame(f: Frame): Buffer {
  const w = new ByteWriter();
  for (const name of FRAME_FIELDS) w.u64(f[name]);
  return w.toBuffer();
}

export function decodeFrame(b: Buffer): Frame {
  const f = {} as Frame;
  FRAME_FIELDS.forEach((name, i) => (f[name] = b.readBigUInt64LE(i * 8)));
  return f;
}

export interface ControlRegs {
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
}

/** StopRecord: frame, u8 instruction[15], cr0, cr2, cr3, cr4, u16 call_stack_size (225 bytes). */
export function encodeStopRecord(f: Frame, instruction: Buffer, cr: ControlRegs, callStackSize: number): Buffer {
  if (instruction.length !== 15) throw new Error('instruction must be 15 bytes');
  return new ByteWriter()
    .bytes(encodeFrame(f))
    .bytes(instruction)
    .u64(cr.cr0)
    .u64(cr.cr2)
    .u64(cr.cr3)
    .u64(cr.cr4)
    .u16(callStackSize)
    .toBuffer();
}

/** The 26 u64 fields a CompactStop compares: the frame's 22, then cr0, cr2, cr3, cr4 (byte offsets in a stop record). */
const COMPACT_FIELD_OFFSETS = [...Array.from({ length: 22 }, (_, i) => i * 8), 191, 199, 207, 215];

/**
 * CompactStop body: mask of the fields of `record` that differ from `base` (both
 * 225-byte stop records), their values, the instruction bytes, then `stackBelow`
 * (the bytes right below rsp) with its length.
 */
export function encodeCompactStop(base: Buffer, record: Buffer, stackBelow: Buffer): Buffer {
  let mask = 0;
  const values = new ByteWriter();
  COMPACT_FIELD_OFFSETS.forEach((at, bit) => {
    if (record.subarray(at, at + 8).equals(base.subarray(at, at + 8))) return;
    mask |= 1 << bit;
    values.bytes(record.subarray(at, at + 8));
  });
  return new ByteWriter()
    .u32(mask >>> 0)
    .bytes(values.toBuffer())
    .bytes(record.subarray(176, 191))
    .u8(stackBelow.length)
    .bytes(stackBelow)
    .toBuffer();
}
