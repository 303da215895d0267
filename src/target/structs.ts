/**
 * Struct codecs: InterruptFrame, StopRecord, Context, FXSAVE. Layouts come from
 * protocol.ts; this file only turns bytes into typed records and back, plus the
 * plausibility test that lets the stream decoder reject a misframed stop record
 * (architectural invariants: rflags bit 1 set, canonical rip/rsp, 16-bit selectors).
 */
import { isCanonical } from '../common/bytes';
import { JosgdbError } from '../common/errors';
import type { Context, Fxsave, InterruptFrame, StopRecord } from './messages';
import {
  CONTEXT_FXSAVE_OFFSET,
  CONTEXT_SEGMENTS,
  CONTEXT_SIZE,
  CONTEXT_U64S,
  COMPACT_STOP_FIELDS,
  COMPACT_STOP_MAX_BELOW,
  COMPACT_STOP_MIN_SIZE,
  FXSAVE_SIZE,
  FxsaveLayout,
  INSTRUCTION_BYTES,
  INTERRUPT_FRAME_FIELDS,
  INTERRUPT_FRAME_SIZE,
  STOP_RECORD_SIZE,
  StopRecordLayout,
  frameFieldOffset,
} from './protocol';
import type { CompactStopField } from './protocol';

function need(buf: Buffer, offset: number, size: number, what: string): void {
  if (offset < 0 || offset + size > buf.length) {
    throw new JosgdbError('OUT_OF_BOUNDS', `${what}: need ${size} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
}

export function decodeInterruptFrame(buf: Buffer, offset = 0): InterruptFrame {
  need(buf, offset, INTERRUPT_FRAME_SIZE, 'InterruptFrame');
  const frame = {} as InterruptFrame;
  INTERRUPT_FRAME_FIELDS.forEach((name, i) => {
    frame[name] = buf.readBigUInt64LE(offset + i * 8);
  });
  return frame;
}

export function encodeInterruptFrame(frame: InterruptFrame): Buffer {
  const out = Buffer.alloc(INTERRUPT_FRAME_SIZE);
  INTERRUPT_FRAME_FIELDS.forEach((name, i) => {
    out.writeBigUInt64LE(BigInt.asUintN(64, frame[name]), i * 8);
  });
  return out;
}

export function decodeStopRecord(buf: Buffer, offset = 0): StopRecord {
  need(buf, offset, STOP_RECORD_SIZE, 'StopRecord');
  const L = StopRecordLayout;
  return {
    frame: decodeInterruptFrame(buf, offset + L.frame),
    instruction: Buffer.from(buf.subarray(offset + L.instruction, offset + L.instruction + INSTRUCTION_BYTES)),
    cr0: buf.readBigUInt64LE(offset + L.cr0),
    cr2: buf.readBigUInt64LE(offset + L.cr2),
    cr3: buf.readBigUInt64LE(offset + L.cr3),
    cr4: buf.readBigUInt64LE(offset + L.cr4),
    callStackSize: buf.readUInt16LE(offset + L.callStackSize),
  };
}

export function encodeStopRecord(r: StopRecord): Buffer {
  const L = StopRecordLayout;
  const out = Buffer.alloc(STOP_RECORD_SIZE);
  encodeInterruptFrame(r.frame).copy(out, L.frame);
  if (r.instruction.length > INSTRUCTION_BYTES) {
    throw new JosgdbError('BAD_ARGUMENT', `StopRecord: instruction holds ${r.instruction.length} bytes, at most 15`);
  }
  r.instruction.copy(out, L.instruction);
  out.writeBigUInt64LE(BigInt.asUintN(64, r.cr0), L.cr0);
  out.writeBigUInt64LE(BigInt.asUintN(64, r.cr2), L.cr2);
  out.writeBigUInt64LE(BigInt.asUintN(64, r.cr3), L.cr3);
  out.writeBigUInt64LE(BigInt.asUintN(64, r.cr4), L.cr4);
  out.writeUInt16LE(r.callStackSize, L.callStackSize);
  return out;
}

type CompactChanges = Partial<Record<CompactStopField, bigint>>;

/** A CompactStop body (see protocol.ts): the mask, the changed values in field order, the instruction bytes, the stack below rsp. */
export function encodeCompactStop(changed: CompactChanges, instruction: Buffer, stackBelow: Buffer): Buffer {
  if (instruction.length > INSTRUCTION_BYTES) {
    throw new JosgdbError('BAD_ARGUMENT', `CompactStop: instruction holds ${instruction.length} bytes, at most 15`);
  }
  if (stackBelow.length > COMPACT_STOP_MAX_BELOW) {
    throw new JosgdbError('BAD_ARGUMENT', `CompactStop: ${stackBelow.length} stack bytes, at most ${COMPACT_STOP_MAX_BELOW}`);
  }
  let mask = 0;
  const values: bigint[] = [];
  COMPACT_STOP_FIELDS.forEach((field, bit) => {
    const v = changed[field];
    if (v === undefined) return;
    mask |= 1 << bit;
    values.push(v);
  });
  const at = 4 + 8 * values.length;
  const out = Buffer.alloc(at + INSTRUCTION_BYTES + 1 + stackBelow.length);
  out.writeUInt32LE(mask >>> 0, 0);
  values.forEach((v, i) => out.writeBigUInt64LE(BigInt.asUintN(64, v), 4 + 8 * i));
  instruction.copy(out, at);
  out.writeUInt8(stackBelow.length, at + INSTRUCTION_BYTES);
  stackBelow.copy(out, at + INSTRUCTION_BYTES + 1);
  return out;
}

export function decodeCompactStop(body: Buffer): { changed: CompactChanges; instruction: Buffer; stackBelow: Buffer } {
  const misfit = (): JosgdbError =>
    new JosgdbError('PROTOCOL', `CompactStop: mask 0x${body.readUInt32LE(0).toString(16)} does not fit its ${body.length}-byte body`);
  need(body, 0, COMPACT_STOP_MIN_SIZE, 'CompactStop');
  const mask = body.readUInt32LE(0);
  if (mask >>> COMPACT_STOP_FIELDS.length !== 0) throw misfit();
  const changed: CompactChanges = {};
  let at = 4;
  for (const [bit, field] of COMPACT_STOP_FIELDS.entries()) {
    if (((mask >>> bit) & 1) === 0) continue;
    if (at + 8 + INSTRUCTION_BYTES + 1 > body.length) throw misfit();
    changed[field] = body.readBigUInt64LE(at);
    at += 8;
  }
  const instruction = Buffer.from(body.subarray(at, at + INSTRUCTION_BYTES));
  const below = body.readUInt8(at + INSTRUCTION_BYTES);
  const stackAt = at + INSTRUCTION_BYTES + 1;
  if (below > COMPACT_STOP_MAX_BELOW || body.length !== stackAt + below) throw misfit();
  return { changed, instruction, stackBelow: Buffer.from(body.subarray(stackAt)) };
}

/** The stop record a CompactStop describes: `base` (the record reported before it) with the changes applied; no callstack. */
export function applyCompactStop(base: StopRecord, changed: CompactChanges, instruction: Buffer): StopRecord {
  const frame = { ...base.frame };
  for (const field of INTERRUPT_FRAME_FIELDS) {
    const v = changed[field];
    if (v !== undefined) frame[field] = v;
  }
  return {
    frame,
    instruction: Buffer.from(instruction),
    cr0: changed.cr0 ?? base.cr0,
    cr2: changed.cr2 ?? base.cr2,
    cr3: changed.cr3 ?? base.cr3,
    cr4: changed.cr4 ?? base.cr4,
    callStackSize: 0,
  };
}

const OFF = {
  handlerId: frameFieldOffset('handlerId'),
  errorCode: frameFieldOffset('errorCode'),
  rip: frameFieldOffset('rip'),
  cs: frameFieldOffset('cs'),
  rflags: frameFieldOffset('rflags'),
  rsp: frameFieldOffset('rsp'),
  ss: frameFieldOffset('ss'),
};

/**
 * Why the bytes at `offset` (of which `available` are present, possibly fewer than
 * a whole record) cannot be the start of a StopRecord; undefined when every field
 * present so far is plausible. Only fields entirely present are judged.
 */
export function stopRecordProblem(buf: Buffer, offset: number, available: number): string | undefined {
  const has = (fieldOffset: number): boolean => fieldOffset + 8 <= available;
  const u64 = (fieldOffset: number): bigint => buf.readBigUInt64LE(offset + fieldOffset);
  if (has(OFF.handlerId) && u64(OFF.handlerId) > 0xffn) return 'stop record with handler_id above 255';
  if (has(OFF.errorCode) && u64(OFF.errorCode) > 0xffffffffn) return 'stop record with an error code above 32 bits';
  if (has(OFF.rip) && !isCanonical(u64(OFF.rip))) return 'stop record with a non-canonical rip';
  if (has(OFF.cs) && u64(OFF.cs) > 0xffffn) return 'stop record with cs above 16 bits';
  if (has(OFF.rflags)) {
    const f = u64(OFF.rflags);
    if ((f & 2n) === 0n || f >> 22n !== 0n) return 'stop record with impossible rflags';
  }
  if (has(OFF.rsp) && !isCanonical(u64(OFF.rsp))) return 'stop record with a non-canonical rsp';
  if (has(OFF.ss) && u64(OFF.ss) > 0xffffn) return 'stop record with ss above 16 bits';
  return undefined;
}

export function decodeContext(buf: Buffer, offset = 0): Context {
  need(buf, offset, CONTEXT_SIZE, 'Context');
  const ctx = {} as Context;
  let at = offset;
  for (const name of CONTEXT_SEGMENTS) {
    ctx[name] = buf.readUInt16LE(at);
    at += 2;
  }
  for (const name of CONTEXT_U64S) {
    ctx[name] = buf.readBigUInt64LE(at);
    at += 8;
  }
  ctx.fxsave = Buffer.from(buf.subarray(offset + CONTEXT_FXSAVE_OFFSET, offset + CONTEXT_SIZE));
  return ctx;
}

export function encodeContext(ctx: Context): Buffer {
  const out = Buffer.alloc(CONTEXT_SIZE);
  let at = 0;
  for (const name of CONTEXT_SEGMENTS) {
    out.writeUInt16LE(ctx[name] & 0xffff, at);
    at += 2;
  }
  for (const name of CONTEXT_U64S) {
    out.writeBigUInt64LE(BigInt.asUintN(64, ctx[name]), at);
    at += 8;
  }
  if (ctx.fxsave.length !== FXSAVE_SIZE) {
    throw new JosgdbError('BAD_ARGUMENT', `Context: fxsave must be ${FXSAVE_SIZE} bytes, got ${ctx.fxsave.length}`);
  }
  ctx.fxsave.copy(out, CONTEXT_FXSAVE_OFFSET);
  return out;
}

/** The named parts of a 512-byte FXSAVE64 image. */
export function decodeFxsave(area: Buffer): Fxsave {
  need(area, 0, FXSAVE_SIZE, 'FXSAVE');
  const L = FxsaveLayout;
  const st: Buffer[] = [];
  for (let i = 0; i < 8; i++) st.push(Buffer.from(area.subarray(L.st0 + i * 16, L.st0 + i * 16 + 10)));
  const xmm: Buffer[] = [];
  for (let i = 0; i < 16; i++) xmm.push(Buffer.from(area.subarray(L.xmm0 + i * 16, L.xmm0 + i * 16 + 16)));
  return {
    fcw: area.readUInt16LE(L.fcw),
    fsw: area.readUInt16LE(L.fsw),
    ftw: area.readUInt8(L.ftw),
    fop: area.readUInt16LE(L.fop),
    fip: area.readBigUInt64LE(L.fip),
    fdp: area.readBigUInt64LE(L.fdp),
    mxcsr: area.readUInt32LE(L.mxcsr),
    mxcsrMask: area.readUInt32LE(L.mxcsrMask),
    st,
    xmm,
  };
}
