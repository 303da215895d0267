/**
 * The packed bit fields inside type records (cvinfo.h lfPointerAttr, CV_prop_t,
 * CV_fldattr_t, CV_funcattr_t, CV_modifier_t, CV_call_e) as named values.
 * Values outside the documented set become `reserved-N` rather than an error:
 * a new compiler flag must not make a whole type stream unreadable, and every
 * decoded attribute keeps its raw word so nothing is lost.
 */

export type Reserved = `reserved-${number}`;

function pick<T extends string>(names: readonly T[], value: number): T | Reserved {
  return names[value] ?? `reserved-${value}`;
}

export type PointerKind =
  | 'near16'
  | 'far16'
  | 'huge16'
  | 'based-on-segment'
  | 'based-on-value'
  | 'based-on-segment-value'
  | 'based-on-address'
  | 'based-on-segment-address'
  | 'based-on-type'
  | 'based-on-self'
  | 'near32'
  | 'far32'
  | 'near64'
  | Reserved;

const POINTER_KINDS = [
  'near16',
  'far16',
  'huge16',
  'based-on-segment',
  'based-on-value',
  'based-on-segment-value',
  'based-on-address',
  'based-on-segment-address',
  'based-on-type',
  'based-on-self',
  'near32',
  'far32',
  'near64',
] as const;

export type PointerMode =
  | 'pointer'
  | 'lvalue-reference'
  | 'pointer-to-data-member'
  | 'pointer-to-member-function'
  | 'rvalue-reference'
  | Reserved;

const POINTER_MODES = [
  'pointer',
  'lvalue-reference',
  'pointer-to-data-member',
  'pointer-to-member-function',
  'rvalue-reference',
] as const;

export interface PointerAttributes {
  kind: PointerKind;
  mode: PointerMode;
  /** Pointer size in bytes as the compiler recorded it; 0 when it left the field empty. */
  size: number;
  isFlat32: boolean;
  isVolatile: boolean;
  isConst: boolean;
  isUnaligned: boolean;
  isRestrict: boolean;
  /** WinRT smart pointer ("ismocom"). */
  isMocom: boolean;
  /** The pointer is the `this` of a method with an `&` ref-qualifier. */
  isLValueRefThis: boolean;
  /** The pointer is the `this` of a method with an `&&` ref-qualifier. */
  isRValueRefThis: boolean;
  raw: number;
}

export function decodePointerAttributes(raw: number): PointerAttributes {
  return {
    kind: pick(POINTER_KINDS, raw & 0x1f),
    mode: pick(POINTER_MODES, (raw >>> 5) & 7),
    size: (raw >>> 13) & 0x3f,
    isFlat32: (raw & 0x100) !== 0,
    isVolatile: (raw & 0x200) !== 0,
    isConst: (raw & 0x400) !== 0,
    isUnaligned: (raw & 0x800) !== 0,
    isRestrict: (raw & 0x1000) !== 0,
    isMocom: (raw & 0x80000) !== 0,
    isLValueRefThis: (raw & 0x100000) !== 0,
    isRValueRefThis: (raw & 0x200000) !== 0,
    raw,
  };
}

/** Bytes in a pointer of each kind, for records whose size field is 0. */
export function pointerKindSize(kind: PointerKind): number | undefined {
  switch (kind) {
    case 'near16':
      return 2;
    case 'far16':
    case 'huge16':
    case 'near32':
      return 4;
    case 'far32':
      return 6;
    case 'near64':
      return 8;
    default:
      return undefined;
  }
}

/** How a pointer to member is laid out, which decides its size under the MSVC ABI. */
export type MemberPointerRepresentation =
  | 'unknown'
  | 'single-inheritance-data'
  | 'multiple-inheritance-data'
  | 'virtual-inheritance-data'
  | 'general-data'
  | 'single-inheritance-function'
  | 'multiple-inheritance-function'
  | 'virtual-inheritance-function'
  | 'general-function'
  | Reserved;

const REPRESENTATIONS = [
  'unknown',
  'single-inheritance-data',
  'multiple-inheritance-data',
  'virtual-inheritance-data',
  'general-data',
  'single-inheritance-function',
  'multiple-inheritance-function',
  'virtual-inheritance-function',
  'general-function',
] as const;

export function decodeMemberPointerRepresentation(raw: number): MemberPointerRepresentation {
  return pick(REPRESENTATIONS, raw);
}

export interface ModifierFlags {
  isConst: boolean;
  isVolatile: boolean;
  isUnaligned: boolean;
  raw: number;
}

export function decodeModifierFlags(raw: number): ModifierFlags {
  return { isConst: (raw & 1) !== 0, isVolatile: (raw & 2) !== 0, isUnaligned: (raw & 4) !== 0, raw };
}

/** Homogeneous floating-point aggregate class of a UDT (ARM64/x64 vectorcall ABIs). */
export type HfaKind = 'none' | 'float' | 'double' | 'other';
/** Managed/WinRT class flavour. */
export type MocomKind = 'none' | 'ref' | 'value' | 'interface';

