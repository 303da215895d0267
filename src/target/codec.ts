/**
 * The josx64 byte stream as typed messages, both ways.
 *
 *  - encodeRequest / HostStreamDecoder: host -> kernel. The decoder is a model of
 *    josx64's own reader (naive `josx` matcher, unknown ids traced without
 *    consuming a body, WriteTargetMemory data after the counted body), used by
 *    fake kernels and to check the captures byte for byte.
 *  - encodeKernelMessage / KernelStreamDecoder: kernel -> host. The decoder is
 *    pure and synchronous: push(chunk) returns events, whatever the chunking.
 *
 * KernelStreamDecoder has two phases. Before the handshake the line carries
 * firmware console text and raw kernel traces: it is reported as `noise` lines
 * until an id 2 header with a plausible JSON body appears. After it every byte
 * belongs to a packet; a header that cannot be one (unknown id, impossible length,
 * impossible stop record) is skipped a byte at a time and reported as `garbage`.
 * The decoder never buffers more than a header plus the largest legal body.
 *
 * The unmapped-read wedge: josx64 sends the 0x804 header with the requested length,
 * then faults reading the memory and sends a PF/GPF packet instead of the body. The
 * client announces each read with expectMemoryReply(address, length); the decoder
 * then checks the body for a fault header where a fault can happen (offset 0, page
 * boundaries, the canonical boundary) whose record proves it (PF: cr2 = the byte
 * that faulted; GPF: that byte is non-canonical) and reports `wedge`. Data that ends
 * in a prefix of a fault header is ambiguous until more bytes come or the caller
 * settles it (`ambiguous`, `settle()`): the kernel sends nothing after a real reply.
 */
import { isCanonical } from '../common/bytes';
import { JosgdbError } from '../common/errors';
import { ByteQueue } from './byte-queue';
import { decodeTolerant, isJsonObject, parseJsonTolerant } from './json';
import { parseKernelInfo } from './info';
import type { HostEvent, KernelEvent, KernelMessage, KernelRequest, StopRecord } from './messages';
import {
  BREAKPOINT_ENTRY_SIZE,
  COMPACT_STOP_FIELDS,
  Feature,
  HANDSHAKE_MAGIC,
  HEADER_SIZE,
  HW_BREAKPOINT_REQUEST_SIZE,
  INTERRUPT_FRAME_SIZE,
  MAX_BODY_LENGTH,
  MAX_INFO_LENGTH,
  PacketId,
  READ_REQUEST_SIZE,
  STOP_KIND_IDS,
  STOP_PACKETS,
  STOP_RECORD_SIZE,
  Vector,
  packetName,
  packetSpec,
} from './protocol';
import type { PacketSpec } from './protocol';
import {
  decodeCompactStop,
  decodeContext,
  decodeInterruptFrame,
  decodeStopRecord,
  encodeCompactStop,
  encodeContext,
  encodeInterruptFrame,
  encodeStopRecord,
  stopRecordProblem,
} from './structs';

const P = PacketId;

// ---------------------------------------------------------------- helpers

function header(id: number, length: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeUInt32LE(id >>> 0, 0);
  h.writeUInt32LE(length >>> 0, 4);
  return h;
}

export function packet(id: number, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([header(id, body.length), body]);
}

function badArg(message: string): never {
  throw new JosgdbError('BAD_ARGUMENT', message);
}

function checkU(value: number, bits: 8 | 16 | 32, what: string): number {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) badArg(`${what} must be a u${bits}, got ${value}`);
  return value;
}

function checkU64(value: bigint, what: string): bigint {
  if (value < 0n || value > 0xffffffffffffffffn) badArg(`${what} must be a u64, got ${value}`);
  return value;
}

function u64s(...values: bigint[]): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt.asUintN(64, v), i * 8));
  return b;
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4));
  return b;
}

function addressLength(address: bigint, length: number): Buffer {
  const b = Buffer.alloc(READ_REQUEST_SIZE);
  b.writeBigUInt64LE(checkU64(address, 'address'), 0);
  b.writeUInt32LE(checkU(length, 32, 'length'), 8);
  return b;
}

// ---------------------------------------------------------------- host -> kernel

