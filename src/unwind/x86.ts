/**
 * The few facts about an x86-64 instruction an unwinder needs, as plain typed
 * values: how it moves rsp, which registers it writes, whether it saves a
 * register to the stack, and where control goes next. iced-x86 does the
 * decoding; its wasm objects are freed here, so callers never hold one.
 */
import {
  Decoder,
  DecoderOptions,
  FlowControl,
  Instruction,
  InstructionInfoFactory,
  Mnemonic,
  OpAccess,
  OpKind,
  Register,
  RegisterExt,
} from 'iced-x86';
import { GPRS, Gpr, XMMS, Xmm } from './registers';

/** What an instruction does to rsp and to the stack, in the terms prologue and epilog analysis use. */
export type StackEffect =
  /** push of a register (or, without `register`, of an immediate, memory or rflags): rsp -= 8 */
  | { kind: 'push'; register?: Gpr }
  /** pop into a register (or memory/rflags without `register`): rsp += 8 */
  | { kind: 'pop'; register?: Gpr }
  /** add/sub rsp, imm or lea rsp, [rsp + d]: rsp += delta */
  | { kind: 'adjust'; delta: number }
  /** mov rsp, reg or lea rsp, [reg + d]: rsp = reg + offset */
  | { kind: 'setFrom'; register: Gpr; offset: number }
  /** leave: rsp = rbp, then pop rbp */
  | { kind: 'leave' }
  /** mov reg, rsp or lea reg, [rsp + d]: reg = rsp + offset (a frame pointer, perhaps) */
  | { kind: 'copy'; register: Gpr; offset: number }
  /** mov [base + d], gpr64 or an aligned/unaligned 128-bit store of an xmm register */
  | { kind: 'store'; register: Gpr | Xmm; base: Gpr; offset: number }
  /** writes rsp in a way with no fixed offset (and rsp, -16; sub rsp, rax; mov rsp, [mem]) */
  | { kind: 'unknown' }
  | { kind: 'none' };

export type ControlFlow =
  | { kind: 'next' }
  | { kind: 'jump'; target: bigint }
  | { kind: 'branch'; target: bigint }
  | { kind: 'indirectJump' }
  | { kind: 'call'; target?: bigint }
  | { kind: 'return' }
  /** ud2 and other instructions that never continue. */
  | { kind: 'stop' };

export interface DecodedInstruction {
  length: number;
  mnemonic: Mnemonic;
  stack: StackEffect;
  flow: ControlFlow;
  /** General and xmm registers written (full registers; rsp excluded), so analysis knows which values stop being the caller's. */
  writes: readonly (Gpr | Xmm)[];
  /** A near CALL (direct, or indirect through a register or memory). */
  isNearCall: boolean;
  /** `ret` / `ret imm16` (what an epilog ends with). */
  isNearReturn: boolean;
  /** iretq / iretd. */
  isInterruptReturn: boolean;
  /**
   * For an indirect jmp, the forms the x64 epilog rules accept as a tail call:
   * through RIP-relative memory (FF 25), or with a REX.W prefix (compilers
   * write `rex64 jmp *%rax` for a tail call exactly so that a jump-table jump,
   * which has none, is never taken for an epilog). 'other' for the rest.
   */
  indirectJumpForm?: 'rip-memory' | 'rex-w' | 'other';
}

const GPR_BY_ICED = new Map<Register, Gpr>(GPRS.map((name, i) => [Register.RAX + i, name]));

function gprOf(reg: Register): Gpr | undefined {
  if (reg === Register.None) return undefined;
  return GPR_BY_ICED.get(RegisterExt.fullRegister(reg));
}

function xmmOf(reg: Register): Xmm | undefined {
  if (reg === Register.None) return undefined;
  const full = RegisterExt.fullRegister(reg);
  const n = full - Register.ZMM0;
  return n >= 0 && n < 16 ? XMMS[n] : undefined;
}

/** A 64-bit general register operand (not a 32/16/8-bit view of one). */
function gpr64(reg: Register): Gpr | undefined {
  return reg >= Register.RAX && reg <= Register.R15 ? GPRS[reg - Register.RAX] : undefined;
}

