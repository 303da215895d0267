/**
 * CodeView symbol records, as found in module symbol streams and in the
 * symbol record stream behind publics and globals. Each record is
 * `u16 length, u16 kind, data`; `decodeSymbol` turns one into a typed
 * variant of `CvSymbol`, and keeps kinds it does not know as raw bytes so a
 * newer compiler's records never fail a file.
 */
import { CvReader } from '../codeview/cv-reader';
import { SymbolFormatError } from '../format-error';
import { CV_AMD64_R13, CV_AMD64_RBP, CV_AMD64_RSP } from './cv-registers';
import { S, symbolKindName } from './symbol-kinds';

interface Base {
  /** Offset of the record in its stream: what parent/end pointers and S_PROCREF refer to. */
  recordOffset: number;
  /** Bytes the record occupies, including its 2-byte length field. */
  recordSize: number;
  /** The numeric record kind. */
  kindValue: number;
}

export interface PublicSymbol extends Base {
  kind: 'S_PUB32';
  flags: number;
  isCode: boolean;
  isFunction: boolean;
  isManaged: boolean;
  isMsil: boolean;
  segment: number;
  offset: number;
  /** Decorated (mangled) name for C++; plain for C. */
  name: string;
}

export interface DataSymbol extends Base {
  kind: 'S_GDATA32' | 'S_LDATA32' | 'S_GTHREAD32' | 'S_LTHREAD32';
  typeIndex: number;
  segment: number;
  /** For the thread-local kinds, an offset in the TLS block rather than in the section. */
  offset: number;
  name: string;
}

export interface RefSymbol extends Base {
  kind: 'S_PROCREF' | 'S_LPROCREF' | 'S_DATAREF';
  sumName: number;
  /** Offset of the referenced record in the module's symbol stream. */
  symOffset: number;
  /** 1-based module index, as stored. */
  module: number;
  name: string;
}

export interface UdtSymbol extends Base {
  kind: 'S_UDT';
  typeIndex: number;
  name: string;
}

export interface ConstantSymbol extends Base {
  kind: 'S_CONSTANT';
  typeIndex: number;
  value: bigint;
  name: string;
}

export const PROC_FLAG_HAS_FP = 0x01;
export const PROC_FLAG_NO_RETURN = 0x08;
export const PROC_FLAG_OPTIMIZED_DEBUG_INFO = 0x80;

export interface ProcSymbol extends Base {
  kind: 'S_GPROC32' | 'S_LPROC32' | 'S_GPROC32_ID' | 'S_LPROC32_ID';
  parent: number;
  end: number;
  next: number;
  codeSize: number;
  debugStart: number;
  debugEnd: number;
  /** Function type (TPI), or function id (IPI) for the _ID kinds. */
  typeIndex: number;
  segment: number;
  offset: number;
  flags: number;
  name: string;
}

export interface BlockSymbol extends Base {
  kind: 'S_BLOCK32';
  parent: number;
  end: number;
  codeSize: number;
  segment: number;
  offset: number;
  name: string;
}

export interface ThunkSymbol extends Base {
  kind: 'S_THUNK32';
  parent: number;
  end: number;
  next: number;
  segment: number;
  offset: number;
  length: number;
  /** THUNK_ORDINAL: 0 standard, 1 this-adjustor, 2 vcall, 3 pcode, 4 load, 5 trampoline incremental, 6 trampoline branch island. */
  ordinal: number;
  name: string;
  variant: Uint8Array;
}

export interface LabelSymbol extends Base {
  kind: 'S_LABEL32';
  segment: number;
  offset: number;
  flags: number;
  name: string;
}

export interface FrameProcSymbol extends Base {
  kind: 'S_FRAMEPROC';
  totalFrameBytes: number;
  paddingFrameBytes: number;
  offsetToPadding: number;
  calleeSavedRegisterBytes: number;
  exceptionHandlerOffset: number;
  exceptionHandlerSection: number;
  flags: number;
  /** Register locals are addressed from (CodeView number), undefined for "none". */
  localFramePointer: number | undefined;
  paramFramePointer: number | undefined;
}

export interface RegRelSymbol extends Base {
  kind: 'S_REGREL32';
  offset: number;
  typeIndex: number;
  register: number;
  name: string;
}