/** The exact bytes of a request, as josx64 (or the extension stub) reads them. */
export function encodeRequest(req: KernelRequest): Buffer {
  switch (req.kind) {
    case 'continue':
      return packet(P.Continue);
    case 'traceStep':
      return packet(P.TraceStep);
    case 'traceStepCompact':
      return packet(P.TraceStepCompact);
    case 'singleStep':
      return packet(P.SingleStep);
    case 'memoryMap':
      return packet(P.MemoryMap);
    case 'hiveDump':
      return packet(P.HiveDump);
    case 'readMemory':
      return packet(P.ReadTargetMemory, addressLength(req.address, req.length));
    case 'writeMemory':
      // Quirk: the header counts only the 12-byte {address, length}; the data follows uncounted.
      return Buffer.concat([packet(P.WriteTargetMemory, addressLength(req.address, req.data.length)), req.data]);
    case 'traversePageTable':
      return packet(P.TraversePageTable, u64s(checkU64(req.address, 'address')));
    case 'rdmsr':
      return packet(P.RDMSR, u32s(checkU(req.msr, 32, 'msr')));
    case 'cpuid':
      return packet(P.CPUID, u32s(checkU(req.leaf, 32, 'leaf'), checkU(req.subleaf, 32, 'subleaf')));
    case 'updateBreakpoints': {
      const body = Buffer.alloc(req.entries.length * BREAKPOINT_ENTRY_SIZE);
      req.entries.forEach((e, i) => {
        if (e.state !== 0 && e.state !== 1 && e.state !== 2) badArg(`breakpoint state must be 0, 1 or 2, got ${String(e.state)}`);
        body.writeBigUInt64LE(checkU64(e.address, 'breakpoint address'), i * BREAKPOINT_ENTRY_SIZE);
        body.writeUInt8(e.state, i * BREAKPOINT_ENTRY_SIZE + 8);
      });
      return packet(P.UpdateBreakpoints, body);
    }
    case 'writeRegisters':
      return packet(P.WriteRegisters, encodeInterruptFrame(req.frame));
    case 'breakIn':
      return packet(P.BreakIn);
    case 'safeRead':
      return packet(P.SafeRead, addressLength(req.address, req.length));
    case 'safeWrite':
      // Unlike WriteTargetMemory, the data is inside the counted body.
      return packet(P.SafeWrite, Buffer.concat([addressLength(req.address, req.data.length), req.data]));
    case 'setHwBreakpoint': {
      const hw = req.hw;
      const b = Buffer.alloc(HW_BREAKPOINT_REQUEST_SIZE);
      b.writeUInt8(checkU(hw.slot, 8, 'slot'), 0);
      b.writeUInt8(checkU(hw.kind, 8, 'kind'), 1);
      b.writeUInt8(checkU(hw.length, 8, 'length'), 2);
      b.writeUInt8(hw.enable ? 1 : 0, 3);
      b.writeBigUInt64LE(checkU64(hw.address, 'address'), 4);
      return packet(P.SetHwBreakpoint, b);
    }
    case 'rangeStep':
      return packet(P.RangeStep, u64s(checkU64(req.start, 'start'), checkU64(req.end, 'end')));
    case 'readContext':
      return packet(P.ReadContext);
    case 'reset':
      return packet(P.Reset);
  }
}

/** The reply id a request is answered with (undefined: no reply on the wire). */
export function replyIdOf(req: KernelRequest): number | undefined {
  switch (req.kind) {
    case 'readMemory':
      return req.length > 0 ? P.ReadTargetMemoryResp : undefined;
    case 'traversePageTable':
      return P.TraversePageTableResp;
    case 'rdmsr':
      return P.RDMSRResp;
    case 'cpuid':
      return P.CPUIDResp;
    case 'writeRegisters':
      return P.WriteRegistersResp;
    case 'safeRead':
      return P.SafeReadResp;
    case 'safeWrite':
      return P.SafeWriteResp;
    case 'setHwBreakpoint':
      return P.SetHwBreakpointResp;
    case 'readContext':
      return P.ReadContextResp;
    default:
      return undefined;
  }
}

/** The feature a request needs, if it is an extension. */
export function featureOf(req: KernelRequest): string | undefined {
  switch (req.kind) {
    case 'writeRegisters':
      return Feature.WriteRegisters;
    case 'breakIn':
      return Feature.BreakIn;
    case 'safeRead':
    case 'safeWrite':
      return Feature.SafeMemory;
    case 'setHwBreakpoint':
      return Feature.HwBreakpoints;
    case 'rangeStep':
      return Feature.RangeStep;
    case 'readContext':
      return Feature.FullContext;
    case 'reset':
      return Feature.Reset;
    case 'traceStepCompact':
      return Feature.CompactStop;
    default:
      return undefined;
  }
}

export interface HostStreamDecoderOptions {
  /** Start after the handshake (default false: run the `josx` matcher first). */
  connected?: boolean;
  /** Extensions the modelled kernel implements; their ids are unknown otherwise. Default: none (a josx64 kernel). */
  features?: Iterable<string>;
}