const XMM_STORES = new Set<Mnemonic>([Mnemonic.Movaps, Mnemonic.Movdqa, Mnemonic.Movups, Mnemonic.Movdqu, Mnemonic.Vmovaps, Mnemonic.Vmovdqa, Mnemonic.Vmovups, Mnemonic.Vmovdqu]);

function toNumber(v: bigint): number {
  // Displacements and immediates that matter for stack offsets are 32-bit sign-extended.
  return Number(BigInt.asIntN(64, v));
}

function stackEffect(ins: Instruction): StackEffect {
  const m = ins.mnemonic;
  const op0 = ins.opCount > 0 ? ins.op0Kind : undefined;
  const op1 = ins.opCount > 1 ? ins.op1Kind : undefined;
  const reg0 = op0 === OpKind.Register ? ins.op0Register : Register.None;
  const reg1 = op1 === OpKind.Register ? ins.op1Register : Register.None;
  const imm1 = (): number => toNumber(ins.immediate(1));
  const memBaseOnly = ins.memoryIndex === Register.None;
  switch (m) {
    case Mnemonic.Push:
      return { kind: 'push', ...(gpr64(reg0) ? { register: gpr64(reg0) } : {}) };
    case Mnemonic.Pushfq:
      return { kind: 'push' };
    case Mnemonic.Pop:
      return { kind: 'pop', ...(gpr64(reg0) ? { register: gpr64(reg0) } : {}) };
    case Mnemonic.Popfq:
      return { kind: 'pop' };
    case Mnemonic.Leave:
      return { kind: 'leave' };
    default:
      break;
  }
  if (reg0 === Register.RSP) {
    if ((m === Mnemonic.Add || m === Mnemonic.Sub) && (op1 === OpKind.Immediate8to64 || op1 === OpKind.Immediate32to64)) {
      return { kind: 'adjust', delta: m === Mnemonic.Add ? imm1() : -imm1() };
    }
    if (m === Mnemonic.Lea && memBaseOnly) {
      const base = gpr64(ins.memoryBase);
      if (base === 'rsp') return { kind: 'adjust', delta: toNumber(ins.memoryDisplacement) };
      if (base) return { kind: 'setFrom', register: base, offset: toNumber(ins.memoryDisplacement) };
    }
    if (m === Mnemonic.Mov && gpr64(reg1)) return { kind: 'setFrom', register: gpr64(reg1)!, offset: 0 };
    return { kind: 'unknown' };
  }
  const dest = gpr64(reg0);
  if (dest && dest !== 'rsp') {
    if (m === Mnemonic.Mov && reg1 === Register.RSP) return { kind: 'copy', register: dest, offset: 0 };
    if (m === Mnemonic.Lea && memBaseOnly && ins.memoryBase === Register.RSP) {
      return { kind: 'copy', register: dest, offset: toNumber(ins.memoryDisplacement) };
    }
  }
  if (op0 === OpKind.Memory && memBaseOnly && ins.memorySegment !== Register.FS && ins.memorySegment !== Register.GS) {
    const base = gpr64(ins.memoryBase);
    if (base) {
      if (m === Mnemonic.Mov && gpr64(reg1)) return { kind: 'store', register: gpr64(reg1)!, base, offset: toNumber(ins.memoryDisplacement) };
      const xmm = reg1 >= Register.XMM0 && reg1 < Register.XMM0 + 16 ? XMMS[reg1 - Register.XMM0] : undefined;
      if (XMM_STORES.has(m) && xmm) return { kind: 'store', register: xmm, base, offset: toNumber(ins.memoryDisplacement) };
    }
  }
  return { kind: 'none' };
}

function controlFlow(ins: Instruction): ControlFlow {
  switch (ins.flowControl) {
    case FlowControl.UnconditionalBranch:
      // jmp far ptr16:32 has no near target; treat it as leaving the function.
      return ins.isJmpShortOrNear ? { kind: 'jump', target: ins.nearBranchTarget } : { kind: 'indirectJump' };
    case FlowControl.IndirectBranch:
      return { kind: 'indirectJump' };
    case FlowControl.ConditionalBranch:
      return { kind: 'branch', target: ins.nearBranchTarget };
    case FlowControl.Return:
      return { kind: 'return' };
    case FlowControl.Call:
      return ins.isCallNear ? { kind: 'call', target: ins.nearBranchTarget } : { kind: 'call' };
    case FlowControl.IndirectCall:
      return { kind: 'call' };
    case FlowControl.Exception:
      return { kind: 'stop' };
    default:
      return { kind: 'next' };
  }
}

