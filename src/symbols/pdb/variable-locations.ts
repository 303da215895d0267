/**
 * Where a variable is, from its CodeView records, as a format-free
 * ModelVariableLocation: which register or which stack slot over which
 * addresses.
 *
 * An S_LOCAL is followed by S_DEFRANGE_* records, each saying "over these
 * addresses (minus these gaps), the variable, or the part of it at this
 * offset, is here". They become an address-sorted list of ranges, split
 * wherever any record starts or stops, so a struct held in two registers
 * over different spans becomes pieces that are each present only where the
 * PDB says so. Where records disagree about the same bytes, or name a
 * register DWARF cannot (AH), those bytes are unavailable: a debugger then
 * prints `<optimized out>`, never a value read from the wrong place.
 *
 * The older whole-function forms (S_REGREL32, S_BPREL32, S_REGISTER) carry
 * no ranges; they hold once the frame is set up, which the procedure's
 * debug start/end offsets say when the compiler filled them in (MSVC does,
 * clang writes 0).
 */
import type {
  ModelLocation,
  ModelLocationPiece,
  ModelLocationRange,
  ModelLocationValue,
  ModelVariableLocation,
} from '../debug-model-types';
import { CV_AMD64_RBP, cvRegister } from './cv-registers';
import type {
  AddressGap,
  AddressRange,
  BpRelSymbol,
  CvSymbol,
  DefRangeFramePointerRelFullScopeSymbol,
  DefRangeFramePointerRelSymbol,
  DefRangeRegisterRelSymbol,
  DefRangeRegisterSymbol,
  DefRangeSubfieldRegisterSymbol,
  LocalSymbol,
  RegisterSymbol,
  RegRelSymbol,
} from './symbol-records';

export type DefRangeSymbol =
  | DefRangeRegisterSymbol
  | DefRangeFramePointerRelSymbol
  | DefRangeFramePointerRelFullScopeSymbol
  | DefRangeSubfieldRegisterSymbol
  | DefRangeRegisterRelSymbol;

export function isDefRange(s: CvSymbol): s is DefRangeSymbol {
  switch (s.kind) {
    case 'S_DEFRANGE_REGISTER':
    case 'S_DEFRANGE_FRAMEPOINTER_REL':
    case 'S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE':
    case 'S_DEFRANGE_SUBFIELD_REGISTER':
    case 'S_DEFRANGE_REGISTER_REL':
      return true;
    default:
      return false;
  }
}

/** S_FRAMEPROC's choice of the registers locals and parameters are addressed from (CodeView numbers). */
export interface FramePointers {
  local: number | undefined;
  param: number | undefined;
}

export interface RvaInterval {
  startRva: number;
  /** Exclusive. */
  endRva: number;
}

export interface LocationContext {
  rvaOf(segment: number, offset: number): number | undefined;
  /** From the procedure's S_FRAMEPROC; undefined when it has none. */
  frame: FramePointers | undefined;
  /** The code of the scope the variable is declared in: what "full scope" means. */
  scope: RvaInterval;
  /** Where the frame is set up, for the range-less record kinds; undefined when the PDB does not say. */
  frameValid: RvaInterval | undefined;
  /** The variable's size in bytes, to lay out pieces and to check register widths; undefined when unknown. */
  byteSize: number | undefined;
}

const OPTIMIZED_OUT: ModelVariableLocation = { kind: 'optimized-out' };

/** A value in a CodeView register, with that register's width; undefined where DWARF cannot name it. */
interface Placed {
  value: ModelLocationValue;
  /** Bytes available at the value: a register's width; unbounded for memory. */
  width: number;
}

/**
 * Location values are shared between the variables that have the same one: a
 * large image has tens of thousands of variables in a few hundred distinct
 * places (registers, frame offsets). They are frozen, since model data is
 * read-only once built and one value now stands for many variables.
 */
const registerValues = new Map<number, ModelLocationValue>();
const memoryValues = new Map<string, ModelLocationValue>();

function registerValue(register: number): ModelLocationValue {
  let v = registerValues.get(register);
  if (!v) registerValues.set(register, (v = Object.freeze({ kind: 'register', register })));
  return v;
}

function memoryValue(base: number, offset: number): ModelLocationValue {
  const key = `${base},${offset}`;
  let v = memoryValues.get(key);
  if (!v) memoryValues.set(key, (v = Object.freeze({ kind: 'memory', base, offset })));
  return v;
}

