/**
 * TPI (stream 2) and IPI (stream 4) type stream decoding: the stream header,
 * every CodeView type and id record, the hash stream, simple type indices,
 * and a table for forward references, field lists, sizes and names.
 * Input is the stream's bytes; the MSF container is read elsewhere.
 */
export * from './attributes';
export * from './field-list';
export * from './hash-stream';
export { LeafKind, leafKindName, LF_PAD0, type LeafKindName } from './leaf-kinds';
export * from './records';
export * from './simple-types';
export * from './stream-header';
export { cDeclaration, cTypeName, llvmTypeName, MAX_NAME_LENGTH, type CNameOptions } from './type-names';
export { typeSize } from './type-size';
export { decodeTypeStream, recordPart, type RecordPosition, type TypeRecord, type TypeStream } from './type-stream';
export { isTagRecord, MAX_TYPE_DEPTH, TypeTable, type TagRecord } from './type-table';
