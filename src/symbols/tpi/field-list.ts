/**
 * LF_FIELDLIST sub-records: the members, bases, methods, nested types and
 * enumerators of a UDT, packed back to back with LF_PAD filler between them.
 * A sub-record carries no length of its own, so an unknown kind ends the walk:
 * its bytes and everything after are kept raw instead of guessed at.
 */
import type { CvReader } from '../codeview/cv-reader';
import { decodeMemberAttributes, isIntroducingVirtual, type MemberAttributes } from './attributes';
import { LeafKind, LF_PAD0 } from './leaf-kinds';
import { readLayoutNumber } from './numeric';
import type { TypeIndex } from './simple-types';

export interface DataMember {
  kind: 'LF_MEMBER';
  attributes: MemberAttributes;
  type: TypeIndex;
  /** Byte offset inside the UDT (bitfields: of the storage unit). */
  offset: number;
  name: string;
}

export interface StaticDataMember {
  kind: 'LF_STMEMBER';
  attributes: MemberAttributes;
  type: TypeIndex;
  name: string;
}

export interface Enumerator {
  kind: 'LF_ENUMERATE';
  attributes: MemberAttributes;
  /** As stored: compilers may write a negative value of a signed enum as its unsigned 64-bit pattern. */
  value: bigint;
  name: string;
}

export interface BaseClass {
  kind: 'LF_BCLASS' | 'LF_BINTERFACE';
  attributes: MemberAttributes;
  type: TypeIndex;
  /** Offset of the base subobject in the derived class. */
  offset: number;
}

export interface VirtualBaseClass {
  /** LF_VBCLASS: a direct virtual base; LF_IVBCLASS: an indirect one (a base's virtual base). */
  kind: 'LF_VBCLASS' | 'LF_IVBCLASS';
  attributes: MemberAttributes;
  baseType: TypeIndex;
  /** Type of the virtual base pointer. */
  vbptrType: TypeIndex;
  /** Offset of the virtual base pointer from the address point. */
  vbptrOffset: number;
  /** Index of this base in the virtual base table. */
  vbtableIndex: number;
}

export interface OverloadedMethod {
  kind: 'LF_METHOD';
  /** Number of overloads in the LF_METHODLIST. */
  count: number;
  methodList: TypeIndex;
  name: string;
}

export interface OneMethod {
  kind: 'LF_ONEMETHOD';
  attributes: MemberAttributes;
  type: TypeIndex;
  /** Byte offset of the method's vtable slot; present only for introducing virtual methods. */
  vtableOffset?: number;
  name: string;
}

export interface NestedType {
  kind: 'LF_NESTTYPE';
  type: TypeIndex;
  name: string;
}

export interface VFuncTab {
  kind: 'LF_VFUNCTAB';
  /** Pointer to the vtable shape. */
  type: TypeIndex;
}

export interface ListContinuation {
  /** The list goes on in another LF_FIELDLIST: records are capped near 64 KiB. */
  kind: 'LF_INDEX';
  continuation: TypeIndex;
}

export interface UnknownMember {
  kind: 'unknown';
  leaf: number;
  /** This sub-record and everything after it in the list. */
  raw: Uint8Array;
}

export type FieldMember =
  | DataMember
  | StaticDataMember
  | Enumerator
  | BaseClass
  | VirtualBaseClass
  | OverloadedMethod
  | OneMethod
  | NestedType
  | VFuncTab
  | ListContinuation
  | UnknownMember;

/** Filler between sub-records: LF_PADn says how many bytes to skip, itself included. */
function skipPadding(reader: CvReader): void {
  while (!reader.atEnd) {
    const at = reader.offset;
    const pad = reader.data[at]!;
    if (pad < LF_PAD0) return;
    // LF_PAD0 would skip nothing and loop forever; it can only mean one byte.
    const skip = Math.max(1, pad & 0x0f);
    if (skip > reader.remaining) reader.fail(`padding 0x${pad.toString(16)} runs past the end of the field list`, at);
    reader.skip(skip);
  }
}

function decodeMember(reader: CvReader): FieldMember {
  const start = reader.offset;
  const leaf = reader.u16();
  switch (leaf) {
    case LeafKind.LF_MEMBER: {
      const attributes = decodeMemberAttributes(reader.u16());
      const type = reader.u32();
      const offset = readLayoutNumber(reader, 'member offset');
      return { kind: 'LF_MEMBER', attributes, type, offset, name: reader.cstring() };
    }
    case LeafKind.LF_STMEMBER: {
      const attributes = decodeMemberAttributes(reader.u16());
      const type = reader.u32();
      return { kind: 'LF_STMEMBER', attributes, type, name: reader.cstring() };
    }
    case LeafKind.LF_ENUMERATE: {
      const attributes = decodeMemberAttributes(reader.u16());
      const value = reader.numericLeaf();
      return { kind: 'LF_ENUMERATE', attributes, value, name: reader.cstring() };
    }
    case LeafKind.LF_BCLASS:
    case LeafKind.LF_BINTERFACE: {
      const attributes = decodeMemberAttributes(reader.u16());
      const type = reader.u32();
      const offset = readLayoutNumber(reader, 'base class offset');
      return { kind: leaf === LeafKind.LF_BCLASS ? 'LF_BCLASS' : 'LF_BINTERFACE', attributes, type, offset };
    }
    case LeafKind.LF_VBCLASS:
    case LeafKind.LF_IVBCLASS: {
      const attributes = decodeMemberAttributes(reader.u16());
      const baseType = reader.u32();
      const vbptrType = reader.u32();
      const vbptrOffset = readLayoutNumber(reader, 'virtual base pointer offset');
      const vbtableIndex = readLayoutNumber(reader, 'virtual base table index');
      return {
        kind: leaf === LeafKind.LF_VBCLASS ? 'LF_VBCLASS' : 'LF_IVBCLASS',
        attributes,
        baseType,
        vbptrType,
        vbptrOffset,
        vbtableIndex,
      };
    }
    case LeafKind.LF_METHOD: {
      const count = reader.u16();
      const methodList = reader.u32();
      return { kind: 'LF_METHOD', count, methodList, name: reader.cstring() };
    }
    case LeafKind.LF_ONEMETHOD: {
      const attributes = decodeMemberAttributes(reader.u16());
      const type = reader.u32();
      const member: OneMethod = { kind: 'LF_ONEMETHOD', attributes, type, name: '' };
      if (isIntroducingVirtual(attributes.methodKind)) member.vtableOffset = reader.i32();
      member.name = reader.cstring();
      return member;
    }
    case LeafKind.LF_NESTTYPE: {
      reader.skip(2);
      const type = reader.u32();
      return { kind: 'LF_NESTTYPE', type, name: reader.cstring() };
    }
    case LeafKind.LF_VFUNCTAB: {
      reader.skip(2);
      return { kind: 'LF_VFUNCTAB', type: reader.u32() };
    }
    case LeafKind.LF_INDEX: {
      reader.skip(2);
      return { kind: 'LF_INDEX', continuation: reader.u32() };
    }
    default: {
      reader.seek(start);
      return { kind: 'unknown', leaf, raw: reader.bytes(reader.remaining) };
    }
  }
}

/** Decodes the body of an LF_FIELDLIST record (after its leaf kind). */
export function decodeFieldList(reader: CvReader): FieldMember[] {
  const members: FieldMember[] = [];
  skipPadding(reader);
  while (!reader.atEnd) {
    const member = decodeMember(reader);
    members.push(member);
    if (member.kind === 'unknown') break;
    skipPadding(reader);
  }
  return members;
}
