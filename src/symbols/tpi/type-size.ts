/**
 * Byte size of a type, as sizeof would give it. UDTs are looked up through
 * their definition, since variables are usually declared with the forward
 * reference; pointers use the size the compiler wrote, which is the only
 * source for pointers to members (4 to 24 bytes depending on the class).
 * A reference counts as the pointer that implements it: that is what a
 * variable of reference type occupies, though sizeof would give the referent.
 */
import { pointerKindSize } from './attributes';
import { isSimpleTypeIndex, simpleTypeSize, type TypeIndex } from './simple-types';
import type { TypeTable } from './type-table';

/**
 * Recursive walks over types (sizes, names) stop at this depth: real C types
 * nest a few dozen levels at most, and a cycle, which only corrupt data can
 * make, must end in an error and not a stack overflow.
 */
export const MAX_TYPE_DEPTH = 200;

export function typeSize(table: TypeTable, index: TypeIndex, depth = 0): number | undefined {
  if (depth > MAX_TYPE_DEPTH) table.fail(index, 'type references nest too deeply (a cycle?)');
  if (isSimpleTypeIndex(index)) return simpleTypeSize(index);
  const record = table.get(index);
  if (!record) return undefined;
  switch (record.kind) {
    case 'LF_POINTER':
      return record.attributes.size || pointerKindSize(record.attributes.kind);
    case 'LF_MODIFIER':
      return typeSize(table, record.modifiedType, depth + 1);
    case 'LF_ARRAY':
      return record.size;
    case 'LF_CLASS':
    case 'LF_STRUCTURE':
    case 'LF_INTERFACE':
    case 'LF_UNION': {
      if (!record.properties.forwardReference) return record.size;
      const definition = table.resolveForwardRef(index);
      return definition === index ? undefined : typeSize(table, definition, depth + 1);
    }
    case 'LF_ENUM': {
      const definition = table.resolveForwardRef(index);
      const target = definition === index ? record : table.get(definition);
      if (target?.kind !== 'LF_ENUM') return undefined;
      return typeSize(table, target.underlyingType, depth + 1);
    }
    case 'LF_BITFIELD':
      return typeSize(table, record.type, depth + 1);
    default:
      return undefined;
  }
}