const LEGACY_PREFIXES = new Set([0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0xf0]);

function indirectJumpForm(bytes: Uint8Array, offset: number): 'rip-memory' | 'rex-w' | 'other' {
  let i = offset;
  while (i < bytes.length && LEGACY_PREFIXES.has(bytes[i]!)) i++;
  let rexW = false;
  if (i < bytes.length && (bytes[i]! & 0xf0) === 0x40) {
    rexW = (bytes[i]! & 0x08) !== 0;
    i++;
  }
  if (bytes[i] !== 0xff) return 'other';
  const modrm = bytes[i + 1] ?? 0;
  if ((modrm & 0xc7) === 0x05) return 'rip-memory';
  return rexW ? 'rex-w' : 'other';
}

const WRITE_ACCESS = new Set<OpAccess>([OpAccess.Write, OpAccess.CondWrite, OpAccess.ReadWrite, OpAccess.ReadCondWrite]);

function writtenRegisters(factory: InstructionInfoFactory, ins: Instruction): (Gpr | Xmm)[] {
  const info = factory.info(ins);
  const out = new Set<Gpr | Xmm>();
  try {
    for (const used of info.usedRegisters()) {
      try {
        if (!WRITE_ACCESS.has(used.access)) continue;
        const reg = used.register as Register;
        const g = gprOf(reg);
        if (g && g !== 'rsp') out.add(g);
        const x = xmmOf(reg);
        if (x) out.add(x);
      } finally {
        used.free();
      }
    }
  } finally {
    info.free();
  }
  return [...out];
}

/**
 * What an instruction's bytes alone determine: all of a DecodedInstruction but
 * a branch target (which depends on the address). Compiled code repeats the
 * same few thousand encodings many times over, and asking iced-x86 for these
 * facts (one wasm call per property, one object to free per used register)
 * costs far more than decoding, so decoders share one shape per encoding, and
 * a whole-image pass shares one InstructionShapes across its decoders.
 */
interface InstructionShape extends DecodedInstruction {
  /** The flow has a target: `flow` holds only its kind, and each address gets its own copy with the target. */
  hasTarget: boolean;
  /**
   * For a shape with a target: target minus the instruction's address, the
   * same for every copy of the encoding (the displacement is part of the
   * bytes); undefined where the target is not plain 64-bit arithmetic on the
   * address (an operand- or address-size prefix), so such copies are decoded.
   */
  targetDelta?: bigint;
}

/**
 * Instruction facts by encoding, for decoders that share them. Plain data;
 * nothing to free. An open-addressing table over the encodings' bytes: a Map
 * would need a key object (string or number) built and hashed per lookup,
 * which cost more than the rest of a cache hit.
 */
export class InstructionShapes {
  private readonly shapes: InstructionShape[] = [];
  /** Per shape: its hash, and where its encoding sits in `encodings`. */
  private readonly hashes: number[] = [];
  private readonly starts: number[] = [];
  private encodings = new Uint8Array(1 << 16);
  private used = 0;
  /** Shape index + 1 per slot; 0 is empty. */
  private slots = new Int32Array(1 << 12);
  /** Per slot: its shape's hash and length, so a probe reads no shape object and compares bytes only on a likely hit. */
  private slotHashes = new Int32Array(1 << 12);
  private slotLengths = new Uint8Array(1 << 12);
  /** Per first byte: bit n set when a known encoding of length n starts with it (what `match` probes). */
  private readonly lengthsByFirstByte = new Uint16Array(256);

