/**
 * The abstract machine state prologue analysis carries from instruction to
 * instruction, and what one instruction does to it: where the anchor (the CFA,
 * or an interrupt's machine frame) lies relative to rsp and to registers set
 * from rsp, which registers still hold the caller's value ("pristine"), and
 * where each saved register lies. Also the meet at a join, the step backwards
 * from an exit, and the FrameRule a state amounts to.
 */
import { FrameKind, FrameRule, makeRule } from './frame-rule';
import { GPRS, Gpr, NONVOLATILE_XMMS, RegisterName, VOLATILE_GPRS, XMMS, Xmm, isGpr, isNonvolatile } from './registers';
import type { DecodedInstruction } from './x86';
import { RegisterMask } from './register-mask';

/** What holds at the function's first instruction. */
export type EntryState =
  /** Called: the return address is at rsp. */
  | { kind: 'call' }
  /** Entered from an interrupt: the machine frame (rip first) lies `rspToAnchor` bytes above rsp (8 with an error code, more when a stub pushed). */
  | { kind: 'interrupt'; rspToAnchor: number };

export interface FlowState {
  /** anchor - rsp */
  rsp: number | undefined;
  /** anchor - register, for registers holding rsp + constant */
  frames: Map<Gpr, number>;
  /** anchor-relative slot offset of each saved register */
  saved: Map<RegisterName, number>;
  /** registers that still hold the caller's value */
  pristine: RegisterMask;
}

/** The analysis states by instruction RVA, as the helpers here read them. */
export interface StatesByRva {
  get(rva: number): FlowState | undefined;
}

const VOLATILE_XMMS: readonly Xmm[] = XMMS.filter((x) => !NONVOLATILE_XMMS.has(x));

export function cloneState(s: FlowState): FlowState {
  return { rsp: s.rsp, frames: new Map(s.frames), saved: new Map(s.saved), pristine: s.pristine.clone() };
}

/** Every register but rsp: what holds the caller's value at entry. Cloned per state, never changed itself. */
const ENTRY_PRISTINE = RegisterMask.of([...GPRS.filter((r) => r !== 'rsp'), ...XMMS]);

export function entryState(entry: EntryState): FlowState {
  return { rsp: entry.kind === 'call' ? 8 : entry.rspToAnchor, frames: new Map(), saved: new Map(), pristine: ENTRY_PRISTINE.clone() };
}

/** Saved slots the stack pointer has moved above are gone (popped or deallocated). */
function dropBelowRsp(s: FlowState, from: FlowState): void {
  if (s.rsp === undefined) return;
  for (const [reg, off] of s.saved) if (off < -s.rsp) deleteSaved(s, from, reg);
}

// A state made from `from` shares its maps until it changes one: most
// instructions only clobber a register (pristine), and two Map copies per
// instruction were most of what the analysis allocated.
function ownFrames(s: FlowState, from: FlowState): Map<Gpr, number> {
  if (s.frames === from.frames) s.frames = new Map(from.frames);
  return s.frames;
}

function ownSaved(s: FlowState, from: FlowState): Map<RegisterName, number> {
  if (s.saved === from.saved) s.saved = new Map(from.saved);
  return s.saved;
}

function deleteFrame(s: FlowState, from: FlowState, register: Gpr): void {
  if (s.frames.has(register)) ownFrames(s, from).delete(register);
}

function deleteSaved(s: FlowState, from: FlowState, register: RegisterName): void {
  if (s.saved.has(register)) ownSaved(s, from).delete(register);
}

/**
 * Whether a register's copy on the stack is a save worth describing: the
 * callee-saved ones for a called function (a push of rax is only an 8-byte
 * allocation), every register for interrupt entry code.
 */
function isSaved(register: Gpr | Xmm, kind: FrameKind): boolean {
  return kind === 'interrupt' || isNonvolatile(register);
}

/**
 * The state after `ins`. States are never changed once made, so an
 * instruction that changes nothing (most of a function's body, once the
 * registers it uses are no longer the caller's) returns the same object:
 * no copy per instruction, and equal neighbours are recognisable by identity.
 */
export function transfer(state: FlowState, ins: DecodedInstruction, kind: FrameKind): FlowState {
  return changesState(state, ins, kind) ? transferCopy(state, ins, kind) : state;
}

const CALL_CLOBBERED: readonly (Gpr | Xmm)[] = [...VOLATILE_GPRS, ...VOLATILE_XMMS];

