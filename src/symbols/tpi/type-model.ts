/**
 * TPI type records to the format-free ModelTypeInfo (src/symbols/debug-model-types.ts),
 * lazily: only the types something asks for (a variable, a function, a
 * typedef) and what they reach are translated, so a PDB with tens of
 * thousands of records yields only the few thousand types its symbols use.
 *
 * Each distinct type becomes one model type: forward references share their
 * definition's node (found by unique name, as LLVM does), and pointers,
 * qualifiers, arrays and functions are interned by their structure, so
 * `int *` written as simple index 0x0674 and as an LF_POINTER record is one
 * type. Aggregates get their node before their members are translated and
 * have their fields filled from a work list, so self-referencing types
 * terminate and long chains of structs pointing at each other do not grow
 * the JavaScript stack.
 *
 * Nothing here guesses: a record the translation cannot describe becomes an
 * opaque (incomplete) type, which a debugger shows as such and never reads
 * as a wrong value.
 */
import type {
  ModelAccess,
  ModelBaseType,
  ModelEnumType,
  ModelFunctionType,
  ModelMember,
  ModelMethod,
  ModelStructType,
  ModelType,
  ModelTypeInfo,
  ModelTypeRef,
} from '../debug-model-types';
import { fieldsOrNothing, flattenedRun, methodEntries, virtuality, vtableSlot, type AggregateRecord, type MethodEntry } from './aggregate-records';
import { pointerKindSize, type MemberAccess } from './attributes';
import { SIMPLE_KIND_VOID, simpleBaseType } from './base-types';
import type { DataMember, FieldMember } from './field-list';
import type { ArrayRecord, EnumRecord, MemberFunctionRecord, PointerRecord, ProcedureRecord } from './records';
import { describeSimpleType, isSimpleTypeIndex, NO_TYPE, NULLPTR_T, type TypeIndex } from './simple-types';
import type { TypeRecord } from './type-stream';
import { MAX_TYPE_DEPTH, type TypeTable } from './type-table';

export interface TypeTranslationOptions {
  /** Names base types as this language spells them ('_Bool' or 'bool'). */
  language: 'c' | 'c++';
}


/** Compiler names for unnamed types; DWARF leaves such a type without a name. */
const UNNAMED = /(^|::)(<unnamed-tag>|<unnamed-type-[^>]*>|<anonymous-tag>|__unnamed)$/;

function typeName(name: string): string | undefined {
  return name === '' || UNNAMED.test(name) ? undefined : name;
}

function access(a: MemberAccess): ModelAccess {
  return a === 'private' || a === 'protected' ? a : 'public';
}

/** The last component of a qualified name: 'Base' for 'outer::Base'. */
function unqualified(name: string): string {
  let depth = 0;
  for (let i = name.length - 1; i > 0; i--) {
    const c = name[i];
    if (c === '>' || c === ')') depth++;
    else if (c === '<' || c === '(') depth--;
    else if (depth === 0 && c === ':' && name[i - 1] === ':') return name.slice(i + 1);
  }
  return name;
}

/**
 * An enumerator's value as the underlying type reads it: compilers store a
 * negative value of a signed enum as its unsigned pattern (65534 for a short -2).
 */
function enumeratorValue(value: bigint, underlying: ModelBaseType | undefined): bigint {
  if (!underlying || (underlying.encoding !== 'signed' && underlying.encoding !== 'signed-char')) return value;
  const bits = BigInt(underlying.byteSize * 8);
  if (value >= 1n << (bits - 1n) && value < 1n << bits) return value - (1n << bits);
  if (value >= 1n << 63n && value < 1n << 64n) return value - (1n << 64n);
  return value;
}

export class ModelTypeTranslator {
  readonly info: ModelTypeInfo;
  private readonly language: 'c' | 'c++';
  private readonly byIndex = new Map<TypeIndex, ModelTypeRef>();
  private readonly byKey = new Map<string, ModelTypeRef>();
  /** Aggregates whose fields are still to be translated. */
  private readonly pending: { ref: ModelTypeRef; record: AggregateRecord }[] = [];
  /** Non-aggregate records being translated: a cycle among them is corrupt data. */
  private readonly active = new Set<TypeIndex>();
  private draining = false;