export interface BpRelSymbol extends Base {
  kind: 'S_BPREL32';
  offset: number;
  typeIndex: number;
  name: string;
}

export interface RegisterSymbol extends Base {
  kind: 'S_REGISTER';
  typeIndex: number;
  register: number;
  name: string;
}

export const LOCAL_FLAG_PARAM = 0x01;
export const LOCAL_FLAG_OPTIMIZED_OUT = 0x100;

export interface LocalSymbol extends Base {
  kind: 'S_LOCAL';
  typeIndex: number;
  flags: number;
  isParam: boolean;
  isOptimizedOut: boolean;
  name: string;
}

/** Where a variable's location is valid: [segment:offset, +length), minus the gaps. */
export interface AddressRange {
  segment: number;
  offset: number;
  length: number;
}

export interface AddressGap {
  /** Relative to the range start. */
  gapStartOffset: number;
  length: number;
}

export interface DefRangeRegisterSymbol extends Base {
  kind: 'S_DEFRANGE_REGISTER';
  register: number;
  mayHaveNoName: boolean;
  range: AddressRange;
  gaps: AddressGap[];
}

export interface DefRangeFramePointerRelSymbol extends Base {
  kind: 'S_DEFRANGE_FRAMEPOINTER_REL';
  offset: number;
  range: AddressRange;
  gaps: AddressGap[];
}

export interface DefRangeFramePointerRelFullScopeSymbol extends Base {
  kind: 'S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE';
  offset: number;
}

export interface DefRangeSubfieldRegisterSymbol extends Base {
  kind: 'S_DEFRANGE_SUBFIELD_REGISTER';
  register: number;
  mayHaveNoName: boolean;
  offsetInParent: number;
  range: AddressRange;
  gaps: AddressGap[];
}

export interface DefRangeRegisterRelSymbol extends Base {
  kind: 'S_DEFRANGE_REGISTER_REL';
  baseRegister: number;
  spilledUdtMember: boolean;
  offsetInParent: number;
  basePointerOffset: number;
  range: AddressRange;
  gaps: AddressGap[];
}

export interface ScopeEndSymbol extends Base {
  kind: 'S_END' | 'S_PROC_ID_END' | 'S_INLINESITE_END';
}

export interface ObjNameSymbol extends Base {
  kind: 'S_OBJNAME';
  signature: number;
  name: string;
}

/** CV_CFL_LANG values of interest. */
export const CV_LANG_C = 0x00;
export const CV_LANG_CXX = 0x01;
export const CV_LANG_MASM = 0x03;
export const CV_LANG_LINK = 0x07;
export const CV_LANG_RUST = 0x15;

export interface Compile3Symbol extends Base {
  kind: 'S_COMPILE3';
  /** CV_CFL_LANG. */
  language: number;
  /** The flag bits above the language byte, shifted down. */
  flags: number;
  machine: number;
  frontendVersion: [number, number, number, number];
  backendVersion: [number, number, number, number];
  version: string;
}

export interface BuildInfoSymbol extends Base {
  kind: 'S_BUILDINFO';
  /** LF_BUILDINFO id in the IPI stream. */
  buildId: number;
}

export interface TrampolineSymbol extends Base {
  kind: 'S_TRAMPOLINE';
  /** 0 incremental-link thunk, 1 branch island. */
  trampolineType: number;
  size: number;
  thunkSection: number;
  thunkOffset: number;
  targetSection: number;
  targetOffset: number;
}

export interface InlineSiteSymbol extends Base {
  kind: 'S_INLINESITE';
  parent: number;
  end: number;
  /** LF_FUNC_ID / LF_MFUNC_ID in the IPI stream. */
  inlinee: number;
  /** Binary annotations (code offset and line changes), undecoded. */
  annotations: Uint8Array;
}

export interface SectionSymbol extends Base {
  kind: 'S_SECTION';
  sectionNumber: number;
  /** Alignment as a power of two. */
  alignment: number;
  rva: number;
  length: number;
  characteristics: number;
  name: string;
}

export interface CoffGroupSymbol extends Base {
  kind: 'S_COFFGROUP';
  size: number;
  characteristics: number;
  segment: number;
  offset: number;
  name: string;
}