/** Whether transferCopy would give a state that differs from `s`. May say true when it would not; never false when it would. */
function changesState(s: FlowState, ins: DecodedInstruction, kind: FrameKind): boolean {
  // Indexed loops and no closure: this runs at every instruction of every function.
  const writes = ins.writes;
  for (let i = 0; i < writes.length; i++) if (loses(s, writes[i]!)) return true;
  if (ins.flow.kind === 'call') for (let i = 0; i < CALL_CLOBBERED.length; i++) if (loses(s, CALL_CLOBBERED[i]!)) return true;
  const e = ins.stack;
  if (e.kind === 'none') return false;
  if (e.kind !== 'store') return true;
  const slot = e.base === 'rsp' ? (s.rsp === undefined ? undefined : e.offset - s.rsp) : s.frames.has(e.base) ? e.offset - s.frames.get(e.base)! : undefined;
  return slot !== undefined && isSaved(e.register, kind) && s.pristine.has(e.register) && !s.saved.has(e.register);
}

/** Whether writing `r` changes `s`: it held the caller's value, or a frame address. */
function loses(s: FlowState, r: Gpr | Xmm): boolean {
  return s.pristine.has(r) || (isGpr(r) && s.frames.has(r));
}

function transferCopy(state: FlowState, ins: DecodedInstruction, kind: FrameKind): FlowState {
  const s: FlowState = { rsp: state.rsp, frames: state.frames, saved: state.saved, pristine: state.pristine.clone() };
  for (const w of ins.writes) {
    s.pristine.delete(w);
    if (isGpr(w)) deleteFrame(s, state, w);
  }
  const e = ins.stack;
  switch (e.kind) {
    case 'push':
      if (s.rsp !== undefined) {
        s.rsp += 8;
        if (e.register && e.register !== 'rsp' && isSaved(e.register, kind) && s.pristine.has(e.register) && !s.saved.has(e.register)) ownSaved(s, state).set(e.register, -s.rsp);
      }
      break;
    case 'pop':
      popInto(s, state, e.register);
      break;
    case 'leave':
      s.rsp = s.frames.get('rbp');
      popInto(s, state, 'rbp');
      break;
    case 'adjust':
      if (s.rsp !== undefined) s.rsp -= e.delta;
      dropBelowRsp(s, state);
      break;
    case 'setFrom':
      s.rsp = s.frames.has(e.register) ? s.frames.get(e.register)! - e.offset : undefined;
      dropBelowRsp(s, state);
      break;
    case 'copy':
      if (s.rsp !== undefined) ownFrames(s, state).set(e.register, s.rsp - e.offset);
      break;
    case 'store': {
      const slot = e.base === 'rsp' ? (s.rsp === undefined ? undefined : e.offset - s.rsp) : s.frames.has(e.base) ? e.offset - s.frames.get(e.base)! : undefined;
      if (slot !== undefined && isSaved(e.register, kind) && s.pristine.has(e.register) && !s.saved.has(e.register)) ownSaved(s, state).set(e.register, slot);
      break;
    }
    case 'unknown':
      s.rsp = undefined;
      break;
    case 'none':
      break;
  }
  if (ins.flow.kind === 'call') {
    // The callee may change every volatile register (Microsoft x64 convention).
    for (const r of CALL_CLOBBERED) {
      s.pristine.delete(r);
      if (isGpr(r)) deleteFrame(s, state, r);
    }
  }
  return s;
}

function popInto(s: FlowState, from: FlowState, register: Gpr | undefined): void {
  if (register) {
    deleteFrame(s, from, register);
    // Popping a register's own save slot restores the caller's value.
    const restores = s.rsp !== undefined && s.saved.get(register) === -s.rsp;
    if (restores) {
      deleteSaved(s, from, register);
      s.pristine.add(register);
    } else {
      s.pristine.delete(register);
    }
  }
  if (s.rsp !== undefined) s.rsp -= 8;
  dropBelowRsp(s, from);
}

/** Meet of two states at a join; returns undefined when `into` already covers `from`. */
export function merge(into: FlowState, from: FlowState): { state: FlowState; conflict: boolean } | undefined {
  // Most joins change nothing: find out before copying.
  if (into === from) return undefined;
  const rspChanges = into.rsp !== from.rsp && into.rsp !== undefined;
  let changes = rspChanges;
  if (!changes) for (const [r, v] of into.frames) if (from.frames.get(r) !== v) changes = true;
  if (!changes) for (const [r, v] of into.saved) if (from.saved.get(r) !== v) changes = true;
  if (!changes && !from.pristine.covers(into.pristine)) changes = true;
  if (!changes) return undefined;
  // Maps that lose no entry are shared with `into` (states are never changed once made).
  const out: FlowState = { rsp: into.rsp, frames: agreedEntries(into.frames, from.frames), saved: agreedEntries(into.saved, from.saved), pristine: into.pristine };
  const conflict = rspChanges && from.rsp !== undefined;
  if (rspChanges) out.rsp = undefined;
  out.pristine = into.pristine.intersection(from.pristine);
  return { state: out, conflict };
}

