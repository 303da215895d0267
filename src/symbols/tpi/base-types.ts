/**
 * The base type behind each CodeView simple type kind (bits 0..7 of a simple
 * type index), named as C or C++ source spells it, since that is what a
 * debugger prints: CodeView's T_QUAD is 'long long' (LLVM writes it for any
 * 8-byte signed integer), T_INT4 is 'int', T_LONG is Windows' 4-byte 'long'.
 * The mapping mirrors LLVM's CodeViewDebug::lowerTypeBasic, read backwards.
 */
import type { ModelBaseEncoding, ModelBaseType } from '../debug-model-types';

interface BaseEntry {
  name: string | { c: string; cxx: string };
  byteSize: number;
  encoding: ModelBaseEncoding;
}

const base = (name: BaseEntry['name'], byteSize: number, encoding: ModelBaseEncoding): BaseEntry => ({ name, byteSize, encoding });

const BASE_KINDS = new Map<number, BaseEntry>([
  [0x08, base('HRESULT', 4, 'signed')],
  [0x10, base('signed char', 1, 'signed-char')],
  [0x20, base('unsigned char', 1, 'unsigned-char')],
  [0x70, base('char', 1, 'signed-char')],
  [0x71, base('wchar_t', 2, 'unsigned')],
  [0x7a, base('char16_t', 2, 'utf')],
  [0x7b, base('char32_t', 4, 'utf')],
  [0x7c, base('char8_t', 1, 'utf')],
  [0x68, base('signed char', 1, 'signed-char')],
  [0x69, base('unsigned char', 1, 'unsigned-char')],
  [0x11, base('short', 2, 'signed')],
  [0x21, base('unsigned short', 2, 'unsigned')],
  [0x72, base('short', 2, 'signed')],
  [0x73, base('unsigned short', 2, 'unsigned')],
  [0x12, base('long', 4, 'signed')],
  [0x22, base('unsigned long', 4, 'unsigned')],
  [0x74, base('int', 4, 'signed')],
  [0x75, base('unsigned int', 4, 'unsigned')],
  [0x13, base('long long', 8, 'signed')],
  [0x23, base('unsigned long long', 8, 'unsigned')],
  [0x76, base('long long', 8, 'signed')],
  [0x77, base('unsigned long long', 8, 'unsigned')],
  [0x14, base('__int128', 16, 'signed')],
  [0x24, base('unsigned __int128', 16, 'unsigned')],
  [0x78, base('__int128', 16, 'signed')],
  [0x79, base('unsigned __int128', 16, 'unsigned')],
  [0x46, base('_Float16', 2, 'float')],
  [0x40, base('float', 4, 'float')],
  [0x45, base('float', 4, 'float')],
  [0x41, base('double', 8, 'float')],
  // x87 extended precision, stored in 10 bytes.
  [0x42, base('long double', 10, 'float')],
  [0x43, base('__float128', 16, 'float')],
  [0x50, base({ c: '_Complex float', cxx: 'complex float' }, 8, 'complex-float')],
  [0x55, base({ c: '_Complex float', cxx: 'complex float' }, 8, 'complex-float')],
  [0x51, base({ c: '_Complex double', cxx: 'complex double' }, 16, 'complex-float')],
  [0x52, base({ c: '_Complex long double', cxx: 'complex long double' }, 20, 'complex-float')],
  [0x30, base({ c: '_Bool', cxx: 'bool' }, 1, 'boolean')],
  [0x31, base('__bool16', 2, 'boolean')],
  [0x32, base('__bool32', 4, 'boolean')],
  [0x33, base('__bool64', 8, 'boolean')],
  [0x34, base('__bool128', 16, 'boolean')],
]);

/** Kind 0x03: void. */
export const SIMPLE_KIND_VOID = 0x03;

/** The base type for a simple type kind; undefined for void, "no type" and kinds without storage. */
export function simpleBaseType(kind: number, language: 'c' | 'c++'): ModelBaseType | undefined {
  const entry = BASE_KINDS.get(kind);
  if (!entry) return undefined;
  const name = typeof entry.name === 'string' ? entry.name : language === 'c' ? entry.name.c : entry.name.cxx;
  return { kind: 'base', name, byteSize: entry.byteSize, encoding: entry.encoding };
}