export interface CallSiteInfoSymbol extends Base {
  kind: 'S_CALLSITEINFO';
  segment: number;
  offset: number;
  typeIndex: number;
}

export interface HeapAllocSiteSymbol extends Base {
  kind: 'S_HEAPALLOCSITE';
  segment: number;
  offset: number;
  callInstructionSize: number;
  typeIndex: number;
}

export interface EnvBlockSymbol extends Base {
  kind: 'S_ENVBLOCK';
  /** Alternating keys and values: 'cwd', '/src', 'exe', ... */
  entries: string[];
}

export interface UnknownSymbol extends Base {
  kind: 'unknown';
  /** The record's bytes after the kind field. */
  raw: Uint8Array;
}

export type CvSymbol =
  | PublicSymbol
  | DataSymbol
  | RefSymbol
  | UdtSymbol
  | ConstantSymbol
  | ProcSymbol
  | BlockSymbol
  | ThunkSymbol
  | LabelSymbol
  | FrameProcSymbol
  | RegRelSymbol
  | BpRelSymbol
  | RegisterSymbol
  | LocalSymbol
  | DefRangeRegisterSymbol
  | DefRangeFramePointerRelSymbol
  | DefRangeFramePointerRelFullScopeSymbol
  | DefRangeSubfieldRegisterSymbol
  | DefRangeRegisterRelSymbol
  | ScopeEndSymbol
  | ObjNameSymbol
  | Compile3Symbol
  | BuildInfoSymbol
  | TrampolineSymbol
  | InlineSiteSymbol
  | SectionSymbol
  | CoffGroupSymbol
  | CallSiteInfoSymbol
  | HeapAllocSiteSymbol
  | EnvBlockSymbol
  | UnknownSymbol;

export type CvSymbolKind = CvSymbol['kind'];

/** Records that open a scope closed by a matching end record. */
export type ScopeSymbol = ProcSymbol | BlockSymbol | ThunkSymbol | InlineSiteSymbol;

export function isScopeStart(s: CvSymbol): s is ScopeSymbol {
  switch (s.kind) {
    case 'S_GPROC32':
    case 'S_LPROC32':
    case 'S_GPROC32_ID':
    case 'S_LPROC32_ID':
    case 'S_BLOCK32':
    case 'S_THUNK32':
    case 'S_INLINESITE':
      return true;
    default:
      return false;
  }
}

export function isScopeEnd(s: CvSymbol): s is ScopeEndSymbol {
  return s.kind === 'S_END' || s.kind === 'S_PROC_ID_END' || s.kind === 'S_INLINESITE_END';
}

export function isProc(s: CvSymbol): s is ProcSymbol {
  return s.kind === 'S_GPROC32' || s.kind === 'S_LPROC32' || s.kind === 'S_GPROC32_ID' || s.kind === 'S_LPROC32_ID';
}

function readRange(r: CvReader): AddressRange {
  const offset = r.u32();
  const segment = r.u16();
  const length = r.u16();
  return { segment, offset, length };
}

function readGaps(r: CvReader): AddressGap[] {
  if (r.remaining % 4 !== 0) r.fail(`${r.remaining} trailing bytes are not a whole number of 4-byte gaps`);
  const gaps: AddressGap[] = [];
  while (!r.atEnd) gaps.push({ gapStartOffset: r.u16(), length: r.u16() });
  return gaps;
}

/** S_FRAMEPROC encodes its frame registers in two bits each; x86-64 meanings. */
function frameRegister(code: number): number | undefined {
  return [undefined, CV_AMD64_RSP, CV_AMD64_RBP, CV_AMD64_R13][code];
}

/**
 * Decodes the record whose body (after length and kind) `r` covers. `base`
 * carries the record's position, size and numeric kind.
 */
