/**
 * Random access to a decoded type stream, and the lookups every consumer of
 * it needs: a UDT's definition from a forward reference, a field list with
 * its LF_INDEX continuations followed, a type's size and its name.
 */
import { SymbolFormatError } from '../format-error';
import type { FieldMember } from './field-list';
import type { ClassRecord, EnumRecord, UnionRecord } from './records';
import type { TypeIndex } from './simple-types';
import type { TypeStreamKind } from './stream-header';
import { decodeTypeRecordAt, decodeTypeStream, leafAt, locateTypeRecords, type TypeRecord, type TypeStream, type TypeStreamLayout } from './type-stream';
import { LeafKind } from './leaf-kinds';
import { cDeclaration, cTypeName, llvmTypeName } from './type-names';
import { typeSize } from './type-size';

export { MAX_TYPE_DEPTH } from './type-size';

export type TagRecord = TypeRecord & (ClassRecord | UnionRecord | EnumRecord);

/** Leaf kinds of the records `isTagRecord` accepts. */
const TAG_LEAVES: ReadonlySet<number> = new Set([
  LeafKind.LF_CLASS,
  LeafKind.LF_STRUCTURE,
  LeafKind.LF_INTERFACE,
  LeafKind.LF_UNION,
  LeafKind.LF_ENUM,
]);

export function isTagRecord(record: TypeRecord | undefined): record is TagRecord {
  if (!record) return false;
  const kind = record.kind;
  return (
    kind === 'LF_CLASS' || kind === 'LF_STRUCTURE' || kind === 'LF_INTERFACE' || kind === 'LF_UNION' || kind === 'LF_ENUM'
  );
}

/**
 * Compilers use these for unnamed types; two of them are not the same type,
 * so a forward reference is never resolved to one by name.
 */
function isAnonymousName(name: string): boolean {
  return /(^|::)(<unnamed-tag>|__unnamed|<anonymous-tag>)$/.test(name);
}

function definitionKey(leaf: number, byUniqueName: boolean, name: string): string {
  return `${leaf}:${byUniqueName ? 'u' : 'n'}:${name}`;
}

export class TypeTable {
  readonly stream: TypeStreamKind;
  readonly begin: TypeIndex;
  readonly end: TypeIndex;
  /** Decoded records by position; in a lazy table, filled as they are asked for. */
  private readonly records: (TypeRecord | undefined)[];
  /** Present in a lazy table: where the undecoded records are. */
  private readonly layout: TypeStreamLayout | undefined;
  private complete: boolean;
  private definitions: Map<string, TypeIndex> | undefined;

  /** Decodes a TPI or IPI stream's bytes straight into a table. */
  static fromBytes(data: Uint8Array, stream: TypeStreamKind): TypeTable {
    return new TypeTable(decodeTypeStream(data, stream));
  }

  /**
   * A table that checks the record framing now (the same errors as
   * `fromBytes` for lengths and trailing bytes) but decodes each record the
   * first time it is asked for, so a reader that needs the sizes of a few
   * hundred types out of a large TPI, or a few build records out of the IPI,
   * does not decode them all. A malformed record body raises its
   * SymbolFormatError when that record is asked for.
   */
  static fromBytesLazy(data: Uint8Array, stream: TypeStreamKind): TypeTable {
    return new TypeTable(locateTypeRecords(data, stream));
  }

  constructor(decoded: TypeStream | TypeStreamLayout) {
    this.stream = decoded.stream;
    this.begin = decoded.header.typeIndexBegin;
    this.end = decoded.header.typeIndexEnd;
    if ('records' in decoded) {
      this.records = decoded.records;
      this.layout = undefined;
      this.complete = true;
    } else {
      this.records = new Array<TypeRecord | undefined>(decoded.offsets.length);
      this.layout = decoded;
      this.complete = false;
    }
  }

  private recordAt(i: number): TypeRecord | undefined {
    const known = this.records[i];
    if (known !== undefined || this.complete || i >= this.records.length) return known;
    const record = decodeTypeRecordAt(this.layout!, i);
    this.records[i] = record;
    return record;
  }

  /** The record with this index, or undefined for simple indices and indices outside the stream. */
  get(index: TypeIndex): TypeRecord | undefined {
    if (index < this.begin || index >= this.end) return undefined;
    return this.recordAt(index - this.begin);
  }

