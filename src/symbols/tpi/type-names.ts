/**
 * Type names, two ways. `llvmTypeName` reproduces LLVM's TypeNameComputer, so
 * our output can be checked against llvm-pdbutil and reads like it in dumps.
 * `cTypeName`/`cDeclaration` build real C declarators ('int (*cb[4])(int)'),
 * which is what a debugger shows for a variable's type.
 */
import { describeSimpleType, isSimpleTypeIndex, NO_TYPE, NULLPTR_T, simpleTypeName, type TypeIndex } from './simple-types';
import type { TypeRecord } from './type-stream';
import type { TypeTable } from './type-table';
import { MAX_TYPE_DEPTH, typeSize } from './type-size';

/**
 * Names longer than this are cut: crafted data can make a name grow
 * exponentially (argument lists of argument lists), and no reader wants one.
 */
export const MAX_NAME_LENGTH = 4096;

function clip(name: string): string {
  return name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}...` : name;
}

/**
 * Per-table memo of computed names. Besides speed, it bounds the work on
 * crafted data where many records share one deep subtree.
 */
function memo(caches: WeakMap<TypeTable, Map<string, string>>, table: TypeTable): Map<string, string> {
  let cache = caches.get(table);
  if (!cache) caches.set(table, (cache = new Map()));
  return cache;
}

const llvmNames = new WeakMap<TypeTable, Map<string, string>>();
const cNames = new WeakMap<TypeTable, Map<string, string>>();

/** The name llvm-pdbutil prints for a type index (LazyRandomTypeCollection::getTypeName). */
export function llvmTypeName(table: TypeTable, index: TypeIndex, depth = 0): string {
  if (index === NO_TYPE || isSimpleTypeIndex(index)) return simpleTypeName(index);
  const record = table.get(index);
  if (!record) return '<unknown UDT>';
  if (depth > MAX_TYPE_DEPTH) table.fail(index, 'type references nest too deeply (a cycle?)');
  const cache = memo(llvmNames, table);
  const key = String(index);
  let name = cache.get(key);
  if (name === undefined) {
    name = clip(computeLlvmName(table, record, depth));
    cache.set(key, name);
  }
  return name;
}

function computeLlvmName(table: TypeTable, record: TypeRecord, depth: number): string {
  const name = (ti: TypeIndex): string => llvmTypeName(table, ti, depth + 1);
  switch (record.kind) {
    case 'LF_FIELDLIST':
      return '<field list>';
    case 'LF_STRING_ID':
      return record.string;
    case 'LF_ARGLIST':
      // LLVM names only earlier arguments, which also keeps it from recursing forever.
      return `(${record.args
        .map((ti) => (ti < record.index ? name(ti) : `<unknown 0x${ti.toString(16).toUpperCase()}>`))
        .join(', ')})`;
    case 'LF_SUBSTR_LIST':
      return `"${record.strings.map(name).join('" "')}"`;
    case 'LF_CLASS':
    case 'LF_STRUCTURE':
    case 'LF_INTERFACE':
    case 'LF_UNION':
    case 'LF_ENUM':
    case 'LF_ARRAY':
    case 'LF_FUNC_ID':
    case 'LF_MFUNC_ID':
      return record.name;
    case 'LF_PROCEDURE':
      return `${name(record.returnType)} ${name(record.argumentList)}`;
    case 'LF_MFUNCTION':
      return `${name(record.returnType)} ${name(record.classType)}::${name(record.argumentList)}`;
    case 'LF_POINTER': {
      const attrs = record.attributes;
      if (record.memberInfo) return `${name(record.referent)} ${name(record.memberInfo.containingClass)}::*`;
      let text = name(record.referent);
      if (attrs.mode === 'lvalue-reference') text += '&';
      else if (attrs.mode === 'rvalue-reference') text += '&&';
      else if (attrs.mode === 'pointer') text += '*';
      if (attrs.isConst) text += ' const';
      if (attrs.isVolatile) text += ' volatile';
      if (attrs.isUnaligned) text += ' __unaligned';
      if (attrs.isRestrict) text += ' __restrict';
      return text;
    }
    case 'LF_MODIFIER': {
      const mods = record.modifiers;
      const prefix = `${mods.isConst ? 'const ' : ''}${mods.isVolatile ? 'volatile ' : ''}`;
      return `${prefix}${mods.isUnaligned ? '__unaligned ' : ''}${name(record.modifiedType)}`;
    }
    case 'LF_VTSHAPE':
      return `<vftable ${record.slots.length} methods>`;
    default:
      return '';
  }
}

export interface CNameOptions {
  /** Prefix UDT names with struct/class/union/enum, as C requires (default true). */
  tagKeywords?: boolean;
}

function join(base: string, inner: string): string {
  return clip(inner ? `${base} ${inner}` : base);
}

function isPointerLike(table: TypeTable, index: TypeIndex): boolean {
  if (isSimpleTypeIndex(index)) return index !== NO_TYPE && describeSimpleType(index).mode !== 'direct';
  return table.get(index)?.kind === 'LF_POINTER';
}

function needsParentheses(table: TypeTable, referent: TypeIndex): boolean {
  const kind = table.get(referent)?.kind;
  return kind === 'LF_ARRAY' || kind === 'LF_PROCEDURE' || kind === 'LF_MFUNCTION';
}

const TAG_KEYWORDS: Partial<Record<TypeRecord['kind'], string>> = {
  LF_CLASS: 'class',
  LF_STRUCTURE: 'struct',
  LF_INTERFACE: 'interface',
  LF_UNION: 'union',
  LF_ENUM: 'enum',
};

/**
 * The classic inside-out declarator walk: `inner` is what has been built so
 * far around the name ('*p', 'm[3]'), and each level wraps it and recurses
 * into the type it is made from, until a base type supplies the front.
 */
function declare(table: TypeTable, index: TypeIndex, inner: string, options: CNameOptions, depth: number): string {
  if (depth > MAX_TYPE_DEPTH) table.fail(index, 'type references nest too deeply (a cycle?)');
  const recurse = (ti: TypeIndex, text: string): string => declare(table, ti, text, options, depth + 1);

  if (isSimpleTypeIndex(index)) {
    if (index === NO_TYPE || index === NULLPTR_T) return join(simpleTypeName(index), inner);
    const simple = describeSimpleType(index);
    return join(simple.baseName, simple.mode === 'direct' ? inner : `*${inner}`);
  }
  const record = table.get(index);
  if (!record) return join(`<type 0x${index.toString(16).toUpperCase()}>`, inner);

  switch (record.kind) {
    case 'LF_POINTER': {
      const attrs = record.attributes;
      const quals: string[] = [];
      if (attrs.isConst) quals.push('const');
      if (attrs.isVolatile) quals.push('volatile');
      if (attrs.isUnaligned) quals.push('__unaligned');
      if (attrs.isRestrict) quals.push('__restrict');
      let symbol: string;
      if (record.memberInfo) {
        symbol = `${cTypeName(table, record.memberInfo.containingClass, { tagKeywords: false }, depth + 1)}::*`;
      } else if (attrs.mode === 'lvalue-reference') symbol = '&';
      else if (attrs.mode === 'rvalue-reference') symbol = '&&';
      else symbol = '*';
      const qualified = clip(quals.length ? `${symbol}${quals.join(' ')}${inner ? ' ' : ''}${inner}` : `${symbol}${inner}`);
      return recurse(record.referent, needsParentheses(table, record.referent) ? `(${qualified})` : qualified);
    }
    case 'LF_MODIFIER': {
      const mods = record.modifiers;
      const quals = [mods.isConst && 'const', mods.isVolatile && 'volatile', mods.isUnaligned && '__unaligned']
        .filter((q): q is string => typeof q === 'string')
        .join(' ');
      if (!quals) return recurse(record.modifiedType, inner);
      // A qualified pointer puts its qualifiers after the '*'; anything else takes them in front.
      if (isPointerLike(table, record.modifiedType)) return recurse(record.modifiedType, join(quals, inner));
      return `${quals} ${recurse(record.modifiedType, inner)}`;
    }
    case 'LF_ARRAY': {
      const elementSize = typeSize(table, record.elementType, depth + 1);
      const count = elementSize && record.size % elementSize === 0 ? String(record.size / elementSize) : '';
      return recurse(record.elementType, clip(`${inner}[${count}]`));
    }
    case 'LF_PROCEDURE':
    case 'LF_MFUNCTION': {
      let suffix = `(${parameterList(table, record.argumentList, options, depth)})`;
      if (record.kind === 'LF_MFUNCTION' && isConstThis(table, record.thisType)) suffix += ' const';
      return recurse(record.returnType, clip(`${inner}${suffix}`));
    }
    case 'LF_CLASS':
    case 'LF_STRUCTURE':
    case 'LF_INTERFACE':
    case 'LF_UNION':
    case 'LF_ENUM': {
      const keyword = options.tagKeywords === false ? '' : `${TAG_KEYWORDS[record.kind]} `;
      return join(`${keyword}${record.name}`, inner);
    }
    case 'LF_BITFIELD':
      return `${recurse(record.type, inner)} : ${record.bitSize}`;
    default:
      return join(`<${record.kind === 'unknown' ? `leaf 0x${record.leaf.toString(16)}` : record.kind}>`, inner);
  }
}

function parameterList(table: TypeTable, argumentList: TypeIndex, options: CNameOptions, depth: number): string {
  const list = table.get(argumentList);
  if (list?.kind !== 'LF_ARGLIST') return '?';
  if (list.args.length === 0) return 'void';
  // A trailing "no type" marks the variadic part.
  return clip(list.args.map((ti) => (ti === NO_TYPE ? '...' : cTypeName(table, ti, options, depth + 1))).join(', '));
}

/** A method whose `this` points to a const object is a const method. */
function isConstThis(table: TypeTable, thisType: TypeIndex): boolean {
  const pointer = table.get(thisType);
  if (pointer?.kind !== 'LF_POINTER') return false;
  const pointee = table.get(pointer.referent);
  return pointee?.kind === 'LF_MODIFIER' && pointee.modifiers.isConst;
}

/** The type in C syntax, as in a cast or sizeof: 'const char *', 'int (*)(int)', 'int [3][4]'. */
export function cTypeName(table: TypeTable, index: TypeIndex, options: CNameOptions = {}, depth = 0): string {
  const cache = memo(cNames, table);
  const key = `${index}:${options.tagKeywords !== false}`;
  let name = cache.get(key);
  if (name === undefined) {
    name = declare(table, index, '', options, depth);
    cache.set(key, name);
  }
  return name;
}

/** A C declaration of `name`: 'int (*callback)(int)', 'const char *const strings[2][3]'. */
export function cDeclaration(table: TypeTable, index: TypeIndex, name: string, options: CNameOptions = {}): string {
  return declare(table, index, name, options, 0);
}
