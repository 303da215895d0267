/**
 * The model-to-DWARF translation of one compile unit into its DIE tree:
 * DW_TAG_compile_unit with name, directory, producer, language, line table and
 * address ranges, a DW_TAG_subprogram per function (with its return type,
 * parameters, locals and blocks when the model has them) and the unit's data
 * variables; and the shared unit that holds every type (type-dies.ts) and the
 * data no unit claims.
 */
import type { ModelCompileUnit, ModelDataSymbol, ModelFunction } from '../symbols/debug-model';
import type { ModelTypeInfo } from '../symbols/debug-model-types';
import type { RvaRange } from './address-ranges';
import { DW_AT, DW_LANG, DW_TAG } from './constants';
import { Die } from './die';
import { FRAME_BASE_CFA } from './expr';
import { addFunctionDetails, dataVariableDie, dataVariableDieOf, type VariableDieContext } from './variable-dies';
import { absoluteAddress } from './absolute-address';

export interface CompileUnitDieInput {
  cu: ModelCompileUnit;
  /** Source paths already in output form (see paths.ts). */
  name: string;
  compDir: string | undefined;
  producer: string;
  loadBase: bigint;
  /** Offset of the unit's line program in .debug_line. */
  stmtList: number;
  /** The unit's merged code ranges. */
  ranges: readonly RvaRange[];
  /** Offset of the unit's range list in .debug_ranges; needed when `ranges` has more than one entry. */
  rangesOffset: number | undefined;
  /** DWARF file number per model file index. */
  fileNumbers: readonly number[];
  /** Types and variables, when the model has types. */
  variables?: UnitVariables;
}

export interface UnitVariables {
  /** Everything but the unit's base address, which compileUnitDies knows. */
  context: Omit<VariableDieContext, 'unitBase'>;
  /** Data symbols this unit declares. */
  dataSymbols: readonly ModelDataSymbol[];
}

const U32_LIMIT = 0x1_0000_0000;

export function dwarfLanguage(language: ModelCompileUnit['language']): number | undefined {
  switch (language) {
    case 'c':
      return DW_LANG.C99;
    case 'c++':
      return DW_LANG.C_plus_plus;
    case 'asm':
      return DW_LANG.Mips_Assembler; // the generic assembler code gdb and lldb both know
    default:
      return undefined; // unknown: leave it to the debugger's default
  }
}

/** Whether the unit's ranges need DW_AT_ranges rather than one low_pc/high_pc pair. */
export function needsRangeList(ranges: readonly RvaRange[]): boolean {
  return ranges.length > 1 || (ranges.length === 1 && ranges[0].end - ranges[0].start >= U32_LIMIT);
}

/** Functions in address order (then name), so the output does not depend on input order. */
function sortedFunctions(functions: readonly ModelFunction[]): ModelFunction[] {
  return [...functions].sort((a, b) => a.rva - b.rva || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function subprogramDie(unitRoot: Die, fn: ModelFunction, input: CompileUnitDieInput, variables: VariableDieContext | undefined): Die {
  const die = new Die(DW_TAG.subprogram).strp(DW_AT.name, fn.name);
  if (fn.external) die.flag(DW_AT.external);
  if (fn.declFile !== undefined) {
    const number = input.fileNumbers[fn.declFile];
    if (number !== undefined) die.udata(DW_AT.decl_file, number);
  }
  if (fn.declLine !== undefined && fn.declLine > 0) die.udata(DW_AT.decl_line, fn.declLine);
  die.addr(DW_AT.low_pc, absoluteAddress(input.loadBase, fn.rva));
  // A size-0 function keeps only its entry address: an empty [low, high) would be
  // an invalid range, and the symbol table still names it.
  if (fn.size > 0) die.data4(DW_AT.high_pc, fn.size); // DWARF 4: a constant high_pc is a length
  die.exprloc(DW_AT.frame_base, FRAME_BASE_CFA);
  if (variables) addFunctionDetails(die, fn, variables, unitRoot);
  return die;
}

/** A compile unit's DIE without children, and its children (subprograms, then data), each built when the iteration reaches it. */
export interface CompileUnitDies {
  root: Die;
  children: Iterable<Die>;
}

/**
 * The unit's DIE and a lazy sequence of its children, for writeUnit's
 * `moreChildren`: a large unit's subprograms then exist one at a time. The
 * children come in the unit's order (subprograms by address, then data), and
 * their location lists go to .debug_loc as each child is built, in that order.
 */
export function compileUnitDies(input: CompileUnitDieInput): CompileUnitDies {
  const { cu } = input;
  const root = new Die(DW_TAG.compile_unit);
  root.strp(DW_AT.producer, input.producer);
  const language = dwarfLanguage(cu.language);
  if (language !== undefined) root.data2(DW_AT.language, language);
  root.strp(DW_AT.name, input.name);
  if (input.compDir !== undefined) root.strp(DW_AT.comp_dir, input.compDir);
  root.secOffset(DW_AT.stmt_list, input.stmtList);

  const ranges = input.ranges;
  // The base address location lists are relative to: the unit's DW_AT_low_pc.
  let unitBase = 0n;
  if (!needsRangeList(ranges) && ranges.length === 1) {
    unitBase = input.loadBase + BigInt(ranges[0].start);
    root.addr(DW_AT.low_pc, unitBase);
    root.data4(DW_AT.high_pc, ranges[0].end - ranges[0].start);
  } else if (ranges.length > 0) {
    if (input.rangesOffset === undefined) throw new Error(`compile unit ${cu.name}: range list offset missing`);
    // Base address 0: the range list holds absolute addresses.
    root.addr(DW_AT.low_pc, 0n);
    root.secOffset(DW_AT.ranges, input.rangesOffset);
  }

  const variables = input.variables ? { ...input.variables.context, unitBase } : undefined;
  const dataSymbols = input.variables?.dataSymbols ?? [];
  function* children(): Generator<Die> {
    for (const fn of sortedFunctions(cu.functions)) yield subprogramDie(root, fn, input, variables);
    if (!variables) return;
    for (const d of dataSymbols) {
      const die = dataVariableDieOf(d, variables, root);
      if (die) yield die;
    }
  }
  return { root, children: children() };
}

/**
 * The unit that holds every type and the data no compile unit claims. It has
 * no code; it is named after the image so `info variables` lists that data
 * under the image's name.
 */
export function sharedUnitDie(types: ModelTypeInfo, name: string, producer: string): Die {
  const root = new Die(DW_TAG.compile_unit);
  root.strp(DW_AT.producer, producer);
  root.data2(DW_AT.language, dwarfLanguage(types.language)!);
  root.strp(DW_AT.name, name);
  return root;
}

/** Adds data variables to the shared unit (its base address is irrelevant: data has no ranges). */
export function addSharedData(root: Die, dataSymbols: readonly ModelDataSymbol[], context: Omit<VariableDieContext, 'unitBase'>): void {
  const variables: VariableDieContext = { ...context, unitBase: 0n };
  for (const d of dataSymbols) dataVariableDie(root, d, variables, root);
}
