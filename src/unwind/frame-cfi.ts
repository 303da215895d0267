/**
 * Call-frame information for gdb: the rule at every instruction of every
 * function of an image, as DebugModel frame rows (which dwarf/debug-frame.ts
 * encodes as .debug_frame). The rows come from the same places the walker's
 * rules do, so gdb's `bt` and josgdb's `monitor bt` agree: unwind info where
 * .pdata has an entry, the ABI's leaf rule for functions without one in a
 * compile unit that has unwind info, prologue analysis for the other functions
 * with known bounds, and the interrupt entry's machine frame.
 */
import type { ModelCfaRule, ModelFrameFunction, ModelFrameRow, ModelSavedRegister, ModelSlot } from '../symbols/debug-model-frames';
import { ENTRY_RULE, FrameRule, MACHINE_FRAME } from './frame-rule';
import type { PeUnwindImage } from './pe-unwind-image';
import { FunctionAnalysis, analyzeFunction } from './prologue-analysis';
import { RegisterName, dwarfRegister } from './registers';
import { frameRuleFromUnwindInfo } from './unwind-info-rule';
import { InstructionShapes } from './x86';
import { FunctionCode } from './function-code';
import type { RuntimeFunction } from '../symbols/pe/pdata';
import type { UnwindChain } from './unwind-info';
import { partitionPoint } from '../common/sorted';

/** A FrameRule as a model row (DWARF register numbers, CFA-relative where DWARF can say so). */
export function frameRow(rva: number, rule: FrameRule | undefined): ModelFrameRow {
  if (!rule) return { rva, cfa: undefined, saved: [] };
  const base = dwarfRegister(rule.anchor.register);
  const saved: ModelSavedRegister[] = [];
  const add = (register: RegisterName, slot: ModelSlot): void => {
    saved.push({ register: dwarfRegister(register), slot });
  };
  if (rule.kind === 'call') {
    for (const s of rule.saved) {
      add(s.register, s.base === 'anchor' ? { cfaOffset: s.offset } : { register: dwarfRegister(s.base), offset: s.offset });
    }
    return { rva, cfa: { register: base, offset: rule.anchor.offset, deref: false }, saved: sortSaved(saved) };
  }
  // Interrupt frame: the CFA is the interrupted rsp the CPU saved; the rest is relative to the machine frame.
  const at = (offset: number): ModelSlot => ({ register: base, offset: rule.anchor.offset + offset });
  add('rip', at(MACHINE_FRAME.rip));
  add('cs', at(MACHINE_FRAME.cs));
  add('rflags', at(MACHINE_FRAME.rflags));
  add('ss', at(MACHINE_FRAME.ss));
  for (const s of rule.saved) add(s.register, s.base === 'anchor' ? at(s.offset) : { register: dwarfRegister(s.base), offset: s.offset });
  return { rva, cfa: { register: base, offset: rule.anchor.offset + MACHINE_FRAME.rsp, deref: true }, saved: sortSaved(saved) };
}

/** What equal rows share: the CFA rule and the saved-register list. */
type RowParts = Pick<ModelFrameRow, 'cfa' | 'saved'>;

/**
 * Shares the CFA rule and saved-register list of equal rows: a whole image
 * has tens of thousands of rows but a few hundred distinct rules, and each
 * row's own copies were most of the frame rows' memory. A rule object (the
 * sources share one per state: a chain's body rule, the entry rule) is
 * translated once. Rows are read-only once built, so sharing is invisible to
 * their readers.
 */
class RowInterner {
  private readonly cfas = new Map<string, ModelCfaRule>();
  private readonly saveds = new Map<string, ModelSavedRegister[]>();
  /** Weak: a prologue step's rule is made for one instruction and dies with it. */
  private readonly byRule = new WeakMap<FrameRule, RowParts>();
  private noRule: RowParts | undefined;

