/**
 * The registers an x64 unwinder talks about, under one set of names. Three
 * numberings meet here: the x64 unwind codes (and the ModR/M encoding) number
 * the general registers rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15; DWARF
 * numbers them rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15; iced-x86 has its
 * own enum. Everything in src/unwind uses the names and converts at the edges.
 */

/** General registers in x64 unwind-code (machine encoding) order: index = UNWIND_CODE OpInfo. */
export const GPRS = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;
export type Gpr = (typeof GPRS)[number];

export const XMMS = [
  'xmm0', 'xmm1', 'xmm2', 'xmm3', 'xmm4', 'xmm5', 'xmm6', 'xmm7',
  'xmm8', 'xmm9', 'xmm10', 'xmm11', 'xmm12', 'xmm13', 'xmm14', 'xmm15',
] as const;
export type Xmm = (typeof XMMS)[number];

/** The machine-frame registers besides rip and rsp (an interrupt pushes them). */
export type SegmentOrFlags = 'cs' | 'ss' | 'rflags';

export type RegisterName = Gpr | Xmm | 'rip' | SegmentOrFlags;

/**
 * What is known of a frame's registers: a missing entry is unknown (a volatile
 * register in a caller's frame, or anything after a frame found by scanning).
 * General registers are 64-bit values, xmm registers 128-bit.
 */
export type RegisterSet = Partial<Record<RegisterName, bigint>>;

/** The Microsoft x64 calling convention's callee-saved registers (besides rsp). */
export const NONVOLATILE_GPRS: ReadonlySet<Gpr> = new Set<Gpr>(['rbx', 'rbp', 'rdi', 'rsi', 'r12', 'r13', 'r14', 'r15']);
export const NONVOLATILE_XMMS: ReadonlySet<Xmm> = new Set<Xmm>(['xmm6', 'xmm7', 'xmm8', 'xmm9', 'xmm10', 'xmm11', 'xmm12', 'xmm13', 'xmm14', 'xmm15']);
/** Clobbered by any call, so unknown in a caller's frame unless the callee saved them. */
export const VOLATILE_GPRS: readonly Gpr[] = GPRS.filter((r) => r !== 'rsp' && !NONVOLATILE_GPRS.has(r));

export function isGpr(name: RegisterName): name is Gpr {
  return (GPRS as readonly string[]).includes(name);
}

export function isXmm(name: RegisterName): name is Xmm {
  return (XMMS as readonly string[]).includes(name);
}

export function isNonvolatile(name: RegisterName): boolean {
  return (isGpr(name) && NONVOLATILE_GPRS.has(name)) || (isXmm(name) && NONVOLATILE_XMMS.has(name));
}

/** Bytes a saved copy of the register occupies on the stack. */
export function registerSize(name: RegisterName): 8 | 16 {
  return isXmm(name) ? 16 : 8;
}

export function gprFromUnwindNumber(n: number): Gpr {
  const r = GPRS[n];
  if (r === undefined) throw new RangeError(`unwind register number ${n} is not 0..15`);
  return r;
}

export function xmmFromNumber(n: number): Xmm {
  const r = XMMS[n];
  if (r === undefined) throw new RangeError(`xmm register number ${n} is not 0..15`);
  return r;
}

/** DWARF x86-64 register numbers (System V psABI, which gdb and lldb use for every amd64 target). */
const DWARF_GPR_ORDER: readonly Gpr[] = [
  'rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
];

/** The DWARF column of the return address (rip). */
export const DWARF_RETURN_ADDRESS = 16;

export function dwarfRegister(name: RegisterName): number {
  if (isGpr(name)) return DWARF_GPR_ORDER.indexOf(name);
  if (isXmm(name)) return 17 + XMMS.indexOf(name);
  switch (name) {
    case 'rip':
      return DWARF_RETURN_ADDRESS;
    case 'rflags':
      return 49;
    case 'cs':
      return 51;
    case 'ss':
      return 52;
  }
}

export function registerFromDwarf(n: number): RegisterName | undefined {
  if (n >= 0 && n < 16) return DWARF_GPR_ORDER[n];
  if (n === DWARF_RETURN_ADDRESS) return 'rip';
  if (n >= 17 && n < 33) return XMMS[n - 17];
  return n === 49 ? 'rflags' : n === 51 ? 'cs' : n === 52 ? 'ss' : undefined;
}

export const U64_MASK = (1n << 64n) - 1n;

/** Register arithmetic wraps like the CPU's. */
export function addU64(value: bigint, delta: number | bigint): bigint {
  return (value + BigInt(delta)) & U64_MASK;
}

export function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}
