/**
 * Type and id records (the leaves after each record's length and kind) as a
 * discriminated union on `kind`. A kind this decoder does not know is kept as
 * raw bytes: the stream stays usable, and the type index numbering, which
 * depends only on record order, stays right.
 */
import type { CvReader } from '../codeview/cv-reader';
import {
  decodeCallingConvention,
  decodeClassProperties,
  decodeFunctionOptions,
  decodeMemberAttributes,
  decodeMemberPointerRepresentation,
  decodeModifierFlags,
  decodePointerAttributes,
  decodeVTableSlotKind,
  isIntroducingVirtual,
  type CallingConvention,
  type ClassProperties,
  type FunctionOptions,
  type MemberAttributes,
  type MemberPointerRepresentation,
  type ModifierFlags,
  type PointerAttributes,
  type VTableSlotKind,
} from './attributes';
import { decodeFieldList, type FieldMember } from './field-list';
import { LeafKind } from './leaf-kinds';
import { readLayoutNumber } from './numeric';
import type { TypeIndex } from './simple-types';

export interface ModifierRecord {
  kind: 'LF_MODIFIER';
  modifiedType: TypeIndex;
  modifiers: ModifierFlags;
}

export interface MemberPointerInfo {
  /** The class whose member is pointed to. */
  containingClass: TypeIndex;
  representation: MemberPointerRepresentation;
}

export interface PointerRecord {
  kind: 'LF_POINTER';
  referent: TypeIndex;
  attributes: PointerAttributes;
  /** Present for pointers to data members and to member functions. */
  memberInfo?: MemberPointerInfo;
}

export interface ProcedureRecord {
  kind: 'LF_PROCEDURE';
  returnType: TypeIndex;
  callingConvention: CallingConvention;
  options: FunctionOptions;
  parameterCount: number;
  argumentList: TypeIndex;
}

export interface MemberFunctionRecord {
  kind: 'LF_MFUNCTION';
  returnType: TypeIndex;
  classType: TypeIndex;
  /** Type of `this`; "no type" for static methods. */
  thisType: TypeIndex;
  callingConvention: CallingConvention;
  options: FunctionOptions;
  parameterCount: number;
  argumentList: TypeIndex;
  /** Added to `this` before the call (methods reached through a non-primary base). */
  thisAdjustment: number;
}

export interface ArgListRecord {
  /** A trailing "no type" (0) argument marks a variadic function. */
  kind: 'LF_ARGLIST';
  args: TypeIndex[];
}

export interface FieldListRecord {
  kind: 'LF_FIELDLIST';
  members: FieldMember[];
}

export interface ArrayRecord {
  kind: 'LF_ARRAY';
  elementType: TypeIndex;
  indexType: TypeIndex;
  /** Total size in bytes, not the element count. */
  size: number;
  name: string;
}

export interface ClassRecord {
  kind: 'LF_CLASS' | 'LF_STRUCTURE' | 'LF_INTERFACE';
  memberCount: number;
  properties: ClassProperties;
  fieldList: TypeIndex;
  /** Derivation list (unused by current compilers, which list bases in the field list). */
  derivedFrom: TypeIndex;
  vtableShape: TypeIndex;
  size: number;
  name: string;
  /** Decorated name, present when `properties.hasUniqueName`. */
  uniqueName?: string;
}

export interface UnionRecord {
  kind: 'LF_UNION';
  memberCount: number;
  properties: ClassProperties;
  fieldList: TypeIndex;
  size: number;
  name: string;
  uniqueName?: string;
}

export interface EnumRecord {
  kind: 'LF_ENUM';
  enumeratorCount: number;
  properties: ClassProperties;
  underlyingType: TypeIndex;
  fieldList: TypeIndex;
  name: string;
  uniqueName?: string;
}

export interface BitFieldRecord {
  kind: 'LF_BITFIELD';
  type: TypeIndex;
  bitSize: number;
  bitOffset: number;
}

export interface VTableShapeRecord {
  kind: 'LF_VTSHAPE';
  slots: VTableSlotKind[];
}

export interface MethodListEntry {
  attributes: MemberAttributes;
  type: TypeIndex;
  /** Byte offset of the vtable slot; present only for introducing virtual methods. */
  vtableOffset?: number;
}

export interface MethodListRecord {
  kind: 'LF_METHODLIST';
  methods: MethodListEntry[];
}

export interface LabelRecord {
  kind: 'LF_LABEL';
  mode: 'near' | 'far' | `reserved-${number}`;
}

export interface FuncIdRecord {
  kind: 'LF_FUNC_ID';
  /** Namespace or class id (an IPI index), or "no type" at global scope. */
  parentScope: TypeIndex;
  /** The function's LF_PROCEDURE (a TPI index). */
  functionType: TypeIndex;
  name: string;
}

export interface MemberFuncIdRecord {
  kind: 'LF_MFUNC_ID';
  classType: TypeIndex;
  functionType: TypeIndex;
  name: string;
}