  constructor(
    private readonly table: TypeTable,
    options: TypeTranslationOptions,
  ) {
    this.language = options.language;
    this.info = { types: [], language: options.language };
  }

  /** The model type for a TPI type index (translating it and what it reaches, if new). */
  typeOf(index: TypeIndex): ModelTypeRef {
    const ref = this.translate(index, 0);
    this.drain();
    return ref;
  }

  /** The model type of a function's LF_PROCEDURE / LF_MFUNCTION; undefined when `index` is neither. */
  functionTypeOf(index: TypeIndex): ModelTypeRef | undefined {
    const kind = this.table.get(index)?.kind;
    if (kind !== 'LF_PROCEDURE' && kind !== 'LF_MFUNCTION') return undefined;
    return this.typeOf(index);
  }

  /**
   * A typedef from an S_UDT record. S_UDT also names every tag type after
   * itself. In C++ that name already is a type name, so such a record adds
   * nothing and returns the type itself. In C it is kept as a typedef: the
   * compiler names an unnamed struct after its first typedef
   * (`typedef struct { ... } EFI_GUID;` is `struct EFI_GUID`), and only a
   * typedef lets `EFI_GUID` be used alone.
   */
  typedef(name: string, index: TypeIndex): ModelTypeRef {
    const target = this.typeOf(index);
    const type = this.info.types[target]!;
    const isTag = type.kind === 'struct' || type.kind === 'class' || type.kind === 'union' || type.kind === 'enum';
    if (isTag && type.name === name && this.language === 'c++') return target;
    return this.intern(`typedef:${name}:${target}`, { kind: 'typedef', name, target });
  }

  /** The model type for `void`. */
  voidType(): ModelTypeRef {
    return this.intern('void', { kind: 'void' });
  }

  // --- translation -------------------------------------------------------------

  private add(type: ModelType): ModelTypeRef {
    this.info.types.push(type);
    return this.info.types.length - 1;
  }

  /** One node per structure: the same key always gives the same type. */
  private intern(key: string, type: ModelType): ModelTypeRef {
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const ref = this.add(type);
    this.byKey.set(key, ref);
    return ref;
  }

  private opaque(name: string): ModelTypeRef {
    return this.intern(`opaque:${name}`, { kind: 'opaque', name });
  }

  private baseType(type: ModelBaseType): ModelTypeRef {
    return this.intern(`base:${type.name}:${type.byteSize}:${type.encoding}`, type);
  }

  private pointerTo(target: ModelTypeRef, byteSize: number, kind: 'pointer' | 'reference' | 'rvalue-reference' = 'pointer'): ModelTypeRef {
    return this.intern(`${kind}:${target}:${byteSize}`, { kind, target, byteSize });
  }

  private qualified(kind: 'const' | 'volatile' | 'restrict', target: ModelTypeRef): ModelTypeRef {
    return this.intern(`${kind}:${target}`, { kind, target });
  }

  private functionType(type: ModelFunctionType): ModelTypeRef {
    const key = `function:${type.returnType}(${type.parameters.join(',')}${type.variadic ? ',...' : ''})${type.thisType ?? ''}`;
    return this.intern(key, type);
  }

  private translate(index: TypeIndex, depth: number): ModelTypeRef {
    const known = this.byIndex.get(index);
    if (known !== undefined) return known;
    if (depth > MAX_TYPE_DEPTH || this.active.has(index)) return this.opaque(`<type 0x${index.toString(16)}>`);
    let ref: ModelTypeRef;
    if (isSimpleTypeIndex(index)) {
      ref = this.simple(index);
    } else {
      const record = this.table.get(index);
      if (!record) return this.opaque(`<type 0x${index.toString(16)}>`);
      this.active.add(index);
      try {
        ref = this.record(record, depth);
      } finally {
        this.active.delete(index);
      }
    }
    this.byIndex.set(index, ref);
    return ref;
  }

