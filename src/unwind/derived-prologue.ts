/**
 * The unwind operations an UNWIND_INFO would list for a function's prologue,
 * read off the code and the analysis states: so a build without .pdata can be
 * compared, operation by operation, with one that has it.
 */
import type { EntryState, StatesByRva } from './flow-state';
import { Gpr, Xmm, isGpr, isNonvolatile } from './registers';
import type { UnwindOperation } from './unwind-info';
import type { DecodedInstruction } from './x86';

/** The prologue as unwind codes would describe it. */
export interface DerivedPrologue {
  /** In UNWIND_INFO order: newest (highest code offset) first. */
  operations: UnwindOperation[];
  prologSize: number;
  frameRegister: Gpr | undefined;
  frameOffset: number;
}

const SAVE_NONVOL_SCALED_MAX = 0xffff * 8;
const SAVE_XMM_SCALED_MAX = 0xffff * 16;
const ALLOC_LARGE_SCALED_MAX = 512 * 1024 - 8;

/**
 * The prologue's unwind operations: from the entry, the leading run of
 * pushes, stack allocations, frame-register setup and register saves, the way
 * a compiler lists them between its prologue directives. Save offsets are
 * from the establisher frame (the frame register less its offset, or rsp at
 * the end of the prologue), known only once the whole prologue is read.
 */
export function derivePrologue(
  start: number,
  insAt: (rva: number) => DecodedInstruction | undefined,
  states: StatesByRva,
  entry: EntryState,
  framePointers: ReadonlySet<Gpr>,
): DerivedPrologue {
  type Pending = UnwindOperation | { op: 'save'; codeOffset: number; register: Gpr | Xmm; slot: number };
  const ops: Pending[] = [];
  let prologSize = 0;
  let frameRegister: Gpr | undefined;
  let frameOffset = 0;
  let establisher: number | undefined;
  if (entry.kind === 'interrupt') {
    ops.push({ op: 'pushMachframe', codeOffset: 0, errorCode: entry.rspToAnchor >= 8 });
    if (entry.rspToAnchor > 8) ops.push({ op: 'allocSmall', codeOffset: 0, size: entry.rspToAnchor - 8 });
  }
  let rva = start;
  for (;;) {
    const ins = insAt(rva);
    const state = states.get(rva);
    if (!ins || !state || state.rsp === undefined || ins.flow.kind !== 'next') break;
    const codeOffset = rva - start + ins.length;
    const e = ins.stack;
    let op: Pending | undefined;
    if (e.kind === 'push' && e.register && isNonvolatile(e.register)) {
      op = { op: 'pushNonvol', codeOffset, register: e.register };
    } else if (e.kind === 'push' && e.register) {
      op = { op: 'allocSmall', codeOffset, size: 8 };
    } else if (e.kind === 'adjust' && e.delta < 0) {
      const size = -e.delta;
      op = size <= 128 ? { op: 'allocSmall', codeOffset, size } : { op: 'allocLarge', codeOffset, size, form: size <= ALLOC_LARGE_SCALED_MAX ? 'scaled16' : 'unscaled32' };
    } else if (e.kind === 'copy' && frameRegister === undefined && framePointers.has(e.register) && e.offset % 16 === 0 && e.offset >= 0 && e.offset <= 240) {
      frameRegister = e.register;
      frameOffset = e.offset;
      establisher = -state.rsp;
      op = { op: 'setFpreg', codeOffset };
    } else if (e.kind === 'store' && isNonvolatile(e.register) && state.pristine.has(e.register) && (e.base === 'rsp' || e.base === frameRegister)) {
      const slot = e.base === 'rsp' ? e.offset - state.rsp : e.offset - state.frames.get(e.base)!;
      op = { op: 'save', codeOffset, register: e.register, slot };
    }
    if (!op) break;
    ops.push(op);
    prologSize = codeOffset;
    rva += ins.length;
  }
  const end = states.get(start + prologSize);
  establisher ??= end?.rsp === undefined ? 0 : -end.rsp;
  const operations: UnwindOperation[] = ops.map((op) => {
    if (op.op !== 'save') return op;
    const offset = op.slot - establisher!;
    return isGpr(op.register)
      ? { op: 'saveNonvol', codeOffset: op.codeOffset, register: op.register, offset, far: offset > SAVE_NONVOL_SCALED_MAX || offset % 8 !== 0 }
      : { op: 'saveXmm128', codeOffset: op.codeOffset, register: op.register, offset, far: offset > SAVE_XMM_SCALED_MAX || offset % 16 !== 0 };
  });
  return { operations: operations.reverse(), prologSize, frameRegister, frameOffset };
}
