/**
 * Ground truth for the unwinder's tests: a small x86-64 interpreter for the
 * instructions that move rsp or touch stack slots (push, pop, call, ret,
 * add/sub/and on rsp, lea, mov between registers and stack memory, 128-bit xmm
 * stores), written independently of the code under test. Every other
 * instruction only makes the registers it writes (iced-x86 says which) hold
 * fresh arbitrary values, so a rule that trusts a clobbered register fails.
 *
 * Two ways to run:
 * - explore(): every path through one function from its entry (both arms of a
 *   branch, calls returning at once), recording the machine state before each
 *   instruction: the states a debugger can stop in.
 * - run(): straight-line execution through calls and returns until an int3,
 *   optionally with an interrupt delivered at some address, for walker tests.
 */
import { Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register, RegisterExt } from 'iced-x86';
import { GPRS, Gpr, XMMS, Xmm, U64_MASK, VOLATILE_GPRS, NONVOLATILE_XMMS } from '../registers';

export interface Machine {
  gpr: Record<Gpr, bigint>;
  xmm: Record<Xmm, bigint>;
  rip: bigint;
  rflags: bigint;
  /** The zero flag of the last arithmetic instruction run exactly (run mode evaluates je/jne with it). */
  zf?: boolean;
  /** Stack and other memory the program wrote, by byte address. */
  memory: Map<bigint, number>;
}

export type CodeSource = (address: bigint, length: number) => Uint8Array | undefined;

export class SimulationError extends Error {}

/** Deterministic arbitrary values, distinct enough that a wrong slot never matches by chance. */
export class Arbitrary {
  private state: bigint;
  constructor(seed = 0x9e3779b97f4a7c15n) {
    this.state = seed;
  }
  next(): bigint {
    // xorshift64*
    let x = this.state;
    x ^= x >> 12n;
    x ^= (x << 25n) & U64_MASK;
    x ^= x >> 27n;
    this.state = x;
    return (x * 0x2545f4914f6cdd1dn) & U64_MASK;
  }
}

export function cloneMachine(m: Machine): Machine {
  return { gpr: { ...m.gpr }, xmm: { ...m.xmm }, rip: m.rip, rflags: m.rflags, ...(m.zf !== undefined ? { zf: m.zf } : {}), memory: new Map(m.memory) };
}

export function newMachine(values: Arbitrary, rsp: bigint, rip: bigint): Machine {
  const gpr = Object.fromEntries(GPRS.map((r) => [r, values.next()])) as Record<Gpr, bigint>;
  gpr.rsp = rsp;
  const xmm = Object.fromEntries(XMMS.map((r) => [r, (values.next() << 64n) | values.next()])) as Record<Xmm, bigint>;
  return { gpr, xmm, rip, rflags: 0x202n, memory: new Map() };
}

export function writeMemory(m: Machine, address: bigint, value: bigint, size: number): void {
  for (let i = 0; i < size; i++) m.memory.set((address + BigInt(i)) & U64_MASK, Number((value >> BigInt(8 * i)) & 0xffn));
}

export function readMemory(m: Machine, address: bigint, size: number): bigint | undefined {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const b = m.memory.get((address + BigInt(i)) & U64_MASK);
    if (b === undefined) return undefined;
    v |= BigInt(b) << BigInt(8 * i);
  }
  return v;
}

/** Never-written memory reads as this byte: a rule that reads a slot nobody wrote gets a value that matches nothing. */
export const UNWRITTEN = 0xee;

/** A MemoryReader over the machine's memory (what it never wrote reads as UNWRITTEN bytes). */
export function memoryReader(m: Machine): (address: bigint, length: number) => Promise<Buffer> {
  return async (address, length) => {
    const out = Buffer.alloc(length, UNWRITTEN);
    for (let i = 0; i < length; i++) {
      const b = m.memory.get((address + BigInt(i)) & U64_MASK);
      if (b !== undefined) out[i] = b;
    }
    return out;
  };
}

const GPR_BY_REG = new Map<Register, Gpr>(GPRS.map((g, i) => [Register.RAX + i, g]));

function full(reg: Register): { gpr?: Gpr; xmm?: Xmm } {
  const f = RegisterExt.fullRegister(reg);
  const g = GPR_BY_REG.get(f);
  if (g) return { gpr: g };
  const n = f - Register.ZMM0;
  return n >= 0 && n < 16 ? { xmm: XMMS[n]! } : {};
}

interface Step {
  /** Where control goes: one address, two for a branch, none when the path ends. */
  next: bigint[];
  ended?: 'return' | 'left-function' | 'trap' | 'indirect' | 'stop';
}

export interface ExploreOptions {
  code: CodeSource;
  start: bigint;
  end: bigint;
  entry: Machine;
  values: Arbitrary;
}