  private simple(index: TypeIndex): ModelTypeRef {
    if (index === NO_TYPE) return this.voidType();
    if (index === NULLPTR_T) return this.intern('nullptr', { kind: 'unspecified', name: 'decltype(nullptr)' });
    const simple = describeSimpleType(index);
    let target: ModelTypeRef;
    if (simple.kind === SIMPLE_KIND_VOID) target = this.voidType();
    else {
      const base = simpleBaseType(simple.kind, this.language);
      target = base ? this.baseType(base) : this.opaque(simple.baseName);
    }
    if (simple.mode === 'direct') return target;
    return this.pointerTo(target, simple.size ?? 8);
  }

  private record(record: TypeRecord, depth: number): ModelTypeRef {
    const next = (ti: TypeIndex): ModelTypeRef => this.translate(ti, depth + 1);
    switch (record.kind) {
      case 'LF_MODIFIER': {
        let ref = next(record.modifiedType);
        if (record.modifiers.isVolatile) ref = this.qualified('volatile', ref);
        if (record.modifiers.isConst) ref = this.qualified('const', ref);
        return ref;
      }
      case 'LF_POINTER':
        return this.pointer(record, next);
      case 'LF_ARRAY':
        return this.array(record, next);
      case 'LF_CLASS':
      case 'LF_STRUCTURE':
      case 'LF_INTERFACE':
      case 'LF_UNION':
        return this.aggregate(record);
      case 'LF_ENUM':
        return this.enumeration(record, next);
      case 'LF_PROCEDURE':
      case 'LF_MFUNCTION':
        return this.procedure(record, next);
      case 'LF_BITFIELD':
        // Only reached through a member, which keeps the bit layout; the value's type is the base type.
        return next(record.type);
      default:
        return this.opaque(record.kind === 'unknown' ? `<leaf 0x${record.leaf.toString(16)}>` : `<${record.kind}>`);
    }
  }

  private pointer(record: TypeRecord & PointerRecord, next: (ti: TypeIndex) => ModelTypeRef): ModelTypeRef {
    const attrs = record.attributes;
    const byteSize = attrs.size || pointerKindSize(attrs.kind) || 8;
    let ref: ModelTypeRef;
    if (record.memberInfo) {
      const target = next(record.referent);
      const containingType = next(record.memberInfo.containingClass);
      ref = this.intern(`member-pointer:${target}:${containingType}:${byteSize}`, { kind: 'member-pointer', target, containingType, byteSize });
    } else if (attrs.mode === 'lvalue-reference') ref = this.pointerTo(next(record.referent), byteSize, 'reference');
    else if (attrs.mode === 'rvalue-reference') ref = this.pointerTo(next(record.referent), byteSize, 'rvalue-reference');
    else if (attrs.mode === 'pointer') ref = this.pointerTo(next(record.referent), byteSize);
    else return this.opaque(`<pointer mode ${attrs.mode}>`);
    // The pointer's own qualifiers, innermost first as C reads `int *restrict volatile const`.
    if (attrs.isRestrict) ref = this.qualified('restrict', ref);
    if (attrs.isVolatile) ref = this.qualified('volatile', ref);
    if (attrs.isConst) ref = this.qualified('const', ref);
    return ref;
  }

  /** CodeView nests LF_ARRAY per dimension and gives sizes in bytes; the model wants counts, outermost first. */
  private array(record: TypeRecord & ArrayRecord, next: (ti: TypeIndex) => ModelTypeRef): ModelTypeRef {
    const dimensions: (number | undefined)[] = [];
    let current: ArrayRecord = record;
    for (;;) {
      const elementSize = this.table.sizeOf(current.elementType);
      const count = elementSize && current.size > 0 && current.size % elementSize === 0 ? current.size / elementSize : undefined;
      dimensions.push(count);
      const inner = this.table.get(current.elementType);
      if (inner?.kind !== 'LF_ARRAY' || dimensions.length > MAX_TYPE_DEPTH) break;
      current = inner;
    }
    const element = next(current.elementType);
    return this.intern(`array:${element}:${dimensions.join(',')}`, { kind: 'array', element, dimensions });
  }