function inRegister(register: number): Placed | undefined {
  const r = cvRegister(register);
  return r?.dwarf === undefined ? undefined : { value: registerValue(r.dwarf), width: r.byteSize };
}

function inMemory(baseRegister: number | undefined, offset: number): Placed | undefined {
  if (baseRegister === undefined) return undefined;
  const r = cvRegister(baseRegister);
  return r?.dwarf === undefined ? undefined : { value: memoryValue(r.dwarf, offset), width: Number.POSITIVE_INFINITY };
}

/** What one record says: the variable (or its part at `offset`) is at `placed` over `intervals`. */
interface Fact {
  intervals: RvaInterval[];
  /** Undefined: the whole variable. */
  offset: number | undefined;
  placed: Placed | undefined;
}

/** A record's range minus its gaps, as RVA intervals. */
export function liveIntervals(range: AddressRange, gaps: readonly AddressGap[], rvaOf: LocationContext['rvaOf']): RvaInterval[] {
  const start = rvaOf(range.segment, range.offset);
  if (start === undefined || range.length === 0) return [];
  let intervals: RvaInterval[] = [{ startRva: start, endRva: start + range.length }];
  for (const gap of gaps) {
    const gapStart = start + gap.gapStartOffset;
    const gapEnd = gapStart + gap.length;
    intervals = intervals.flatMap((i) => {
      if (gapEnd <= i.startRva || gapStart >= i.endRva) return [i];
      const out: RvaInterval[] = [];
      if (gapStart > i.startRva) out.push({ startRva: i.startRva, endRva: gapStart });
      if (gapEnd < i.endRva) out.push({ startRva: gapEnd, endRva: i.endRva });
      return out;
    });
  }
  return intervals;
}

/** The scope's code where the frame is set up: all of it when the PDB does not say. */
function framedScope(ctx: LocationContext): RvaInterval[] {
  const valid = ctx.frameValid;
  if (!valid) return [ctx.scope];
  const startRva = Math.max(valid.startRva, ctx.scope.startRva);
  const endRva = Math.min(valid.endRva, ctx.scope.endRva);
  return endRva > startRva ? [{ startRva, endRva }] : [];
}

function factOf(record: DefRangeSymbol, isParam: boolean, ctx: LocationContext): Fact {
  const framePointer = isParam ? ctx.frame?.param : ctx.frame?.local;
  switch (record.kind) {
    case 'S_DEFRANGE_REGISTER':
      return { intervals: liveIntervals(record.range, record.gaps, ctx.rvaOf), offset: undefined, placed: inRegister(record.register) };
    case 'S_DEFRANGE_FRAMEPOINTER_REL':
      return { intervals: liveIntervals(record.range, record.gaps, ctx.rvaOf), offset: undefined, placed: inMemory(framePointer, record.offset) };
    case 'S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE':
      return { intervals: framedScope(ctx), offset: undefined, placed: inMemory(framePointer, record.offset) };
    case 'S_DEFRANGE_SUBFIELD_REGISTER':
      return { intervals: liveIntervals(record.range, record.gaps, ctx.rvaOf), offset: record.offsetInParent, placed: inRegister(record.register) };
    case 'S_DEFRANGE_REGISTER_REL':
      return {
        intervals: liveIntervals(record.range, record.gaps, ctx.rvaOf),
        offset: record.spilledUdtMember ? record.offsetInParent : undefined,
        placed: inMemory(record.baseRegister, record.basePointerOffset),
      };
  }
}

const valueKey = (v: ModelLocationValue): string => (v.kind === 'register' ? `r${v.register}` : `m${v.base}${v.offset >= 0 ? '+' : ''}${v.offset}`);
const locationKey = (l: ModelLocation): string =>
  l.kind === 'pieces' ? l.pieces.map((p) => `${p.byteSize}:${p.value ? valueKey(p.value) : '-'}`).join(' ') : valueKey(l);

/** The one place all `facts` agree on; undefined when they disagree or none is placed. */
function agreed(facts: readonly Fact[]): Placed | undefined {
  let result: Placed | undefined;
  for (const f of facts) {
    if (!f.placed) return undefined;
    if (result && valueKey(result.value) !== valueKey(f.placed.value)) return undefined;
    result ??= f.placed;
  }
  return result;
}