export interface Sample {
  address: bigint;
  machine: Machine;
}

/**
 * The state before each instruction reachable from `start`, first arrival only
 * (compiler code reaches an instruction with one stack layout on every path).
 */
export function explore(options: ExploreOptions): Sample[] {
  const seen = new Map<bigint, Sample>();
  const work: Machine[] = [cloneMachine(options.entry)];
  const factory = new InstructionInfoFactory();
  try {
    while (work.length > 0) {
      const m = work.pop()!;
      if (m.rip < options.start || m.rip >= options.end || seen.has(m.rip)) continue;
      seen.set(m.rip, { address: m.rip, machine: cloneMachine(m) });
      const step = execute(m, options.code, options.values, factory, { mode: 'explore', start: options.start, end: options.end });
      if (step.next.length === 1) {
        m.rip = step.next[0]!;
        work.push(m);
      } else if (step.next.length === 2) {
        const other = cloneMachine(m);
        m.rip = step.next[0]!;
        other.rip = step.next[1]!;
        work.push(m, other);
      }
    }
  } finally {
    factory.free();
  }
  return [...seen.values()].sort((a, b) => (a.address < b.address ? -1 : 1));
}

export interface RunOptions {
  code: CodeSource;
  machine: Machine;
  values: Arbitrary;
  maxSteps?: number;
  /** Stop when rip reaches this address (like a breakpoint), besides at an int3. */
  stopAt?: bigint;
  /** Deliver an interrupt when rip reaches `at`: the CPU pushes a machine frame (and error code) and jumps to `handler`. */
  interrupt?: { at: bigint; handler: bigint; errorCode?: bigint; cs?: bigint; ss?: bigint };
}

/** Runs until an int3 (rip is left at the int3). Throws on anything it cannot simulate exactly. */
export function run(options: RunOptions): Machine {
  const m = options.machine;
  const factory = new InstructionInfoFactory();
  let interrupted = false;
  try {
    for (let i = 0; i < (options.maxSteps ?? 100000); i++) {
      const irq = options.interrupt;
      if (irq && !interrupted && m.rip === irq.at) {
        interrupted = true;
        const frame = [irq.ss ?? 0x10n, m.gpr.rsp, m.rflags, irq.cs ?? 0x38n, m.rip];
        let sp = m.gpr.rsp & ~0xfn; // the CPU aligns the stack before pushing (64-bit mode)
        for (const v of irq.errorCode === undefined ? frame : [...frame, irq.errorCode]) {
          sp -= 8n;
          writeMemory(m, sp, v, 8);
        }
        m.gpr.rsp = sp;
        m.rip = irq.handler;
      }
      const bytes = options.code(m.rip, 15);
      if ((bytes && bytes[0] === 0xcc) || m.rip === options.stopAt) return m;
      const step = execute(m, options.code, options.values, factory, { mode: 'run' });
      if (step.next.length !== 1) throw new SimulationError(`run: control flow at 0x${m.rip.toString(16)} cannot be followed (${step.ended})`);
      m.rip = step.next[0]!;
    }
  } finally {
    factory.free();
  }
  throw new SimulationError('run: no int3 reached');
}

type Mode = { mode: 'explore'; start: bigint; end: bigint } | { mode: 'run' };

function decodeAt(code: CodeSource, rip: bigint): Instruction {
  const bytes = code(rip, 15);
  if (!bytes) throw new SimulationError(`no code at 0x${rip.toString(16)}`);
  const decoder = new Decoder(64, bytes, DecoderOptions.None);
  try {
    decoder.ip = rip;
    const ins = decoder.decode();
    if (ins.isInvalid) {
      ins.free();
      throw new SimulationError(`invalid instruction at 0x${rip.toString(16)}`);
    }
    return ins;
  } finally {
    decoder.free();
  }
}

function execute(m: Machine, code: CodeSource, values: Arbitrary, factory: InstructionInfoFactory, mode: Mode): Step {
  const ins = decodeAt(code, m.rip);
  try {
    return executeDecoded(m, ins, values, factory, mode);
  } finally {
    ins.free();
  }
}