  private procedure(record: TypeRecord & (ProcedureRecord | MemberFunctionRecord), next: (ti: TypeIndex) => ModelTypeRef): ModelTypeRef {
    const returnType = next(record.returnType);
    const list = this.table.get(record.argumentList);
    const args = list?.kind === 'LF_ARGLIST' ? list.args : [];
    // A trailing "no type" marks the `...` of a variadic function.
    const variadic = args.length > 0 && args[args.length - 1] === NO_TYPE;
    const parameters = (variadic ? args.slice(0, -1) : args).map(next);
    const type: ModelFunctionType = { kind: 'function', returnType, parameters, variadic };
    if (record.kind === 'LF_MFUNCTION' && record.thisType !== NO_TYPE) type.thisType = next(record.thisType);
    return this.functionType(type);
  }

  private enumeration(record: TypeRecord & EnumRecord, next: (ti: TypeIndex) => ModelTypeRef): ModelTypeRef {
    const definitionIndex = this.table.resolveForwardRef(record.index);
    const known = this.byIndex.get(definitionIndex);
    if (known !== undefined) return known;
    const definition = this.table.get(definitionIndex);
    const source = definition?.kind === 'LF_ENUM' ? definition : record;
    const underlyingBase = isSimpleTypeIndex(source.underlyingType) ? simpleBaseType(source.underlyingType & 0xff, this.language) : undefined;
    const type: ModelEnumType = {
      kind: 'enum',
      byteSize: this.table.sizeOf(source.underlyingType) ?? 4,
      underlying: next(source.underlyingType),
      declaration: source.properties.forwardReference,
      enumerators: [],
    };
    const name = typeName(source.name);
    if (name !== undefined) type.name = name;
    const ref = this.add(type);
    this.byIndex.set(definitionIndex, ref);
    if (!type.declaration && source.fieldList !== NO_TYPE) {
      for (const member of fieldsOrNothing(this.table, source.fieldList)) {
        if (member.kind === 'LF_ENUMERATE') type.enumerators.push({ name: member.name, value: enumeratorValue(member.value, underlyingBase) });
      }
    }
    return ref;
  }

