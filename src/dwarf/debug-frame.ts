/**
 * .debug_frame from the model's call-frame rows: one CIE for the x86-64
 * convention at a call (CFA = rsp + 8, return address at CFA - 8, code
 * alignment 1, data alignment -8, return address column 16), then one FDE per
 * function whose instructions move from row to row, saying only what changes.
 * After an epilog in the middle of a function the body's rule is stated again
 * rather than brought back with DW_CFA_remember_state/restore_state: LLVM's
 * tools up to version 14 do not restore the CFA on restore_state, and the few
 * bytes saved are not worth a consumer reading a different table than gdb.
 * Addresses are absolute (load base + RVA).
 *
 * Code entered by an interrupt gets its FDEs under a second CIE with the GNU
 * augmentation "S" (signal frame): gdb then takes the interrupted frame's pc as
 * the exact instruction, not as a return address it would look up at pc - 1.
 *
 *   CIE: length, id 0xffffffff, version 4, augmentation "", address size 8,
 *        segment selector size 0, code align, data align, RA column, instructions
 *   FDE: length, CIE offset, initial location (8), address range (8), instructions
 */
import type { ModelCfaRule, ModelFrameFunction, ModelFrameRow, ModelSavedRegister, ModelSlot } from '../symbols/debug-model-frames';
import { JosgdbError } from '../common/errors';
import { DW_OP } from './constants';
import { DwarfExpr } from './expr';
import { SectionWriter } from './section-writer';
import { absoluteAddress } from './absolute-address';

export const DW_CFA = {
  advance_loc: 0x40,
  offset: 0x80,
  restore: 0xc0,
  nop: 0x00,
  advance_loc1: 0x02,
  advance_loc2: 0x03,
  advance_loc4: 0x04,
  offset_extended: 0x05,
  restore_extended: 0x06,
  undefined: 0x07,
  def_cfa: 0x0c,
  def_cfa_register: 0x0d,
  def_cfa_offset: 0x0e,
  def_cfa_expression: 0x0f,
  expression: 0x10,
  offset_extended_sf: 0x11,
  def_cfa_sf: 0x12,
  def_cfa_offset_sf: 0x13,
} as const;

const RSP = 7;
const RETURN_ADDRESS = 16;
const DATA_ALIGNMENT = -8;
const CIE_ID = 0xffffffff;
const CIE_VERSION = 4;

/** A register's rule between rows: a slot, or undefined-value (the caller cannot be found). */
type RegisterRule = ModelSlot | 'undefined';

interface CfiState {
  cfa: ModelCfaRule;
  /** Registers with a rule other than the CIE's initial one. */
  registers: Map<number, RegisterRule>;
}

const INITIAL: CfiState = { cfa: { register: RSP, offset: 8, deref: false }, registers: new Map() };

/** The state a row asks for. */
function stateOf(row: ModelFrameRow, before: CfiState): CfiState {
  const registers = new Map<number, RegisterRule>();
  for (const s of row.saved) {
    // The CIE already says "return address at CFA - 8".
    if (s.register === RETURN_ADDRESS && 'cfaOffset' in s.slot && s.slot.cfaOffset === -8) continue;
    registers.set(s.register, s.slot);
  }
  if (!row.cfa) {
    // Keep the CFA as it was; an undefined return address ends gdb's unwinding here.
    registers.set(RETURN_ADDRESS, 'undefined');
    return { cfa: { ...before.cfa }, registers };
  }
  return { cfa: { ...row.cfa }, registers };
}

function sameRule(a: RegisterRule | undefined, b: RegisterRule | undefined): boolean {
  // Equal rows share their slots (frame-cfi interns them): identity settles most comparisons.
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

function cfaExpression(cfa: ModelCfaRule): Uint8Array {
  const e = new DwarfExpr().breg(cfa.register, cfa.offset);
  if (cfa.deref) e.deref();
  return e.bytes();
}

/** The instructions that take `from` to `to`. */
function transition(w: SectionWriter, from: CfiState, to: CfiState): void {
  const a = from.cfa;
  const b = to.cfa;
  if (b.deref) {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      const expr = cfaExpression(b);
      w.u8(DW_CFA.def_cfa_expression).uleb(expr.length).bytes(expr);
    }
  } else if (a.deref || (a.register !== b.register && a.offset !== b.offset)) {
    if (b.offset >= 0) w.u8(DW_CFA.def_cfa).uleb(b.register).uleb(b.offset);
    else w.u8(DW_CFA.def_cfa_sf).uleb(b.register).sleb(b.offset / DATA_ALIGNMENT);
  } else if (a.register !== b.register) {
    w.u8(DW_CFA.def_cfa_register).uleb(b.register);
  } else if (a.offset !== b.offset) {
    if (b.offset >= 0) w.u8(DW_CFA.def_cfa_offset).uleb(b.offset);
    else w.u8(DW_CFA.def_cfa_offset_sf).sleb(b.offset / DATA_ALIGNMENT);
  }
  const registers = [...new Set([...from.registers.keys(), ...to.registers.keys()])].sort((x, y) => x - y);
  for (const r of registers) {
    const want = to.registers.get(r);
    if (sameRule(from.registers.get(r), want)) continue;
    if (want === undefined) {
      if (r < 64) w.u8(DW_CFA.restore | r);
      else w.u8(DW_CFA.restore_extended).uleb(r);
    } else if (want === 'undefined') {
      w.u8(DW_CFA.undefined).uleb(r);
    } else if ('cfaOffset' in want && want.cfaOffset % DATA_ALIGNMENT === 0) {
      const factored = want.cfaOffset / DATA_ALIGNMENT;
      if (factored >= 0 && r < 64) w.u8(DW_CFA.offset | r).uleb(factored);
      else if (factored >= 0) w.u8(DW_CFA.offset_extended).uleb(r).uleb(factored);
      else w.u8(DW_CFA.offset_extended_sf).uleb(r).sleb(factored);
    } else {
      // The CFA is on the expression stack when it starts: add to it, or ignore it for a register base.
      const expr =
        'cfaOffset' in want
          ? Uint8Array.from([DW_OP.consts, ...slebBytes(want.cfaOffset), DW_OP_PLUS])
          : new DwarfExpr().breg(want.register, want.offset).bytes();
      w.u8(DW_CFA.expression).uleb(r).uleb(expr.length).bytes(expr);
    }
  }
}