export interface ClassProperties {
  packed: boolean;
  hasConstructorOrDestructor: boolean;
  hasOverloadedOperator: boolean;
  isNested: boolean;
  containsNestedClass: boolean;
  hasOverloadedAssignment: boolean;
  hasConversionOperator: boolean;
  /** A declaration only: the definition is another record with the same (unique) name. */
  forwardReference: boolean;
  /** Local to a function or block scope. */
  scoped: boolean;
  /** A decorated unique name follows the name in the record. */
  hasUniqueName: boolean;
  sealed: boolean;
  hfa: HfaKind;
  intrinsic: boolean;
  mocom: MocomKind;
  raw: number;
}

export function decodeClassProperties(raw: number): ClassProperties {
  return {
    packed: (raw & 0x1) !== 0,
    hasConstructorOrDestructor: (raw & 0x2) !== 0,
    hasOverloadedOperator: (raw & 0x4) !== 0,
    isNested: (raw & 0x8) !== 0,
    containsNestedClass: (raw & 0x10) !== 0,
    hasOverloadedAssignment: (raw & 0x20) !== 0,
    hasConversionOperator: (raw & 0x40) !== 0,
    forwardReference: (raw & 0x80) !== 0,
    scoped: (raw & 0x100) !== 0,
    hasUniqueName: (raw & 0x200) !== 0,
    sealed: (raw & 0x400) !== 0,
    hfa: (['none', 'float', 'double', 'other'] as const)[(raw >> 11) & 3]!,
    intrinsic: (raw & 0x2000) !== 0,
    mocom: (['none', 'ref', 'value', 'interface'] as const)[(raw >> 14) & 3]!,
    raw,
  };
}

export type MemberAccess = 'none' | 'private' | 'protected' | 'public';

export type MethodKind =
  | 'vanilla'
  | 'virtual'
  | 'static'
  | 'friend'
  | 'intro-virtual'
  | 'pure-virtual'
  | 'pure-intro-virtual'
  | Reserved;

const METHOD_KINDS = [
  'vanilla',
  'virtual',
  'static',
  'friend',
  'intro-virtual',
  'pure-virtual',
  'pure-intro-virtual',
] as const;

export interface MemberAttributes {
  access: MemberAccess;
  methodKind: MethodKind;
  pseudo: boolean;
  noInherit: boolean;
  noConstruct: boolean;
  compilerGenerated: boolean;
  sealed: boolean;
  raw: number;
}

export function decodeMemberAttributes(raw: number): MemberAttributes {
  return {
    access: (['none', 'private', 'protected', 'public'] as const)[raw & 3]!,
    methodKind: pick(METHOD_KINDS, (raw >> 2) & 7),
    pseudo: (raw & 0x20) !== 0,
    noInherit: (raw & 0x40) !== 0,
    noConstruct: (raw & 0x80) !== 0,
    compilerGenerated: (raw & 0x100) !== 0,
    sealed: (raw & 0x200) !== 0,
    raw,
  };
}

/**
 * Introducing virtual methods carry their vtable slot offset in the record;
 * every other method kind leaves it out, so readers must know which is which.
 */
export function isIntroducingVirtual(kind: MethodKind): boolean {
  return kind === 'intro-virtual' || kind === 'pure-intro-virtual';
}

export interface FunctionOptions {
  /** Returns a C++ class by value (hidden return pointer). */
  cxxReturnUdt: boolean;
  isConstructor: boolean;
  isConstructorWithVirtualBases: boolean;
  raw: number;
}

export function decodeFunctionOptions(raw: number): FunctionOptions {
  return {
    cxxReturnUdt: (raw & 1) !== 0,
    isConstructor: (raw & 2) !== 0,
    isConstructorWithVirtualBases: (raw & 4) !== 0,
    raw,
  };
}

/** CV_call_e, spelled as llvm-pdbutil prints them. */
export type CallingConvention =
  | 'cdecl'
  | 'far cdecl'
  | 'pascal'
  | 'far pascal'
  | 'fastcall'
  | 'far fastcall'
  | 'skipped'
  | 'stdcall'
  | 'far stdcall'
  | 'near syscall'
  | 'far syscall'
  | 'thiscall'
  | 'mipscall'
  | 'generic'
  | 'alphacall'
  | 'ppccall'
  | 'shcall'
  | 'armcall'
  | 'am33call'
  | 'tricall'
  | 'sh5call'
  | 'm32rcall'
  | 'clrcall'
  | 'inline'
  | 'vectorcall'
  | 'swift'
  | Reserved;

const CALLING_CONVENTIONS = [
  'cdecl',
  'far cdecl',
  'pascal',
  'far pascal',
  'fastcall',
  'far fastcall',
  'skipped',
  'stdcall',
  'far stdcall',
  'near syscall',
  'far syscall',
  'thiscall',
  'mipscall',
  'generic',
  'alphacall',
  'ppccall',
  'shcall',
  'armcall',
  'am33call',
  'tricall',
  'sh5call',
  'm32rcall',
  'clrcall',
  'inline',
  'vectorcall',
  'swift',
] as const;

export function decodeCallingConvention(raw: number): CallingConvention {
  return pick(CALLING_CONVENTIONS, raw);
}

/** CV_VTS_desc_e: what each vtable slot holds. */
export type VTableSlotKind = 'near' | 'far' | 'thin' | 'outer' | 'meta' | 'near32' | 'far32' | 'unused' | Reserved;

const SLOT_KINDS = ['near', 'far', 'thin', 'outer', 'meta', 'near32', 'far32', 'unused'] as const;

export function decodeVTableSlotKind(raw: number): VTableSlotKind {
  return pick(SLOT_KINDS, raw);
}
