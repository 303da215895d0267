/**
 * Adds what the PDB says about data to a DebugModel built from the same PDB
 * (buildDebugModel / buildDebugModelFrom): each function's type and scope
 * (parameters, locals, lexical blocks), each data symbol's type and, for
 * module statics, the compile unit that owns the name, and the typedefs of
 * the globals stream; `model.types` then holds every type these reach.
 *
 * Model objects are matched to PDB records by address (functions) and by
 * address and name (data), so the builder's choices (which modules become
 * units, which data it keeps) need not be repeated here. A module or type
 * record that does not decode costs only what it feeds, and is reported.
 */
import type { DebugModel, ModelFunction } from '../debug-model';
import type { ModelTypeRef } from '../debug-model-types';
import { SymbolFormatError } from '../format-error';
import { ModelTypeTranslator } from '../tpi/type-model';
import { TypeTable } from '../tpi/type-table';
import type { PdbFile } from './pdb-file';
import { S } from './symbol-kinds';
import { isProc, type CvSymbol, type DataSymbol } from './symbol-records';
import { functionScope, procedureParameterCount, procedureTypeIndex, VARIABLE_SYMBOL_KINDS } from './variable-scopes';


export interface AttachVariablesResult {
  /** Modules and type records left out because they did not decode. */
  problems: SymbolFormatError[];
  /** Functions given a scope, data symbols given a type. */
  functions: number;
  dataSymbols: number;
}

const want = (kind: number): boolean => VARIABLE_SYMBOL_KINDS.has(kind) || kind === S.S_UDT;
const NOTHING = (): boolean => false;

function typeTable(bytes: Uint8Array | undefined, kind: 'TPI' | 'IPI', problems: SymbolFormatError[]): TypeTable | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  try {
    return TypeTable.fromBytesLazy(bytes, kind);
  } catch (e) {
    if (!(e instanceof SymbolFormatError)) throw e;
    problems.push(e);
    return undefined;
  }
}

function attempt<T>(problems: SymbolFormatError[], run: () => T): T | undefined {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof SymbolFormatError)) throw e;
    problems.push(e);
    return undefined;
  }
}

const dataKey = (rva: number, name: string): string => `${rva}:${name}`;

