/**
 * Types and variables in the DebugModel: what the PDB's TPI stream and module
 * symbols say about the program's data, in a format-free shape the DWARF
 * writer turns into type and variable DIEs. Nothing here is CodeView or
 * DWARF: types are a graph of numbered nodes, locations name DWARF register
 * numbers (the one numbering both the model's frames and gdb use) and RVAs.
 */
import type { DwarfRegister } from './debug-model-frames';

/** Refers to one type: its index in `ModelTypeInfo.types`. */
export type ModelTypeRef = number;

/** Every type the image's debug info describes, shared by all compile units. */
export interface ModelTypeInfo {
  /** The types, each referred to by its index; each distinct type appears once. */
  types: ModelType[];
  /**
   * The source language the types were named for: base type spellings differ
   * ('_Bool' / 'bool'), and the writer declares the shared unit in it.
   */
  language: 'c' | 'c++';
}

export type ModelType =
  | ModelVoidType
  | ModelBaseType
  | ModelUnspecifiedType
  | ModelPointerType
  | ModelMemberPointerType
  | ModelQualifiedType
  | ModelArrayType
  | ModelStructType
  | ModelEnumType
  | ModelTypedef
  | ModelFunctionType
  | ModelOpaqueType;

/** No value: a function's return type, what `void *` points to. */
export interface ModelVoidType {
  kind: 'void';
}

export type ModelBaseEncoding =
  | 'signed'
  | 'unsigned'
  | 'signed-char'
  | 'unsigned-char'
  | 'boolean'
  | 'float'
  | 'complex-float'
  /** A character type of a Unicode encoding (char16_t, char32_t, char8_t). */
  | 'utf';

export interface ModelBaseType {
  kind: 'base';
  /** As the source language spells it: 'unsigned int', 'long long', '_Bool'. */
  name: string;
  byteSize: number;
  encoding: ModelBaseEncoding;
}

/** A type with a name and no further description: C++'s decltype(nullptr). */
export interface ModelUnspecifiedType {
  kind: 'unspecified';
  name: string;
}

export interface ModelPointerType {
  kind: 'pointer' | 'reference' | 'rvalue-reference';
  target: ModelTypeRef;
  byteSize: number;
}

/** C++ `T Class::*`, data or function. */
export interface ModelMemberPointerType {
  kind: 'member-pointer';
  /** The member's type: a data type, or a function type for a pointer to a member function. */
  target: ModelTypeRef;
  containingType: ModelTypeRef;
  /** As the compiler laid it out (the Microsoft ABI's size depends on the class's inheritance). */
  byteSize: number;
}

export interface ModelQualifiedType {
  kind: 'const' | 'volatile' | 'restrict';
  target: ModelTypeRef;
}

export interface ModelArrayType {
  kind: 'array';
  /** The innermost element type (never itself an array). */
  element: ModelTypeRef;
  /** Element counts, outermost first: [3, 4] for `int m[3][4]`; undefined where unknown (`int items[]`). */
  dimensions: (number | undefined)[];
}

export type ModelAccess = 'public' | 'protected' | 'private';

export interface ModelMember {
  /** Undefined for an anonymous struct or union member. */
  name?: string;
  type: ModelTypeRef;
  /** Offset of the member (of its storage unit, for a bitfield) from the start of the aggregate; 0 for static members. */
  byteOffset: number;
  /** A C++ static data member: declared here, stored elsewhere (a data symbol named Class::member). */
  isStatic?: boolean;
  /** Present for bitfields: bits counted from the least significant bit of the storage unit at byteOffset. */
  bitField?: { bitOffset: number; bitSize: number };
  access: ModelAccess;
  /** Compiler-made members such as the virtual table pointer. */
  artificial?: boolean;
}

export interface ModelBaseClass {
  type: ModelTypeRef;
  byteOffset: number;
  access: ModelAccess;
}

