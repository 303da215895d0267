/**
 * A procedure's parameters, locals and lexical blocks, from the module
 * symbols between its S_GPROC32/S_LPROC32 and the matching end record, as a
 * ModelFunctionScope.
 *
 * The records are walked in stream order with a nesting count, not through
 * stored parent/end offsets, so corrupt offsets cannot loop. Variables of
 * inlined calls (inside S_INLINESITE) belong to the inlined function, not to
 * this one, and are left out rather than shown under the caller's names; so
 * are function-local statics qualified with another function's name (an
 * inlined callee's).
 */
import type { ModelFunctionScope, ModelLexicalBlock, ModelVariable, ModelVariableLocation } from '../debug-model-types';
import type { ModelTypeTranslator } from '../tpi/type-model';
import type { TypeIndex } from '../tpi/simple-types';
import type { TypeTable } from '../tpi/type-table';
import { S } from './symbol-kinds';
import type { CvSymbol, DataSymbol, LocalSymbol, ProcSymbol } from './symbol-records';
import {
  isDefRange,
  localVariableLocation,
  registerVariableLocation,
  type DefRangeSymbol,
  type FramePointers,
  type LocationContext,
  type RvaInterval,
} from './variable-locations';

/** Records that open a scope closed by S_END / S_PROC_ID_END / S_INLINESITE_END (S_INLINESITE2 included, which the decoder keeps raw). */
const SCOPE_STARTS: ReadonlySet<number> = new Set([
  S.S_GPROC32,
  S.S_LPROC32,
  S.S_GPROC32_ID,
  S.S_LPROC32_ID,
  S.S_BLOCK32,
  S.S_THUNK32,
  S.S_SEPCODE,
  S.S_INLINESITE,
  S.S_INLINESITE2,
]);
const SCOPE_ENDS: ReadonlySet<number> = new Set([S.S_END, S.S_PROC_ID_END, S.S_INLINESITE_END]);

/** The module symbol kinds a function scope is made from; a reader can decode only these. */
export const VARIABLE_SYMBOL_KINDS: ReadonlySet<number> = new Set([
  ...SCOPE_STARTS,
  ...SCOPE_ENDS,
  S.S_FRAMEPROC,
  S.S_LOCAL,
  S.S_DEFRANGE_REGISTER,
  S.S_DEFRANGE_FRAMEPOINTER_REL,
  S.S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE,
  S.S_DEFRANGE_SUBFIELD_REGISTER,
  S.S_DEFRANGE_REGISTER_REL,
  S.S_REGREL32,
  S.S_BPREL32,
  S.S_REGISTER,
  S.S_LDATA32,
  S.S_GDATA32,
  S.S_LTHREAD32,
  S.S_GTHREAD32,
]);

export interface ScopeContext {
  rvaOf(segment: number, offset: number): number | undefined;
  types: ModelTypeTranslator;
  /** Byte size of a TPI type (TypeTable.sizeOf). */
  typeSize(index: TypeIndex): number | undefined;
  /**
   * How many parameters the procedure has (`this` included), from its type:
   * the range-less record kinds (S_REGREL32 ...) carry no parameter flag, and
   * compilers list the parameters first.
   */
  parameterCount: number | undefined;
}

/** The TPI type of a procedure: its own index, or for the _ID kinds the LF_FUNC_ID / LF_MFUNC_ID's type in the IPI stream. */
export function procedureTypeIndex(proc: ProcSymbol, ipi: TypeTable | undefined): TypeIndex | undefined {
  if (proc.kind === 'S_GPROC32' || proc.kind === 'S_LPROC32') return proc.typeIndex;
  const id = ipi?.get(proc.typeIndex);
  return id?.kind === 'LF_FUNC_ID' || id?.kind === 'LF_MFUNC_ID' ? id.functionType : undefined;
}

