/**
 * How to find the caller's frame from one instruction of a function: the one
 * value every unwind source in this folder produces (x64 unwind codes with
 * epilog detection, prologue analysis, the stub's interrupt entry) and both
 * consumers read (applying it to a register set, and the .debug_frame rows for
 * gdb). A rule is symbolic: addresses are "register + offset" of the frame being
 * unwound, so one rule serves every call of the function.
 *
 * The anchor is the address everything else is relative to:
 * - a call frame: the CFA, i.e. the caller's rsp once the call returned; the
 *   return address is at anchor - 8.
 * - an interrupt frame: the machine frame the CPU pushed, rip at anchor + 0,
 *   cs + 8, rflags + 16, rsp + 24, ss + 32 (an error code, if any, sits at
 *   anchor - 8 and is not part of the interrupted context).
 */
import { Gpr, RegisterName } from './registers';

export interface RegisterOffset {
  register: Gpr;
  offset: number;
}

/** Where a caller's register value was saved: anchor + offset, or (rarely) a register of this frame + offset. */
export interface SavedSlot {
  register: RegisterName;
  /** 'anchor' for nearly every slot; a register when unwind codes save relative to a different base than the anchor's. */
  base: 'anchor' | Gpr;
  offset: number;
}

export type FrameKind = 'call' | 'interrupt';

export interface FrameRule {
  kind: FrameKind;
  anchor: RegisterOffset;
  /** Saved registers, one slot per register, sorted by register name for stable comparisons. */
  saved: readonly SavedSlot[];
  /**
   * Registers besides the callee-saved ones that still hold the caller's value
   * (sorted). Only interrupt frames have them: interrupted code loses no
   * register, so one the entry code has not touched yet (or has restored) is
   * the interrupted code's own.
   */
  carried?: readonly RegisterName[];
}

/** Interrupt machine frame layout, relative to the anchor. */
export const MACHINE_FRAME = { rip: 0, cs: 8, rflags: 16, rsp: 24, ss: 32 } as const;

/** The rule at a function's first instruction, or anywhere in a function that never touches rsp. */
export const ENTRY_RULE: FrameRule = { kind: 'call', anchor: { register: 'rsp', offset: 8 }, saved: [] };

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function makeRule(kind: FrameKind, anchor: RegisterOffset, saved: Iterable<SavedSlot>, carried?: Iterable<RegisterName>): FrameRule {
  const slots = Array.isArray(saved) ? (saved as readonly SavedSlot[]) : [...saved];
  // Without carried registers and with each register once (nearly every rule), the
  // map that keeps the last slot per register changes nothing but costs one per rule.
  if (carried === undefined && distinctRegisters(slots)) {
    return { kind, anchor: { register: anchor.register, offset: anchor.offset }, saved: [...slots].sort((a, b) => byName(a.register, b.register)) };
  }
  const byRegister = new Map<RegisterName, SavedSlot>();
  for (const s of slots) byRegister.set(s.register, s);
  const sorted = [...byRegister.values()].sort((a, b) => byName(a.register, b.register));
  const rule: FrameRule = { kind, anchor: { ...anchor }, saved: sorted };
  const kept = carried ? [...new Set(carried)].filter((r) => !byRegister.has(r)).sort(byName) : [];
  return kept.length > 0 ? { ...rule, carried: kept } : rule;
}

function distinctRegisters(slots: readonly SavedSlot[]): boolean {
  for (let i = 1; i < slots.length; i++) for (let j = 0; j < i; j++) if (slots[i]!.register === slots[j]!.register) return false;
  return true;
}

export function rulesEqual(a: FrameRule, b: FrameRule): boolean {
  if (a.kind !== b.kind || a.anchor.register !== b.anchor.register || a.anchor.offset !== b.anchor.offset) return false;
  if (a.saved.length !== b.saved.length) return false;
  if ((a.carried ?? []).join() !== (b.carried ?? []).join()) return false;
  return a.saved.every((s, i) => {
    const t = b.saved[i]!;
    return s.register === t.register && s.base === t.base && s.offset === t.offset;
  });
}

/** True when the rule is the entry rule: nothing pushed, nothing saved. */
export function isTrivialRule(rule: FrameRule): boolean {
  return rulesEqual(rule, ENTRY_RULE);
}

/** One line for logs and test failures: 'call cfa=rsp+40 rbx@-16 rsi@-24'. */
export function describeRule(rule: FrameRule): string {
  const off = (n: number): string => (n < 0 ? `${n}` : `+${n}`);
  const head = `${rule.kind} ${rule.kind === 'call' ? 'cfa' : 'frame'}=${rule.anchor.register}${off(rule.anchor.offset)}`;
  const slots = rule.saved.map((s) => `${s.register}@${s.base === 'anchor' ? '' : s.base}${off(s.offset)}`);
  return [head, ...slots].join(' ');
}