/**
 * A model of the kernel's input side, for fake kernels and capture checks. It reads
 * exactly as josx64 does: ids it does not handle produce `unknown` and only their
 * 8 header bytes are consumed.
 */
export class HostStreamDecoder {
  private readonly q = new ByteQueue();
  private connected: boolean;
  private match = 0;
  private readonly features: Set<string>;

  constructor(opts: HostStreamDecoderOptions = {}) {
    this.connected = opts.connected ?? false;
    this.features = new Set(opts.features ?? []);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get buffered(): number {
    return this.q.length;
  }

  push(chunk: Uint8Array): HostEvent[] {
    const out: HostEvent[] = [];
    let input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.connected) {
      let i = 0;
      for (; i < input.length && !this.connected; i++) {
        // josx64's matcher: a mismatch resets to 0 without re-examining the byte.
        if (input[i] === HANDSHAKE_MAGIC[this.match]) {
          this.match++;
          if (this.match === HANDSHAKE_MAGIC.length) {
            this.connected = true;
            out.push({ kind: 'handshake' });
          }
        } else {
          this.match = 0;
        }
      }
      input = input.subarray(i);
      if (!this.connected) return out;
    }
    this.q.append(input);
    for (;;) {
      const ev = this.next();
      if (!ev) break;
      out.push(ev);
    }
    return out;
  }

  private next(): HostEvent | undefined {
    const q = this.q;
    if (q.length < HEADER_SIZE) return undefined;
    const id = q.u32(0);
    const length = q.u32(4);
    const spec = packetSpec(id, 'toKernel');
    const known = spec && !spec.declaredOnly && (!spec.feature || this.features.has(spec.feature));
    if (!known) {
      q.consume(HEADER_SIZE);
      return { kind: 'unknown', id, length };
    }
    // How many bytes after the header the kernel reads for this id.
    let bodyRead: number;
    switch (id) {
      case P.Continue:
      case P.TraceStep:
      case P.SingleStep:
      case P.MemoryMap:
      case P.HiveDump:
      case P.BreakIn:
      case P.ReadContext:
      case P.Reset:
      case P.TraceStepCompact:
        bodyRead = 0;
        break;
      case P.UpdateBreakpoints:
        bodyRead = Math.floor(length / BREAKPOINT_ENTRY_SIZE) === 0 ? 0 : length;
        break;
      case P.WriteTargetMemory: {
        if (q.length < HEADER_SIZE + length) return undefined;
        const dataLength = length >= READ_REQUEST_SIZE ? q.u32(HEADER_SIZE + 8) : 0;
        bodyRead = length + dataLength;
        break;
      }
      default:
        bodyRead = length;
    }
    const total = HEADER_SIZE + bodyRead;
    if (q.length < total) return undefined;
    const raw = q.copy(0, total);
    q.consume(total);
    const body = raw.subarray(HEADER_SIZE);
    return { kind: 'request', request: decodeRequestBody(id, length, body), raw };
  }
}

function padTo(b: Buffer, n: number): Buffer {
  return b.length >= n ? b : Buffer.concat([b, Buffer.alloc(n - b.length)]);
}

