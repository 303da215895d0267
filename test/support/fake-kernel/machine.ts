/**
 * A very small x86-64 machine: sparse 4 KiB-paged memory, the general registers,
 * rflags/cr2, and an interpreter for the handful of instructions the built-in
 * program (program.ts) uses. iced-x86 decodes; this file executes. Anything it does
 * not model raises #UD, so an unexpected instruction is a visible stop, never a
 * silent misstep. It knows nothing of the debugger protocol.
 */
import { ConditionCode, Decoder, DecoderOptions, Mnemonic, MemorySizeExt, OpKind, Register, RegisterExt } from 'iced-x86';
import { isCanonical } from '../../../src/common/bytes';
import { CODE, CODE_BASE, HEADER, IMAGE_BASE, STACK_BASE, STACK_TOP, sym } from './program';

export const GPRS = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;
export type Gpr = (typeof GPRS)[number];

export const TF = 1n << 8n;
const CF = 1n << 0n, PF = 1n << 2n, ZF = 1n << 6n, SF = 1n << 7n, OF = 1n << 11n;
const ARITH_FLAGS = CF | PF | ZF | SF | OF;
const PAGE = 4096;
/** Decoded instructions by address, shared by all machines (they load the same program). */
const decodeCache = new Map<bigint, Insn>();
const MASK64 = (1n << 64n) - 1n;

export interface Access {
  address: bigint;
  size: number;
  write: boolean;
}

export type StepResult =
  | { kind: 'ok'; accesses: Access[] }
  | { kind: 'int3' } // rip is already past the 0xCC, as the CPU leaves it
  | { kind: 'fault'; vector: number; errorCode: bigint; rip: bigint; nextRip: bigint }
  | { kind: 'assert' };

type Operand =
  | { kind: 'reg'; reg: Gpr; size: number }
  | { kind: 'mem'; address: bigint; size: number }
  | { kind: 'imm'; value: bigint }
  | { kind: 'branch'; target: bigint };

/** A decoded instruction as plain data (no wasm object outlives decode()). */
export interface Insn {
  length: number;
  bytes: Buffer;
  mnemonic: Mnemonic;
  cc: ConditionCode;
  ops: RawOperand[];
}
type RawOperand =
  | { kind: 'reg'; reg: Gpr; size: number }
  | { kind: 'mem'; base: Gpr | null; index: Gpr | null; scale: number; disp: bigint; size: number }
  | { kind: 'imm'; value: bigint }
  | { kind: 'branch'; target: bigint }
  | { kind: 'other' };

class CpuFault {
  constructor(
    readonly vector: number,
    readonly errorCode: bigint = 0n,
    readonly cr2?: bigint,
  ) {}
}
const UD = (): CpuFault => new CpuFault(6);

/** A 64-bit (or, for data operands, any-size) general register as a Gpr name; null if it is not one we model. */
function gprOf(r: Register, allowSubRegisters: boolean): { reg: Gpr; size: number } | null {
  if (!RegisterExt.isGPR(r) || /^[ABCD]H$/.test(Register[r] ?? '')) return null;
  const size = RegisterExt.size(r);
  if (!allowSubRegisters && size !== 8) return null;
  const name = Register[RegisterExt.fullRegister(r)]?.toLowerCase() as Gpr;
  return GPRS.includes(name) ? { reg: name, size } : null;
}

/** Decode one instruction from `bytes` at `ip` into plain data (all wasm objects freed); null if invalid. */
export function decode(bytes: Uint8Array, ip: bigint): Insn | null {
  const d = new Decoder(64, bytes, DecoderOptions.None);
  d.ip = ip;
  const i = d.decode();
  let out: Insn | null = null;
  if (!i.isInvalid) {
    const ops: RawOperand[] = [];
    for (let n = 0; n < i.opCount; n++) {
      const k = i.opKind(n);
      if (k === OpKind.Register) {
        const g = gprOf(i.opRegister(n), true);
        ops.push(g ? { kind: 'reg', ...g } : { kind: 'other' });
      } else if (k === OpKind.Memory) {
        const base = i.memoryBase === Register.RIP || i.memoryBase === Register.None ? null : gprOf(i.memoryBase, false);
        const index = i.memoryIndex === Register.None ? null : gprOf(i.memoryIndex, false);
        const bad = (i.memoryBase !== Register.RIP && i.memoryBase !== Register.None && !base) || (i.memoryIndex !== Register.None && !index);
        ops.push(
          bad
            ? { kind: 'other' }
            : {
                kind: 'mem',
                base: base?.reg ?? null,
                index: index?.reg ?? null,
                scale: i.memoryIndexScale,
                disp: i.memoryDisplacement, // iced gives the absolute target for rip-relative operands
                size: MemorySizeExt.size(i.memorySize),
              },
        );
      } else if (k === OpKind.NearBranch64) ops.push({ kind: 'branch', target: i.nearBranch64 });
      else if (k >= OpKind.Immediate8 && k <= OpKind.Immediate32to64) ops.push({ kind: 'imm', value: i.immediate(n) });
      else ops.push({ kind: 'other' });
    }
    out = { length: i.length, bytes: Buffer.from(bytes.subarray(0, i.length)), mnemonic: i.mnemonic, cc: i.conditionCode, ops };
  }
  i.free();
  d.free();
  return out;
}