  /**
   * The shape of the instruction at `offset`, when its encoding is known,
   * without decoding: x86 decoding reads an instruction's bytes one after the
   * other and stops at its end, so bytes that equal a known (valid) encoding
   * decode to that same instruction, whatever follows them; and no valid
   * encoding is a proper prefix of another. The instruction must end by `end`
   * (where the decoder's buffer ends).
   */
  match(bytes: Uint8Array, offset: number, end: number): InstructionShape | undefined {
    const lengths = this.lengthsByFirstByte[bytes[offset]!]!;
    if (lengths === 0) return undefined;
    const mask = this.slots.length - 1;
    let h = 0x811c9dc5;
    const most = Math.min(MAX_INSTRUCTION_LENGTH, end - offset, 31 - Math.clz32(lengths));
    for (let length = 1; length <= most; length++) {
      h = Math.imul(h ^ bytes[offset + length - 1]!, 0x01000193);
      if ((lengths & (1 << length)) === 0) continue;
      const hash = h | 0;
      for (let i = (h >>> 0) & mask; ; i = (i + 1) & mask) {
        const index = this.slots[i]! - 1;
        if (index < 0) break;
        if (this.slotHashes[i] === hash && this.slotLengths[i] === length && this.sameEncoding(index, bytes, offset, length)) return this.shapes[index];
      }
    }
    return undefined;
  }

  /** How many shapes the table holds. */
  get size(): number {
    return this.shapes.length;
  }

  /** The bytes of the encoding of shape `index`. */
  encodingOf(index: number): Uint8Array {
    const start = this.starts[index]!;
    return this.encodings.subarray(start, start + this.shapes[index]!.length);
  }

  get(bytes: Uint8Array, offset: number, length: number): InstructionShape | undefined {
    const mask = this.slots.length - 1;
    for (let i = hashOf(bytes, offset, length) & mask; ; i = (i + 1) & mask) {
      const index = this.slots[i]! - 1;
      if (index < 0) return undefined;
      const shape = this.shapes[index]!;
      if (shape.length === length && this.sameEncoding(index, bytes, offset, length)) return shape;
    }
  }

  /** Adds the shape of an encoding `get` did not find. */
  add(bytes: Uint8Array, offset: number, length: number, shape: InstructionShape): void {
    if (this.used + length > this.encodings.length) {
      const grown = new Uint8Array(this.encodings.length * 2);
      grown.set(this.encodings);
      this.encodings = grown;
    }
    this.encodings.set(bytes.subarray(offset, offset + length), this.used);
    this.starts.push(this.used);
    this.used += length;
    this.hashes.push(hashOf(bytes, offset, length));
    this.shapes.push(shape);
    this.lengthsByFirstByte[bytes[offset]!] |= 1 << length;
    // At most half full, so probes stay short.
    if (this.shapes.length * 2 > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2);
      this.slotHashes = new Int32Array(this.slots.length);
      this.slotLengths = new Uint8Array(this.slots.length);
      for (let index = 0; index < this.shapes.length; index++) this.place(index);
    } else {
      this.place(this.shapes.length - 1);
    }
  }

  private place(index: number): void {
    const mask = this.slots.length - 1;
    let i = this.hashes[index]! & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = index + 1;
    this.slotHashes[i] = this.hashes[index]! | 0;
    this.slotLengths[i] = this.shapes[index]!.length;
  }

  private sameEncoding(index: number, bytes: Uint8Array, offset: number, length: number): boolean {
    const start = this.starts[index]!;
    for (let k = 0; k < length; k++) if (this.encodings[start + k] !== bytes[offset + k]) return false;
    return true;
  }
}

/** The longest x86 instruction. */
const MAX_INSTRUCTION_LENGTH = 15;

