/**
 * Variable locations as llvm-dwarfdump prints them, for comparing two
 * descriptions of the same code: the DWARF josgdb writes from a PDB, and
 * the DWARF LLVM writes itself for the same compile (variable-fixtures.ts).
 * Each variable's DW_AT_location becomes a function from an address to what
 * is there, written in one canonical text per piece, with DW_OP_fbreg
 * resolved through the function's DW_AT_frame_base so that LLVM's
 * frame-base-relative slots and josgdb's register-relative ones compare.
 */
import { parseDebugInfo, unquote, type DumpedDie } from './tools';

export interface LocatedPiece {
  /** Byte offset in the variable. */
  offset: number;
  /** Undefined: the whole variable (no DW_OP_piece). */
  size: number | undefined;
  /** The operations, ', '-separated as dwarfdump prints them; '' for an unavailable piece. */
  ops: string;
}

export interface DumpedVariable {
  function: string;
  functionLow: bigint;
  name: string;
  /** Among the function's variables of this name, in DIE order (shadowing locals in nested blocks). */
  occurrence: number;
  isParameter: boolean;
  /** DW_AT_type as dwarfdump prints it (offset and name). */
  type: string | undefined;
  /** Where the variable is at `pc`; undefined where the DWARF gives no location. */
  at(pc: bigint): LocatedPiece[] | undefined;
  /** Address ranges the location list names (a fixed expression: the function's range). */
  ranges: Array<[bigint, bigint]>;
}

export interface DumpedFunction {
  name: string;
  low: bigint;
  high: bigint;
  variables: DumpedVariable[];
}

/** Splits at ', ' outside parentheses (DW_OP_GNU_entry_value(DW_OP_reg1 RDX) keeps its inside). */
function splitOps(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0 && text[i + 1] === ' ') {
      out.push(text.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** DW_OP_fbreg +16 with frame base DW_OP_reg7 RSP -> DW_OP_breg7 RSP+16. */
function resolveFrameBase(op: string, frameBase: string | undefined): string {
  const m = /^DW_OP_fbreg ([+-]?\d+)$/.exec(op);
  const base = frameBase === undefined ? undefined : /^DW_OP_reg(\d+) (\w+)$/.exec(frameBase.trim());
  if (!m || !base) return op;
  const offset = Number(m[1]);
  return `DW_OP_breg${base[1]} ${base[2]}${offset < 0 ? '-' : '+'}${Math.abs(offset)}`;
}

/** One location expression as pieces. */
export function parsePieces(expression: string, frameBase: string | undefined): LocatedPiece[] {
  const ops = splitOps(expression).map((op) => resolveFrameBase(op, frameBase));
  const pieces: LocatedPiece[] = [];
  let current: string[] = [];
  let offset = 0;
  for (const op of ops) {
    const piece = /^DW_OP_piece (0x[0-9a-f]+|\d+)$/.exec(op);
    if (piece) {
      const size = Number(piece[1]);
      pieces.push({ offset, size, ops: current.join(', ') });
      offset += size;
      current = [];
    } else {
      current.push(op);
    }
  }
  if (current.length > 0 || pieces.length === 0) pieces.push({ offset, size: undefined, ops: current.join(', ') });
  return pieces;
}

function stripClosing(text: string): string {
  let depth = 0;
  for (const c of text) depth += c === '(' ? 1 : c === ')' ? -1 : 0;
  return depth < 0 && text.endsWith(')') ? text.slice(0, -1) : text;
}

interface ListEntry {
  start: bigint;
  end: bigint;
  pieces: LocatedPiece[];
}

/** A DW_AT_location value: one expression, or a list ('0x...: ' then '[a, b): expr' lines). */
function parseLocation(value: string, frameBase: string | undefined, low: bigint, high: bigint): ListEntry[] {
  const lines = value.split('\n');
  if (/^0x[0-9a-f]+:\s*$/.test(lines[0]!.trim())) {
    const entries: ListEntry[] = [];
    for (const line of lines.slice(1)) {
      const m = /^\[0x([0-9a-f]+), 0x([0-9a-f]+)\): (.*)$/.exec(line.trim());
      if (!m) continue;
      entries.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), pieces: parsePieces(stripClosing(m[3]!), frameBase) });
    }
    return entries;
  }
  return [{ start: low, end: high, pieces: parsePieces(stripClosing(value), frameBase) }];
}

