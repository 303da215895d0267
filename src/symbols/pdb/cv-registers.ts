/**
 * CodeView register numbers for x86-64 (CV_AMD64_* in cvconst.h), as used by
 * S_REGREL32, S_REGISTER and the S_DEFRANGE_* records, and the one table that
 * maps them to DWARF x86-64 register numbers (System V psABI, figure 3.36:
 * 0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15,
 * 17-32 xmm0-15, 33-40 st0-7, 41-48 mm0-7, 49 rflags, 50-55 es cs ss ds fs gs).
 * Names are spelled as llvm-pdbutil prints them.
 *
 * DWARF has no numbers for sub-registers: a 32-bit value in ECX is "in rcx",
 * and the debugger takes the low bytes the variable's type needs. The high
 * byte registers (AH, BH, CH, DH) are not the low bytes of anything, so they
 * have no DWARF mapping; a variable kept in one shows as unavailable rather
 * than as the wrong byte.
 */
import type { DwarfRegister } from '../debug-model-frames';

export interface CvRegister {
  name: string;
  /** The DWARF register holding it in its low bytes; undefined where none does. */
  dwarf?: DwarfRegister;
  /** Bytes of the (sub-)register: 1 for CL, 4 for ECX, 8 for RCX, 16 for XMM1. */
  byteSize: number;
}

const TABLE = new Map<number, CvRegister>();

const add = (first: number, byteSize: number, entries: [string, DwarfRegister | undefined][]): void =>
  entries.forEach(([name, dwarf], i) => TABLE.set(first + i, dwarf === undefined ? { name, byteSize } : { name, dwarf, byteSize }));

// DWARF numbers of the general registers in CodeView's legacy order (a c d b sp bp si di).
const LEGACY_ORDER: DwarfRegister[] = [0, 2, 1, 3, 7, 6, 4, 5];

add(1, 1, [['AL', 0], ['CL', 2], ['DL', 1], ['BL', 3], ['AH', undefined], ['CH', undefined], ['DH', undefined], ['BH', undefined]]);
add(9, 2, ['AX', 'CX', 'DX', 'BX', 'SP', 'BP', 'SI', 'DI'].map((n, i): [string, DwarfRegister] => [n, LEGACY_ORDER[i]!]));
add(17, 4, ['EAX', 'ECX', 'EDX', 'EBX', 'ESP', 'EBP', 'ESI', 'EDI'].map((n, i): [string, DwarfRegister] => [n, LEGACY_ORDER[i]!]));
add(25, 2, ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'].map((n, i): [string, DwarfRegister] => [n, 50 + i]));
add(32, 2, [['FLAGS', 49]]);
add(33, 8, [['RIP', 16]]);
add(34, 4, [['EFLAGS', 49]]);
add(128, 10, ['ST0', 'ST1', 'ST2', 'ST3', 'ST4', 'ST5', 'ST6', 'ST7'].map((n, i): [string, DwarfRegister] => [n, 33 + i]));
add(146, 8, ['MM0', 'MM1', 'MM2', 'MM3', 'MM4', 'MM5', 'MM6', 'MM7'].map((n, i): [string, DwarfRegister] => [n, 41 + i]));
add(154, 16, ['XMM0', 'XMM1', 'XMM2', 'XMM3', 'XMM4', 'XMM5', 'XMM6', 'XMM7'].map((n, i): [string, DwarfRegister] => [n, 17 + i]));
add(252, 16, ['XMM8', 'XMM9', 'XMM10', 'XMM11', 'XMM12', 'XMM13', 'XMM14', 'XMM15'].map((n, i): [string, DwarfRegister] => [n, 25 + i]));
add(324, 1, [['SIL', 4], ['DIL', 5], ['BPL', 6], ['SPL', 7]]);
add(328, 8, ['RAX', 'RBX', 'RCX', 'RDX', 'RSI', 'RDI', 'RBP', 'RSP'].map((n, i): [string, DwarfRegister] => [n, [0, 3, 2, 1, 4, 5, 6, 7][i]!]));
for (let i = 8; i <= 15; i++) {
  TABLE.set(336 + i - 8, { name: `R${i}`, dwarf: i, byteSize: 8 });
  TABLE.set(344 + i - 8, { name: `R${i}B`, dwarf: i, byteSize: 1 });
  TABLE.set(352 + i - 8, { name: `R${i}W`, dwarf: i, byteSize: 2 });
  TABLE.set(360 + i - 8, { name: `R${i}D`, dwarf: i, byteSize: 4 });
}

export const CV_AMD64_RSP = 335;
export const CV_AMD64_RBP = 334;
export const CV_AMD64_R13 = 341;

/** The table entry for a CodeView register number; undefined for numbers outside it. */
export function cvRegister(register: number): CvRegister | undefined {
  return TABLE.get(register);
}

/** 'RCX' for 330; a decimal string for numbers outside the table. */
export function cvRegisterName(register: number): string {
  return TABLE.get(register)?.name ?? String(register);
}

/** The DWARF register a CodeView register lives in; undefined when DWARF cannot name it. */
export function dwarfRegisterOf(register: number): DwarfRegister | undefined {
  return TABLE.get(register)?.dwarf;
}
