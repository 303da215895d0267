/**
 * The model's types as DWARF 4 type DIEs, all in one unit shared by every
 * compile unit: each type is written once however many units use it, and
 * the other units refer to it with DW_FORM_ref_addr (which gdb and lldb
 * follow across units, as they do in dwz-compressed and LTO output). Inside
 * the shared unit types refer to each other with DW_FORM_ref4.
 *
 * C++ names arrive qualified ('outer::Derived::Nested'); each type DIE gets
 * its short name under the DIE of the class it is nested in, or under
 * DW_TAG_namespace DIEs for the namespace part, so gdb rebuilds the same
 * qualified name and finds the type by it.
 */
import { JosgdbError } from '../common/errors';
import type {
  ModelAccess,
  ModelArrayType,
  ModelBaseEncoding,
  ModelEnumType,
  ModelFunctionType,
  ModelMethod,
  ModelStructType,
  ModelType,
  ModelTypeInfo,
  ModelTypeRef,
} from '../symbols/debug-model-types';
import { DW_ACCESS, DW_AT, DW_ATE, DW_TAG, DW_VIRTUALITY } from './constants';
import { Die } from './die';
import { vtableSlotExpression } from './locations';
import { isAnonymousNamespace, splitQualifiedName } from './qualified-names';

export interface TypeDies {
  /** The DIE of a type; undefined for void, which DWARF writes as an absent DW_AT_type. */
  dieOf(ref: ModelTypeRef): Die | undefined;
  /** Throws unless `ref` names a type of the model (the writer's input check). */
  check(ref: ModelTypeRef, what: string): void;
  /** The function type `ref` names; undefined when it names another kind of type. */
  functionType(ref: ModelTypeRef, what: string): ModelFunctionType | undefined;
}

const ENCODINGS: Record<ModelBaseEncoding, number> = {
  signed: DW_ATE.signed,
  unsigned: DW_ATE.unsigned,
  'signed-char': DW_ATE.signed_char,
  'unsigned-char': DW_ATE.unsigned_char,
  boolean: DW_ATE.boolean,
  float: DW_ATE.float,
  'complex-float': DW_ATE.complex_float,
  utf: DW_ATE.UTF,
};

function tagOf(type: Exclude<ModelType, { kind: 'void' }>): number {
  switch (type.kind) {
    case 'base':
      return DW_TAG.base_type;
    case 'unspecified':
      return DW_TAG.unspecified_type;
    case 'pointer':
      return DW_TAG.pointer_type;
    case 'reference':
      return DW_TAG.reference_type;
    case 'rvalue-reference':
      return DW_TAG.rvalue_reference_type;
    case 'member-pointer':
      return DW_TAG.ptr_to_member_type;
    case 'const':
      return DW_TAG.const_type;
    case 'volatile':
      return DW_TAG.volatile_type;
    case 'restrict':
      return DW_TAG.restrict_type;
    case 'array':
      return DW_TAG.array_type;
    case 'struct':
    case 'opaque':
      return DW_TAG.structure_type;
    case 'class':
      return DW_TAG.class_type;
    case 'union':
      return DW_TAG.union_type;
    case 'enum':
      return DW_TAG.enumeration_type;
    case 'typedef':
      return DW_TAG.typedef;
    case 'function':
      return DW_TAG.subroutine_type;
  }
}

function bad(message: string): never {
  throw new JosgdbError('BAD_ARGUMENT', `writeDebugElf: ${message}`);
}

/** The qualified name a type is declared with, when it is one the scoping applies to. */
function scopedName(type: ModelType): string | undefined {
  switch (type.kind) {
    case 'struct':
    case 'class':
    case 'union':
    case 'enum':
      return type.name;
    case 'typedef':
      return type.name;
    default:
      return undefined;
  }
}

/**
 * Builds a DIE for every non-void type of `info` and adds them (with any
 * namespace DIEs they need) under `root`, the shared unit's DIE.
 */