const VARIABLE_TAGS = new Set(['DW_TAG_formal_parameter', 'DW_TAG_variable']);

/** Every subprogram with code and its parameters and locals (at any block depth), from `llvm-dwarfdump --debug-info`. */
export function dumpedFunctions(debugInfo: string): DumpedFunction[] {
  const out: DumpedFunction[] = [];
  for (const unit of parseDebugInfo(debugInfo)) {
    const dies = unit.dies;
    for (let i = 0; i < dies.length; i++) {
      const die = dies[i]!;
      if (die.tag !== 'DW_TAG_subprogram' || !die.attrs.has('DW_AT_low_pc') || !die.attrs.has('DW_AT_high_pc')) continue;
      const low = BigInt(die.attrs.get('DW_AT_low_pc')!);
      const high = BigInt(die.attrs.get('DW_AT_high_pc')!);
      const frameBase = die.attrs.get('DW_AT_frame_base');
      const fn: DumpedFunction = { name: unquote(die.attrs.get('DW_AT_name')) ?? '', low, high, variables: [] };
      const counts = new Map<string, number>();
      for (let j = i + 1; j < dies.length && dies[j]!.depth > die.depth; j++) {
        const v: DumpedDie = dies[j]!;
        if (!VARIABLE_TAGS.has(v.tag)) continue;
        // A concrete instance of an inlined function names its variables through DW_AT_abstract_origin.
        const name = unquote(v.attrs.get('DW_AT_name')) ?? /"(.*)"/.exec(v.attrs.get('DW_AT_abstract_origin') ?? '')?.[1] ?? '';
        const occurrence = counts.get(name) ?? 0;
        counts.set(name, occurrence + 1);
        const location = v.attrs.get('DW_AT_location');
        const entries = location === undefined ? [] : parseLocation(location, frameBase, low, high);
        fn.variables.push({
          function: fn.name,
          functionLow: low,
          name,
          occurrence,
          isParameter: v.tag === 'DW_TAG_formal_parameter',
          type: v.attrs.get('DW_AT_type'),
          at: (pc) => entries.find((e) => e.start <= pc && pc < e.end)?.pieces,
          ranges: entries.map((e) => [e.start, e.end]),
        });
      }
      out.push(fn);
    }
  }
  return out;
}

/** The bytes of `pieces` each known location covers, as offset -> 'size:ops'. */
function pieceMap(pieces: readonly LocatedPiece[], wholeSize: number | undefined): Map<number, string> {
  const map = new Map<number, string>();
  for (const p of pieces) if (p.ops !== '') map.set(p.offset, `${p.size ?? wholeSize ?? '?'}:${p.ops}`);
  return map;
}

/**
 * Whether `ours` says nothing `theirs` contradicts: every piece ours places
 * is placed the same way by theirs (ours may know less, never differently).
 */
export function agrees(ours: readonly LocatedPiece[], theirs: readonly LocatedPiece[] | undefined): boolean {
  if (!theirs) return false;
  const mine = pieceMap(ours, undefined);
  const other = pieceMap(theirs, undefined);
  for (const [offset, text] of mine) {
    const match = other.get(offset);
    if (match === text) continue;
    // A whole-variable location written without DW_OP_piece on one side and as one piece on the other.
    if (match?.startsWith('?:') && text.endsWith(match.slice(1))) continue;
    if (text.startsWith('?:') && match?.endsWith(text.slice(1))) continue;
    return false;
  }
  return true;
}