/**
 * Whether `ruleOf` gives equal rules for `a` and `b`: it reads rsp, the saved
 * slots, the frame registers only when rsp is unknown, and the pristine
 * registers only for an interrupt frame.
 */
export function sameRuleInputs(a: FlowState, b: FlowState, kind: FrameKind): boolean {
  if (a.rsp !== b.rsp || !sameEntries(a.saved, b.saved)) return false;
  // In order: among frame registers of one rank, the first inserted becomes the anchor.
  if (a.rsp === undefined && !sameEntriesInOrder(a.frames, b.frames)) return false;
  return kind !== 'interrupt' || (a.pristine.covers(b.pristine) && b.pristine.covers(a.pristine));
}

function sameEntries<K>(a: Map<K, number>, b: Map<K, number>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function sameEntriesInOrder<K>(a: Map<K, number>, b: Map<K, number>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  const other = b.entries();
  for (const [k, v] of a) {
    const [k2, v2] = other.next().value as [K, number];
    if (k !== k2 || v !== v2) return false;
  }
  return true;
}

/** The entries of `into` that `from` has too, in `into`'s order: `into` itself when that is all of them. */
function agreedEntries<K>(into: Map<K, number>, from: Map<K, number>): Map<K, number> {
  let all = true;
  for (const [k, v] of into) if (from.get(k) !== v) all = false;
  if (all) return into;
  const out = new Map<K, number>();
  for (const [k, v] of into) if (from.get(k) === v) out.set(k, v);
  return out;
}

export function ruleOf(s: FlowState, kind: FrameKind): FrameRule | undefined {
  let anchor: { register: Gpr; offset: number } | undefined;
  if (s.rsp !== undefined) anchor = { register: 'rsp', offset: s.rsp };
  else {
    // Prefer the conventional frame pointer, then any callee-saved register (they survive calls).
    const candidates = [...s.frames.keys()].sort((a, b) => rank(a) - rank(b));
    const reg = candidates[0];
    if (reg) anchor = { register: reg, offset: s.frames.get(reg)! };
  }
  if (!anchor) return undefined;
  const saved = [...s.saved].map(([register, offset]) => ({ register, base: 'anchor' as const, offset }));
  // Interrupted code loses no register: what the entry code has not changed is still its own.
  const carried = kind === 'interrupt' ? [...s.pristine].filter((r) => !isNonvolatile(r)) : undefined;
  return makeRule(kind, anchor, saved, carried);
}

function rank(r: Gpr): number {
  return r === 'rbp' ? 0 : VOLATILE_GPRS.includes(r) ? 2 : 1;
}

/**
 * The state before an instruction no path reached, from what follows it: an
 * exit (ret, a jump out of the function) has the anchor right above rsp and
 * every register restored; otherwise a successor's state with this
 * instruction's stack effect undone.
 */
export function backwardState(
  rva: number,
  ins: DecodedInstruction,
  kind: FrameKind,
  successors: (rva: number, ins: DecodedInstruction) => number[],
  states: StatesByRva,
  inside: (target: bigint) => number | undefined,
): FlowState | undefined {
  const tailJump = (ins.flow.kind === 'jump' && inside(ins.flow.target) === undefined) || (ins.flow.kind === 'indirectJump' && ins.indirectJumpForm !== 'other');
  if (kind === 'call' && (ins.isNearReturn || tailJump)) return entryState({ kind: 'call' });
  // ud2 from inline assembly: the compiler laid out the code after it as if it continued.
  const next = ins.flow.kind === 'stop' ? [rva + ins.length] : successors(rva, ins);
  const known = next.map((r) => states.get(r)).find((s) => s !== undefined);
  if (!known || known.rsp === undefined) return undefined;
  const s = cloneState(known);
  const e = ins.stack;
  switch (e.kind) {
    case 'push':
      s.rsp = known.rsp - 8;
      if (e.register && s.saved.get(e.register) === -known.rsp) s.saved.delete(e.register);
      break;
    case 'pop':
      s.rsp = known.rsp + 8;
      // A callee-saved register popped on the way out was saved in that slot.
      if (e.register && !VOLATILE_GPRS.includes(e.register)) {
        s.saved.set(e.register, -s.rsp);
        s.pristine.delete(e.register);
      }
      break;
    case 'adjust':
      s.rsp = known.rsp + e.delta;
      break;
    case 'none':
    case 'store':
    case 'copy':
      break;
    default:
      return undefined;
  }
  for (const w of ins.writes) {
    if (isGpr(w)) s.frames.delete(w);
    s.pristine.delete(w);
  }
  return s;
}