  private aggregate(record: AggregateRecord): ModelTypeRef {
    const definitionIndex = this.table.resolveForwardRef(record.index);
    const known = this.byIndex.get(definitionIndex);
    if (known !== undefined) return known;
    const definition = this.table.get(definitionIndex);
    const source: AggregateRecord = definition && definition.kind === record.kind ? (definition as AggregateRecord) : record;
    const type: ModelStructType = {
      kind: source.kind === 'LF_CLASS' ? 'class' : source.kind === 'LF_UNION' ? 'union' : 'struct',
      byteSize: source.properties.forwardReference ? 0 : source.size,
      declaration: source.properties.forwardReference,
      members: [],
      bases: [],
      methods: [],
      nestedTypes: [],
    };
    const name = typeName(source.name);
    if (name !== undefined) type.name = name;
    const ref = this.add(type);
    this.byIndex.set(definitionIndex, ref);
    if (!type.declaration && source.fieldList !== NO_TYPE) this.pending.push({ ref, record: source });
    return ref;
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let item = this.pending.pop(); item; item = this.pending.pop()) this.fillAggregate(item.ref, item.record);
    } finally {
      this.draining = false;
    }
  }

  private fillAggregate(ref: ModelTypeRef, record: AggregateRecord): void {
    const type = this.info.types[ref] as ModelStructType;
    const fields = fieldsOrNothing(this.table, record.fieldList);
    const next = (ti: TypeIndex): ModelTypeRef => this.translate(ti, 0);
    const anonymousTypes: TypeIndex[] = [];
    for (const field of fields) {
      switch (field.kind) {
        case 'LF_MEMBER':
          type.members.push(this.dataMember(field, next));
          break;
        case 'LF_STMEMBER':
          type.members.push({ name: field.name, type: next(field.type), byteOffset: 0, isStatic: true, access: access(field.attributes.access) });
          break;
        case 'LF_BCLASS':
        case 'LF_BINTERFACE':
          type.bases.push({ type: next(field.type), byteOffset: field.offset, access: access(field.attributes.access) });
          break;
        case 'LF_VFUNCTAB':
          // The virtual table pointer the class introduces, at its start (Microsoft ABI), named as clang names it.
          type.members.push({
            name: `_vptr$${unqualified(record.name)}`,
            type: this.vtablePointer(),
            byteOffset: 0,
            access: 'public',
            artificial: true,
          });
          break;
        case 'LF_NESTTYPE':
          if (field.name === '') anonymousTypes.push(field.type);
          else this.nested(type, record.name, field.name, field.type, next);
          break;
        case 'LF_ONEMETHOD':
        case 'LF_METHOD':
          for (const m of methodEntries(this.table, field)) type.methods.push(this.method(record, m, next));
          break;
        default:
          // Virtual bases (their offset is found through the vbtable at run time) and unknown sub-records: left out.
          break;
      }
    }
    for (const anonymous of anonymousTypes) this.regroupAnonymous(type, anonymous, fields, next);
  }

  private dataMember(field: DataMember, next: (ti: TypeIndex) => ModelTypeRef): ModelMember {
    const member: ModelMember = { type: 0, byteOffset: field.offset, access: access(field.attributes.access) };
    if (field.name !== '') member.name = field.name;
    const target = this.table.get(field.type);
    if (target?.kind === 'LF_BITFIELD') {
      member.type = next(target.type);
      member.bitField = { bitOffset: target.bitOffset, bitSize: target.bitSize };
    } else {
      member.type = next(field.type);
    }
    return member;
  }

  /** A nested type, or a typedef declared in the class (its nested name differs from the type's own). */
  private nested(type: ModelStructType, outerName: string, name: string, index: TypeIndex, next: (ti: TypeIndex) => ModelTypeRef): void {
    const ref = next(index);
    const inner = this.info.types[ref]!;
    const qualified = `${outerName}::${name}`;
    const isOwnType = (inner.kind === 'struct' || inner.kind === 'class' || inner.kind === 'union' || inner.kind === 'enum') && inner.name === qualified;
    const nestedRef = isOwnType ? ref : this.intern(`typedef:${qualified}:${ref}`, { kind: 'typedef', name: qualified, target: ref });
    if (!type.nestedTypes.includes(nestedRef)) type.nestedTypes.push(nestedRef);
  }

  private method(owner: AggregateRecord, entry: MethodEntry, next: (ti: TypeIndex) => ModelTypeRef): ModelMethod {
    const kind = entry.attributes.methodKind;
    const method: ModelMethod = {
      name: entry.name,
      type: next(entry.type),
      access: access(entry.attributes.access),
      virtuality: virtuality(kind),
      isStatic: kind === 'static',
      artificial: entry.attributes.compilerGenerated,
    };
    if (method.virtuality !== 'none') {
      const slot = vtableSlot(this.table, owner, entry);
      if (slot !== undefined) method.vtableSlot = slot;
    }
    return method;
  }

  /** `int (**)(void)`: what a virtual table pointer points to, as clang describes it in DWARF. */
  private vtablePointer(): ModelTypeRef {
    const int = this.baseType(simpleBaseType(0x74, this.language)!);
    const slot = this.functionType({ kind: 'function', returnType: int, parameters: [], variadic: false });
    return this.pointerTo(this.pointerTo(slot, 8), 8);
  }

  /**
   * CodeView flattens the members of an anonymous struct or union into the
   * enclosing type; put the run back as one unnamed member, so the debugger
   * shows the layout the source declared.
   */
  private regroupAnonymous(type: ModelStructType, anonymous: TypeIndex, parentFields: readonly FieldMember[], next: (ti: TypeIndex) => ModelTypeRef): void {
    const run = flattenedRun(this.table, anonymous, parentFields);
    if (!run) return;
    // The model's members follow the field list's LF_MEMBERs one to one, after any vtable pointer.
    const first = type.members.findIndex((m) => !m.artificial && !m.isStatic && m.name === run.firstName && m.byteOffset === run.firstOffset);
    if (first < 0) return;
    type.members.splice(first, run.count, { type: next(run.type), byteOffset: run.displacement, access: 'public' });
  }
}