function decodeBody(r: CvReader, base: Base): CvSymbol {
  // The base fields are copied one by one, not spread: V8 builds an object
  // literal that starts with a spread through a slow generic path, which cost
  // microseconds per record on a large PDB.
  const k = base.kindValue;
  switch (k) {
    case S.S_PUB32: {
      const flags = r.u32();
      const offset = r.u32();
      const segment = r.u16();
      return {
        recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue,
        kind: 'S_PUB32',
        flags,
        isCode: (flags & 1) !== 0,
        isFunction: (flags & 2) !== 0,
        isManaged: (flags & 4) !== 0,
        isMsil: (flags & 8) !== 0,
        segment,
        offset,
        name: r.cstring(),
      };
    }
    case S.S_GDATA32:
    case S.S_LDATA32:
    case S.S_GTHREAD32:
    case S.S_LTHREAD32: {
      const typeIndex = r.u32();
      const offset = r.u32();
      const segment = r.u16();
      const kind = symbolKindName(k) as DataSymbol['kind'];
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind, typeIndex, segment, offset, name: r.cstring() };
    }
    case S.S_PROCREF:
    case S.S_LPROCREF:
    case S.S_DATAREF: {
      const sumName = r.u32();
      const symOffset = r.u32();
      const module = r.u16();
      const kind = symbolKindName(k) as RefSymbol['kind'];
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind, sumName, symOffset, module, name: r.cstring() };
    }
    case S.S_UDT:
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_UDT', typeIndex: r.u32(), name: r.cstring() };
    case S.S_CONSTANT: {
      const typeIndex = r.u32();
      const value = r.numericLeaf();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_CONSTANT', typeIndex, value, name: r.cstring() };
    }
    case S.S_GPROC32:
    case S.S_LPROC32:
    case S.S_GPROC32_ID:
    case S.S_LPROC32_ID: {
      const parent = r.u32();
      const end = r.u32();
      const next = r.u32();
      const codeSize = r.u32();
      const debugStart = r.u32();
      const debugEnd = r.u32();
      const typeIndex = r.u32();
      const offset = r.u32();
      const segment = r.u16();
      const flags = r.u8();
      const kind = symbolKindName(k) as ProcSymbol['kind'];
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind, parent, end, next, codeSize, debugStart, debugEnd, typeIndex, segment, offset, flags, name: r.cstring() };
    }
    case S.S_BLOCK32: {
      const parent = r.u32();
      const end = r.u32();
      const codeSize = r.u32();
      const offset = r.u32();
      const segment = r.u16();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_BLOCK32', parent, end, codeSize, segment, offset, name: r.cstring() };
    }
    case S.S_THUNK32: {
      const parent = r.u32();
      const end = r.u32();
      const next = r.u32();
      const offset = r.u32();
      const segment = r.u16();
      const length = r.u16();
      const ordinal = r.u8();
      const name = r.cstring();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_THUNK32', parent, end, next, segment, offset, length, ordinal, name, variant: r.bytes(r.remaining) };
    }
    case S.S_LABEL32: {
      const offset = r.u32();
      const segment = r.u16();
      const flags = r.u8();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_LABEL32', segment, offset, flags, name: r.cstring() };
    }
    case S.S_FRAMEPROC: {
      const totalFrameBytes = r.u32();
      const paddingFrameBytes = r.u32();
      const offsetToPadding = r.u32();
      const calleeSavedRegisterBytes = r.u32();
      const exceptionHandlerOffset = r.u32();
      const exceptionHandlerSection = r.u16();
      const flags = r.u32();
      return {
        recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue,
        kind: 'S_FRAMEPROC',
        totalFrameBytes,
        paddingFrameBytes,
        offsetToPadding,
        calleeSavedRegisterBytes,
        exceptionHandlerOffset,
        exceptionHandlerSection,
        flags,
        localFramePointer: frameRegister((flags >>> 14) & 3),
        paramFramePointer: frameRegister((flags >>> 16) & 3),
      };
    }
    case S.S_REGREL32: {
      const offset = r.i32();
      const typeIndex = r.u32();
      const register = r.u16();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_REGREL32', offset, typeIndex, register, name: r.cstring() };
    }
    case S.S_BPREL32: {
      const offset = r.i32();
      const typeIndex = r.u32();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_BPREL32', offset, typeIndex, name: r.cstring() };
    }
    case S.S_REGISTER: {
      const typeIndex = r.u32();
      const register = r.u16();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_REGISTER', typeIndex, register, name: r.cstring() };
    }
    case S.S_LOCAL: {
      const typeIndex = r.u32();
      const flags = r.u16();
      return {
        recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue,
        kind: 'S_LOCAL',
        typeIndex,
        flags,
        isParam: (flags & LOCAL_FLAG_PARAM) !== 0,
        isOptimizedOut: (flags & LOCAL_FLAG_OPTIMIZED_OUT) !== 0,
        name: r.cstring(),
      };
    }
    case S.S_DEFRANGE_REGISTER: {
      const register = r.u16();
      const mayHaveNoName = r.u16() !== 0;
      const range = readRange(r);
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_DEFRANGE_REGISTER', register, mayHaveNoName, range, gaps: readGaps(r) };
    }
    case S.S_DEFRANGE_FRAMEPOINTER_REL: {
      const offset = r.i32();
      const range = readRange(r);
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_DEFRANGE_FRAMEPOINTER_REL', offset, range, gaps: readGaps(r) };
    }
    case S.S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE:
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE', offset: r.i32() };
    case S.S_DEFRANGE_SUBFIELD_REGISTER: {
      const register = r.u16();
      const mayHaveNoName = r.u16() !== 0;
      // Only the low 12 bits are the offset; the rest is padding.
      const offsetInParent = r.u32() & 0xfff;
      const range = readRange(r);
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_DEFRANGE_SUBFIELD_REGISTER', register, mayHaveNoName, offsetInParent, range, gaps: readGaps(r) };
    }
    case S.S_DEFRANGE_REGISTER_REL: {
      const baseRegister = r.u16();
      const flags = r.u16();
      const basePointerOffset = r.i32();
      const range = readRange(r);
      return {
        recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue,
        kind: 'S_DEFRANGE_REGISTER_REL',
        baseRegister,
        spilledUdtMember: (flags & 1) !== 0,
        offsetInParent: flags >>> 4,
        basePointerOffset,
        range,
        gaps: readGaps(r),
      };
    }
    case S.S_END:
    case S.S_PROC_ID_END:
    case S.S_INLINESITE_END:
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: symbolKindName(k) as ScopeEndSymbol['kind'] };
    case S.S_OBJNAME:
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_OBJNAME', signature: r.u32(), name: r.cstring() };
    case S.S_COMPILE3: {
      const flagWord = r.u32();
      const machine = r.u16();
      const frontendVersion: [number, number, number, number] = [r.u16(), r.u16(), r.u16(), r.u16()];
      const backendVersion: [number, number, number, number] = [r.u16(), r.u16(), r.u16(), r.u16()];
      return {
        recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue,
        kind: 'S_COMPILE3',
        language: flagWord & 0xff,
        flags: flagWord >>> 8,
        machine,
        frontendVersion,
        backendVersion,
        version: r.cstring(),
      };
    }
    case S.S_BUILDINFO:
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_BUILDINFO', buildId: r.u32() };
    case S.S_TRAMPOLINE: {
      const trampolineType = r.u16();
      const size = r.u16();
      const thunkOffset = r.u32();
      const targetOffset = r.u32();
      const thunkSection = r.u16();
      const targetSection = r.u16();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_TRAMPOLINE', trampolineType, size, thunkSection, thunkOffset, targetSection, targetOffset };
    }
    case S.S_INLINESITE: {
      const parent = r.u32();
      const end = r.u32();
      const inlinee = r.u32();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_INLINESITE', parent, end, inlinee, annotations: r.bytes(r.remaining) };
    }
    case S.S_SECTION: {
      const sectionNumber = r.u16();
      const alignment = r.u8();
      r.u8(); // reserved
      const rva = r.u32();
      const length = r.u32();
      const characteristics = r.u32();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_SECTION', sectionNumber, alignment, rva, length, characteristics, name: r.cstring() };
    }
    case S.S_COFFGROUP: {
      const size = r.u32();
      const characteristics = r.u32();
      const offset = r.u32();
      const segment = r.u16();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_COFFGROUP', size, characteristics, segment, offset, name: r.cstring() };
    }
    case S.S_CALLSITEINFO: {
      const offset = r.u32();
      const segment = r.u16();
      r.u16(); // padding
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_CALLSITEINFO', segment, offset, typeIndex: r.u32() };
    }
    case S.S_HEAPALLOCSITE: {
      const offset = r.u32();
      const segment = r.u16();
      const callInstructionSize = r.u16();
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_HEAPALLOCSITE', segment, offset, callInstructionSize, typeIndex: r.u32() };
    }
    case S.S_ENVBLOCK: {
      r.u8(); // reserved
      const entries: string[] = [];
      // The block ends with an empty string; padding may follow it.
      while (!r.atEnd) {
        const s = r.cstring();
        if (s === '') break;
        entries.push(s);
      }
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'S_ENVBLOCK', entries };
    }
    default:
      return { recordOffset: base.recordOffset, recordSize: base.recordSize, kindValue: base.kindValue, kind: 'unknown', raw: r.bytes(r.remaining) };
  }
}