export class Machine {
  readonly pages = new Map<number, Uint8Array>();
  readonly regs = Object.fromEntries(GPRS.map((r) => [r, 0n])) as Record<Gpr, bigint>;
  rip = 0n;
  rflags = 0x202n;
  cr2 = 0n;
  readonly cr0 = 0x80010033n;
  readonly cr3 = 0x7f801000n;
  readonly cr4 = 0x668n;
  readonly assertAddress = sym('kernel_assert');
  private accesses: Access[] = [];

  /** Power-on: the image, the task stack, and rip at efi_main as if the firmware called it. */
  static boot(): Machine {
    const m = new Machine();
    m.map(IMAGE_BASE, 0x3000);
    m.map(STACK_BASE, Number(STACK_TOP - STACK_BASE));
    m.poke(IMAGE_BASE, HEADER);
    m.poke(CODE_BASE, CODE);
    m.regs.rsp = STACK_TOP - 0x10n;
    m.poke(m.regs.rsp, u64le(0x7e5a3c1dn)); // return address into the firmware (outside the image)
    m.regs.rsi = 0x7857d1a8n;
    m.regs.rbp = STACK_TOP - 0x18n;
    m.rip = sym('efi_main');
    return m;
  }

  map(address: bigint, length: number): void {
    for (let p = Number(address >> 12n); p <= Number((address + BigInt(length) - 1n) >> 12n); p++) {
      if (!this.pages.has(p)) this.pages.set(p, new Uint8Array(PAGE));
    }
  }
  isMapped(address: bigint): boolean {
    // only canonical low pages are ever mapped, so a non-canonical address never matches
    return address >= 0n && this.pages.has(Number(address >> 12n));
  }
  /** One byte, or undefined when unmapped or non-canonical. */
  peek8(address: bigint): number | undefined {
    if (!this.isMapped(address)) return undefined;
    return this.pages.get(Number(address >> 12n))![Number(address & 0xfffn)];
  }
  /** Bytes up to the first unmapped one. */
  peek(address: bigint, length: number): Buffer {
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < length) {
      const a = address + BigInt(got);
      if (!this.isMapped(a)) break;
      const off = Number(a & 0xfffn);
      const n = Math.min(length - got, PAGE - off);
      parts.push(this.pages.get(Number(a >> 12n))!.subarray(off, off + n));
      got += n;
    }
    return Buffer.concat(parts);
  }
  /** Writes bytes up to the first unmapped one; returns how many were written. */
  poke(address: bigint, data: Uint8Array | number): number {
    const bytes = typeof data === 'number' ? [data] : data;
    for (let i = 0; i < bytes.length; i++) {
      const a = address + BigInt(i);
      if (!this.isMapped(a)) return i;
      this.pages.get(Number(a >> 12n))![Number(a & 0xfffn)] = bytes[i]!;
    }
    return bytes.length;
  }

  /** The instruction at `address` as memory holds it now (0xCC included). Cached while its bytes stay the same. */
  decodeAt(address: bigint): Insn | null {
    const hit = decodeCache.get(address);
    if (hit && this.peek(address, hit.length).equals(hit.bytes)) return hit;
    const bytes = this.peek(address, 15);
    const insn = bytes.length ? decode(bytes, address) : null;
    if (insn) decodeCache.set(address, insn);
    return insn;
  }

  /** Execute one instruction. On a fault the state is as before the instruction. */
  step(): StepResult {
    const rip = this.rip;
    if (rip === this.assertAddress) return { kind: 'assert' };
    this.accesses = [];
    const saved = { regs: { ...this.regs }, rflags: this.rflags };
    let next = rip;
    try {
      if (!this.isMapped(rip)) throw new CpuFault(isCanonical(rip) ? 14 : 13, 0x10n, rip);
      const insn = this.decodeAt(rip);
      if (!insn) throw UD();
      next = rip + BigInt(insn.length);
      this.rip = next;
      if (insn.mnemonic === Mnemonic.Int3) return { kind: 'int3' };
      this.execute(insn);
      return { kind: 'ok', accesses: this.accesses };
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      Object.assign(this.regs, saved.regs);
      this.rflags = saved.rflags;
      this.rip = rip;
      if (e.cr2 !== undefined) this.cr2 = e.cr2;
      return { kind: 'fault', vector: e.vector, errorCode: e.errorCode, rip, nextRip: next };
    }
  }

  // ---- memory as the CPU sees it (faults) ----
  private checkAccess(address: bigint, size: number, write: boolean): void {
    for (let i = 0; i < size; i++) {
      const a = BigInt.asUintN(64, address + BigInt(i));
      if (!isCanonical(a)) throw new CpuFault(13, 0n);
      if (!this.isMapped(a)) throw new CpuFault(14, write ? 2n : 0n, a);
    }
    this.accesses.push({ address, size, write });
  }
  private load(address: bigint, size: number): bigint {
    this.checkAccess(address, size, false);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.peek8(address + BigInt(i))!);
    return v;
  }
  private store(address: bigint, size: number, value: bigint): void {
    this.checkAccess(address, size, true);
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
    this.poke(address, bytes);
  }
  private push(value: bigint): void {
    const rsp = BigInt.asUintN(64, this.regs.rsp - 8n);
    this.store(rsp, 8, value);
    this.regs.rsp = rsp;
  }
  private pop(): bigint {
    const v = this.load(this.regs.rsp, 8);
    this.regs.rsp = BigInt.asUintN(64, this.regs.rsp + 8n);
    return v;
  }

  // ---- operands ----
  private operand(raw: RawOperand, fallbackSize: number): Operand {
    switch (raw.kind) {
      case 'reg':
        return raw;
      case 'mem': {
        let a = raw.disp;
        if (raw.base) a += this.regs[raw.base];
        if (raw.index) a += this.regs[raw.index] * BigInt(raw.scale);
        return { kind: 'mem', address: BigInt.asUintN(64, a), size: raw.size || fallbackSize };
      }
      case 'imm':
      case 'branch':
        return raw;
      default:
        throw UD();
    }
  }
  private read(op: Operand, size: number): bigint {
    const mask = (1n << BigInt(size * 8)) - 1n;
    switch (op.kind) {
      case 'reg':
        return this.regs[op.reg] & mask;
      case 'mem':
        return this.load(op.address, size);
      case 'imm':
        return op.value & mask;
      case 'branch':
        return op.target;
    }
  }
  private write(op: Operand, size: number, value: bigint): void {
    const mask = (1n << BigInt(size * 8)) - 1n;
    value &= mask;
    if (op.kind === 'mem') return this.store(op.address, size, value);
    if (op.kind !== 'reg') throw UD();
    const old = this.regs[op.reg];
    // 32-bit writes zero-extend; 8/16-bit writes merge
    this.regs[op.reg] = size >= 4 ? value : (old & ~mask & MASK64) | value;
  }

  // ---- flags ----
  private setFlags(result: bigint, bits: bigint, cf: boolean, of: boolean, keepCf = false): void {
    const sign = 1n << (bits - 1n);
    let f = this.rflags & ~(keepCf ? ARITH_FLAGS & ~CF : ARITH_FLAGS);
    if (!keepCf && cf) f |= CF;
    if (of) f |= OF;
    if (result === 0n) f |= ZF;
    if (result & sign) f |= SF;
    let ones = 0;
    for (let b = result & 0xffn; b; b >>= 1n) ones += Number(b & 1n);
    if (ones % 2 === 0) f |= PF;
    this.rflags = f;
  }
  private arith(kind: 'add' | 'sub', a: bigint, b: bigint, size: number, keepCf = false): bigint {
    const bits = BigInt(size * 8);
    const mask = (1n << bits) - 1n;
    const sign = 1n << (bits - 1n);
    const r = (kind === 'add' ? a + b : a - b) & mask;
    const cf = kind === 'add' ? a + b > mask : a < b;
    const of = kind === 'add' ? (~(a ^ b) & (a ^ r) & sign) !== 0n : ((a ^ b) & (a ^ r) & sign) !== 0n;
    this.setFlags(r, bits, cf, of, keepCf);
    return r;
  }
  private condition(cc: ConditionCode): boolean {
    const f = (bit: bigint): boolean => (this.rflags & bit) !== 0n;
    switch (cc) {
      case ConditionCode.o: return f(OF);
      case ConditionCode.no: return !f(OF);
      case ConditionCode.b: return f(CF);
      case ConditionCode.ae: return !f(CF);
      case ConditionCode.e: return f(ZF);
      case ConditionCode.ne: return !f(ZF);
      case ConditionCode.be: return f(CF) || f(ZF);
      case ConditionCode.a: return !f(CF) && !f(ZF);
      case ConditionCode.s: return f(SF);
      case ConditionCode.ns: return !f(SF);
      case ConditionCode.p: return f(PF);
      case ConditionCode.np: return !f(PF);
      case ConditionCode.l: return f(SF) !== f(OF);
      case ConditionCode.ge: return f(SF) === f(OF);
      case ConditionCode.le: return f(ZF) || f(SF) !== f(OF);
      case ConditionCode.g: return !f(ZF) && f(SF) === f(OF);
      default: throw UD();
    }
  }

  /** rip already points past the instruction. */
  private execute(insn: Insn): void {
    const sizeOf = (op: Operand): number => (op.kind === 'reg' || op.kind === 'mem' ? op.size : 8);
    const first = insn.ops[0];
    const firstSize = first?.kind === 'reg' ? first.size : 8;
    const ops = insn.ops.map((o) => this.operand(o, firstSize));
    const [dst, src] = ops;
    const size = dst ? sizeOf(dst) : 8;
    const need = (n: number): void => {
      if (ops.length !== n) throw UD();
    };
    switch (insn.mnemonic) {
      case Mnemonic.Nop:
      case Mnemonic.Pause:
        return;
      case Mnemonic.Mov:
        need(2);
        return this.write(dst!, size, this.read(src!, size));
      case Mnemonic.Lea:
        need(2);
        if (src!.kind !== 'mem') throw UD();
        return this.write(dst!, size, src!.address);
      case Mnemonic.Add:
      case Mnemonic.Sub:
      case Mnemonic.Cmp: {
        need(2);
        const r = this.arith(insn.mnemonic === Mnemonic.Add ? 'add' : 'sub', this.read(dst!, size), this.read(src!, size), size);
        if (insn.mnemonic !== Mnemonic.Cmp) this.write(dst!, size, r);
        return;
      }
      case Mnemonic.Inc:
      case Mnemonic.Dec:
        need(1);
        return this.write(dst!, size, this.arith(insn.mnemonic === Mnemonic.Inc ? 'add' : 'sub', this.read(dst!, size), 1n, size, true));
      case Mnemonic.Xor:
      case Mnemonic.And:
      case Mnemonic.Or:
      case Mnemonic.Test: {
        need(2);
        const a = this.read(dst!, size), b = this.read(src!, size);
        const r = insn.mnemonic === Mnemonic.Xor ? a ^ b : insn.mnemonic === Mnemonic.Or ? a | b : a & b;
        this.setFlags(r, BigInt(size * 8), false, false);
        if (insn.mnemonic !== Mnemonic.Test) this.write(dst!, size, r);
        return;
      }
      case Mnemonic.Div: {
        need(1);
        const divisor = this.read(dst!, size);
        if (size !== 8 && size !== 4) throw UD();
        const bits = BigInt(size * 8);
        const mask = (1n << bits) - 1n;
        const dividend = ((this.regs.rdx & mask) << bits) | (this.regs.rax & mask);
        if (divisor === 0n || dividend / divisor > mask) throw new CpuFault(0);
        this.write({ kind: 'reg', reg: 'rax', size }, size, dividend / divisor);
        this.write({ kind: 'reg', reg: 'rdx', size }, size, dividend % divisor);
        return;
      }
      case Mnemonic.Push:
        need(1);
        return this.push(this.read(dst!, 8));
      case Mnemonic.Pop:
        need(1);
        return this.write(dst!, 8, this.pop());
      case Mnemonic.Call: {
        need(1);
        const target = this.read(dst!, 8);
        this.push(this.rip);
        this.rip = target;
        return;
      }
      case Mnemonic.Ret:
        this.rip = this.pop();
        return;
      case Mnemonic.Jmp:
        need(1);
        this.rip = this.read(dst!, 8);
        return;
      default:
        if (insn.cc !== ConditionCode.None && dst?.kind === 'branch' && Mnemonic[insn.mnemonic]?.startsWith('J')) {
          if (this.condition(insn.cc)) this.rip = dst.target;
          return;
        }
        throw UD(); // ud2, hlt, and everything the program does not use
    }
  }
}

export function u64le(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
}