/** Parameters of an LF_PROCEDURE / LF_MFUNCTION, counting `this`. */
export function procedureParameterCount(tpi: TypeTable, typeIndex: TypeIndex | undefined): number | undefined {
  const record = typeIndex === undefined ? undefined : tpi.get(typeIndex);
  if (record?.kind === 'LF_PROCEDURE') return record.parameterCount;
  if (record?.kind === 'LF_MFUNCTION') return record.parameterCount + (record.thisType !== 0 ? 1 : 0);
  return undefined;
}

interface Walk {
  readonly symbols: readonly CvSymbol[];
  readonly ctx: ScopeContext;
  readonly proc: ProcSymbol;
  frame: FramePointers | undefined;
  frameValid: RvaInterval | undefined;
  /** Range-less records seen directly in the procedure, to tell parameters by position. */
  rangeLessSeen: number;
}

/** Index just past the end record matching the scope opened at `start`. */
function skipScope(symbols: readonly CvSymbol[], start: number): number {
  let depth = 0;
  for (let i = start; i < symbols.length; i++) {
    const k = symbols[i]!.kindValue;
    if (SCOPE_STARTS.has(k)) depth++;
    else if (SCOPE_ENDS.has(k) && --depth === 0) return i + 1;
  }
  return symbols.length;
}

/**
 * A variable, its type translated after its location (the order types are met
 * in numbers them). Made with every property at once: a property added to an
 * object later gets a separate property store, for each of tens of thousands.
 */
function typed(name: string, isParameter: boolean, location: ModelVariableLocation, walk: Walk, typeIndex: TypeIndex): ModelVariable {
  return { name, isParameter, location, type: walk.ctx.types.typeOf(typeIndex) };
}

function locationContext(walk: Walk, scope: RvaInterval, typeIndex: TypeIndex): LocationContext {
  return {
    rvaOf: walk.ctx.rvaOf,
    frame: walk.frame,
    scope,
    frameValid: walk.frameValid,
    byteSize: walk.ctx.typeSize(typeIndex),
  };
}

/** A function-local static: named `function::name` in the PDB; undefined when it is another function's. */
function staticVariable(walk: Walk, data: DataSymbol): ModelVariable | undefined {
  const prefix = `${walk.proc.name}::`;
  let name = data.name;
  if (name.includes('::')) {
    if (!name.startsWith(prefix)) return undefined;
    name = name.slice(prefix.length);
  }
  let location: ModelVariableLocation;
  if (data.kind === 'S_LTHREAD32' || data.kind === 'S_GTHREAD32') location = { kind: 'thread-local', offset: data.offset };
  else {
    const rva = walk.ctx.rvaOf(data.segment, data.offset);
    location = rva === undefined ? { kind: 'optimized-out' } : { kind: 'static', rva };
  }
  return typed(name, false, location, walk, data.typeIndex);
}

/**
 * Reads the records of one scope (the procedure or a block) starting after
 * its opening record at `start`; returns the index after its end record.
 */