/** FNV-1a over an encoding's bytes. */
function hashOf(bytes: Uint8Array, offset: number, length: number): number {
  let h = 0x811c9dc5;
  for (let i = offset; i < offset + length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** Operand- and address-size prefixes: with one, a branch target may be cut to 16 or 32 bits. */
const SIZE_PREFIXES = new Set([0x66, 0x67]);

function hasSizePrefix(bytes: Uint8Array, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) {
    if (SIZE_PREFIXES.has(bytes[i]!)) return true;
    if (!LEGACY_PREFIXES.has(bytes[i]!)) return false;
  }
  return false;
}

/**
 * The registers an encoding writes, decoded again on demand: only prologue
 * analysis asks, and working them out for every encoding (one wasm object per
 * register used, each to free) was most of the cost of a new shape in a pass
 * that only needs instruction boundaries and epilogs.
 */
let writesFactory: InstructionInfoFactory | undefined;

function writesOfEncoding(encoding: Uint8Array): (Gpr | Xmm)[] {
  const decoder = new Decoder(64, encoding, DecoderOptions.None);
  const ins = decoder.decode();
  try {
    writesFactory ??= new InstructionInfoFactory();
    return writtenRegisters(writesFactory, ins);
  } finally {
    ins.free();
    decoder.free();
  }
}

/** An InstructionShape whose `writes` are worked out at the first read. */
class Shape implements InstructionShape {
  private writesCache: readonly (Gpr | Xmm)[] | undefined;

  constructor(
    readonly length: number,
    readonly mnemonic: Mnemonic,
    readonly stack: StackEffect,
    readonly flow: ControlFlow,
    readonly hasTarget: boolean,
    readonly isNearCall: boolean,
    readonly isNearReturn: boolean,
    readonly isInterruptReturn: boolean,
    readonly indirectJumpForm: 'rip-memory' | 'rex-w' | 'other' | undefined,
    readonly targetDelta: bigint | undefined,
    /** Where the instruction's bytes are kept, for `writes`: no array of its own per shape. */
    private readonly table: InstructionShapes,
    private readonly index: number,
  ) {}

  get writes(): readonly (Gpr | Xmm)[] {
    return (this.writesCache ??= writesOfEncoding(this.table.encodingOf(this.index)));
  }
}

function shapeOf(ins: Instruction, bytes: Uint8Array, offset: number, ip: bigint, table: InstructionShapes): InstructionShape {
  const flow = controlFlow(ins);
  const hasTarget = 'target' in flow;
  const target = 'target' in flow ? flow.target : undefined;
  const targetDelta = target !== undefined && !hasSizePrefix(bytes, offset, ins.length) ? BigInt.asIntN(64, target - ip) : undefined;
  return new Shape(
    ins.length,
    ins.mnemonic,
    stackEffect(ins),
    hasTarget ? ({ kind: flow.kind } as ControlFlow) : flow,
    hasTarget,
    ins.isCallNear || ins.isCallNearIndirect,
    ins.mnemonic === Mnemonic.Ret,
    ins.mnemonic === Mnemonic.Iretq || ins.mnemonic === Mnemonic.Iretd,
    ins.flowControl === FlowControl.IndirectBranch ? indirectJumpForm(bytes, offset) : undefined,
    targetDelta,
    table,
    table.size,
  );
}

/** A shape with a target, at one address: the shape's facts, and a flow that carries the target. */
class TargetedInstruction implements DecodedInstruction {
  readonly length: number;
  readonly mnemonic: Mnemonic;
  readonly stack: StackEffect;
  readonly flow: ControlFlow;
  readonly isNearCall: boolean;
  readonly isNearReturn: boolean;
  readonly isInterruptReturn: boolean;
  readonly indirectJumpForm: 'rip-memory' | 'rex-w' | 'other' | undefined;

  constructor(
    private readonly shape: InstructionShape,
    target: bigint,
  ) {
    this.length = shape.length;
    this.mnemonic = shape.mnemonic;
    this.stack = shape.stack;
    this.flow = { kind: shape.flow.kind, target } as ControlFlow;
    this.isNearCall = shape.isNearCall;
    this.isNearReturn = shape.isNearReturn;
    this.isInterruptReturn = shape.isInterruptReturn;
    this.indirectJumpForm = shape.indirectJumpForm;
  }

  get writes(): readonly (Gpr | Xmm)[] {
    return this.shape.writes;
  }
}

function withTarget(shape: InstructionShape, target: bigint): DecodedInstruction {
  return new TargetedInstruction(shape, target);
}

/**
 * Decodes instructions from one buffer of code that starts at `baseIp`.
 * Decoded instructions are cached by offset; call `free()` when done.
 */
export class CodeDecoder implements InstructionSource {
  /** Made at the first encoding the shapes do not know: a function of known encodings needs no wasm decoder at all. */
  private decoder: Decoder | undefined;
  /** Reused for every decode: allocating (and freeing) one per instruction costs more than the decode. */
  private scratch: Instruction | undefined;
  private readonly shapes: InstructionShapes;
  /** By offset: the instruction, null where none decodes, undefined where not decoded yet. */
  private readonly cache: (DecodedInstruction | null | undefined)[];
  /** Where the decoder stands: decoding on from there needs no repositioning (two wasm calls and a bigint). */
  private position = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly baseIp: bigint,
    shapes?: InstructionShapes,
  ) {
    this.shapes = shapes ?? new InstructionShapes();
    this.cache = new Array<DecodedInstruction | null | undefined>(bytes.length);
  }

  /** The instruction at byte `offset` of the buffer; undefined when invalid or cut off by the end of the buffer. */
  at(offset: number): DecodedInstruction | undefined {
    if (offset < 0 || offset >= this.bytes.length) return undefined;
    let decoded = this.cache[offset];
    if (decoded === undefined) {
      decoded = this.decode(offset) ?? null;
      this.cache[offset] = decoded;
    }
    return decoded ?? undefined;
  }

  private decode(offset: number): DecodedInstruction | undefined {
    // Most encodings repeat (across a whole image's pass): their facts need no wasm call.
    const known = this.shapes.match(this.bytes, offset, this.bytes.length);
    if (known && !known.hasTarget) return known;
    if (known && known.targetDelta !== undefined) return withTarget(known, BigInt.asUintN(64, this.baseIp + BigInt(offset) + known.targetDelta));
    if (!this.decoder) {
      this.decoder = new Decoder(64, this.bytes, DecoderOptions.None);
      this.decoder.ip = this.baseIp;
      this.scratch = new Instruction();
      this.position = 0;
    }
    if (offset !== this.position) {
      this.decoder.position = offset;
      this.decoder.ip = this.baseIp + BigInt(offset);
    }
    const ins = this.scratch!;
    this.decoder.decodeOut(ins);
    if (ins.isInvalid) {
      // An invalid decode may have consumed any number of bytes: reposition next time.
      this.position = -1;
      return undefined;
    }
    const length = ins.length;
    this.position = offset + length;
    let shape = this.shapes.get(this.bytes, offset, length);
    if (!shape) {
      // The shape's index is the table's size: `add` appends it there.
      shape = shapeOf(ins, this.bytes, offset, this.baseIp + BigInt(offset), this.shapes);
      this.shapes.add(this.bytes, offset, length, shape);
    }
    if (!shape.hasTarget) return shape;
    return withTarget(shape, ins.nearBranchTarget);
  }

  free(): void {
    this.decoder?.free();
    this.scratch?.free();
  }
}

