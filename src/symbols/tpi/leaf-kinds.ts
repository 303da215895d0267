/**
 * CodeView type leaf kinds (cvinfo.h LEAF_ENUM_e). Only the 32-bit-index
 * (post VC 7) forms are decoded: they are all that clang, lld and any MSVC of
 * this century write into a PDB, and the older 16-bit forms share no layout.
 */

export const LeafKind = {
  LF_VTSHAPE: 0x000a,
  LF_LABEL: 0x000e,
  LF_ENDPRECOMP: 0x0014,
  LF_MODIFIER: 0x1001,
  LF_POINTER: 0x1002,
  LF_PROCEDURE: 0x1008,
  LF_MFUNCTION: 0x1009,
  LF_ARGLIST: 0x1201,
  LF_FIELDLIST: 0x1203,
  LF_BITFIELD: 0x1205,
  LF_METHODLIST: 0x1206,
  LF_BCLASS: 0x1400,
  LF_VBCLASS: 0x1401,
  LF_IVBCLASS: 0x1402,
  LF_INDEX: 0x1404,
  LF_VFUNCTAB: 0x1409,
  LF_VFUNCOFF: 0x140c,
  LF_ENUMERATE: 0x1502,
  LF_ARRAY: 0x1503,
  LF_CLASS: 0x1504,
  LF_STRUCTURE: 0x1505,
  LF_UNION: 0x1506,
  LF_ENUM: 0x1507,
  LF_PRECOMP: 0x1509,
  LF_MEMBER: 0x150d,
  LF_STMEMBER: 0x150e,
  LF_METHOD: 0x150f,
  LF_NESTTYPE: 0x1510,
  LF_ONEMETHOD: 0x1511,
  LF_TYPESERVER2: 0x1515,
  LF_INTERFACE: 0x1519,
  LF_BINTERFACE: 0x151a,
  LF_VFTABLE: 0x151d,
  LF_FUNC_ID: 0x1601,
  LF_MFUNC_ID: 0x1602,
  LF_BUILDINFO: 0x1603,
  LF_SUBSTR_LIST: 0x1604,
  LF_STRING_ID: 0x1605,
  LF_UDT_SRC_LINE: 0x1606,
  LF_UDT_MOD_SRC_LINE: 0x1607,
} as const;

export type LeafKindName = keyof typeof LeafKind;

/** First padding leaf: bytes 0xf0..0xff between field-list members are alignment filler. */
export const LF_PAD0 = 0xf0;

const NAMES = new Map<number, LeafKindName>(
  (Object.entries(LeafKind) as [LeafKindName, number][]).map(([name, value]) => [value, name]),
);

/** 'LF_POINTER' for a known leaf, '0x1234' otherwise (for messages and dumps). */
export function leafKindName(leaf: number): string {
  return NAMES.get(leaf) ?? `0x${leaf.toString(16).padStart(4, '0')}`;
}
