/**
 * Unwind rules for code without unwind tables, from the code itself. A
 * dataflow over the function's instructions (worklist from the entry, over
 * both arms of every branch) tracks, before each instruction:
 *
 * - where the anchor (the CFA, or an interrupt's machine frame) is relative to
 *   rsp, and relative to any register that was set from rsp (a frame pointer:
 *   the only way back once rsp moves by a variable amount, as alloca does);
 * - which registers still hold the caller's value ("pristine"), so a push or a
 *   store of one is a save and a pop of its slot a restore;
 * - where each saved register lies.
 *
 * Every instruction gets a rule: prologue steps, body, and each of several
 * epilogs wherever they sit. Code only a jump table reaches (no forward path)
 * is filled backwards from the exits it flows to (`ret` has the anchor right
 * above rsp), then forwards again from there.
 *
 * From the same walk come the unwind operations an UNWIND_INFO would list for
 * the prologue, so a build without .pdata can be checked against one with it.
 */
import { DerivedPrologue, derivePrologue } from './derived-prologue';
import { EntryState, FlowState, StatesByRva, backwardState, cloneState, entryState, merge, ruleOf, sameRuleInputs, transfer } from './flow-state';
import type { FrameKind, FrameRule } from './frame-rule';
import { ByRva, FunctionCode } from './function-code';
import type { DecodedInstruction, InstructionShapes } from './x86';
import type { Gpr } from './registers';
import { rangeHolding } from '../common/sorted';

export type { EntryState } from './flow-state';
export type { DerivedPrologue } from './derived-prologue';

export interface AnalyzeOptions {
  startRva: number;
  /** First RVA after the function; when unknown, control flow is followed as far as `bytes` reach. */
  endRva?: number;
  /** The code, starting at startRva. */
  bytes: Uint8Array;
  entry?: EntryState;
  /** Instruction facts shared with other analyses of the same pass (see InstructionShapes). */
  shapes?: InstructionShapes;
}

export interface AnalyzedInstruction {
  rva: number;
  length: number;
  /** undefined: no path gives this instruction a consistent frame (e.g. data decoded as code). */
  rule: FrameRule | undefined;
  /**
   * 'forward' from the entry; 'backward' from an exit the instruction flows to;
   * 'jump-table' for code only an indirect jump reaches, which gets the state
   * at that jump.
   */
  via: Via | undefined;
}


export interface FunctionAnalysis {
  startRva: number;
  /** The given end, or the end of the last instruction reached. */
  endRva: number;
  kind: FrameKind;
  /** Every instruction found, by address. */
  instructions: AnalyzedInstruction[];
  prologue: DerivedPrologue;
  /** Join points reached with different rsp offsets (none in compiler output). */
  conflicts: number;
  /** The rule of the instruction that holds `rva` (undefined outside the function or where unknown). */
  ruleAt(rva: number): FrameRule | undefined;
}

type Via = 'forward' | 'backward' | 'jump-table';

export { MAX_ANALYZED_BYTES } from './function-code';