export function buildTypeDies(info: ModelTypeInfo, root: Die): TypeDies {
  const types = info.types;
  const dies: (Die | undefined)[] = types.map((t) => (t.kind === 'void' ? undefined : new Die(tagOf(t))));
  const check = (ref: ModelTypeRef, what: string): void => {
    if (!Number.isInteger(ref) || ref < 0 || ref >= types.length) bad(`${what} refers to type ${ref}, the model has ${types.length}`);
  };
  const dieOf = (ref: ModelTypeRef): Die | undefined => dies[ref];
  const typeAttr = (die: Die, ref: ModelTypeRef, what: string): void => {
    check(ref, what);
    const target = dies[ref];
    if (target) die.ref(DW_AT.type, target);
  };

  types.forEach((type, ref) => {
    const die = dies[ref];
    if (die) fill(die, type, `type ${ref}`);
  });
  placeAll();
  const functionType = (ref: ModelTypeRef, what: string): ModelFunctionType | undefined => {
    check(ref, what);
    const type = types[ref];
    return type?.kind === 'function' ? type : undefined;
  };
  return { dieOf, check, functionType };

  function fill(die: Die, type: ModelType, what: string): void {
    switch (type.kind) {
      case 'void':
        return;
      case 'base':
        die.strp(DW_AT.name, type.name).data1(DW_AT.encoding, ENCODINGS[type.encoding]).udata(DW_AT.byte_size, type.byteSize);
        return;
      case 'unspecified':
        die.strp(DW_AT.name, type.name);
        return;
      case 'pointer':
      case 'reference':
      case 'rvalue-reference':
        typeAttr(die, type.target, what);
        die.udata(DW_AT.byte_size, type.byteSize);
        return;
      case 'member-pointer':
        typeAttr(die, type.target, what);
        check(type.containingType, what);
        if (dies[type.containingType]) die.ref(DW_AT.containing_type, dies[type.containingType]!);
        return;
      case 'const':
      case 'volatile':
      case 'restrict':
        typeAttr(die, type.target, what);
        return;
      case 'array':
        fillArray(die, type, what);
        return;
      case 'struct':
      case 'class':
      case 'union':
        fillAggregate(die, type, what);
        return;
      case 'enum':
        fillEnum(die, type, what);
        return;
      case 'typedef':
        // Named in placeAll, which knows the scope.
        typeAttr(die, type.target, what);
        return;
      case 'function':
        fillFunction(die, type, what, false);
        return;
      case 'opaque':
        die.strp(DW_AT.name, type.name).flag(DW_AT.declaration);
        return;
    }
  }

  function fillArray(die: Die, type: ModelArrayType, what: string): void {
    typeAttr(die, type.element, what);
    for (const count of type.dimensions) {
      const range = die.child(DW_TAG.subrange_type);
      if (count !== undefined) range.udata(DW_AT.count, count);
    }
  }

  function accessAttr(die: Die, access: ModelAccess, defaultAccess: ModelAccess): void {
    if (access !== defaultAccess) die.data1(DW_AT.accessibility, DW_ACCESS[access]);
  }

  function fillAggregate(die: Die, type: ModelStructType, what: string): void {
    if (type.declaration) {
      die.flag(DW_AT.declaration);
      return;
    }
    die.udata(DW_AT.byte_size, type.byteSize);
    // C++: members of a class are private unless said otherwise, of a struct or union public.
    const defaultAccess: ModelAccess = type.kind === 'class' ? 'private' : 'public';
    for (const base of type.bases) {
      const inheritance = die.child(DW_TAG.inheritance);
      typeAttr(inheritance, base.type, `${what} base`);
      inheritance.udata(DW_AT.data_member_location, base.byteOffset);
      accessAttr(inheritance, base.access, defaultAccess);
    }
    for (const member of type.members) {
      const m = die.child(DW_TAG.member);
      if (member.name !== undefined) m.strp(DW_AT.name, member.name);
      typeAttr(m, member.type, `${what} member ${member.name ?? '(anonymous)'}`);
      if (member.isStatic) {
        // DWARF 4's static data member: a declaration; the definition is the data symbol of the qualified name.
        m.flag(DW_AT.external).flag(DW_AT.declaration);
      } else if (member.bitField) {
        m.udata(DW_AT.bit_size, member.bitField.bitSize);
        m.udata(DW_AT.data_bit_offset, member.byteOffset * 8 + member.bitField.bitOffset);
      } else {
        m.udata(DW_AT.data_member_location, member.byteOffset);
      }
      accessAttr(m, member.access, defaultAccess);
      if (member.artificial) m.flag(DW_AT.artificial);
    }
    for (const method of type.methods) methodDie(die, method, defaultAccess, what);
  }

  function methodDie(parent: Die, method: ModelMethod, defaultAccess: ModelAccess, what: string): void {
    check(method.type, `${what} method ${method.name}`);
    const fn = types[method.type];
    if (fn?.kind !== 'function') return; // not a function type: nothing a debugger could call or show
    const die = parent.child(DW_TAG.subprogram).strp(DW_AT.name, method.name);
    fillFunction(die, fn, `${what} method ${method.name}`, true);
    die.flag(DW_AT.declaration).flag(DW_AT.external);
    accessAttr(die, method.access, defaultAccess);
    if (method.virtuality !== 'none') {
      die.data1(DW_AT.virtuality, method.virtuality === 'virtual' ? DW_VIRTUALITY.virtual : DW_VIRTUALITY.pure_virtual);
      // gdb takes a method as virtual only with its slot.
      if (method.vtableSlot !== undefined) die.exprloc(DW_AT.vtable_elem_location, vtableSlotExpression(method.vtableSlot));
    }
    if (method.artificial) die.flag(DW_AT.artificial);
  }

  /** A function type's return type and parameters; a method's `this` comes first, marked artificial. */
  function fillFunction(die: Die, type: ModelFunctionType, what: string, isMethod: boolean): void {
    check(type.returnType, `${what} return type`);
    if (dies[type.returnType]) die.ref(DW_AT.type, dies[type.returnType]!);
    die.flag(DW_AT.prototyped);
    if (type.thisType !== undefined) {
      const self = die.child(DW_TAG.formal_parameter);
      typeAttr(self, type.thisType, `${what} this`);
      self.flag(DW_AT.artificial);
      if (isMethod) die.ref(DW_AT.object_pointer, self);
    }
    for (const parameter of type.parameters) typeAttr(die.child(DW_TAG.formal_parameter), parameter, `${what} parameter`);
    if (type.variadic) die.child(DW_TAG.unspecified_parameters);
  }

  function fillEnum(die: Die, type: ModelEnumType, what: string): void {
    typeAttr(die, type.underlying, what);
    if (type.declaration) {
      die.flag(DW_AT.declaration);
      return;
    }
    die.udata(DW_AT.byte_size, type.byteSize);
    for (const e of type.enumerators) {
      const enumerator = die.child(DW_TAG.enumerator).strp(DW_AT.name, e.name);
      if (e.value < 0n) enumerator.sdata(DW_AT.const_value, e.value);
      else enumerator.udata(DW_AT.const_value, e.value);
    }
  }

  /**
   * Adds each type DIE to its parent: the class it is nested in, else the
   * namespaces its qualified name names (or a class of that name), else the
   * unit. Names are set here, short under a scope, whole at the unit.
   */
  function placeAll(): void {
    const nestedIn = new Map<ModelTypeRef, ModelTypeRef>();
    const aggregateByName = new Map<string, ModelTypeRef>();
    types.forEach((type, ref) => {
      if (type.kind !== 'struct' && type.kind !== 'class' && type.kind !== 'union') return;
      for (const inner of type.nestedTypes) {
        check(inner, `type ${ref} nested type`);
        if (!nestedIn.has(inner) && inner !== ref) nestedIn.set(inner, ref);
      }
      if (type.name !== undefined) {
        const known = aggregateByName.get(type.name);
        const knownType = known === undefined ? undefined : (types[known] as ModelStructType);
        if (!knownType || (knownType.declaration && !type.declaration)) aggregateByName.set(type.name, ref);
      }
    });
    const namespaces = new Map<string, Die>();
    const namespaceDie = (parts: readonly string[]): Die => {
      let parent = root;
      for (let i = 0; i < parts.length; i++) {
        const key = parts.slice(0, i + 1).join('::');
        let ns = namespaces.get(key);
        if (!ns) {
          ns = parent.child(DW_TAG.namespace);
          if (!isAnonymousNamespace(parts[i]!)) ns.strp(DW_AT.name, parts[i]!);
          namespaces.set(key, ns);
        }
        parent = ns;
      }
      return parent;
    };
    /** The class DIE a name's scope part names, unless that class would be nested in itself. */
    const enclosing = (ref: ModelTypeRef, parts: readonly string[]): ModelTypeRef | undefined => {
      const direct = nestedIn.get(ref);
      const candidate = direct ?? (parts.length > 1 ? aggregateByName.get(parts.slice(0, -1).join('::')) : undefined);
      if (candidate === undefined) return undefined;
      // Follow the chain of enclosing classes; a loop (only a malformed model has one) places the type at the unit.
      const seen = new Set<ModelTypeRef>([ref]);
      for (let at: ModelTypeRef | undefined = candidate; at !== undefined; at = nestedIn.get(at)) {
        if (seen.has(at)) return undefined;
        seen.add(at);
      }
      return candidate;
    };

    types.forEach((type, ref) => {
      const die = dies[ref];
      if (!die) return;
      const name = scopedName(type);
      if (name === undefined) {
        root.children.push(die);
        return;
      }
      const parts = info.language === 'c++' ? splitQualifiedName(name) : [name];
      const outer = enclosing(ref, parts);
      let parent: Die;
      if (outer !== undefined) parent = dies[outer]!;
      else if (parts.length > 1) parent = namespaceDie(parts.slice(0, -1));
      else parent = root;
      die.strp(DW_AT.name, outer !== undefined || parts.length > 1 ? parts[parts.length - 1]! : name);
      parent.children.push(die);
    });
  }
}
