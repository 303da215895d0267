/**
 * CodeView symbol record kinds (SYM_ENUM_e in cvinfo.h, SymbolKind in LLVM)
 * that this reader decodes, plus a few it names but keeps raw.
 */
export const S = {
  S_END: 0x0006,
  S_FRAMEPROC: 0x1012,
  S_ANNOTATION: 0x1019,
  S_OBJNAME: 0x1101,
  S_THUNK32: 0x1102,
  S_BLOCK32: 0x1103,
  S_LABEL32: 0x1105,
  S_REGISTER: 0x1106,
  S_CONSTANT: 0x1107,
  S_UDT: 0x1108,
  S_BPREL32: 0x110b,
  S_LDATA32: 0x110c,
  S_GDATA32: 0x110d,
  S_PUB32: 0x110e,
  S_LPROC32: 0x110f,
  S_GPROC32: 0x1110,
  S_REGREL32: 0x1111,
  S_LTHREAD32: 0x1112,
  S_GTHREAD32: 0x1113,
  S_COMPILE2: 0x1116,
  S_UNAMESPACE: 0x1124,
  S_PROCREF: 0x1125,
  S_DATAREF: 0x1126,
  S_LPROCREF: 0x1127,
  S_TRAMPOLINE: 0x112c,
  S_SEPCODE: 0x1132,
  S_SECTION: 0x1136,
  S_COFFGROUP: 0x1137,
  S_EXPORT: 0x1138,
  S_CALLSITEINFO: 0x1139,
  S_FRAMECOOKIE: 0x113a,
  S_COMPILE3: 0x113c,
  S_ENVBLOCK: 0x113d,
  S_LOCAL: 0x113e,
  S_DEFRANGE: 0x113f,
  S_DEFRANGE_SUBFIELD: 0x1140,
  S_DEFRANGE_REGISTER: 0x1141,
  S_DEFRANGE_FRAMEPOINTER_REL: 0x1142,
  S_DEFRANGE_SUBFIELD_REGISTER: 0x1143,
  S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE: 0x1144,
  S_DEFRANGE_REGISTER_REL: 0x1145,
  S_LPROC32_ID: 0x1146,
  S_GPROC32_ID: 0x1147,
  S_BUILDINFO: 0x114c,
  S_INLINESITE: 0x114d,
  S_INLINESITE_END: 0x114e,
  S_PROC_ID_END: 0x114f,
  S_FILESTATIC: 0x1153,
  S_CALLEES: 0x115a,
  S_CALLERS: 0x115b,
  S_INLINESITE2: 0x115d,
  S_HEAPALLOCSITE: 0x115e,
} as const;

export type SymbolKindName = keyof typeof S;

const NAMES = new Map<number, SymbolKindName>(Object.entries(S).map(([k, v]) => [v, k as SymbolKindName]));

/** 'S_GPROC32' for 0x1110; '0x1234' for kinds this table does not know. */
export function symbolKindName(kind: number): string {
  return NAMES.get(kind) ?? `0x${kind.toString(16)}`;
}