/** Positions of the LF_BUILDINFO arguments, as cvinfo.h CV_BuildInfo_e orders them. */
export const BuildInfoArg = {
  CurrentDirectory: 0,
  BuildTool: 1,
  SourceFile: 2,
  ProgramDatabaseFile: 3,
  CommandLine: 4,
} as const;

export interface BuildInfoRecord {
  kind: 'LF_BUILDINFO';
  /** LF_STRING_ID indices, in BuildInfoArg order; 0 where the compiler left one out. */
  args: TypeIndex[];
}

export interface StringListRecord {
  kind: 'LF_SUBSTR_LIST';
  /** LF_STRING_ID indices whose strings concatenate to a long string. */
  strings: TypeIndex[];
}

export interface StringIdRecord {
  kind: 'LF_STRING_ID';
  /** An LF_SUBSTR_LIST holding the start of a string too long for one record, or 0. */
  substrings: TypeIndex;
  string: string;
}

export interface UdtSourceLineRecord {
  kind: 'LF_UDT_SRC_LINE';
  udt: TypeIndex;
  /** LF_STRING_ID with the file name. */
  sourceFile: TypeIndex;
  line: number;
}

export interface UdtModSourceLineRecord {
  kind: 'LF_UDT_MOD_SRC_LINE';
  udt: TypeIndex;
  /** Offset of the file name in the PDB's /names string table. */
  sourceFile: number;
  line: number;
  /** Module (DBI module index + 1) that defines the UDT. */
  module: number;
}

export interface UnknownRecord {
  kind: 'unknown';
  leaf: number;
  /** The record body after the leaf kind. */
  raw: Uint8Array;
}

export type TypeRecordBody =
  | ModifierRecord
  | PointerRecord
  | ProcedureRecord
  | MemberFunctionRecord
  | ArgListRecord
  | FieldListRecord
  | ArrayRecord
  | ClassRecord
  | UnionRecord
  | EnumRecord
  | BitFieldRecord
  | VTableShapeRecord
  | MethodListRecord
  | LabelRecord
  | FuncIdRecord
  | MemberFuncIdRecord
  | BuildInfoRecord
  | StringListRecord
  | StringIdRecord
  | UdtSourceLineRecord
  | UdtModSourceLineRecord
  | UnknownRecord;

/** A count of 32-bit indices, checked against the bytes left before anything is allocated. */
function readIndexList(reader: CvReader, count: number): TypeIndex[] {
  if (count * 4 > reader.remaining) reader.fail(`${count} type indices do not fit in ${reader.remaining} bytes`);
  const list: TypeIndex[] = new Array<TypeIndex>(count);
  for (let i = 0; i < count; i++) list[i] = reader.u32();
  return list;
}

function readTagNames(reader: CvReader, properties: ClassProperties): { name: string; uniqueName?: string } {
  const name = reader.cstring();
  return properties.hasUniqueName ? { name, uniqueName: reader.cstring() } : { name };
}

function decodeVTableShape(reader: CvReader): VTableShapeRecord {
  const count = reader.u16();
  const bytes = reader.bytes(Math.ceil(count / 2));
  const slots: VTableSlotKind[] = [];
  for (let i = 0; i < count; i++) {
    const byte = bytes[i >> 1]!;
    // Two 4-bit descriptors per byte, the even slot in the low nibble (cvdump's order, and LLVM's reader).
    slots.push(decodeVTableSlotKind(i % 2 === 0 ? byte & 0x0f : byte >> 4));
  }
  return { kind: 'LF_VTSHAPE', slots };
}

function decodeMethodList(reader: CvReader): MethodListRecord {
  const methods: MethodListEntry[] = [];
  // Entries are whole words and records are word-aligned, so no filler follows
  // the last one; each round consumes at least 8 bytes or fails.
  while (!reader.atEnd) {
    const attributes = decodeMemberAttributes(reader.u16());
    reader.skip(2);
    const entry: MethodListEntry = { attributes, type: reader.u32() };
    if (isIntroducingVirtual(attributes.methodKind)) entry.vtableOffset = reader.i32();
    methods.push(entry);
  }
  return { kind: 'LF_METHODLIST', methods };
}

/**
 * Decodes one record body. `reader` covers the bytes after the kind; trailing
 * LF_PAD bytes are left unread, as they carry nothing.
 */