export function analyzeFunction(options: AnalyzeOptions): FunctionAnalysis {
  const entry = options.entry ?? { kind: 'call' };
  const kind: FrameKind = entry.kind;
  const start = options.startRva;
  const fn = new FunctionCode(start, options.bytes, options.endRva, options.shapes);
  try {
    const insAt = (rva: number): DecodedInstruction | undefined => fn.insAt(rva);
    const inside = (target: bigint): number | undefined => fn.inside(target);
    const successors = (rva: number, ins: DecodedInstruction): number[] => fn.successors(rva, ins);

    const states = new ByRva<FlowState>(start, fn.limit - start);
    const via = new ByRva<Via>(start, fn.limit - start);
    let conflicts = 0;
    const propagate = (seeds: number[], mode: 'merge' | 'fill'): void => {
      const work = [...seeds];
      const reach = (succ: number, out: FlowState, from: Via): void => {
        const old = states.get(succ);
        if (!old) {
          states.set(succ, out);
          via.set(succ, from);
          work.push(succ);
        } else if (mode === 'merge') {
          const m = merge(old, out);
          if (m) {
            conflicts += m.conflict ? 1 : 0;
            states.set(succ, m.state);
            work.push(succ);
          }
        }
      };
      while (work.length > 0) {
        const rva = work.pop()!;
        const ins = insAt(rva);
        const state = states.get(rva);
        if (!ins || !state) continue;
        const out = transfer(state, ins, kind);
        const from = via.get(rva)!;
        // fn.successors(rva, ins), in its order, without an array per instruction.
        const f = ins.flow;
        const next = rva + ins.length;
        if ((f.kind === 'next' || f.kind === 'call' || f.kind === 'branch') && next < fn.limit) reach(next, out, from);
        if (f.kind === 'jump' || f.kind === 'branch') {
          const t = inside(f.target);
          if (t !== undefined) reach(t, out, from);
        }
      }
    };

    states.set(start, entryState(entry));
    via.set(start, 'forward');
    propagate([start], 'merge');

    // Instruction boundaries: those reached, plus a linear sweep for code no path reaches.
    const order = fn.instructionOrder(states.keys(), options.endRva ?? maxReached(states, insAt));

    // Fill unreached code backwards from exits and known successors, then forwards, until nothing changes.
    const fillRounds = (): void => {
      for (let round = 0; round < 16; round++) {
        const added: number[] = [];
        for (let i = order.length - 1; i >= 0; i--) {
          const rva = order[i]!;
          if (states.has(rva)) continue;
          const back = backwardState(rva, insAt(rva)!, kind, successors, states, inside);
          if (back) {
            states.set(rva, back);
            via.set(rva, 'backward');
            added.push(rva);
          }
        }
        if (added.length === 0) return;
        propagate(added, 'fill');
      }
    };
    fillRounds();

    // Blocks that never rejoin known code (a switch case that loops forever) are
    // jump-table targets: they start with the state the table's jump had.
    const tableState = jumpTableState(order, states, insAt);
    if (tableState) {
      const seeds: number[] = [];
      order.forEach((rva, i) => {
        const prev = i > 0 ? insAt(order[i - 1]!) : undefined;
        const afterTerminator = prev !== undefined && order[i - 1]! + prev.length === rva && ['jump', 'return', 'indirectJump', 'stop'].includes(prev.flow.kind);
        if (!states.has(rva) && afterTerminator) {
          states.set(rva, cloneState(tableState));
          via.set(rva, 'jump-table');
          seeds.push(rva);
        }
      });
      propagate(seeds, 'fill');
      fillRounds();
    }

    // Instructions that change nothing share their state object, and so their rule;
    // so do neighbours whose states differ only in what the rule leaves out (the
    // body's instructions each clobber another register, one new state apiece).
    const rules = new Map<FlowState, FrameRule | undefined>();
    let lastState: FlowState | undefined;
    let lastRule: FrameRule | undefined;
    const ruleFor = (s: FlowState): FrameRule | undefined => {
      if (rules.has(s)) return rules.get(s);
      const rule = lastState !== undefined && sameRuleInputs(lastState, s, kind) ? lastRule : ruleOf(s, kind);
      rules.set(s, rule);
      lastState = s;
      lastRule = rule;
      return rule;
    };
    const instructions: AnalyzedInstruction[] = order.map((rva) => {
      const s = states.get(rva);
      return { rva, length: insAt(rva)!.length, rule: s ? ruleFor(s) : undefined, via: s ? via.get(rva) : undefined };
    });
    const last = instructions[instructions.length - 1];
    const endRva = options.endRva ?? (last ? last.rva + last.length : start);
    // A register set from rsp is a frame pointer (SET_FPREG) only if some rule needs it.
    const framePointers = new Set<Gpr>();
    for (const i of instructions) if (i.rule && i.rule.anchor.register !== 'rsp') framePointers.add(i.rule.anchor.register);
    const prologue = derivePrologue(start, insAt, states, entry, framePointers);
    return {
      startRva: start,
      endRva,
      kind,
      instructions,
      prologue,
      conflicts,
      ruleAt(rva: number): FrameRule | undefined {
        return rangeHolding(instructions, rva, (ins) => ins.rva, (ins) => ins.rva + ins.length)?.rule;
      },
    };
  } finally {
    fn.free();
  }
}

/** The state at the function's jump-table jumps, when they all agree. */
function jumpTableState(order: number[], states: StatesByRva, insAt: (rva: number) => DecodedInstruction | undefined): FlowState | undefined {
  let found: FlowState | undefined;
  for (const rva of order) {
    const ins = insAt(rva)!;
    const s = states.get(rva);
    if (ins.flow.kind !== 'indirectJump' || ins.indirectJumpForm !== 'other' || !s || s.rsp === undefined) continue;
    if (found && found.rsp !== s.rsp) return undefined;
    found ??= s;
  }
  return found;
}

function maxReached(states: ByRva<FlowState>, insAt: (rva: number) => DecodedInstruction | undefined): number {
  let max = 0;
  for (const rva of states.keys()) max = Math.max(max, rva + (insAt(rva)?.length ?? 0));
  return max;
}