/** Minimum record length field: the kind. */
const MIN_RECORD_LENGTH = 2;

const u16At = (d: Uint8Array, at: number): number => d[at]! | (d[at + 1]! << 8);
const u32At = (d: Uint8Array, at: number): number => (d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24)) >>> 0;

/** An address range (offset, section, length) at `at`, as readRange reads it. */
function rangeAt(d: Uint8Array, at: number): AddressRange {
  return { segment: u16At(d, at + 4), offset: u32At(d, at), length: u16At(d, at + 6) };
}

/** The 4-byte gaps from `at` to `end` (a multiple of 4 apart), as readGaps reads them. */
function gapsAt(d: Uint8Array, at: number, end: number): AddressGap[] {
  const gaps: AddressGap[] = [];
  for (let g = at; g < end; g += 4) gaps.push({ gapStartOffset: u16At(d, g), length: u16At(d, g + 2) });
  return gaps;
}

/** The NUL-terminated name at `at`, decoded as CvReader.cstring does; undefined when no NUL comes before `end`. */
function nameAt(d: Uint8Array, at: number, end: number): string | undefined {
  let nul = at;
  while (nul < end && d[nul] !== 0) nul++;
  if (nul >= end) return undefined;
  return Buffer.from(d.buffer, d.byteOffset + at, nul - at).toString('utf8');
}

