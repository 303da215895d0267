/**
 * Variables as DIEs: a function's parameters (DW_TAG_formal_parameter, in
 * order), locals (DW_TAG_variable) and lexical blocks (DW_TAG_lexical_block)
 * under its DW_TAG_subprogram, and data symbols as DW_TAG_variable with a
 * DW_OP_addr location. Types live in the shared type unit (type-dies.ts) and
 * are referred to with DW_FORM_ref_addr from any other unit.
 */
import type { ModelDataSymbol, ModelFunction } from '../symbols/debug-model';
import type { ModelFunctionScope, ModelLexicalBlock, ModelTypeRef, ModelVariable } from '../symbols/debug-model-types';
import { DW_AT, DW_TAG } from './constants';
import { Die } from './die';
import { addLocation, addressExpression, type LocationTarget } from './locations';
import type { TypeDies } from './type-dies';
import { absoluteAddress } from './absolute-address';

export interface VariableDieContext extends LocationTarget {
  types: TypeDies;
  /** The shared type unit's DIE: references from inside it use DW_FORM_ref4, from elsewhere DW_FORM_ref_addr. */
  typeUnit: Die;
}

/** DW_AT_type to a model type from a DIE of the unit under `unitRoot`. */
export function addTypeRef(die: Die, ref: ModelTypeRef, ctx: VariableDieContext, unitRoot: Die, what: string): void {
  ctx.types.check(ref, what);
  const target = ctx.types.dieOf(ref);
  if (!target) return; // void
  if (unitRoot === ctx.typeUnit) die.ref(DW_AT.type, target);
  else die.refAddr(DW_AT.type, target);
}

function variableDie(parent: Die, variable: ModelVariable, ctx: VariableDieContext, unitRoot: Die, what: string): void {
  const die = parent.child(variable.isParameter ? DW_TAG.formal_parameter : DW_TAG.variable).strp(DW_AT.name, variable.name);
  if (variable.type !== undefined) addTypeRef(die, variable.type, ctx, unitRoot, `${what} variable ${variable.name}`);
  addLocation(die, variable.location, ctx);
}

function blockDie(parent: Die, block: ModelLexicalBlock, ctx: VariableDieContext, unitRoot: Die, what: string): void {
  const die = parent.child(DW_TAG.lexical_block).addr(DW_AT.low_pc, absoluteAddress(ctx.loadBase, block.rva));
  if (block.size > 0) die.data4(DW_AT.high_pc, block.size);
  for (const v of block.variables) variableDie(die, v, ctx, unitRoot, what);
  for (const b of block.blocks) blockDie(die, b, ctx, unitRoot, what);
}

function scopeDies(die: Die, scope: ModelFunctionScope, ctx: VariableDieContext, unitRoot: Die, what: string): void {
  for (const v of scope.variables) variableDie(die, v, ctx, unitRoot, what);
  for (const b of scope.blocks) blockDie(die, b, ctx, unitRoot, what);
}

/**
 * The function's return type, its prototype flag and its parameters, locals
 * and blocks, added to its DW_TAG_subprogram. Without a scope, the function
 * type's parameter types still give it unnamed parameters, so `ptype` shows
 * the signature.
 */
export function addFunctionDetails(die: Die, fn: ModelFunction, ctx: VariableDieContext, unitRoot: Die): void {
  const what = `function ${fn.name}`;
  const type = fn.type === undefined ? undefined : ctx.types.functionType(fn.type, what);
  if (type) {
    addTypeRef(die, type.returnType, ctx, unitRoot, `${what} return type`);
    die.flag(DW_AT.prototyped);
  }
  if (fn.scope) {
    scopeDies(die, fn.scope, ctx, unitRoot, what);
  } else if (type) {
    const parameters = type.thisType === undefined ? type.parameters : [type.thisType, ...type.parameters];
    for (const p of parameters) addTypeRef(die.child(DW_TAG.formal_parameter), p, ctx, unitRoot, `${what} parameter`);
  }
  if (type?.variadic) die.child(DW_TAG.unspecified_parameters);
}

/** A data symbol with a type, as a DW_TAG_variable at its address. */
export function dataVariableDie(parent: Die, data: ModelDataSymbol, ctx: VariableDieContext, unitRoot: Die): void {
  const die = dataVariableDieOf(data, ctx, unitRoot);
  if (die) parent.children.push(die);
}

/** The DW_TAG_variable of a data symbol with a type, not yet attached to a parent; undefined without a type. */
export function dataVariableDieOf(data: ModelDataSymbol, ctx: VariableDieContext, unitRoot: Die): Die | undefined {
  if (data.type === undefined) return undefined;
  const die = new Die(DW_TAG.variable).strp(DW_AT.name, data.name);
  addTypeRef(die, data.type, ctx, unitRoot, `data ${data.name}`);
  if (data.external) die.flag(DW_AT.external);
  die.exprloc(DW_AT.location, addressExpression(ctx.loadBase + BigInt(data.rva)));
  return die;
}