function decodeRequestBody(id: number, length: number, body: Buffer): KernelRequest {
  switch (id) {
    case P.Continue:
      return { kind: 'continue' };
    case P.TraceStep:
      return { kind: 'traceStep' };
    case P.SingleStep:
      return { kind: 'singleStep' };
    case P.MemoryMap:
      return { kind: 'memoryMap' };
    case P.HiveDump:
      return { kind: 'hiveDump' };
    case P.ReadTargetMemory: {
      const b = padTo(body, 12);
      return { kind: 'readMemory', address: b.readBigUInt64LE(0), length: b.readUInt32LE(8) };
    }
    case P.WriteTargetMemory: {
      const b = padTo(body, 12);
      return { kind: 'writeMemory', address: b.readBigUInt64LE(0), data: Buffer.from(body.subarray(length)) };
    }
    case P.TraversePageTable:
      return { kind: 'traversePageTable', address: padTo(body, 8).readBigUInt64LE(0) };
    case P.RDMSR:
      return { kind: 'rdmsr', msr: padTo(body, 4).readUInt32LE(0) };
    case P.CPUID: {
      const b = padTo(body, 8);
      return { kind: 'cpuid', leaf: b.readUInt32LE(0), subleaf: b.readUInt32LE(4) };
    }
    case P.UpdateBreakpoints: {
      const entries = [];
      for (let at = 0; at + BREAKPOINT_ENTRY_SIZE <= body.length; at += BREAKPOINT_ENTRY_SIZE) {
        entries.push({ address: body.readBigUInt64LE(at), state: body.readUInt8(at + 8) as 0 | 1 | 2 });
      }
      return { kind: 'updateBreakpoints', entries };
    }
    case P.WriteRegisters:
      return { kind: 'writeRegisters', frame: decodeInterruptFrame(padTo(body, INTERRUPT_FRAME_SIZE)) };
    case P.BreakIn:
      return { kind: 'breakIn' };
    case P.SafeRead: {
      const b = padTo(body, 12);
      return { kind: 'safeRead', address: b.readBigUInt64LE(0), length: b.readUInt32LE(8) };
    }
    case P.SafeWrite: {
      const b = padTo(body, 12);
      return { kind: 'safeWrite', address: b.readBigUInt64LE(0), data: Buffer.from(body.subarray(12, 12 + b.readUInt32LE(8))) };
    }
    case P.SetHwBreakpoint: {
      const b = padTo(body, 12);
      return {
        kind: 'setHwBreakpoint',
        hw: {
          slot: b.readUInt8(0),
          kind: b.readUInt8(1) as 0 | 1 | 3,
          length: b.readUInt8(2),
          enable: b.readUInt8(3) !== 0,
          address: b.readBigUInt64LE(4),
        },
      };
    }
    case P.RangeStep: {
      const b = padTo(body, 16);
      return { kind: 'rangeStep', start: b.readBigUInt64LE(0), end: b.readBigUInt64LE(8) };
    }
    case P.ReadContext:
      return { kind: 'readContext' };
    case P.Reset:
      return { kind: 'reset' };
    case P.TraceStepCompact:
      return { kind: 'traceStepCompact' };
    default:
      throw new JosgdbError('PROTOCOL', `no request decoder for ${packetName(id)}`);
  }
}

// ---------------------------------------------------------------- kernel -> host

/** Builds the JSON body josx64 sends with an Assert packet. */
export function buildAssertBody(cond: string, file: string, line: number): Buffer {
  return Buffer.from(`{ "assert" : { "cond" : "${cond}", "file" : "${file}", "line" : ${line} } }`, 'utf8');
}

/** The exact bytes a kernel sends for a message (for fake kernels and round-trip tests). */
export function encodeKernelMessage(msg: KernelMessage): Buffer {
  switch (msg.kind) {
    case 'trace':
      return packet(P.Trace, Buffer.from(msg.text, 'utf8'));
    case 'connectionInfo':
      return packet(P.KernelConnectionInfo, Buffer.from(msg.info.raw, 'latin1'));
    case 'stop': {
      const record = encodeStopRecord(msg.record);
      if (msg.stopKind === 'hwBreakpoint') {
        const pre = Buffer.alloc(9);
        pre.writeUInt8(checkU(msg.slot ?? 0, 8, 'slot'), 0);
        pre.writeBigUInt64LE(BigInt.asUintN(64, msg.dr6 ?? 0n), 1);
        return packet(P.HwBreakpoint, Buffer.concat([pre, record]));
      }
      return packet(STOP_KIND_IDS[msg.stopKind], record);
    }
    case 'compactStop':
      return packet(P.CompactStop, encodeCompactStop(msg.changed, msg.instruction, msg.stackBelow));
    case 'callstack':
      return packet(P.BreakpointCallstack, u64s(...msg.addresses));
    case 'assert':
      return packet(P.Assert, Buffer.from(msg.raw, 'latin1'));
    case 'memory':
      return packet(P.ReadTargetMemoryResp, msg.data);
    case 'pageTable':
      return packet(P.TraversePageTableResp, u64s(msg.address, msg.pml4e, msg.pdpte, msg.pde, msg.pte));
    case 'msr':
      return packet(P.RDMSRResp, u32s(msg.msr, msg.lo, msg.hi));
    case 'cpuid':
      return packet(P.CPUIDResp, u32s(msg.leaf, msg.subleaf, msg.eax, msg.ebx, msg.ecx, msg.edx));
    case 'writeRegistersReply':
      return packet(P.WriteRegistersResp, u32s(msg.status));
    case 'safeReadReply':
      return packet(P.SafeReadResp, Buffer.concat([u32s(msg.status, msg.count), msg.data]));
    case 'safeWriteReply':
      return packet(P.SafeWriteResp, u32s(msg.status, msg.count));
    case 'hwBreakpointReply':
      return packet(P.SetHwBreakpointResp, u32s(msg.status));
    case 'context':
      return packet(P.ReadContextResp, encodeContext(msg.context));
  }
}

