/**
 * `llvm-dwarfdump --debug-frame` (LLVM 14) as the oracle for .debug_frame:
 * its unwind table (one line per row) parsed, and model rows printed the way
 * it prints them, so a test compares text that LLVM computed from our bytes
 * with text computed from the rows the bytes were made from.
 */
import { execFileSync } from 'node:child_process';
import type { ModelFrameFunction, ModelSlot } from '../../symbols/debug-model-frames';

const NAMES = ['RAX', 'RDX', 'RCX', 'RBX', 'RSI', 'RDI', 'RBP', 'RSP', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15', 'RIP'];

export function dwarfdumpRegister(n: number): string {
  if (n < NAMES.length) return NAMES[n]!;
  if (n >= 17 && n <= 32) return `XMM${n - 17}`;
  return `reg${n}`;
}

const signed = (n: number): string => (n < 0 ? `${n}` : `+${n}`);

function slotText(slot: ModelSlot): string {
  if ('cfaOffset' in slot) return slot.cfaOffset % 8 === 0 ? `[CFA${signed(slot.cfaOffset)}]` : `[DW_OP_consts ${slot.cfaOffset}, DW_OP_plus]`;
  return `[DW_OP_breg${slot.register} ${dwarfdumpRegister(slot.register)}${signed(slot.offset)}]`;
}

/** 'address: CFA=...: REG=..., ...' for every row of every function, as llvm-dwarfdump prints them. */
export function expectedRowLines(functions: readonly ModelFrameFunction[], loadBase: bigint): string[] {
  const lines: string[] = [];
  for (const fn of functions) {
    let cfaText = 'RSP+8';
    for (const row of fn.rows) {
      const regs = new Map<number, string>();
      if (row.cfa) {
        cfaText = row.cfa.deref
          ? `DW_OP_breg${row.cfa.register} ${dwarfdumpRegister(row.cfa.register)}${signed(row.cfa.offset)}, DW_OP_deref`
          : `${dwarfdumpRegister(row.cfa.register)}${signed(row.cfa.offset)}`;
        regs.set(16, '[CFA-8]');
        for (const s of row.saved) regs.set(s.register, slotText(s.slot));
      } else {
        regs.set(16, 'undefined');
      }
      const regText = [...regs].sort((a, b) => a[0] - b[0]).map(([r, t]) => `${dwarfdumpRegister(r)}=${t}`).join(', ');
      lines.push(`0x${(loadBase + BigInt(row.rva)).toString(16)}: CFA=${cfaText}: ${regText}`);
    }
  }
  return lines;
}

/** The unwind table rows llvm-dwarfdump prints for the FDEs of `path`. */
export function dwarfdumpRowLines(path: string): string[] {
  const text = execFileSync('llvm-dwarfdump', ['--debug-frame', path], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const fdes = text.split(/^[0-9a-f]{8} [0-9a-f]{8} [0-9a-f]{8} FDE /m).slice(1);
  return fdes.flatMap((fde) => [...fde.matchAll(/^ {2}(0x[0-9a-f]+: CFA=.*)$/gm)].map((m) => m[1]!.trim()));
}