  has(index: TypeIndex): boolean {
    return this.get(index) !== undefined;
  }

  all(): readonly TypeRecord[] {
    if (!this.complete) {
      for (let i = 0; i < this.records.length; i++) this.recordAt(i);
      this.complete = true;
    }
    return this.records as TypeRecord[];
  }

  /** A SymbolFormatError about one type, for the helpers that follow references. */
  fail(index: TypeIndex, detail: string): never {
    throw new SymbolFormatError(
      { file: 'PDB', part: `${this.stream} type 0x${index.toString(16).toUpperCase()}`, offset: 0 },
      detail,
    );
  }

  /**
   * The definition a UDT forward reference stands for, the way LLVM finds it:
   * the first non-forward record of the same kind with the same unique name
   * (if the reference has one) or else the same name. Returns `index` itself
   * when it is not a forward reference or no definition exists.
   */
  resolveForwardRef(index: TypeIndex): TypeIndex {
    const record = this.get(index);
    if (!isTagRecord(record) || !record.properties.forwardReference) return index;
    const byUnique = record.uniqueName !== undefined;
    const key = definitionKey(record.leaf, byUnique, byUnique ? record.uniqueName! : record.name);
    return this.definitionMap().get(key) ?? index;
  }

  private definitionMap(): Map<string, TypeIndex> {
    if (this.definitions) return this.definitions;
    const map = new Map<string, TypeIndex>();
    const add = (key: string, index: TypeIndex): void => {
      if (!map.has(key)) map.set(key, index);
    };
    const layout = this.complete ? undefined : this.layout;
    for (let i = 0; i < this.records.length; i++) {
      // A lazy table decodes only the records that can be definitions.
      if (layout && !TAG_LEAVES.has(leafAt(layout, i))) continue;
      const record = this.recordAt(i);
      if (!isTagRecord(record) || record.properties.forwardReference) continue;
      if (record.uniqueName !== undefined) add(definitionKey(record.leaf, true, record.uniqueName), record.index);
      if (!isAnonymousName(record.name)) add(definitionKey(record.leaf, false, record.name), record.index);
    }
    this.definitions = map;
    return map;
  }

  /**
   * All members of an LF_FIELDLIST, continuations included, without the
   * LF_INDEX entries themselves. A continuation that loops back or does not
   * name a field list is corruption and raises SymbolFormatError.
   */
  fieldMembers(fieldList: TypeIndex): FieldMember[] {
    const members: FieldMember[] = [];
    const seen = new Set<TypeIndex>();
    let next: TypeIndex | undefined = fieldList;
    while (next !== undefined) {
      const current: TypeIndex = next;
      if (seen.has(current)) this.fail(fieldList, `field list continuation 0x${current.toString(16)} loops`);
      seen.add(current);
      const record = this.get(current);
      if (record?.kind !== 'LF_FIELDLIST') this.fail(fieldList, `0x${current.toString(16)} is not a field list`);
      next = undefined;
      for (const member of record.members) {
        if (member.kind === 'LF_INDEX') next = member.continuation;
        else members.push(member);
      }
    }
    return members;
  }

  /**
   * The members of a struct, class, union or enum (through its definition if
   * `index` is a forward reference); empty when it has no definition.
   */
  fieldsOf(index: TypeIndex): FieldMember[] {
    const record = this.get(this.resolveForwardRef(index));
    if (!isTagRecord(record) || record.properties.forwardReference || record.fieldList === 0) return [];
    return this.fieldMembers(record.fieldList);
  }

  /** Size in bytes, or undefined for types without storage (void, functions) or without a definition. */
  sizeOf(index: TypeIndex): number | undefined {
    return typeSize(this, index);
  }

  /** The name llvm-pdbutil gives the type ('const point*', 'int (int)'). */
  nameOf(index: TypeIndex): string {
    return llvmTypeName(this, index);
  }

  /** The type in C declarator syntax without a name: 'int (*)(int)', 'const char *[2]'. */
  cTypeName(index: TypeIndex): string {
    return cTypeName(this, index);
  }

  /** A C declaration of `name` with this type: 'int (*callback)(int)', 'int matrix[3][4]'. */
  cDeclaration(index: TypeIndex, name: string): string {
    return cDeclaration(this, index, name);
  }
}