  /** The row for `rule` at `rva`, its parts shared with every equal row. */
  row(rva: number, rule: FrameRule | undefined): ModelFrameRow {
    let parts = rule ? this.byRule.get(rule) : this.noRule;
    if (!parts) {
      const row = frameRow(rva, rule);
      const cfa = row.cfa && this.shared(this.cfas, `${row.cfa.register},${row.cfa.offset},${row.cfa.deref}`, row.cfa);
      const savedKey = row.saved.map((s) => ('cfaOffset' in s.slot ? `${s.register}@${s.slot.cfaOffset}` : `${s.register}@${s.slot.register}+${s.slot.offset}`)).join(' ');
      parts = { cfa, saved: this.shared(this.saveds, savedKey, row.saved) };
      if (rule) this.byRule.set(rule, parts);
      else this.noRule = parts;
    }
    return { rva, cfa: parts.cfa, saved: parts.saved };
  }

  private shared<T>(map: Map<string, T>, key: string, value: T): T {
    const known = map.get(key);
    if (known !== undefined) return known;
    map.set(key, value);
    return value;
  }
}

function sortSaved(saved: ModelSavedRegister[]): ModelSavedRegister[] {
  return saved.sort((a, b) => a.register - b.register);
}

function slotsEqual(a: ModelSlot, b: ModelSlot): boolean {
  if ('cfaOffset' in a) return 'cfaOffset' in b && a.cfaOffset === b.cfaOffset;
  return !('cfaOffset' in b) && a.register === b.register && a.offset === b.offset;
}

function rowsEqual(a: ModelFrameRow, b: ModelFrameRow): boolean {
  // Interned parts: the same objects for equal rules, whatever rule object made them.
  if (a.cfa === b.cfa && a.saved === b.saved) return true;
  if (a.cfa === undefined || b.cfa === undefined) {
    if (a.cfa !== b.cfa) return false;
  } else if (a.cfa.register !== b.cfa.register || a.cfa.offset !== b.cfa.offset || a.cfa.deref !== b.cfa.deref) {
    return false;
  }
  if (a.saved.length !== b.saved.length) return false;
  return a.saved.every((s, i) => s.register === b.saved[i]!.register && slotsEqual(s.slot, b.saved[i]!.slot));
}

/**
 * Function ranges already given rows, disjoint by construction (a range is
 * added only when it overlaps none), sorted by start: an overlap test is one
 * binary search, not a scan of every function so far.
 */
class CoveredRanges {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  overlaps(start: number, end: number): boolean {
    const i = this.lastStartingBefore(end);
    return i >= 0 && this.ends[i]! > start;
  }

  add(start: number, end: number): void {
    const n = this.starts.length;
    if (n === 0 || this.starts[n - 1]! <= start) {
      this.starts.push(start);
      this.ends.push(end);
      return;
    }
    const i = this.lastStartingBefore(start + 1) + 1;
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
  }

  /** Index of the last range whose start is below `limit`; -1 when none. */
  private lastStartingBefore(limit: number): number {
    return partitionPoint(this.starts, (start) => start < limit) - 1;
  }
}

/**
 * Every function of the image that has a rule source: one ModelFrameFunction
 * each, rows covering each instruction (prologue steps, body, each epilog).
 */
