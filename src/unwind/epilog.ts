/**
 * Epilog recognition by the x64 ABI's rules: control is in an epilog when the
 * code from rip on is exactly
 *
 *   [add rsp, imm | lea rsp, [FrameRegister + disp]]  pop r64 ...  (ret | jmp out of the function)
 *
 * (Microsoft's "x64 prolog and epilog" rules, which RtlVirtualUnwind relies on,
 * since unwind codes describe only the prologue). Such a frame is unwound by
 * simulating the rest of the epilog, not by undoing the prologue: some saved
 * registers are already restored and the stack allocation may be gone.
 * The simulation is symbolic, so it yields a FrameRule like every other source.
 */
import { Mnemonic } from 'iced-x86';
import { FrameRule, RegisterOffset, SavedSlot, makeRule } from './frame-rule';
import { Gpr } from './registers';
import type { DecodedInstruction, InstructionSource } from './x86';

export interface EpilogContext {
  /** The code from rip on (its offset 0 is rip). */
  code: InstructionSource;
  /** RVA of rip and the bounds of the function (or function part) that holds it. */
  rva: number;
  functionStartRva: number;
  functionEndRva: number;
  /** The unwind info's frame register: `lea rsp, [reg + disp]` may only use this one. */
  frameRegister: Gpr | undefined;
  /**
   * The function was entered by an interrupt (its unwind info has a machine
   * frame): its epilog ends in iretq, after dropping the error code, if any.
   */
  machineFrame?: boolean;
  /**
   * rip lies in an epilog a version 2 record lists: the tail jump may go anywhere
   * (the record, not the shape of the code, says this is an epilog).
   */
  listedEpilog?: boolean;
}

const MAX_POPS = 16;

/**
 * Whether an epilog could start with this instruction: epilogRule says
 * undefined for any other, so a pass over every instruction can skip it
 * without setting up the context.
 */
export function mayStartEpilog(ins: DecodedInstruction): boolean {
  return (
    (ins.mnemonic === Mnemonic.Add && ins.stack.kind === 'adjust') ||
    (ins.mnemonic === Mnemonic.Lea && ins.stack.kind === 'setFrom') ||
    ins.stack.kind === 'pop' ||
    ins.isNearReturn ||
    ins.isInterruptReturn ||
    ins.flow.kind === 'jump' ||
    ins.flow.kind === 'indirectJump'
  );
}

/** The rule at an epilog instruction, or undefined when the code at rip is not an epilog. */
export function epilogRule(ctx: EpilogContext): FrameRule | undefined {
  const { code } = ctx;
  let offset = 0;
  let sp: RegisterOffset = { register: 'rsp', offset: 0 };
  const insAt = (o: number): DecodedInstruction | undefined => (ctx.rva + o < ctx.functionEndRva ? code.at(o) : undefined);

  let ins = insAt(offset);
  if (!ins) return undefined;
  if (ins.mnemonic === Mnemonic.Add && ins.stack.kind === 'adjust' && ins.stack.delta > 0) {
    sp = { register: 'rsp', offset: ins.stack.delta };
    offset += ins.length;
  } else if (ins.mnemonic === Mnemonic.Lea && ins.stack.kind === 'setFrom' && ins.stack.register === ctx.frameRegister) {
    sp = { register: ins.stack.register, offset: ins.stack.offset };
    offset += ins.length;
  }
  const saved: SavedSlot[] = [];
  for (let pops = 0; pops <= MAX_POPS; pops++) {
    ins = insAt(offset);
    if (!ins) return undefined;
    if (ins.stack.kind !== 'pop' || ins.stack.register === undefined) break;
    saved.push({ register: ins.stack.register, base: sp.register, offset: sp.offset });
    sp = { register: sp.register, offset: sp.offset + 8 };
    offset += ins.length;
  }
  if (!ins) return undefined;
  const slots = (anchor: RegisterOffset): SavedSlot[] => saved.map((s) => ({ register: s.register, base: 'anchor' as const, offset: s.offset - anchor.offset }));
  if (ctx.machineFrame) {
    // An interrupt handler's way out: pops, the error code dropped, iretq.
    if (ins.mnemonic === Mnemonic.Add && ins.stack.kind === 'adjust' && ins.stack.delta === 8) {
      sp = { register: sp.register, offset: sp.offset + 8 };
      offset += ins.length;
      ins = insAt(offset);
    }
    if (!ins?.isInterruptReturn) return undefined;
    return makeRule('interrupt', sp, slots(sp));
  }
  if (!isEpilogTerminator(ins, ctx)) return undefined;
  const anchor = { register: sp.register, offset: sp.offset + 8 };
  return makeRule('call', anchor, slots(anchor));
}

function isEpilogTerminator(ins: DecodedInstruction, ctx: EpilogContext): boolean {
  if (ins.isNearReturn) return true;
  // A jump-table jump (no REX.W) inside a function must not look like a tail call.
  if (ins.flow.kind === 'indirectJump') return ins.indirectJumpForm !== 'other' || ctx.listedEpilog === true;
  if (ins.flow.kind === 'jump') {
    if (ctx.listedEpilog) return true;
    // A jump to the function's own start is a recursive tail call; any other target
    // inside the function is ordinary control flow, not an epilog.
    const target = Number(ins.flow.target - ctx.code.baseIp) + ctx.rva;
    return target < ctx.functionStartRva || target >= ctx.functionEndRva || target === ctx.functionStartRva;
  }
  return false;
}