function jsonString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Decodes one complete kernel -> host packet body (the header already judged plausible). Throws PROTOCOL. */
export function decodeKernelMessage(id: number, body: Buffer): KernelMessage {
  const stopKind = STOP_PACKETS.get(id);
  if (stopKind) {
    if (stopKind === 'hwBreakpoint') {
      return {
        kind: 'stop',
        stopKind,
        slot: body.readUInt8(0),
        dr6: body.readBigUInt64LE(1),
        record: decodeStopRecord(body, 9),
      };
    }
    return { kind: 'stop', stopKind, record: decodeStopRecord(body) };
  }
  switch (id) {
    case P.Trace:
      return { kind: 'trace', text: decodeTolerant(body) };
    case P.KernelConnectionInfo:
      return { kind: 'connectionInfo', info: parseKernelInfo(body) };
    case P.Assert: {
      const json = parseJsonTolerant(body);
      const a = isJsonObject(json) ? json['assert'] : undefined;
      if (!isJsonObject(a)) throw new JosgdbError('PROTOCOL', 'Assert: no "assert" object in the JSON body');
      const line = a['line'];
      return {
        kind: 'assert',
        cond: jsonString(a['cond']),
        file: jsonString(a['file']),
        line: typeof line === 'bigint' ? Number(line) : typeof line === 'number' ? line : 0,
        raw: body.toString('latin1'),
      };
    }
    case P.BreakpointCallstack: {
      const addresses: bigint[] = [];
      for (let at = 0; at + 8 <= body.length; at += 8) addresses.push(body.readBigUInt64LE(at));
      return { kind: 'callstack', addresses };
    }
    case P.ReadTargetMemoryResp:
      return { kind: 'memory', data: body };
    case P.TraversePageTableResp:
      return {
        kind: 'pageTable',
        address: body.readBigUInt64LE(0),
        pml4e: body.readBigUInt64LE(8),
        pdpte: body.readBigUInt64LE(16),
        pde: body.readBigUInt64LE(24),
        pte: body.readBigUInt64LE(32),
      };
    case P.RDMSRResp: {
      const lo = body.readUInt32LE(4);
      const hi = body.readUInt32LE(8);
      return { kind: 'msr', msr: body.readUInt32LE(0), lo, hi, value: (BigInt(hi) << 32n) | BigInt(lo) };
    }
    case P.CPUIDResp:
      return {
        kind: 'cpuid',
        leaf: body.readUInt32LE(0),
        subleaf: body.readUInt32LE(4),
        eax: body.readUInt32LE(8),
        ebx: body.readUInt32LE(12),
        ecx: body.readUInt32LE(16),
        edx: body.readUInt32LE(20),
      };
    case P.WriteRegistersResp:
      return { kind: 'writeRegistersReply', status: body.readUInt32LE(0) };
    case P.SafeReadResp: {
      const status = body.readUInt32LE(0);
      const count = body.readUInt32LE(4);
      if (count !== body.length - 8) {
        throw new JosgdbError('PROTOCOL', `SafeRead reply: count ${count} but ${body.length - 8} data bytes`);
      }
      return { kind: 'safeReadReply', status, count, data: body.subarray(8) };
    }
    case P.SafeWriteResp:
      return { kind: 'safeWriteReply', status: body.readUInt32LE(0), count: body.readUInt32LE(4) };
    case P.SetHwBreakpointResp:
      return { kind: 'hwBreakpointReply', status: body.readUInt32LE(0) };
    case P.ReadContextResp:
      return { kind: 'context', context: decodeContext(body) };
    case P.CompactStop:
      return { kind: 'compactStop', ...decodeCompactStop(body) };
    default:
      throw new JosgdbError('PROTOCOL', `no decoder for ${packetName(id, 'toHost')}`);
  }
}

/** Why a header cannot start a kernel -> host packet; undefined when it is plausible. */
function headerProblem(spec: PacketSpec | undefined, id: number, length: number): string | undefined {
  if (!spec || spec.declaredOnly) return `unknown packet id 0x${id.toString(16)}`;
  if (length < spec.minLength || length > spec.maxLength) {
    return `${spec.name} announcing ${length} bytes (expected ${
      spec.minLength === spec.maxLength ? spec.minLength : `${spec.minLength}..${spec.maxLength}`
    })`;
  }
  if (spec.multipleOf && length % spec.multipleOf !== 0) return `${spec.name} length ${length} not a multiple of ${spec.multipleOf}`;
  return undefined;
}

const JSON_BODIES = new Set<number>([P.KernelConnectionInfo, P.Assert]);