/**
 * The record kinds a large PDB holds by the ten thousand (procedures,
 * publics, data, procedure references, and the scopes and variables inside
 * procedures), decoded straight from the bytes when
 * the record holds all its fields and a terminated name: the same result as
 * `decodeBody`, without a reader and a DataView per field. Anything else
 * (other kinds, short or unterminated records) returns undefined and takes
 * the checked path, which reports the error.
 */
function decodeCommon(d: Uint8Array, offset: number, recordSize: number, k: number): CvSymbol | undefined {
  const at = offset + 4;
  const end = offset + recordSize;
  switch (k) {
    case S.S_GPROC32:
    case S.S_LPROC32:
    case S.S_GPROC32_ID:
    case S.S_LPROC32_ID: {
      if (end - at < 35) return undefined;
      const name = nameAt(d, at + 35, end);
      if (name === undefined) return undefined;
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: symbolKindName(k) as ProcSymbol['kind'],
        parent: u32At(d, at),
        end: u32At(d, at + 4),
        next: u32At(d, at + 8),
        codeSize: u32At(d, at + 12),
        debugStart: u32At(d, at + 16),
        debugEnd: u32At(d, at + 20),
        typeIndex: u32At(d, at + 24),
        segment: u16At(d, at + 32),
        offset: u32At(d, at + 28),
        flags: d[at + 34]!,
        name,
      };
    }
    case S.S_PUB32: {
      if (end - at < 10) return undefined;
      const name = nameAt(d, at + 10, end);
      if (name === undefined) return undefined;
      const flags = u32At(d, at);
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: 'S_PUB32',
        flags,
        isCode: (flags & 1) !== 0,
        isFunction: (flags & 2) !== 0,
        isManaged: (flags & 4) !== 0,
        isMsil: (flags & 8) !== 0,
        segment: u16At(d, at + 8),
        offset: u32At(d, at + 4),
        name,
      };
    }
    case S.S_GDATA32:
    case S.S_LDATA32:
    case S.S_GTHREAD32:
    case S.S_LTHREAD32: {
      if (end - at < 10) return undefined;
      const name = nameAt(d, at + 10, end);
      if (name === undefined) return undefined;
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: symbolKindName(k) as DataSymbol['kind'],
        typeIndex: u32At(d, at),
        segment: u16At(d, at + 8),
        offset: u32At(d, at + 4),
        name,
      };
    }
    // A procedure's scope and variables: tens of thousands each in a large PDB's module streams.
    case S.S_LOCAL: {
      if (end - at < 6) return undefined;
      const name = nameAt(d, at + 6, end);
      if (name === undefined) return undefined;
      const flags = u16At(d, at + 4);
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: 'S_LOCAL',
        typeIndex: u32At(d, at),
        flags,
        isParam: (flags & LOCAL_FLAG_PARAM) !== 0,
        isOptimizedOut: (flags & LOCAL_FLAG_OPTIMIZED_OUT) !== 0,
        name,
      };
    }
    case S.S_DEFRANGE_REGISTER: {
      if (end - at < 12 || (end - at - 12) % 4 !== 0) return undefined;
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: 'S_DEFRANGE_REGISTER',
        register: u16At(d, at),
        mayHaveNoName: u16At(d, at + 2) !== 0,
        range: rangeAt(d, at + 4),
        gaps: gapsAt(d, at + 12, end),
      };
    }
    case S.S_END:
    case S.S_PROC_ID_END:
    case S.S_INLINESITE_END:
      return { recordOffset: offset, recordSize, kindValue: k, kind: symbolKindName(k) as ScopeEndSymbol['kind'] };
    case S.S_INLINESITE:
      if (end - at < 12) return undefined;
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: 'S_INLINESITE',
        parent: u32At(d, at),
        end: u32At(d, at + 4),
        inlinee: u32At(d, at + 8),
        annotations: d.subarray(at + 12, end),
      };
    case S.S_FRAMEPROC: {
      if (end - at < 26) return undefined;
      const flags = u32At(d, at + 22);
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: 'S_FRAMEPROC',
        totalFrameBytes: u32At(d, at),
        paddingFrameBytes: u32At(d, at + 4),
        offsetToPadding: u32At(d, at + 8),
        calleeSavedRegisterBytes: u32At(d, at + 12),
        exceptionHandlerOffset: u32At(d, at + 16),
        exceptionHandlerSection: u16At(d, at + 20),
        flags,
        localFramePointer: frameRegister((flags >>> 14) & 3),
        paramFramePointer: frameRegister((flags >>> 16) & 3),
      };
    }
    case S.S_BLOCK32: {
      if (end - at < 18) return undefined;
      const name = nameAt(d, at + 18, end);
      if (name === undefined) return undefined;
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: 'S_BLOCK32',
        parent: u32At(d, at),
        end: u32At(d, at + 4),
        codeSize: u32At(d, at + 8),
        segment: u16At(d, at + 16),
        offset: u32At(d, at + 12),
        name,
      };
    }
    case S.S_PROCREF:
    case S.S_LPROCREF:
    case S.S_DATAREF: {
      if (end - at < 10) return undefined;
      const name = nameAt(d, at + 10, end);
      if (name === undefined) return undefined;
      return {
        recordOffset: offset,
        recordSize,
        kindValue: k,
        kind: symbolKindName(k) as RefSymbol['kind'],
        sumName: u32At(d, at),
        symOffset: u32At(d, at + 4),
        module: u16At(d, at + 8),
        name,
      };
    }
    default:
      return undefined;
  }
}