/** Instructions by byte offset from `baseIp`: a CodeDecoder, or a window onto one. */
export interface InstructionSource {
  readonly baseIp: bigint;
  at(offset: number): DecodedInstruction | undefined;
}

/**
 * The `length` bytes of `code` from `offset` on, as if decoded from a buffer of
 * just those bytes: an instruction cut off by the window's end is undefined,
 * exactly as a decoder over the shorter buffer would say. Lets a caller that
 * looks at a few instructions (epilog recognition) reuse a function's decoder.
 */
export function codeWindow(code: InstructionSource, offset: number, length: number): InstructionSource {
  return new CodeWindow(code, offset, length);
}

class CodeWindow implements InstructionSource {
  constructor(
    private readonly code: InstructionSource,
    private readonly offset: number,
    private readonly length: number,
  ) {}

  /** Only a jump's target needs it: no bigint per window until then. */
  get baseIp(): bigint {
    return this.code.baseIp + BigInt(this.offset);
  }

  at(o: number): DecodedInstruction | undefined {
    if (o < 0 || o >= this.length) return undefined;
    const ins = this.code.at(this.offset + o);
    return ins && o + ins.length <= this.length ? ins : undefined;
  }
}

/** Decodes with a CodeDecoder and frees it, for one-off uses. */
export function withDecoder<T>(bytes: Uint8Array, baseIp: bigint, use: (d: CodeDecoder) => T): T {
  const d = new CodeDecoder(bytes, baseIp);
  try {
    return use(d);
  } finally {
    d.free();
  }
}