function readScope(walk: Walk, start: number, scope: RvaInterval, into: { variables: ModelVariable[]; blocks: ModelLexicalBlock[] }, isProcedure: boolean): number {
  const { symbols } = walk;
  let i = start;
  while (i < symbols.length) {
    const s = symbols[i]!;
    if (SCOPE_ENDS.has(s.kindValue)) return i + 1;
    if (s.kind === 'S_BLOCK32') {
      const rva = walk.ctx.rvaOf(s.segment, s.offset);
      if (rva === undefined) {
        i = skipScope(symbols, i);
        continue;
      }
      const block: ModelLexicalBlock = { rva, size: s.codeSize, variables: [], blocks: [] };
      i = readScope(walk, i + 1, { startRva: rva, endRva: rva + s.codeSize }, block, false);
      into.blocks.push(block);
      continue;
    }
    if (SCOPE_STARTS.has(s.kindValue)) {
      i = skipScope(symbols, i);
      continue;
    }
    i++;
    switch (s.kind) {
      case 'S_FRAMEPROC':
        walk.frame = { local: s.localFramePointer, param: s.paramFramePointer };
        break;
      case 'S_LOCAL': {
        const ranges: DefRangeSymbol[] = [];
        while (i < symbols.length && isDefRange(symbols[i]!)) ranges.push(symbols[i++] as DefRangeSymbol);
        into.variables.push(localVariable(walk, s, ranges, scope));
        break;
      }
      case 'S_REGREL32':
      case 'S_BPREL32':
      case 'S_REGISTER': {
        const isParameter = isProcedure && walk.rangeLessSeen < (walk.ctx.parameterCount ?? 0);
        if (isProcedure) walk.rangeLessSeen++;
        const location = registerVariableLocation(s, locationContext(walk, scope, s.typeIndex));
        into.variables.push(typed(s.name, isParameter, location, walk, s.typeIndex));
        break;
      }
      case 'S_LDATA32':
      case 'S_GDATA32':
      case 'S_LTHREAD32':
      case 'S_GTHREAD32': {
        const variable = staticVariable(walk, s);
        if (variable) into.variables.push(variable);
        break;
      }
      default:
        break; // S_DEFRANGE_* without an S_LOCAL, labels, annotations...: nothing to show
    }
  }
  return i;
}

function localVariable(walk: Walk, local: LocalSymbol, ranges: readonly DefRangeSymbol[], scope: RvaInterval): ModelVariable {
  const location = localVariableLocation(local, ranges, locationContext(walk, scope, local.typeIndex));
  return typed(local.name, local.isParam, location, walk, local.typeIndex);
}

/**
 * The scope of the procedure at `symbols[procIndex]`, from the records that
 * follow it. `symbols` may hold only VARIABLE_SYMBOL_KINDS (and anything else).
 */
export function functionScope(symbols: readonly CvSymbol[], procIndex: number, ctx: ScopeContext): ModelFunctionScope {
  const proc = symbols[procIndex];
  if (!proc || (proc.kind !== 'S_GPROC32' && proc.kind !== 'S_LPROC32' && proc.kind !== 'S_GPROC32_ID' && proc.kind !== 'S_LPROC32_ID')) {
    throw new Error(`functionScope: record ${procIndex} is not a procedure`);
  }
  const scope: ModelFunctionScope = { variables: [], blocks: [] };
  const start = ctx.rvaOf(proc.segment, proc.offset);
  if (start === undefined) return scope;
  const walk: Walk = { symbols, ctx, proc, frame: undefined, frameValid: undefined, rangeLessSeen: 0 };
  // The frame is set up from debugStart to debugEnd, when the compiler says so (clang leaves both 0).
  if (proc.debugEnd > proc.debugStart && proc.debugEnd < proc.codeSize) {
    walk.frameValid = { startRva: start + proc.debugStart, endRva: start + proc.debugEnd + 1 };
  }
  readScope(walk, procIndex + 1, { startRva: start, endRva: start + proc.codeSize }, scope, true);
  // DWARF consumers take parameters in the order of their DIEs: parameters first, in record order.
  // (A stable sort; skipped when they already come first, as compilers write them.)
  if (!parametersFirst(scope.variables)) scope.variables.sort((a, b) => Number(b.isParameter) - Number(a.isParameter));
  return trimmed(scope);
}

/**
 * The scope with its lists (and its blocks', recursively) copied to exactly
 * their length: an array grown by push keeps room for 17 elements, and a large
 * image has tens of thousands of scopes with a variable or two.
 */
function trimmed<T extends { variables: ModelVariable[]; blocks: ModelLexicalBlock[] }>(scope: T): T {
  scope.variables = scope.variables.slice();
  scope.blocks = scope.blocks.map(trimmed);
  return scope;
}

function parametersFirst(variables: readonly ModelVariable[]): boolean {
  for (let i = 1; i < variables.length; i++) if (variables[i]!.isParameter && !variables[i - 1]!.isParameter) return false;
  return true;
}