/** A whole value, cut down to the bytes its register holds when the variable is wider than the register. */
function whole(placed: Placed, byteSize: number | undefined): ModelLocation | undefined {
  if (byteSize === undefined || placed.width >= byteSize) return placed.value;
  return { kind: 'pieces', pieces: [{ byteSize: placed.width, value: placed.value }, { byteSize: byteSize - placed.width, value: undefined }] };
}

/**
 * The variable as pieces: one per subfield offset any record of the variable
 * names (so the layout is the same at every address), each as long as the
 * distance to the next offset or the end of the variable, and no longer than
 * the register it is in.
 */
function assemble(active: readonly Fact[], offsets: readonly number[], byteSize: number | undefined): ModelLocation | undefined {
  const pieces: ModelLocationPiece[] = [];
  let cursor = 0;
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i]!;
    if (offset < cursor) continue;
    if (offset > cursor) pieces.push({ byteSize: offset - cursor, value: undefined });
    const here = agreed(active.filter((f) => f.offset === offset));
    const end = offsets[i + 1] ?? byteSize;
    const size = end === undefined ? here?.width : end - offset;
    if (size === undefined || !Number.isFinite(size) || size <= 0) break;
    if (here && here.width < size) {
      pieces.push({ byteSize: here.width, value: here.value }, { byteSize: size - here.width, value: undefined });
    } else {
      pieces.push({ byteSize: size, value: here?.value });
    }
    cursor = offset + size;
  }
  while (pieces.length > 0 && pieces[pieces.length - 1]!.value === undefined) pieces.pop();
  return pieces.length === 0 ? undefined : { kind: 'pieces', pieces };
}

/**
 * One record placing the whole variable (most variables): its intervals,
 * touching ones joined, which is what the general walk below gives, without
 * its scan of every fact at every point. Undefined when the intervals are not
 * sorted, disjoint and non-empty, which the general walk then handles.
 */
function singleFactRanges(fact: Fact, byteSize: number | undefined): ModelLocationRange[] | undefined {
  const intervals = fact.intervals;
  for (let i = 0; i < intervals.length; i++) {
    const iv = intervals[i]!;
    if (iv.endRva <= iv.startRva || (i > 0 && iv.startRva < intervals[i - 1]!.endRva)) return undefined;
  }
  const ranges: ModelLocationRange[] = [];
  if (!fact.placed) return ranges;
  for (const iv of intervals) {
    const last = ranges[ranges.length - 1];
    if (last && last.endRva === iv.startRva) {
      last.endRva = iv.endRva;
      continue;
    }
    const location = whole(fact.placed, byteSize);
    if (!location) return [];
    ranges.push({ startRva: iv.startRva, endRva: iv.endRva, location });
  }
  return ranges;
}

/**
 * Several records each placing the whole variable over intervals no other
 * record's touch (a variable moving from register to register): each interval
 * is then one of the general walk's steps, with its one record's location.
 * The same ranges as that walk, in one pass over the sorted intervals.
 * Undefined when some intervals overlap or are empty, or a record places part
 * of the variable: the general walk handles those.
 */
function disjointWholeRanges(facts: readonly Fact[], byteSize: number | undefined): ModelLocationRange[] | undefined {
  const owners: number[] = [];
  const intervals: RvaInterval[] = [];
  for (let f = 0; f < facts.length; f++) {
    const fact = facts[f]!;
    if (fact.offset !== undefined) return undefined;
    for (const iv of fact.intervals) {
      if (iv.endRva <= iv.startRva) return undefined;
      owners.push(f);
      intervals.push(iv);
    }
  }
  const order = intervals.map((_, i) => i).sort((a, b) => intervals[a]!.startRva - intervals[b]!.startRva);
  for (let k = 1; k < order.length; k++) if (intervals[order[k]!]!.startRva < intervals[order[k - 1]!]!.endRva) return undefined;
  const ranges: ModelLocationRange[] = [];
  let lastKey = '';
  for (const i of order) {
    const iv = intervals[i]!;
    const placed = facts[owners[i]!]!.placed;
    const location = placed && whole(placed, byteSize);
    if (!location) continue;
    const key = locationKey(location);
    const last = ranges[ranges.length - 1];
    if (last && last.endRva === iv.startRva && key === lastKey) last.endRva = iv.endRva;
    else ranges.push({ startRva: iv.startRva, endRva: iv.endRva, location });
    lastKey = key;
  }
  return ranges;
}