export function buildFrameFunctions(image: PeUnwindImage): ModelFrameFunction[] {
  const out: ModelFrameFunction[] = [];
  // Each source's ranges come sorted by start, so each set grows at its end;
  // one set for all would insert known functions in between .pdata's ranges.
  const covered = new CoveredRanges();
  const coveredKnown = new CoveredRanges();
  const overlaps = (start: number, end: number): boolean => covered.overlaps(start, end) || coveredKnown.overlaps(start, end);
  const shapes = new InstructionShapes();
  // Equal rules share their parts; `slice` leaves each rows array without the slack pushing grew.
  const interner = new RowInterner();
  const add = (fn: ModelFrameFunction): void => {
    fn.rows = fn.rows.slice();
    out.push(fn);
  };

  for (const entry of image.interruptEntries) {
    const bytes = image.readCode(entry.startRva, entry.endRva - entry.startRva);
    if (!bytes) continue;
    const analysis = analyzeFunction({ startRva: entry.startRva, endRva: entry.endRva, bytes, entry: entry.entry });
    add({ ...fromAnalysis(analysis, 'machine-frame', interner), interruptEntry: true });
    covered.add(entry.startRva, entry.endRva);
  }

  for (const rf of image.runtimeFunctions) {
    if (overlaps(rf.beginRva, rf.endRva)) continue;
    const chain = image.chain(rf);
    if (chain instanceof Error) continue;
    const rows = unwindInfoRows(image, rf, chain, shapes, interner);
    if (!rows) continue;
    const interruptEntry = chain.infos.some((i) => i.operations.some((op) => op.op === 'pushMachframe'));
    add({ startRva: rf.beginRva, endRva: rf.endRva, rows: startAt(rf.beginRva, rows), source: 'unwind-info', ...(interruptEntry ? { interruptEntry } : {}) });
    covered.add(rf.beginRva, rf.endRva);
  }

  for (const fn of image.knownFunctions) {
    if (overlaps(fn.startRva, fn.endRva)) continue;
    if (fn.unitHasUnwindInfo) {
      // Most functions of an optimised build are such leaves: no decoding at all.
      out.push({ startRva: fn.startRva, endRva: fn.endRva, rows: [interner.row(fn.startRva, ENTRY_RULE)], source: 'abi-leaf' });
      coveredKnown.add(fn.startRva, fn.endRva);
      continue;
    }
    const analysis = image.analysis(fn, { cache: false, shapes });
    if (analysis instanceof Error) continue;
    add(fromAnalysis(analysis, 'prologue-analysis', interner));
    coveredKnown.add(fn.startRva, fn.endRva);
  }
  return out.sort((a, b) => a.startRva - b.startRva);
}

/**
 * The rows of a function with unwind info: the rule at each of its
 * instructions (the same boundaries prologue analysis would find, without its
 * dataflow), consecutive equal rows merged. Undefined when its code cannot be read.
 */
function unwindInfoRows(image: PeUnwindImage, rf: RuntimeFunction, chain: UnwindChain, shapes: InstructionShapes, interner: RowInterner): ModelFrameRow[] | undefined {
  let bytes: Uint8Array;
  try {
    bytes = image.readCodeOrThrow(rf.beginRva, rf.endRva - rf.beginRva);
  } catch {
    return undefined;
  }
  const fn = new FunctionCode(rf.beginRva, bytes, rf.endRva, shapes);
  try {
    const readCode = (rva: number, length: number): Uint8Array | undefined => image.readCode(rva, length);
    const functionCode = { code: fn.code, startRva: rf.beginRva };
    const rows: ModelFrameRow[] = [];
    let previous: FrameRule | undefined | null = null;
    for (const rva of fn.instructionBoundaries()) {
      let rule: FrameRule | undefined;
      try {
        rule = frameRuleFromUnwindInfo(chain, rva, readCode, functionCode).rule;
      } catch {
        rule = undefined;
      }
      // The same rule object (the body's one rule) makes an equal row: nothing to compare.
      if (rule === previous) continue;
      previous = rule;
      const row = interner.row(rva, rule);
      if (rows.length === 0 || !rowsEqual(rows[rows.length - 1]!, row)) rows.push(row);
    }
    return rows;
  } finally {
    fn.free();
  }
}

function fromAnalysis(analysis: FunctionAnalysis, source: ModelFrameFunction['source'], interner: RowInterner): ModelFrameFunction {
  const rows: ModelFrameRow[] = [];
  let previous: FrameRule | undefined | null = null;
  for (const i of analysis.instructions) {
    // The same rule object (instructions sharing a state) makes an equal row: nothing to compare.
    if (i.rule === previous) continue;
    previous = i.rule;
    const row = interner.row(i.rva, i.rule);
    if (rows.length === 0 || !rowsEqual(rows[rows.length - 1]!, row)) rows.push(row);
  }
  return { startRva: analysis.startRva, endRva: analysis.endRva, rows: startAt(analysis.startRva, rows), source };
}

/** The first row must be at the function's start (it is, unless the code there did not decode). */
function startAt(start: number, rows: ModelFrameRow[]): ModelFrameRow[] {
  if (rows.length === 0) return [{ rva: start, cfa: undefined, saved: [] }];
  if (rows[0]!.rva !== start) rows[0] = { ...rows[0]!, rva: start };
  return rows;
}