export interface ModelMethod {
  name: string;
  /** A ModelFunctionType; its thisType is set unless the method is static. */
  type: ModelTypeRef;
  access: ModelAccess;
  virtuality: 'none' | 'virtual' | 'pure-virtual';
  isStatic: boolean;
  artificial: boolean;
  /** For virtual methods: the index of the method's slot in the virtual function table, when known. */
  vtableSlot?: number;
}

export interface ModelStructType {
  kind: 'struct' | 'class' | 'union';
  /** The qualified name ('outer::Derived::Nested'); undefined for an unnamed type. */
  name?: string;
  byteSize: number;
  /** Only declared: the program never defines it (an opaque handle type). */
  declaration: boolean;
  /** Data members in declaration order, static ones included. */
  members: ModelMember[];
  bases: ModelBaseClass[];
  methods: ModelMethod[];
  /** Types declared inside this one (their own names are qualified by this type's name). */
  nestedTypes: ModelTypeRef[];
}

export interface ModelEnumerator {
  name: string;
  value: bigint;
}

export interface ModelEnumType {
  kind: 'enum';
  name?: string;
  byteSize: number;
  /** The integer type the enumeration is stored as. */
  underlying: ModelTypeRef;
  declaration: boolean;
  enumerators: ModelEnumerator[];
}

export interface ModelTypedef {
  kind: 'typedef';
  /** Qualified name of the alias. */
  name: string;
  target: ModelTypeRef;
}

export interface ModelFunctionType {
  kind: 'function';
  /** A ModelVoidType for functions that return nothing. */
  returnType: ModelTypeRef;
  /** Declared parameters, not counting `this`. */
  parameters: ModelTypeRef[];
  /** Ends in `...`. */
  variadic: boolean;
  /** For non-static member functions: the type of the implicit `this` parameter. */
  thisType?: ModelTypeRef;
}

/** A type the translation could not describe: shown as an incomplete type, never read as a wrong one. */
export interface ModelOpaqueType {
  kind: 'opaque';
  name: string;
}

// --- Variables -----------------------------------------------------------------

/** A value in a register, or in memory at a register plus an offset. */
export type ModelLocationValue =
  | { kind: 'register'; register: DwarfRegister }
  | { kind: 'memory'; base: DwarfRegister; offset: number };

/** One part of a variable split over several places; `value` undefined where that part is unavailable. */
export interface ModelLocationPiece {
  byteSize: number;
  value: ModelLocationValue | undefined;
}

/** Where a whole variable is at some address: in one place, or in pieces laid end to end. */
export type ModelLocation = ModelLocationValue | { kind: 'pieces'; pieces: ModelLocationPiece[] };

export interface ModelLocationRange {
  startRva: number;
  /** Exclusive. */
  endRva: number;
  location: ModelLocation;
}

export type ModelVariableLocation =
  /** Nowhere: the debugger shows `<optimized out>`. */
  | { kind: 'optimized-out' }
  /** Static storage at a fixed RVA (function-local statics). */
  | { kind: 'static'; rva: number }
  /** At an offset in the thread's TLS block. */
  | { kind: 'thread-local'; offset: number }
  /** In the same place wherever the enclosing scope's code runs. */
  | { kind: 'fixed'; location: ModelLocation }
  /** Only over these address ranges (sorted, disjoint); anywhere else unavailable. */
  | { kind: 'ranges'; ranges: ModelLocationRange[] };

export interface ModelVariable {
  /** As the source spells it, unqualified. */
  name: string;
  type?: ModelTypeRef;
  isParameter: boolean;
  location: ModelVariableLocation;
}

export interface ModelLexicalBlock {
  rva: number;
  size: number;
  variables: ModelVariable[];
  blocks: ModelLexicalBlock[];
}

/** The variables and lexical blocks of one function. */
export interface ModelFunctionScope {
  /** Parameters (in declaration order) and the function's outermost locals. */
  variables: ModelVariable[];
  blocks: ModelLexicalBlock[];
}

// --- Data placement ------------------------------------------------------------