/** The error a record body reader raised, re-raised under the record's own part name (built only on this path). */
function inRecordPart(e: unknown, file: string, part: string, kindValue: number, offset: number): never {
  if (!(e instanceof SymbolFormatError)) throw e;
  const { location } = e;
  const prefix = `${location.file}: ${location.part} at offset 0x${location.offset.toString(16)}: `;
  const detail = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  throw new SymbolFormatError({ file, part: `${part} ${symbolKindName(kindValue)} record at 0x${offset.toString(16)}`, offset: location.offset }, detail);
}

/**
 * Decodes the record at `offset` of `stream`. `part` names the stream in
 * errors; offsets in errors are stream offsets. `fastPath: false` takes the
 * checked reader for every kind, which is how the tests hold `decodeCommon`
 * to the same results.
 */
export function decodeSymbolAt(stream: Uint8Array, offset: number, file: string, part: string, options: { fastPath?: boolean } = {}): CvSymbol {
  if (!Number.isInteger(offset) || offset < 0 || offset >= stream.length) {
    new CvReader(stream, file, part, 0).fail(`no symbol record at offset ${offset} of a ${stream.length}-byte stream`, 0);
  }
  if (offset + 4 > stream.length) {
    // Too short for the header: let the checked reader say which field is missing.
    const head = new CvReader(stream, file, part, offset);
    const length = head.u16();
    if (length < MIN_RECORD_LENGTH) head.fail(`symbol record length ${length} is too short`, offset);
    head.u16();
  }
  const length = stream[offset]! | (stream[offset + 1]! << 8);
  if (length < MIN_RECORD_LENGTH) new CvReader(stream, file, part, 0).fail(`symbol record length ${length} is too short`, offset);
  const kindValue = stream[offset + 2]! | (stream[offset + 3]! << 8);
  if (length + 2 > stream.length - offset) {
    new CvReader(stream, file, part, 0).fail(
      `${symbolKindName(kindValue)} record of ${length + 2} bytes runs past the end (${stream.length - offset} left)`,
      offset,
    );
  }
  const bodyAt = offset + 4;
  const fast = options.fastPath === false ? undefined : decodeCommon(stream, offset, length + 2, kindValue);
  if (fast) return fast;
  // The body reader names the stream; an error is re-raised naming the record,
  // so the record's part string is only built when something is wrong.
  const body = new CvReader(stream.subarray(bodyAt, offset + 2 + length), file, part, 0, bodyAt);
  try {
    return decodeBody(body, { recordOffset: offset, recordSize: length + 2, kindValue });
  } catch (e) {
    return inRecordPart(e, file, part, kindValue, offset);
  }
}

