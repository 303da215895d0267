/**
 * Questions about a struct or class that the type records answer only by
 * walking several of them: the methods a field list declares (one, or an
 * overload set through an LF_METHODLIST), the virtual table slot of a method
 * that overrides another, and where CodeView flattened an anonymous struct
 * or union into its enclosing type. Record-level answers; the translation
 * (type-model.ts) turns them into model types.
 */
import type { ModelMethod } from '../debug-model-types';
import { SymbolFormatError } from '../format-error';
import type { MemberAttributes, MethodKind } from './attributes';
import type { DataMember, FieldMember } from './field-list';
import type { ClassRecord, UnionRecord } from './records';
import type { TypeIndex } from './simple-types';
import type { TypeRecord } from './type-stream';
import { isTagRecord, MAX_TYPE_DEPTH, type TypeTable } from './type-table';

export type AggregateRecord = TypeRecord & (ClassRecord | UnionRecord);

/** One method of a class, from LF_ONEMETHOD or an LF_METHODLIST entry. */
export interface MethodEntry {
  name: string;
  type: TypeIndex;
  attributes: MemberAttributes;
  /** Byte offset of the slot, for methods that introduce one. */
  vtableOffset?: number;
}

/** Bytes per virtual function table slot: a 64-bit code pointer. */
const VTABLE_SLOT_BYTES = 8;

export function virtuality(kind: MethodKind): ModelMethod['virtuality'] {
  if (kind === 'pure-virtual' || kind === 'pure-intro-virtual') return 'pure-virtual';
  if (kind === 'virtual' || kind === 'intro-virtual') return 'virtual';
  return 'none';
}

/** A field list's members; a corrupt list (a looping continuation) gives none rather than a partial guess. */
export function fieldsOrNothing(table: TypeTable, fieldList: TypeIndex): FieldMember[] {
  try {
    return table.fieldMembers(fieldList);
  } catch (e) {
    if (e instanceof SymbolFormatError) return [];
    throw e;
  }
}

/** The methods an LF_ONEMETHOD or LF_METHOD (through its LF_METHODLIST) declares; none for other members. */
export function methodEntries(table: TypeTable, field: FieldMember): MethodEntry[] {
  if (field.kind === 'LF_ONEMETHOD') {
    const entry: MethodEntry = { name: field.name, type: field.type, attributes: field.attributes };
    if (field.vtableOffset !== undefined) entry.vtableOffset = field.vtableOffset;
    return [entry];
  }
  if (field.kind !== 'LF_METHOD') return [];
  const list = table.get(field.methodList);
  if (list?.kind !== 'LF_METHODLIST') return [];
  return list.methods.map((m) => {
    const entry: MethodEntry = { name: field.name, type: m.type, attributes: m.attributes };
    if (m.vtableOffset !== undefined) entry.vtableOffset = m.vtableOffset;
    return entry;
  });
}

/**
 * A virtual method's slot index: an introducing method's record gives its
 * byte offset in the table; an overriding one takes the slot of the method
 * it overrides, found in the (non-virtual) bases by name and parameter list.
 */
export function vtableSlot(table: TypeTable, owner: AggregateRecord, entry: MethodEntry, depth = 0): number | undefined {
  if (entry.vtableOffset !== undefined) {
    // A table holds whole pointers: any other offset is a damaged record, and no slot.
    const slot = entry.vtableOffset / VTABLE_SLOT_BYTES;
    return Number.isInteger(slot) && slot >= 0 ? slot : undefined;
  }
  if (depth > MAX_TYPE_DEPTH) return undefined;
  const argumentsOf = (ti: TypeIndex): TypeIndex | undefined => {
    const fn = table.get(ti);
    return fn?.kind === 'LF_MFUNCTION' ? fn.argumentList : undefined;
  };
  const wanted = argumentsOf(entry.type);
  for (const field of fieldsOrNothing(table, owner.fieldList)) {
    if (field.kind !== 'LF_BCLASS') continue;
    const base = table.get(table.resolveForwardRef(field.type));
    if (base?.kind !== 'LF_CLASS' && base?.kind !== 'LF_STRUCTURE') continue;
    for (const baseField of fieldsOrNothing(table, base.fieldList)) {
      for (const candidate of methodEntries(table, baseField)) {
        if (candidate.name !== entry.name || argumentsOf(candidate.type) !== wanted) continue;
        if (virtuality(candidate.attributes.methodKind) === 'none') continue;
        const slot = vtableSlot(table, base as AggregateRecord, candidate, depth + 1);
        if (slot !== undefined) return slot;
      }
    }
  }
  return undefined;
}

/** Where an anonymous type's members sit, flattened, among the enclosing type's LF_MEMBERs. */
export interface FlattenedRun {
  /** The anonymous type's definition. */
  type: TypeIndex;
  /** Its offset in the enclosing type. */
  displacement: number;
  /** How many of the enclosing type's data members are its members. */
  count: number;
  /** The first of them, to find the run again. */
  firstName: string;
  firstOffset: number;
}

/**
 * CodeView flattens the members of an anonymous struct or union into the
 * enclosing type and lists the anonymous type as an unnamed nested type
 * (LF_NESTTYPE with no name). Its members appear in the enclosing type as
 * a run at one common displacement; undefined where no such run exists or
 * a named member already has that type (`struct { ... } pair;`).
 */
export function flattenedRun(table: TypeTable, anonymous: TypeIndex, parentFields: readonly FieldMember[]): FlattenedRun | undefined {
  const definition = table.resolveForwardRef(anonymous);
  const record = table.get(definition);
  if (!isTagRecord(record) || record.kind === 'LF_ENUM' || record.properties.forwardReference) return undefined;
  const parentMembers = parentFields.filter((f): f is DataMember => f.kind === 'LF_MEMBER');
  if (parentMembers.some((m) => table.resolveForwardRef(m.type) === definition)) return undefined;
  const inner = fieldsOrNothing(table, record.fieldList).filter((f): f is DataMember => f.kind === 'LF_MEMBER');
  if (inner.length === 0) return undefined;
  const start = parentMembers.findIndex(
    (m, i) =>
      i + inner.length <= parentMembers.length &&
      inner.every((f, k) => {
        const p = parentMembers[i + k]!;
        return p.name === f.name && p.type === f.type && p.offset - f.offset === m.offset - inner[0]!.offset;
      }),
  );
  if (start < 0) return undefined;
  const first = parentMembers[start]!;
  return { type: definition, displacement: first.offset - inner[0]!.offset, count: inner.length, firstName: first.name, firstOffset: first.offset };
}