/** Facts to address-sorted, disjoint ranges, neighbours with the same location joined. */
function rangesOf(facts: readonly Fact[], byteSize: number | undefined): ModelLocationRange[] {
  if (facts.length === 1 && facts[0]!.offset === undefined) {
    const single = singleFactRanges(facts[0]!, byteSize);
    if (single) return single;
  }
  if (facts.length > 1) {
    const disjoint = disjointWholeRanges(facts, byteSize);
    if (disjoint) return disjoint;
  }
  const offsets = [...new Set(facts.filter((f) => f.offset !== undefined).map((f) => f.offset!))].sort((a, b) => a - b);
  const points = [...new Set(facts.flatMap((f) => f.intervals.flatMap((i) => [i.startRva, i.endRva])))].sort((a, b) => a - b);
  const ranges: ModelLocationRange[] = [];
  let lastKey = '';
  // The points ascend, so with each fact's intervals in order a cursor per fact
  // finds the interval holding a point without scanning them all again.
  const sorted = facts.every((f) => inOrder(f.intervals));
  const cursors = new Array<number>(facts.length).fill(0);
  const holds = (f: Fact, index: number, start: number): boolean => {
    if (!sorted) return f.intervals.some((i) => i.startRva <= start && start < i.endRva);
    const intervals = f.intervals;
    let c = cursors[index]!;
    while (c < intervals.length && intervals[c]!.endRva <= start) c++;
    cursors[index] = c;
    return c < intervals.length && intervals[c]!.startRva <= start;
  };
  for (let k = 0; k + 1 < points.length; k++) {
    const start = points[k]!;
    const end = points[k + 1]!;
    const active = facts.filter((f, index) => holds(f, index, start));
    if (active.length === 0) continue;
    const wholes = active.filter((f) => f.offset === undefined);
    let location: ModelLocation | undefined;
    if (wholes.length > 0) {
      const placed = agreed(wholes);
      location = placed && whole(placed, byteSize);
    } else {
      location = assemble(active, offsets, byteSize);
    }
    if (!location) continue;
    const key = locationKey(location);
    const last = ranges[ranges.length - 1];
    if (last && last.endRva === start && key === lastKey) last.endRva = end;
    else ranges.push({ startRva: start, endRva: end, location });
    lastKey = key;
  }
  return ranges;
}

/** Intervals sorted by start, each ending by the next one's start. */
function inOrder(intervals: readonly RvaInterval[]): boolean {
  for (let i = 1; i < intervals.length; i++) if (intervals[i]!.startRva < intervals[i - 1]!.endRva) return false;
  return true;
}

/** An S_LOCAL and the S_DEFRANGE_* records that follow it. */
export function localVariableLocation(local: LocalSymbol, defRanges: readonly DefRangeSymbol[], ctx: LocationContext): ModelVariableLocation {
  if (local.isOptimizedOut || defRanges.length === 0) return OPTIMIZED_OUT;
  const ranges = rangesOf(
    defRanges.map((r) => factOf(r, local.isParam, ctx)),
    ctx.byteSize,
  );
  if (ranges.length === 0) return OPTIMIZED_OUT;
  // One place over all of its scope: a single expression, no location list.
  const only = ranges[0]!;
  if (ranges.length === 1 && only.startRva <= ctx.scope.startRva && only.endRva >= ctx.scope.endRva) return { kind: 'fixed', location: only.location };
  // A copy of exactly its length: an array grown by push keeps room for 17
  // elements, and a large image has tens of thousands of these lists of one or two.
  return { kind: 'ranges', ranges: ranges.slice() };
}

/** S_REGREL32, S_BPREL32 (x64 has no BP-relative frames of its own; RBP is the nearest meaning) and S_REGISTER. */
export function registerVariableLocation(record: RegRelSymbol | BpRelSymbol | RegisterSymbol, ctx: LocationContext): ModelVariableLocation {
  let placed: Placed | undefined;
  if (record.kind === 'S_REGREL32') placed = inMemory(record.register, record.offset);
  else if (record.kind === 'S_BPREL32') placed = inMemory(CV_AMD64_RBP, record.offset);
  else placed = inRegister(record.register);
  const location = placed && whole(placed, ctx.byteSize);
  if (!location) return OPTIMIZED_OUT;
  if (!ctx.frameValid) return { kind: 'fixed', location };
  const ranges = framedScope(ctx).map((i) => ({ ...i, location }));
  return ranges.length > 0 ? { kind: 'ranges', ranges } : OPTIMIZED_OUT;
}
