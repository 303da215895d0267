/**
 * CodeView register numbers for x86-64 (CV_AMD64_* in cvconst.h), as used by
 * S_REGREL32, S_REGISTER and the S_DEFRANGE_* records. Names are spelled as
 * llvm-pdbutil prints them.
 */
const NAMES = new Map<number, string>();

const add = (first: number, names: string[]): void => names.forEach((n, i) => NAMES.set(first + i, n));
add(1, ['AL', 'CL', 'DL', 'BL', 'AH', 'CH', 'DH', 'BH', 'AX', 'CX', 'DX', 'BX', 'SP', 'BP', 'SI', 'DI']);
add(17, ['EAX', 'ECX', 'EDX', 'EBX', 'ESP', 'EBP', 'ESI', 'EDI']);
add(25, ['ES', 'CS', 'SS', 'DS', 'FS', 'GS']);
add(32, ['FLAGS', 'RIP', 'EFLAGS']);
add(154, ['XMM0', 'XMM1', 'XMM2', 'XMM3', 'XMM4', 'XMM5', 'XMM6', 'XMM7']);
add(252, ['XMM8', 'XMM9', 'XMM10', 'XMM11', 'XMM12', 'XMM13', 'XMM14', 'XMM15']);
add(324, ['SIL', 'DIL', 'BPL', 'SPL']);
add(328, ['RAX', 'RBX', 'RCX', 'RDX', 'RSI', 'RDI', 'RBP', 'RSP']);
for (let i = 8; i <= 15; i++) {
  NAMES.set(336 + i - 8, `R${i}`);
  NAMES.set(344 + i - 8, `R${i}B`);
  NAMES.set(352 + i - 8, `R${i}W`);
  NAMES.set(360 + i - 8, `R${i}D`);
}

export const CV_AMD64_RSP = 335;
export const CV_AMD64_RBP = 334;
export const CV_AMD64_R13 = 341;

/** 'RCX' for 330; a decimal string for numbers outside the table. */
export function cvRegisterName(register: number): string {
  return NAMES.get(register) ?? String(register);
}
