/**
 * Call-frame information for gdb: the rule at every instruction of every
 * function of an image, as DebugModel frame rows (which dwarf/debug-frame.ts
 * encodes as .debug_frame). The rows come from the same places the walker's
 * rules do, so gdb's `bt` and josgdb's `monitor bt` agree: unwind info where
 * .pdata has an entry, prologue analysis for the other functions with known
 * bounds, and the interrupt entry's machine frame.
 */
import type { ModelFrameFunction, ModelFrameRow, ModelSavedRegister, ModelSlot } from '../symbols/debug-model-frames';
import type { FunctionBounds } from './code-lookup';
import { FrameRule, MACHINE_FRAME } from './frame-rule';
import type { PeUnwindImage } from './pe-unwind-image';
import { FunctionAnalysis, analyzeFunction } from './prologue-analysis';
import { RegisterName, dwarfRegister } from './registers';
import { frameRuleFromUnwindInfo } from './unwind-info-rule';

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

function sortSaved(saved: ModelSavedRegister[]): ModelSavedRegister[] {
  return saved.sort((a, b) => a.register - b.register);
}

function slotsEqual(a: ModelSlot, b: ModelSlot): boolean {
  if ('cfaOffset' in a) return 'cfaOffset' in b && a.cfaOffset === b.cfaOffset;
  return !('cfaOffset' in b) && a.register === b.register && a.offset === b.offset;
}

function rowsEqual(a: ModelFrameRow, b: ModelFrameRow): boolean {
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
    const i = this.lastStartingBefore(start + 1) + 1;
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
  }

  /** Index of the last range whose start is below `limit`; -1 when none. */
  private lastStartingBefore(limit: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! < limit) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}

/** Rows for the instructions of one function, consecutive equal rules merged. */
function compress(rows: ModelFrameRow[]): ModelFrameRow[] {
  const out: ModelFrameRow[] = [];
  for (const row of rows) if (out.length === 0 || !rowsEqual(out[out.length - 1]!, row)) out.push(row);
  return out;
}

/**
 * Every function of the image that has a rule source: one ModelFrameFunction
 * each, rows covering each instruction (prologue steps, body, each epilog).
 */
export function buildFrameFunctions(image: PeUnwindImage): ModelFrameFunction[] {
  const out: ModelFrameFunction[] = [];
  const covered = new CoveredRanges();
  const overlaps = (start: number, end: number): boolean => covered.overlaps(start, end);

  for (const entry of image.interruptEntries) {
    const bytes = image.readCode(entry.startRva, entry.endRva - entry.startRva);
    if (!bytes) continue;
    const analysis = analyzeFunction({ startRva: entry.startRva, endRva: entry.endRva, bytes, entry: entry.entry });
    out.push({ ...fromAnalysis(analysis, 'machine-frame'), interruptEntry: true });
    covered.add(entry.startRva, entry.endRva);
  }

  for (const rf of image.runtimeFunctions) {
    if (overlaps(rf.beginRva, rf.endRva)) continue;
    const chain = image.chain(rf);
    const bounds: FunctionBounds = { startRva: rf.beginRva, endRva: rf.endRva };
    const analysis = image.analysis(bounds, { cache: false });
    if (chain instanceof Error || analysis instanceof Error) continue;
    const readCode = (rva: number, length: number): Uint8Array | undefined => image.readCode(rva, length);
    const rows = analysis.instructions.map((ins) => {
      try {
        return frameRow(ins.rva, frameRuleFromUnwindInfo(chain, ins.rva, readCode).rule);
      } catch {
        return frameRow(ins.rva, undefined);
      }
    });
    const interruptEntry = chain.infos.some((i) => i.operations.some((op) => op.op === 'pushMachframe'));
    out.push({ startRva: rf.beginRva, endRva: rf.endRva, rows: startAt(rf.beginRva, compress(rows)), source: 'unwind-info', ...(interruptEntry ? { interruptEntry } : {}) });
    covered.add(rf.beginRva, rf.endRva);
  }

  for (const fn of image.knownFunctions) {
    if (overlaps(fn.startRva, fn.endRva)) continue;
    const analysis = image.analysis(fn, { cache: false });
    if (analysis instanceof Error) continue;
    out.push(fromAnalysis(analysis, 'prologue-analysis'));
    covered.add(fn.startRva, fn.endRva);
  }
  return out.sort((a, b) => a.startRva - b.startRva);
}

function fromAnalysis(analysis: FunctionAnalysis, source: ModelFrameFunction['source']): ModelFrameFunction {
  const rows = compress(analysis.instructions.map((i) => frameRow(i.rva, i.rule)));
  return { startRva: analysis.startRva, endRva: analysis.endRva, rows: startAt(analysis.startRva, rows), source };
}

/** The first row must be at the function's start (it is, unless the code there did not decode). */
function startAt(start: number, rows: ModelFrameRow[]): ModelFrameRow[] {
  if (rows.length === 0) return [{ rva: start, cfa: undefined, saved: [] }];
  if (rows[0]!.rva !== start) rows[0] = { ...rows[0]!, rva: start };
  return rows;
}