const DW_OP_PLUS = 0x22;

function slebBytes(v: number): number[] {
  const w = new SectionWriter('sleb', 16);
  w.sleb(v);
  return [...w.finish()];
}

function advance(w: SectionWriter, delta: number): void {
  if (delta < 0x40) w.u8(DW_CFA.advance_loc | delta);
  else if (delta <= 0xff) w.u8(DW_CFA.advance_loc1).u8(delta);
  else if (delta <= 0xffff) w.u8(DW_CFA.advance_loc2).u16(delta);
  else w.u8(DW_CFA.advance_loc4).u32(delta);
}

function writeCie(w: SectionWriter, augmentation: '' | 'S'): number {
  const offset = w.offset;
  const length = w.beginUnitLength();
  w.u32(CIE_ID).u8(CIE_VERSION).cstring(augmentation).u8(8).u8(0);
  w.uleb(1).sleb(DATA_ALIGNMENT).uleb(RETURN_ADDRESS);
  w.u8(DW_CFA.def_cfa).uleb(RSP).uleb(8);
  w.u8(DW_CFA.offset | RETURN_ADDRESS).uleb(1);
  w.align(8, DW_CFA.nop);
  w.endUnitLength(length);
  return offset;
}

function checkFunction(fn: ModelFrameFunction): void {
  const bad = (why: string): never => {
    throw new JosgdbError('BAD_ARGUMENT', `.debug_frame: function at RVA 0x${fn.startRva.toString(16)}: ${why}`);
  };
  if (fn.endRva <= fn.startRva) bad('is empty');
  if (fn.rows.length === 0 || fn.rows[0]!.rva !== fn.startRva) bad('the first row must be at the start');
  fn.rows.forEach((row, i) => {
    if (i > 0 && row.rva <= fn.rows[i - 1]!.rva) bad('rows are not in address order');
    if (row.rva >= fn.endRva) bad(`row at 0x${row.rva.toString(16)} lies past the end`);
  });
}

/**
 * States and the instructions between them, worked out once per distinct
 * rule. An image's tens of thousands of rows share a few hundred CFA rules and
 * saved-register lists (frame-cfi.ts interns them), so a state is found by
 * those objects' identity, and the bytes from one state to another are the
 * same wherever that step occurs. States are only read, so sharing them is safe.
 */
class FrameStates {
  private readonly states = new Map<readonly ModelSavedRegister[], Map<ModelCfaRule, CfiState>>();
  private readonly steps = new Map<CfiState, Map<CfiState, Buffer>>();

  stateOf(row: ModelFrameRow, before: CfiState): CfiState {
    // Without a CFA rule the state keeps the one before: nothing to share.
    if (!row.cfa) return stateOf(row, before);
    let byCfa = this.states.get(row.saved);
    if (!byCfa) {
      byCfa = new Map();
      this.states.set(row.saved, byCfa);
    }
    let state = byCfa.get(row.cfa);
    if (!state) {
      state = stateOf(row, before);
      byCfa.set(row.cfa, state);
    }
    return state;
  }

  /** transition(from, to)'s bytes. */
  step(from: CfiState, to: CfiState): Buffer {
    let byTarget = this.steps.get(from);
    if (!byTarget) {
      byTarget = new Map();
      this.steps.set(from, byTarget);
    }
    let bytes = byTarget.get(to);
    if (!bytes) {
      const w = new SectionWriter('CFA instructions', 32);
      transition(w, from, to);
      bytes = w.finish();
      byTarget.set(to, bytes);
    }
    return bytes;
  }
}

function writeFde(w: SectionWriter, fn: ModelFrameFunction, loadBase: bigint, cie: number, shared: FrameStates): void {
  checkFunction(fn);
  const length = w.beginUnitLength();
  w.u32(cie).u64(absoluteAddress(loadBase, fn.startRva)).u64(fn.endRva - fn.startRva);
  // States are only read (transition changes neither), so each can be the next one's "from" as it is.
  let state = INITIAL;
  for (let i = 0; i < fn.rows.length; i++) {
    const target = shared.stateOf(fn.rows[i]!, state);
    if (i > 0) advance(w, fn.rows[i]!.rva - fn.rows[i - 1]!.rva);
    w.bytes(shared.step(state, target));
    state = target;
  }
  w.align(8, DW_CFA.nop);
  w.endUnitLength(length);
}

/** The .debug_frame section for `functions` (empty when there are none). */
export function writeDebugFrame(functions: readonly ModelFrameFunction[], loadBase: bigint): Buffer {
  const w = new SectionWriter('.debug_frame', 64 + functions.length * 64);
  if (functions.length === 0) return w.finish();
  const callCie = writeCie(w, '');
  const interruptCie = functions.some((f) => f.interruptEntry) ? writeCie(w, 'S') : callCie;
  const shared = new FrameStates();
  for (const fn of functions) writeFde(w, fn, loadBase, fn.interruptEntry ? interruptCie : callCie, shared);
  return w.finish();
}