function executeDecoded(m: Machine, ins: Instruction, values: Arbitrary, factory: InstructionInfoFactory, mode: Mode): Step {
  const next = ins.nextIP;
  const g = m.gpr;
  const reg = (r: Register): bigint => {
    const f = full(r);
    if (!f.gpr) throw new SimulationError(`register ${r} is not a general register`);
    const v = g[f.gpr];
    // 32-, 16- and 8-bit views read the low bits (no ah/bh/ch/dh in the fixtures).
    const size = r >= Register.RAX && r <= Register.R15 ? 64n : r >= Register.EAX && r <= Register.R15D ? 32n : r >= Register.AX && r <= Register.R15W ? 16n : 8n;
    return v & ((1n << size) - 1n);
  };
  const setReg = (r: Register, v: bigint): void => {
    const f = full(r);
    if (!f.gpr) throw new SimulationError(`register ${r} is not a general register`);
    if (r >= Register.RAX && r <= Register.R15) g[f.gpr] = v & U64_MASK;
    else if (r >= Register.EAX && r <= Register.R15D) g[f.gpr] = v & 0xffffffffn;
    else g[f.gpr] = values.next(); // partial writes: just "changed"
  };
  const address = (): bigint => {
    let a = ins.memoryDisplacement;
    if (ins.isIpRelMemoryOperand) return ins.ipRelMemoryAddress;
    if (ins.memoryBase !== Register.None) a += reg(ins.memoryBase);
    if (ins.memoryIndex !== Register.None) a += reg(ins.memoryIndex) * BigInt(ins.memoryIndexScale);
    return a & U64_MASK;
  };
  const push = (v: bigint): void => {
    g.rsp = (g.rsp - 8n) & U64_MASK;
    writeMemory(m, g.rsp, v, 8);
  };
  const pop = (): bigint => {
    const v = readMemory(m, g.rsp, 8);
    if (v === undefined) throw new SimulationError(`pop of an unwritten stack slot at 0x${g.rsp.toString(16)}`);
    g.rsp = (g.rsp + 8n) & U64_MASK;
    return v;
  };
  const op0 = ins.opCount > 0 ? ins.op0Kind : undefined;
  const op1 = ins.opCount > 1 ? ins.op1Kind : undefined;
  const inFunction = (t: bigint): boolean => mode.mode === 'run' || (t >= mode.start && t < mode.end);
  const clobberVolatile = (): void => {
    for (const r of VOLATILE_GPRS) g[r] = values.next();
    for (const x of XMMS) if (!NONVOLATILE_XMMS.has(x)) m.xmm[x] = values.next();
  };

  switch (ins.mnemonic) {
    case Mnemonic.Push:
      push(op0 === OpKind.Register ? reg(ins.op0Register) : op0 === OpKind.Memory ? values.next() : ins.immediate(0) & U64_MASK);
      return { next: [next] };
    case Mnemonic.Pushfq:
      push(m.rflags);
      return { next: [next] };
    case Mnemonic.Pop: {
      const v = pop();
      if (op0 === OpKind.Register) setReg(ins.op0Register, v);
      return { next: [next] };
    }
    case Mnemonic.Popfq:
      m.rflags = pop();
      return { next: [next] };
    case Mnemonic.Leave:
      g.rsp = g.rbp;
      g.rbp = pop();
      return { next: [next] };
    case Mnemonic.Call: {
      if (mode.mode === 'explore') {
        clobberVolatile();
        return { next: [next] };
      }
      const target = ins.flowControl === FlowControl.Call ? ins.nearBranchTarget : op0 === OpKind.Register ? reg(ins.op0Register) : readMemory(m, address(), 8);
      if (target === undefined) throw new SimulationError('indirect call through unwritten memory');
      push(next);
      return { next: [target] };
    }
    case Mnemonic.Ret: {
      if (mode.mode === 'explore') return { next: [], ended: 'return' };
      const target = pop();
      if (ins.opCount > 0) g.rsp = (g.rsp + (ins.immediate(0) & 0xffffn)) & U64_MASK;
      return { next: [target] };
    }
    case Mnemonic.Iretq: {
      if (mode.mode === 'explore') return { next: [], ended: 'return' };
      const rip = pop();
      pop();
      m.rflags = pop();
      const rsp = pop();
      pop();
      g.rsp = rsp;
      return { next: [rip] };
    }
    case Mnemonic.Jmp: {
      if (ins.flowControl === FlowControl.IndirectBranch) return { next: [], ended: 'indirect' };
      const t = ins.nearBranchTarget;
      return inFunction(t) ? { next: [t] } : { next: [], ended: 'left-function' };
    }
    case Mnemonic.Int3:
      return mode.mode === 'run' ? { next: [], ended: 'trap' } : { next: [next] };
    case Mnemonic.Ud2:
      return { next: [], ended: 'stop' };
    default:
      break;
  }
  if (ins.flowControl === FlowControl.ConditionalBranch) {
    if (mode.mode === 'run') {
      const taken = ins.mnemonic === Mnemonic.Je ? m.zf : ins.mnemonic === Mnemonic.Jne ? m.zf === undefined ? undefined : !m.zf : undefined;
      if (taken === undefined) throw new SimulationError(`run mode cannot evaluate the branch at 0x${m.rip.toString(16)}`);
      return { next: [taken ? ins.nearBranchTarget : next] };
    }
    const t = ins.nearBranchTarget;
    return { next: inFunction(t) ? [next, t] : [next] };
  }
  if (ins.flowControl !== FlowControl.Next && ins.flowControl !== FlowControl.Interrupt) {
    if (mode.mode === 'explore') return { next: [], ended: 'stop' };
    throw new SimulationError(`unsupported control flow at 0x${m.rip.toString(16)}`);
  }

  const m0 = ins.mnemonic;
  const dst = op0 === OpKind.Register ? ins.op0Register : Register.None;
  const dstIsGpr64 = dst >= Register.RAX && dst <= Register.R15;
  const srcValue = (): bigint | undefined => {
    if (op1 === OpKind.Register) return full(ins.op1Register).gpr ? reg(ins.op1Register) : undefined;
    if (op1 === OpKind.Immediate8to64 || op1 === OpKind.Immediate32to64 || op1 === OpKind.Immediate32 || op1 === OpKind.Immediate8 || op1 === OpKind.Immediate64) {
      return ins.immediate(1) & U64_MASK;
    }
    if (op1 === OpKind.Memory && m0 !== Mnemonic.Lea) return readMemory(m, address(), 8);
    return undefined;
  };

  // Exact semantics for what the unwinder reasons about.
  if (m0 === Mnemonic.Mov && op0 === OpKind.Memory && op1 === OpKind.Register && ins.op1Register >= Register.RAX && ins.op1Register <= Register.R15) {
    writeMemory(m, address(), reg(ins.op1Register), 8);
    return { next: [next] };
  }
  const xmmSrc = op1 === OpKind.Register ? full(ins.op1Register).xmm : undefined;
  const isXmmMove = [Mnemonic.Movaps, Mnemonic.Movdqa, Mnemonic.Movups, Mnemonic.Movdqu].includes(m0);
  if (isXmmMove && op0 === OpKind.Memory && xmmSrc) {
    writeMemory(m, address(), m.xmm[xmmSrc], 16);
    return { next: [next] };
  }
  if (isXmmMove && op1 === OpKind.Memory && dst !== Register.None && full(dst).xmm) {
    m.xmm[full(dst).xmm!] = readMemory(m, address(), 16) ?? values.next();
    return { next: [next] };
  }
  if (dstIsGpr64 || (dst >= Register.EAX && dst <= Register.R15D)) {
    const v = srcValue();
    const cur = reg(dst);
    let result: bigint | undefined;
    const width = dstIsGpr64 ? U64_MASK : 0xffffffffn;
    switch (m0) {
      case Mnemonic.Inc:
        result = cur + 1n;
        break;
      case Mnemonic.Dec:
        result = cur - 1n;
        break;
      case Mnemonic.Mov:
        result = v ?? values.next();
        break;
      case Mnemonic.Lea:
        result = address();
        break;
      case Mnemonic.Add:
        result = v === undefined ? undefined : cur + v;
        break;
      case Mnemonic.Sub:
        if (dst === Register.RSP && op1 === OpKind.Register) {
          // alloca: a variable amount, kept a small multiple of 16 so the stack stays sane
          const amount = 16n * (1n + (reg(ins.op1Register) & 7n));
          setReg(ins.op1Register, amount);
          result = cur - amount;
        } else {
          result = v === undefined ? undefined : cur - v;
        }
        break;
      case Mnemonic.And:
        result = v === undefined ? undefined : cur & v;
        break;
      case Mnemonic.Xor:
        result = op1 === OpKind.Register && ins.op1Register === dst ? 0n : v === undefined ? undefined : cur ^ v;
        break;
      default:
        result = undefined;
    }
    if (result !== undefined) {
      setReg(dst, result & U64_MASK);
      if (m0 !== Mnemonic.Mov && m0 !== Mnemonic.Lea) m.zf = (result & width) === 0n; // mov and lea keep the flags
      return { next: [next] };
    }
    if (dst === Register.RSP) throw new SimulationError(`cannot simulate a write to rsp at 0x${m.rip.toString(16)}`);
  }
  // Anything else: the registers it writes now hold something else (and the flags are unknown).
  delete m.zf;
  const info = factory.info(ins);
  try {
    for (const used of info.usedRegisters()) {
      try {
        if (![OpAccess.Write, OpAccess.CondWrite, OpAccess.ReadWrite, OpAccess.ReadCondWrite].includes(used.access)) continue;
        const f = full(used.register as Register);
        if (f.gpr === 'rsp') throw new SimulationError(`cannot simulate a write to rsp at 0x${m.rip.toString(16)}`);
        if (f.gpr) g[f.gpr] = values.next();
        if (f.xmm) m.xmm[f.xmm] = values.next();
      } finally {
        used.free();
      }
    }
  } finally {
    info.free();
  }
  return { next: [next] };
}