/**
 * Decodes consecutive records in `[start, end)` of `stream`. Every record is
 * at least 4 bytes, so the loop always advances.
 */
export function decodeSymbols(stream: Uint8Array, file: string, part: string, start = 0, end = stream.length): CvSymbol[] {
  return decodeSymbolsOfKinds(stream, file, part, start, end, () => true);
}

/**
 * Like `decodeSymbols`, but decodes only the records whose numeric kind `want`
 * accepts; the others are stepped over by their length, which is still checked.
 * A reader that needs a few kinds out of a module (procedures, not their
 * locals and ranges) pays for those only.
 */
export function decodeSymbolsOfKinds(
  stream: Uint8Array,
  file: string,
  part: string,
  start: number,
  end: number,
  want: (kindValue: number) => boolean,
): CvSymbol[] {
  const out: CvSymbol[] = [];
  forEachSymbolOfKinds(stream, file, part, start, end, want, (s) => {
    out.push(s);
  });
  return out;
}

/**
 * Like `decodeSymbolsOfKinds`, but hands each record to `visit` as it is
 * decoded instead of collecting them: a reader that keeps only what it builds
 * from a few records at a time lets the rest die young, instead of holding a
 * whole module's records (a large module has tens of thousands).
 */
export function forEachSymbolOfKinds(
  stream: Uint8Array,
  file: string,
  part: string,
  start: number,
  end: number,
  want: (kindValue: number) => boolean,
  visit: (symbol: CvSymbol) => void,
): void {
  if (start < 0 || end > stream.length || start > end) {
    new CvReader(stream, file, part).fail(`symbol range ${start}..${end} outside the ${stream.length}-byte stream`, start);
  }
  const view = stream.subarray(0, end);
  let at = start;
  while (at < end) {
    if (at + 4 <= end) {
      const length = view[at]! | (view[at + 1]! << 8);
      const kindValue = view[at + 2]! | (view[at + 3]! << 8);
      if (length >= MIN_RECORD_LENGTH && length + 2 <= end - at && !want(kindValue)) {
        at += length + 2;
        continue;
      }
    }
    const s = decodeSymbolAt(view, at, file, part);
    visit(s);
    at += s.recordSize;
  }
}