/**
 * Why the first `available` body bytes (at q[offset..]) cannot belong to packet
 * `id`, judging only from bytes [from, available) plus fixed-position fields.
 */
function bodyProblem(id: number, body: Buffer, from: number): string | undefined {
  const available = body.length;
  if (id === P.Trace || JSON_BODIES.has(id)) {
    // Kernel text comes from C strings: a NUL inside means this is not a real packet.
    for (let i = from; i < available; i++) if (body[i] === 0) return `${packetName(id, 'toHost')} body with a NUL byte`;
    if (JSON_BODIES.has(id)) {
      let i = 0;
      while (i < available && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
      if (i < available && body[i] !== 0x7b) return `${packetName(id, 'toHost')} body that is not a JSON object`;
    }
    return undefined;
  }
  if (STOP_PACKETS.has(id)) {
    if (id === P.HwBreakpoint) {
      if (available >= 1 && body[0] > 3) return 'HwBreakpoint stop with a slot above 3';
      return available > 9 ? stopRecordProblem(body, 9, available - 9) : undefined;
    }
    return stopRecordProblem(body, 0, available);
  }
  if (id === P.CompactStop && available >= 4 && body.readUInt32LE(0) >>> COMPACT_STOP_FIELDS.length !== 0) {
    return 'CompactStop with a mask bit beyond cr4';
  }
  if (id === P.BreakpointCallstack) {
    for (let at = from - (from % 8); at + 8 <= available; at += 8) {
      if (!isCanonical(body.readBigUInt64LE(at))) return 'callstack entry that is not a canonical address';
    }
  }
  return undefined;
}

/** Upper bound of KernelStreamDecoder.buffered between pushes. */
export const MAX_DECODER_BUFFER = HEADER_SIZE + MAX_BODY_LENGTH + HEADER_SIZE + STOP_RECORD_SIZE + 4096;

export interface KernelStreamDecoderOptions {
  /** Start after the handshake (attach to a kernel that is already connected). Default false. */
  connected?: boolean;
  /** Longest noise line kept before it is reported anyway. Default 4096. */
  maxNoiseLine?: number;
}

interface MemoryExpectation {
  address: bigint;
  length: number;
  /** Smallest body offset not yet ruled out as the start of a fault packet. */
  nextK: number;
  /** Settled: treat the reply as data whatever it holds. */
  asData: boolean;
}

const PF_HEADER = header(P.PF, STOP_RECORD_SIZE);
const GPF_HEADER = header(P.GPF, STOP_RECORD_SIZE);
const CANONICAL_LIMIT = 0x0000800000000000n;
const PAGE = 0x1000n;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** A noise line as text: ANSI escape sequences and control bytes removed. */
export function cleanNoiseLine(bytes: Buffer): string {
  return decodeTolerant(bytes).replace(ANSI, '').replace(CONTROL, '').trimEnd();
}

export class KernelStreamDecoder {
  private readonly q = new ByteQueue();
  private connectedFlag: boolean;
  private readonly maxNoiseLine: number;
  // pre-handshake
  private line: Buffer[] = [];
  private lineLength = 0;
  /** Body bytes of the current id 2 candidate already checked (noise phase) or of the current packet (connected). */
  private checked = 0;
  // connected
  private garbage: Buffer[] = [];
  private garbageLength = 0;
  private garbageReason = '';
  private expect: MemoryExpectation | undefined;
  private ambiguousFlag = false;

  constructor(opts: KernelStreamDecoderOptions = {}) {
    this.connectedFlag = opts.connected ?? false;
    this.maxNoiseLine = opts.maxNoiseLine ?? 4096;
  }

  /** True once a KernelConnectionInfo was decoded (or when constructed connected). */
  get connected(): boolean {
    return this.connectedFlag;
  }

  /** Bytes held: a partial packet, a partial noise line. Bounded by a header plus the largest legal body. */
  get buffered(): number {
    return this.q.length + this.lineLength;
  }

  /**
   * True while the decoder holds a complete ReadTargetMemory reply whose data ends
   * like the start of a fault packet: only more bytes (a wedge) or settle() (data)
   * decide. The kernel sends nothing after a real reply, so the caller settles
   * after a short quiet time.
   */
  get ambiguous(): boolean {
    return this.ambiguousFlag;
  }

  /**
   * True while the front of the pre-handshake stream is a plausible id 2 header
   * whose body is still arriving: the kernel has connected, so the host must stop
   * repeating the handshake.
   */
  get receivingInfo(): boolean {
    if (this.connectedFlag || this.q.length < HEADER_SIZE || this.q.u32(0) !== P.KernelConnectionInfo) return false;
    const length = this.q.u32(4);
    return length >= 2 && length <= MAX_INFO_LENGTH;
  }

  /** The next 0x804 of `length` answers a read at `address`: check it for the wedge. */
  expectMemoryReply(address: bigint, length: number): void {
    this.expect = { address, length, nextK: 0, asData: false };
    this.checked = 0;
  }

  /** Forget the outstanding read (it timed out); returns whatever that unblocks. */
  clearExpectation(): KernelEvent[] {
    this.expect = undefined;
    this.ambiguousFlag = false;
    return this.push(Buffer.alloc(0));
  }

  /** Decide an ambiguous reply as plain data; returns the events that releases. */
  settle(): KernelEvent[] {
    if (this.expect && this.ambiguousFlag) this.expect.asData = true;
    this.ambiguousFlag = false;
    return this.push(Buffer.alloc(0));
  }

  /** Back to the initial state (for a rebooted target: connected false). */
  reset(opts: { connected?: boolean } = {}): void {
    this.q.clear();
    this.connectedFlag = opts.connected ?? false;
    this.line = [];
    this.lineLength = 0;
    this.checked = 0;
    this.garbage = [];
    this.garbageLength = 0;
    this.expect = undefined;
    this.ambiguousFlag = false;
  }

  push(chunk: Uint8Array): KernelEvent[] {
    const out: KernelEvent[] = [];
    this.q.append(chunk);
    this.ambiguousFlag = false;
    if (!this.connectedFlag) this.runNoise(out);
    if (this.connectedFlag) this.runPackets(out);
    this.flushGarbage(out);
    return out;
  }

  // ------------------------------------------------------------ before the handshake

  private runNoise(out: KernelEvent[]): void {
    const q = this.q;
    while (!this.connectedFlag) {
      // Find the next byte sequence that could start an id 2 header: 02 00 00 00.
      let p = -1;
      let partial = 0;
      for (let i = 0; i < q.length; i++) {
        if (q.byte(i) !== 0x02) continue;
        let m = 1;
        while (m < 4 && i + m < q.length && q.byte(i + m) === 0) m++;
        if (m === 4) {
          p = i;
          break;
        }
        if (i + m === q.length) {
          partial = q.length - i;
          break;
        }
      }
      if (p < 0) {
        this.noise(q.length - partial, out);
        return;
      }
      if (p > 0) {
        this.noise(p, out);
        this.checked = 0;
      }
      const verdict = this.infoCandidate();
      if (verdict === 'wait') return;
      if (verdict === 'reject') {
        this.noise(1, out);
        this.checked = 0;
        continue;
      }
      this.flushLine(out);
      q.consume(HEADER_SIZE + verdict.length);
      this.checked = 0;
      this.connectedFlag = true;
      out.push(verdict.message);
    }
  }

  /** Judges the id 2 candidate at the front of the queue. */
  private infoCandidate(): 'wait' | 'reject' | { length: number; message: KernelMessage } {
    const q = this.q;
    if (q.length < HEADER_SIZE) return 'wait';
    const length = q.u32(4);
    if (length < 2 || length > MAX_INFO_LENGTH) return 'reject';
    const available = Math.min(q.length - HEADER_SIZE, length);
    const body = q.view(HEADER_SIZE, HEADER_SIZE + available);
    if (bodyProblem(P.KernelConnectionInfo, body, this.checked)) return 'reject';
    this.checked = available;
    if (available < length) return 'wait';
    try {
      return { length, message: { kind: 'connectionInfo', info: parseKernelInfo(Buffer.from(body)) } };
    } catch {
      return 'reject';
    }
  }

  /** Moves `n` bytes from the queue into noise lines. */
  private noise(n: number, out: KernelEvent[]): void {
    if (n <= 0) return;
    const bytes = this.q.copy(0, n);
    this.q.consume(n);
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0x0a) {
        this.addLine(bytes.subarray(start, i));
        this.flushLine(out);
        start = i + 1;
      } else if (this.lineLength + (i + 1 - start) >= this.maxNoiseLine) {
        this.addLine(bytes.subarray(start, i + 1));
        this.flushLine(out);
        start = i + 1;
      }
    }
    this.addLine(bytes.subarray(start));
  }

  private addLine(part: Buffer): void {
    if (part.length === 0) return;
    this.line.push(part);
    this.lineLength += part.length;
  }

  private flushLine(out: KernelEvent[]): void {
    if (this.lineLength === 0) return;
    const text = cleanNoiseLine(Buffer.concat(this.line));
    this.line = [];
    this.lineLength = 0;
    if (text.length > 0) out.push({ kind: 'noise', text });
  }

  // ------------------------------------------------------------ after the handshake

  private runPackets(out: KernelEvent[]): void {
    const q = this.q;
    while (q.length >= HEADER_SIZE) {
      const id = q.u32(0);
      const length = q.u32(4);
      const spec = packetSpec(id, 'toHost');
      const problem = headerProblem(spec, id, length);
      if (problem) {
        this.drop(problem);
        continue;
      }
      const e = this.expect;
      if (id === P.ReadTargetMemoryResp && e && length === e.length && !e.asData) {
        const w = this.wedgeCheck(e, out);
        if (w === 'wait') return;
        if (w === 'wedge') continue;
      }
      const available = Math.min(q.length - HEADER_SIZE, length);
      const bodyIssue = bodyProblem(id, q.view(HEADER_SIZE, HEADER_SIZE + available), this.checked);
      if (bodyIssue) {
        this.drop(bodyIssue);
        continue;
      }
      this.checked = available;
      if (available < length) return;
      let message: KernelMessage;
      try {
        message = decodeKernelMessage(id, q.copy(HEADER_SIZE, HEADER_SIZE + length));
      } catch (err) {
        this.drop(err instanceof Error ? err.message : String(err));
        continue;
      }
      this.flushGarbage(out);
      q.consume(HEADER_SIZE + length);
      this.checked = 0;
      if (message.kind === 'memory' && e && length === e.length) this.expect = undefined;
      out.push(message);
    }
  }

  private drop(reason: string): void {
    if (this.garbageLength === 0) this.garbageReason = reason;
    this.garbage.push(this.q.copy(0, 1));
    this.garbageLength++;
    this.q.consume(1);
    this.checked = 0;
    if (this.expect) this.expect.nextK = 0;
  }

  private flushGarbage(out: KernelEvent[]): void {
    if (this.garbageLength === 0) return;
    out.push({ kind: 'garbage', bytes: Buffer.concat(this.garbage), reason: this.garbageReason });
    this.garbage = [];
    this.garbageLength = 0;
  }

  /** Body offsets where a read can fault: 0, each page boundary, the canonical boundary. */
  private nextFaultOffset(e: MemoryExpectation, after: number): number {
    const addr = e.address + BigInt(after);
    let next = Number(PAGE - (addr % PAGE)) + after;
    const toCanonical = CANONICAL_LIMIT - e.address;
    if (toCanonical > BigInt(after) && toCanonical < BigInt(next)) next = Number(toCanonical);
    return next;
  }

  private wedgeCheck(e: MemoryExpectation, out: KernelEvent[]): 'wait' | 'wedge' | 'data' {
    const q = this.q;
    const available = q.length - HEADER_SIZE;
    for (let k = e.nextK; k < e.length; ) {
      if (k >= available) return 'wait';
      const m = Math.min(HEADER_SIZE, available - k);
      const at = HEADER_SIZE + k;
      const view = q.view(at, at + m);
      const pf = view.equals(PF_HEADER.subarray(0, m));
      const gpf = view.equals(GPF_HEADER.subarray(0, m));
      if (pf || gpf) {
        const need = at + HEADER_SIZE + STOP_RECORD_SIZE;
        if (m < HEADER_SIZE || q.length < need) {
          if (available >= e.length) this.ambiguousFlag = true;
          return 'wait';
        }
        const recordBytes = q.copy(at + HEADER_SIZE, need);
        const record = stopRecordProblem(recordBytes, 0, STOP_RECORD_SIZE) ? undefined : decodeStopRecord(recordBytes);
        const faultAt = e.address + BigInt(k);
        if (record && provesFault(pf, record, faultAt, k)) {
          this.flushGarbage(out);
          out.push({
            kind: 'wedge',
            address: e.address,
            length: e.length,
            partial: q.copy(HEADER_SIZE, at),
            faultKind: pf ? 'pf' : 'gpf',
            fault: record,
          });
          q.consume(need);
          this.checked = 0;
          this.expect = undefined;
          return 'wedge';
        }
      }
      k = this.nextFaultOffset(e, k);
      e.nextK = k;
    }
    return 'data';
  }

}

/** PF: cr2 is the very byte at `k`. GPF: that byte is the first non-canonical one. */
function provesFault(pf: boolean, record: StopRecord, faultAt: bigint, k: number): boolean {
  if (pf) return record.frame.handlerId === BigInt(Vector.PageFault) && record.cr2 === faultAt;
  return (
    record.frame.handlerId === BigInt(Vector.GeneralProtection) &&
    !isCanonical(faultAt) &&
    (k === 0 || isCanonical(faultAt - 1n))
  );
}
