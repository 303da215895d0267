/**
 * Simple (built-in) type indices: every index below 0x1000 names a base type
 * and a pointer mode directly, with no record behind it. Names follow
 * llvm-pdbutil so dumps and error messages read the same as LLVM's tools.
 */

export type TypeIndex = number;

/** Indices below this are simple types; records start here. */
export const FIRST_NON_SIMPLE_INDEX = 0x1000;

/** The pointer mode of a simple type index (bits 8..10). */
export type SimpleTypeMode = 'direct' | 'near16' | 'far16' | 'huge16' | 'near32' | 'far32' | 'near64' | 'near128';

const MODES: readonly SimpleTypeMode[] = ['direct', 'near16', 'far16', 'huge16', 'near32', 'far32', 'near64', 'near128'];

/** Size of a pointer of each mode; the segmented ones carry a selector. */
const MODE_SIZES: Record<SimpleTypeMode, number> = {
  direct: 0,
  near16: 2,
  far16: 4,
  huge16: 4,
  near32: 4,
  far32: 6,
  near64: 8,
  near128: 16,
};

interface KindEntry {
  name: string;
  /** Size in bytes; undefined for void and untranslated types, which have no storage. */
  size: number | undefined;
}

/**
 * Base kinds (bits 0..7). The names are LLVM's (TypeIndex.cpp); the few kinds
 * LLVM leaves out (bool128, the half and float48 complex kinds) get names in
 * the same style rather than '<unknown simple type>', since cvinfo.h defines them.
 */
const KINDS = new Map<number, KindEntry>([
  [0x00, { name: '<no type>', size: undefined }],
  [0x03, { name: 'void', size: undefined }],
  [0x07, { name: '<not translated>', size: undefined }],
  [0x08, { name: 'HRESULT', size: 4 }],
  [0x10, { name: 'signed char', size: 1 }],
  [0x20, { name: 'unsigned char', size: 1 }],
  [0x70, { name: 'char', size: 1 }],
  [0x71, { name: 'wchar_t', size: 2 }],
  [0x7a, { name: 'char16_t', size: 2 }],
  [0x7b, { name: 'char32_t', size: 4 }],
  [0x7c, { name: 'char8_t', size: 1 }],
  [0x68, { name: '__int8', size: 1 }],
  [0x69, { name: 'unsigned __int8', size: 1 }],
  [0x11, { name: 'short', size: 2 }],
  [0x21, { name: 'unsigned short', size: 2 }],
  [0x72, { name: '__int16', size: 2 }],
  [0x73, { name: 'unsigned __int16', size: 2 }],
  [0x12, { name: 'long', size: 4 }],
  [0x22, { name: 'unsigned long', size: 4 }],
  [0x74, { name: 'int', size: 4 }],
  [0x75, { name: 'unsigned', size: 4 }],
  [0x13, { name: '__int64', size: 8 }],
  [0x23, { name: 'unsigned __int64', size: 8 }],
  [0x76, { name: '__int64', size: 8 }],
  [0x77, { name: 'unsigned __int64', size: 8 }],
  [0x14, { name: '__int128', size: 16 }],
  [0x24, { name: 'unsigned __int128', size: 16 }],
  [0x78, { name: '__int128', size: 16 }],
  [0x79, { name: 'unsigned __int128', size: 16 }],
  [0x46, { name: '__half', size: 2 }],
  [0x40, { name: 'float', size: 4 }],
  [0x45, { name: 'float', size: 4 }],
  [0x44, { name: '__float48', size: 6 }],
  [0x41, { name: 'double', size: 8 }],
  [0x42, { name: 'long double', size: 10 }],
  [0x43, { name: '__float128', size: 16 }],
  [0x56, { name: '_Complex __half', size: 4 }],
  [0x50, { name: '_Complex float', size: 8 }],
  [0x55, { name: '_Complex float', size: 8 }],
  [0x54, { name: '_Complex __float48', size: 12 }],
  [0x51, { name: '_Complex double', size: 16 }],
  [0x52, { name: '_Complex long double', size: 20 }],
  [0x53, { name: '_Complex __float128', size: 32 }],
  [0x30, { name: 'bool', size: 1 }],
  [0x31, { name: '__bool16', size: 2 }],
  [0x32, { name: '__bool32', size: 4 }],
  [0x33, { name: '__bool64', size: 8 }],
  [0x34, { name: '__bool128', size: 16 }],
]);

/** Index 0: "no type" (an absent return type, the end of a variadic argument list...). */
export const NO_TYPE = 0;
/** A 16-bit near pointer to void, which CodeView reuses for std::nullptr_t. */
export const NULLPTR_T = 0x0103;

export function isSimpleTypeIndex(ti: TypeIndex): boolean {
  return ti < FIRST_NON_SIMPLE_INDEX;
}

export interface SimpleType {
  index: TypeIndex;
  /** The base kind code (bits 0..7). */
  kind: number;
  mode: SimpleTypeMode;
  /** llvm-pdbutil's name: 'int', 'int*' for any pointer mode, 'std::nullptr_t'. */
  name: string;
  /** The base type's name without the pointer, e.g. 'int' for 0x0674. */
  baseName: string;
  /** Bytes: the pointer size in a pointer mode, else the base size; undefined for void and unknown kinds. */
  size: number | undefined;
  known: boolean;
}

export function describeSimpleType(ti: TypeIndex): SimpleType {
  const kind = ti & 0xff;
  const mode = MODES[(ti >> 8) & 7]!;
  const entry = KINDS.get(kind);
  const baseName = entry?.name ?? '<unknown simple type>';
  let name: string;
  if (ti === NO_TYPE) name = '<no type>';
  else if (ti === NULLPTR_T) name = 'std::nullptr_t';
  else if (!entry) name = baseName;
  else name = mode === 'direct' ? baseName : `${baseName}*`;
  // 0x0103 is std::nullptr_t whatever the target; the kernel is x86-64, where it is 8 bytes.
  const size = ti === NULLPTR_T ? 8 : mode === 'direct' ? entry?.size : MODE_SIZES[mode];
  return { index: ti, kind, mode, name, baseName, size, known: entry !== undefined };
}

/** llvm-pdbutil's name for a simple type index. */
export function simpleTypeName(ti: TypeIndex): string {
  return describeSimpleType(ti).name;
}

/** Byte size of a simple type; undefined for void, "no type" and unknown kinds. */
export function simpleTypeSize(ti: TypeIndex): number | undefined {
  if (ti === NO_TYPE) return undefined;
  return describeSimpleType(ti).size;
}

/** 0x0074 (int), 0x1003, <no type>: LLVM's spelling of a type index in dumps. */
export function formatTypeIndex(ti: TypeIndex): string {
  if (ti === NO_TYPE) return '<no type>';
  const hex = `0x${ti.toString(16).toUpperCase().padStart(4, '0')}`;
  return isSimpleTypeIndex(ti) ? `${hex} (${simpleTypeName(ti)})` : hex;
}