export function attachVariables(pdb: PdbFile, model: DebugModel): AttachVariablesResult {
  const problems: SymbolFormatError[] = [];
  const result: AttachVariablesResult = { problems, functions: 0, dataSymbols: 0 };
  const tpi = typeTable(pdb.tpiStream, 'TPI', problems);
  if (!tpi) return result;
  const ipi = typeTable(pdb.ipiStream, 'IPI', problems);
  const language = model.compileUnits.some((cu) => cu.language === 'c++') ? 'c++' : 'c';
  const types = new ModelTypeTranslator(tpi, { language });
  const typeSize = (index: number): number | undefined => attempt(problems, () => tpi.sizeOf(index));

  const functionsByRva = new Map<number, { fn: ModelFunction; unit: number }>();
  model.compileUnits.forEach((cu, unit) => {
    for (const fn of cu.functions) if (!functionsByRva.has(fn.rva)) functionsByRva.set(fn.rva, { fn, unit });
  });

  // Data types by address and name, and the unit of each module-level static.
  const dataTypes = new Map<string, { typeIndex: number; unit?: number }>();
  const noteData = (s: DataSymbol, unit: number | undefined): void => {
    const rva = pdb.rvaOf(s.segment, s.offset);
    if (rva === undefined) return;
    const key = dataKey(rva, s.name);
    const known = dataTypes.get(key);
    if (!known) dataTypes.set(key, unit === undefined ? { typeIndex: s.typeIndex } : { typeIndex: s.typeIndex, unit });
    else if (known.unit === undefined && unit !== undefined) known.unit = unit;
  };

  for (const module of pdb.modules) {
    // The stream's layout and record framing first, decoding nothing: a module
    // whose structure is broken is left out as a whole, before any of it is used.
    if (!attempt(problems, () => pdb.moduleSummary(module.index, NOTHING))) continue;
    const moduleData: DataSymbol[] = [];
    let unit: number | undefined;
    let depth = 0;
    // The records of the procedure being read, from its S_*PROC32 to its end
    // record: a procedure's records at a time, so that they die young.
    let procedure: { fn: ModelFunction; symbols: CvSymbol[] } | undefined;
    const visit = (s: CvSymbol): void => {
      if (procedure) {
        procedure.symbols.push(s);
        depth = nestingAfter(s, depth);
        if (depth === 0) {
          attachFunction(procedure.fn, procedure.symbols, 0);
          procedure = undefined;
        }
        return;
      }
      if (depth === 0 && isProc(s)) {
        const rva = pdb.rvaOf(s.segment, s.offset);
        const owner = rva === undefined ? undefined : functionsByRva.get(rva);
        if (owner) {
          unit ??= owner.unit;
          if (owner.fn.scope === undefined) procedure = { fn: owner.fn, symbols: [s] };
        }
      }
      if (depth === 0 && (s.kind === 'S_GDATA32' || s.kind === 'S_LDATA32')) moduleData.push(s);
      if (depth === 0 && s.kind === 'S_UDT') attempt(problems, () => types.typedef(s.name, s.typeIndex));
      depth = nestingAfter(s, depth);
    };
    // A record that does not decode leaves out the rest of its module (and its module-level data).
    const read = attempt(problems, () => {
      pdb.visitModuleSymbols(module.index, want, visit);
      return true;
    });
    if (!read) continue;
    if (procedure) attachFunction(procedure.fn, procedure.symbols, 0); // a procedure without its end record runs to the module's end
    for (const d of moduleData) noteData(d, d.kind === 'S_LDATA32' ? unit : undefined);
  }

  const globals = attempt(problems, () => pdb.readGlobalsOnce((k) => k === S.S_GDATA32 || k === S.S_LDATA32 || k === S.S_UDT)) ?? [];
  for (const g of globals) {
    if (g.kind === 'S_GDATA32' || g.kind === 'S_LDATA32') noteData(g, undefined);
    else if (g.kind === 'S_UDT') attempt(problems, () => types.typedef(g.name, g.typeIndex));
  }

  for (const d of model.dataSymbols) {
    const known = dataTypes.get(dataKey(d.rva, d.name));
    if (!known) continue;
    const type: ModelTypeRef | undefined = attempt(problems, () => types.typeOf(known.typeIndex));
    if (type === undefined) continue;
    d.type = type;
    if (known.unit !== undefined && !d.external) d.compileUnit = known.unit;
    result.dataSymbols++;
  }
  model.types = types.info;
  return result;

  function attachFunction(fn: ModelFunction, symbols: readonly CvSymbol[], procIndex: number): void {
    const proc = symbols[procIndex];
    if (!proc || !isProc(proc)) return;
    const typeIndex = procedureTypeIndex(proc, ipi);
    attempt(problems, () => {
      if (typeIndex !== undefined) {
        const type = types.functionTypeOf(typeIndex);
        if (type !== undefined) fn.type = type;
      }
      fn.scope = functionScope(symbols, procIndex, {
        rvaOf: (segment, offset) => pdb.rvaOf(segment, offset),
        types,
        typeSize,
        parameterCount: procedureParameterCount(tpi!, typeIndex),
      });
      result.functions++;
    });
  }
}

/** Scope depth after a record: module-level records are those seen at depth 0. */
function nestingAfter(s: CvSymbol, depth: number): number {
  switch (s.kindValue) {
    case S.S_GPROC32:
    case S.S_LPROC32:
    case S.S_GPROC32_ID:
    case S.S_LPROC32_ID:
    case S.S_BLOCK32:
    case S.S_THUNK32:
    case S.S_SEPCODE:
    case S.S_INLINESITE:
    case S.S_INLINESITE2:
      return depth + 1;
    case S.S_END:
    case S.S_PROC_ID_END:
    case S.S_INLINESITE_END:
      return Math.max(0, depth - 1);
    default:
      return depth;
  }
}