export function decodeTypeRecordBody(leaf: number, reader: CvReader): TypeRecordBody {
  switch (leaf) {
    case LeafKind.LF_MODIFIER: {
      const modifiedType = reader.u32();
      return { kind: 'LF_MODIFIER', modifiedType, modifiers: decodeModifierFlags(reader.u16()) };
    }
    case LeafKind.LF_POINTER: {
      const referent = reader.u32();
      const attributes = decodePointerAttributes(reader.u32());
      const record: PointerRecord = { kind: 'LF_POINTER', referent, attributes };
      if (attributes.mode === 'pointer-to-data-member' || attributes.mode === 'pointer-to-member-function') {
        const containingClass = reader.u32();
        record.memberInfo = { containingClass, representation: decodeMemberPointerRepresentation(reader.u16()) };
      }
      return record;
    }
    case LeafKind.LF_PROCEDURE: {
      const returnType = reader.u32();
      const callingConvention = decodeCallingConvention(reader.u8());
      const options = decodeFunctionOptions(reader.u8());
      const parameterCount = reader.u16();
      const argumentList = reader.u32();
      return { kind: 'LF_PROCEDURE', returnType, callingConvention, options, parameterCount, argumentList };
    }
    case LeafKind.LF_MFUNCTION: {
      const returnType = reader.u32();
      const classType = reader.u32();
      const thisType = reader.u32();
      const callingConvention = decodeCallingConvention(reader.u8());
      const options = decodeFunctionOptions(reader.u8());
      const parameterCount = reader.u16();
      const argumentList = reader.u32();
      const thisAdjustment = reader.i32();
      return {
        kind: 'LF_MFUNCTION',
        returnType,
        classType,
        thisType,
        callingConvention,
        options,
        parameterCount,
        argumentList,
        thisAdjustment,
      };
    }
    case LeafKind.LF_ARGLIST:
      return { kind: 'LF_ARGLIST', args: readIndexList(reader, reader.u32()) };
    case LeafKind.LF_SUBSTR_LIST:
      return { kind: 'LF_SUBSTR_LIST', strings: readIndexList(reader, reader.u32()) };
    case LeafKind.LF_FIELDLIST:
      return { kind: 'LF_FIELDLIST', members: decodeFieldList(reader) };
    case LeafKind.LF_ARRAY: {
      const elementType = reader.u32();
      const indexType = reader.u32();
      const size = readLayoutNumber(reader, 'array size');
      return { kind: 'LF_ARRAY', elementType, indexType, size, name: reader.cstring() };
    }
    case LeafKind.LF_CLASS:
    case LeafKind.LF_STRUCTURE:
    case LeafKind.LF_INTERFACE: {
      const memberCount = reader.u16();
      const properties = decodeClassProperties(reader.u16());
      const fieldList = reader.u32();
      const derivedFrom = reader.u32();
      const vtableShape = reader.u32();
      const size = readLayoutNumber(reader, 'class size');
      const kind =
        leaf === LeafKind.LF_CLASS ? 'LF_CLASS' : leaf === LeafKind.LF_STRUCTURE ? 'LF_STRUCTURE' : 'LF_INTERFACE';
      const names = readTagNames(reader, properties);
      return { kind, memberCount, properties, fieldList, derivedFrom, vtableShape, size, ...names };
    }
    case LeafKind.LF_UNION: {
      const memberCount = reader.u16();
      const properties = decodeClassProperties(reader.u16());
      const fieldList = reader.u32();
      const size = readLayoutNumber(reader, 'union size');
      return { kind: 'LF_UNION', memberCount, properties, fieldList, size, ...readTagNames(reader, properties) };
    }
    case LeafKind.LF_ENUM: {
      const enumeratorCount = reader.u16();
      const properties = decodeClassProperties(reader.u16());
      const underlyingType = reader.u32();
      const fieldList = reader.u32();
      return {
        kind: 'LF_ENUM',
        enumeratorCount,
        properties,
        underlyingType,
        fieldList,
        ...readTagNames(reader, properties),
      };
    }
    case LeafKind.LF_BITFIELD: {
      const type = reader.u32();
      const bitSize = reader.u8();
      return { kind: 'LF_BITFIELD', type, bitSize, bitOffset: reader.u8() };
    }
    case LeafKind.LF_VTSHAPE:
      return decodeVTableShape(reader);
    case LeafKind.LF_METHODLIST:
      return decodeMethodList(reader);
    case LeafKind.LF_LABEL: {
      const mode = reader.u16();
      return { kind: 'LF_LABEL', mode: mode === 0 ? 'near' : mode === 4 ? 'far' : `reserved-${mode}` };
    }
    case LeafKind.LF_FUNC_ID: {
      const parentScope = reader.u32();
      const functionType = reader.u32();
      return { kind: 'LF_FUNC_ID', parentScope, functionType, name: reader.cstring() };
    }
    case LeafKind.LF_MFUNC_ID: {
      const classType = reader.u32();
      const functionType = reader.u32();
      return { kind: 'LF_MFUNC_ID', classType, functionType, name: reader.cstring() };
    }
    case LeafKind.LF_BUILDINFO:
      return { kind: 'LF_BUILDINFO', args: readIndexList(reader, reader.u16()) };
    case LeafKind.LF_STRING_ID: {
      const substrings = reader.u32();
      return { kind: 'LF_STRING_ID', substrings, string: reader.cstring() };
    }
    case LeafKind.LF_UDT_SRC_LINE: {
      const udt = reader.u32();
      const sourceFile = reader.u32();
      return { kind: 'LF_UDT_SRC_LINE', udt, sourceFile, line: reader.u32() };
    }
    case LeafKind.LF_UDT_MOD_SRC_LINE: {
      const udt = reader.u32();
      const sourceFile = reader.u32();
      const line = reader.u32();
      return { kind: 'LF_UDT_MOD_SRC_LINE', udt, sourceFile, line, module: reader.u16() };
    }
    default:
      return { kind: 'unknown', leaf, raw: reader.bytes(reader.remaining) };
  }
}
