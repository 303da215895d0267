/**
 * Register mapping between the kernel's stop state and gdb's amd64 register names.
 *
 * The kernel reports a 176-byte InterruptFrame plus cr0/cr2/cr3/cr4; with the
 * `full-context` extension, segment selectors, fs/gs base, cr8, debug registers
 * and the FXSAVE area come on demand. A register the target did not supply is
 * `undefined` (gdb shows it as unavailable), never an invented zero.
 */

export const GENERAL_REGISTERS = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;
export type GeneralRegister = (typeof GENERAL_REGISTERS)[number];

/** The registers of the InterruptFrame that a user may write (`write-registers`). */
export type FrameRegisterValues = Record<GeneralRegister | 'rip' | 'rflags' | 'cs' | 'ss', bigint>;

export interface ControlRegisters {
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
}

export interface ExtendedContext {
  segments: { cs: number; ds: number; es: number; fs: number; gs: number; ss: number };
  fsBase: bigint;
  gsBase: bigint;
  cr8: bigint;
  dr: { dr0: bigint; dr1: bigint; dr2: bigint; dr3: bigint; dr6: bigint; dr7: bigint };
  /** The 512-byte FXSAVE64 image. */
  fxsave: Buffer;
}

export type RegisterValue = bigint | Buffer | undefined;

/** The trap flag: set by the bridge's own single steps and hidden from the user. */
export const RFLAGS_TF = 0x100n;

export function frameToRegisters(
  frame: FrameRegisterValues,
  control: ControlRegisters | undefined,
  options: { hideTrapFlag: boolean },
): Map<string, RegisterValue> {
  const values = new Map<string, RegisterValue>();
  for (const name of GENERAL_REGISTERS) values.set(name, frame[name]);
  values.set('rip', frame.rip);
  values.set('eflags', options.hideTrapFlag ? frame.rflags & ~RFLAGS_TF : frame.rflags);
  values.set('cs', frame.cs);
  values.set('ss', frame.ss);
  if (control) {
    values.set('cr0', control.cr0);
    values.set('cr2', control.cr2);
    values.set('cr3', control.cr3);
    values.set('cr4', control.cr4);
  }
  return values;
}

/** Adds what the `full-context` record supplies: segments, bases, cr8, debug and FPU/SSE state. */
export function addExtendedContext(values: Map<string, RegisterValue>, ctx: ExtendedContext): void {
  for (const seg of ['ds', 'es', 'fs', 'gs'] as const) values.set(seg, BigInt(ctx.segments[seg]));
  values.set('fs_base', ctx.fsBase);
  values.set('gs_base', ctx.gsBase);
  values.set('cr8', ctx.cr8);
  for (const [name, v] of Object.entries(ctx.dr)) values.set(name, v);
  const fx = ctx.fxsave;
  if (fx.length < 512) return;
  // FXSAVE64 layout (Intel SDM vol. 1, 10.5.1): fcw, fsw, abridged ftw, fop, fip, fdp, mxcsr, st/mm, xmm.
  values.set('fctrl', BigInt(fx.readUInt16LE(0)));
  values.set('fstat', BigInt(fx.readUInt16LE(2)));
  values.set('ftag', BigInt(expandTagWord(fx.readUInt8(4), fx)));
  values.set('fop', BigInt(fx.readUInt16LE(6)));
  values.set('fioff', BigInt(fx.readUInt32LE(8)));
  values.set('fiseg', BigInt(fx.readUInt16LE(12)));
  values.set('fooff', BigInt(fx.readUInt32LE(16)));
  values.set('foseg', BigInt(fx.readUInt16LE(20)));
  values.set('mxcsr', BigInt(fx.readUInt32LE(24)));
  for (let i = 0; i < 8; i++) values.set(`st${i}`, Buffer.from(fx.subarray(32 + i * 16, 32 + i * 16 + 10)));
  for (let i = 0; i < 16; i++) values.set(`xmm${i}`, Buffer.from(fx.subarray(160 + i * 16, 160 + i * 16 + 16)));
}

/**
 * FXSAVE keeps an abridged tag byte (1 bit per register, 1 = valid); gdb's ftag is the
 * full 16-bit x87 tag word (2 bits per register: 00 valid, 01 zero, 10 special, 11 empty).
 */
function expandTagWord(abridged: number, fx: Buffer): number {
  const top = (fx.readUInt16LE(2) >> 11) & 7;
  let tag = 0;
  for (let phys = 0; phys < 8; phys++) {
    let t = 3;
    if (abridged & (1 << phys)) {
      const st = (phys - top + 8) & 7;
      const reg = fx.subarray(32 + st * 16, 32 + st * 16 + 10);
      const exponent = reg.readUInt16LE(8) & 0x7fff;
      const mantissa = reg.readBigUInt64LE(0);
      if (exponent === 0x7fff) t = 2;
      else if (exponent === 0) t = mantissa === 0n ? 1 : 2;
      else t = (mantissa >> 63n) === 1n ? 0 : 2;
    }
    tag |= t << (phys * 2);
  }
  return tag;
}

/** Applies gdb's register writes to a frame; returns the new frame or names the register that cannot be written. */
export function applyRegisterWrites(
  frame: FrameRegisterValues,
  writes: Map<string, bigint>,
): { frame: FrameRegisterValues } | { unsupported: string } {
  const next: FrameRegisterValues = { ...frame };
  for (const [name, value] of writes) {
    if ((GENERAL_REGISTERS as readonly string[]).includes(name) || name === 'rip') {
      next[name as GeneralRegister | 'rip'] = BigInt.asUintN(64, value);
    } else if (name === 'eflags') {
      next.rflags = BigInt.asUintN(64, value);
    } else if (name === 'cs' || name === 'ss') {
      if (BigInt.asUintN(16, value) !== BigInt.asUintN(16, frame[name])) return { unsupported: name };
    } else {
      return { unsupported: name };
    }
  }
  return { frame: next };
}
