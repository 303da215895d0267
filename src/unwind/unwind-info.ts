/**
 * UNWIND_INFO (the .xdata record a RUNTIME_FUNCTION points to) decoded into
 * typed operations, versions 1 and 2. Only decoding lives here; what the
 * operations mean for a register set is unwind-info-rule.ts.
 *
 *   +0 u8  version:3 flags:5      (UNW_FLAG_EHANDLER 1, UHANDLER 2, CHAININFO 4)
 *   +1 u8  SizeOfProlog
 *   +2 u8  CountOfCodes           (16-bit slots; the array is padded to an even count)
 *   +3 u8  FrameRegister:4 FrameOffset:4 (offset scaled by 16)
 *   +4 UNWIND_CODE[CountOfCodes]  u8 CodeOffset, u8 UnwindOp:4 OpInfo:4, operands in later slots
 *   then, after the padded array: a RUNTIME_FUNCTION of the parent (CHAININFO),
 *   or the handler's RVA followed by handler data of its own format (E/UHANDLER).
 *
 * Bytes come through a reader function, so the same decoder works on a PE file
 * and on the image read from target memory at its base.
 */
import { CvReader } from '../symbols/codeview/cv-reader';
import { SymbolFormatError } from '../symbols/format-error';
import type { RuntimeFunction } from '../symbols/pe/pdata';
import { Gpr, Xmm, gprFromUnwindNumber, hex, xmmFromNumber } from './registers';

/** Bytes of the image at an RVA as loaded; throws (any error) when they are not there. */
export type ImageByteReader = (rva: number, length: number) => Uint8Array;

export type UnwindOperation =
  /** push <register> */
  | { op: 'pushNonvol'; codeOffset: number; register: Gpr }
  /** sub rsp, size: OpInfo 0 stores size/8 in 16 bits (up to 512K-8), OpInfo 1 the size in 32 bits. */
  | { op: 'allocLarge'; codeOffset: number; size: number; form: 'scaled16' | 'unscaled32' }
  /** sub rsp, 8..128 */
  | { op: 'allocSmall'; codeOffset: number; size: number }
  /** FrameRegister = rsp + FrameOffset */
  | { op: 'setFpreg'; codeOffset: number }
  /** mov [frame base + offset], register (offset in bytes) */
  | { op: 'saveNonvol'; codeOffset: number; register: Gpr; offset: number; far: boolean }
  /** movaps [frame base + offset], xmm (offset in bytes) */
  | { op: 'saveXmm128'; codeOffset: number; register: Xmm; offset: number; far: boolean }
  /** The CPU pushed a machine frame (ss, rsp, rflags, cs, rip) and maybe an error code. */
  | { op: 'pushMachframe'; codeOffset: number; errorCode: boolean };

export type UnwindOpName = UnwindOperation['op'];

/** Version 2 epilog descriptors, as stored: every epilog has the same size and is located from the function's end. */
export interface EpilogDescriptors {
  /** Bytes from the epilog's start to (and including the first byte of) its terminating instruction. */
  size: number;
  /** The last epilog ends the function: it starts at EndAddress - size. */
  atEnd: boolean;
  /** Further epilogs, each starting at EndAddress - offset (padding descriptors dropped). */
  offsetsFromEnd: number[];
}

export interface UnwindInfo {
  /** Where this record is. */
  rva: number;
  version: 1 | 2;
  /** The raw 5-bit flags. */
  flags: number;
  prologSize: number;
  /** undefined when FrameRegister is 0 (no frame pointer). */
  frameRegister: Gpr | undefined;
  /** FrameOffset * 16: the frame register points this far above rsp at SET_FPREG. */
  frameOffset: number;
  /** In stored order: descending code offset, i.e. the prologue read backwards. */
  operations: UnwindOperation[];
  /** Version 2 only. */
  epilogs: EpilogDescriptors | undefined;
  /** UNW_FLAG_EHANDLER / UHANDLER: the handler and where its (handler-defined) data starts. */
  handler: { rva: number; dataRva: number; exception: boolean; termination: boolean } | undefined;
  /** UNW_FLAG_CHAININFO: the entry whose unwind info continues this one. */
  chainedTo: RuntimeFunction | undefined;
  /** Bytes of the record up to the handler data (which has no length of its own). */
  byteLength: number;
}

export const UNW_FLAG_EHANDLER = 1;
export const UNW_FLAG_UHANDLER = 2;
export const UNW_FLAG_CHAININFO = 4;

/** UWOP_* numbers. */
export const UnwindOp = {
  PushNonvol: 0,
  AllocLarge: 1,
  AllocSmall: 2,
  SetFpreg: 3,
  SaveNonvol: 4,
  SaveNonvolFar: 5,
  Epilog: 6,
  SpareCode: 7,
  SaveXmm128: 8,
  SaveXmm128Far: 9,
  PushMachframe: 10,
} as const;

const HEADER_SIZE = 4;
const RUNTIME_FUNCTION_SIZE = 12;
/** Longer chains do not occur in real images; a cap turns a corrupt chain into an error, not a hang. */
export const MAX_CHAIN_LENGTH = 32;

function partName(rva: number): string {
  return `UNWIND_INFO at RVA ${hex(rva)}`;
}

function unwindError(rva: number, offset: number, detail: string): SymbolFormatError {
  return new SymbolFormatError({ file: 'PE', part: partName(rva), offset }, detail);
}

function readBytes(read: ImageByteReader, rva: number, length: number, owner: number, offset: number): Uint8Array {
  try {
    const bytes = read(rva, length);
    if (bytes.length < length) throw new Error(`only ${bytes.length} bytes`);
    return bytes;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw unwindError(owner, offset, `cannot read ${length} bytes at RVA ${hex(rva)}: ${why}`);
  }
}

/** Decodes the UNWIND_INFO at `rva`. Throws SymbolFormatError for anything malformed or unreadable. */
export function decodeUnwindInfo(read: ImageByteReader, rva: number): UnwindInfo {
  const header = new CvReader(readBytes(read, rva, HEADER_SIZE, rva, 0), 'PE', partName(rva));
  const versionAndFlags = header.u8();
  const version = versionAndFlags & 7;
  const flags = versionAndFlags >> 3;
  const prologSize = header.u8();
  const codeCount = header.u8();
  const frame = header.u8();
  if (version !== 1 && version !== 2) throw unwindError(rva, 0, `version ${version} (only 1 and 2 exist)`);
  if (flags & ~(UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER | UNW_FLAG_CHAININFO)) throw unwindError(rva, 0, `unknown flags ${hex(flags)}`);
  if (flags & UNW_FLAG_CHAININFO && flags & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER)) {
    throw unwindError(rva, 0, 'chained unwind info cannot also name a handler (they share one field)');
  }
  const frameRegister = (frame & 0xf) === 0 ? undefined : gprFromUnwindNumber(frame & 0xf);
  const frameOffset = (frame >> 4) * 16;

  const slotCount = (codeCount + 1) & ~1;
  const codes = new CvReader(readBytes(read, rva + HEADER_SIZE, codeCount * 2, rva, HEADER_SIZE), 'PE', partName(rva), 0, HEADER_SIZE);
  const { operations, epilogs } = decodeCodes(codes, rva, version, frameRegister);

  const tailRva = rva + HEADER_SIZE + slotCount * 2;
  let chainedTo: RuntimeFunction | undefined;
  let handler: UnwindInfo['handler'];
  let byteLength = HEADER_SIZE + slotCount * 2;
  if (flags & UNW_FLAG_CHAININFO) {
    const r = new CvReader(readBytes(read, tailRva, RUNTIME_FUNCTION_SIZE, rva, byteLength), 'PE', partName(rva), 0, byteLength);
    chainedTo = { beginRva: r.u32(), endRva: r.u32(), unwindInfoRva: r.u32() };
    if (chainedTo.endRva <= chainedTo.beginRva) {
      throw unwindError(rva, byteLength, `chained entry ${hex(chainedTo.beginRva)}..${hex(chainedTo.endRva)} is empty`);
    }
    byteLength += RUNTIME_FUNCTION_SIZE;
  } else if (flags & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER)) {
    const r = new CvReader(readBytes(read, tailRva, 4, rva, byteLength), 'PE', partName(rva), 0, byteLength);
    handler = {
      rva: r.u32(),
      dataRva: tailRva + 4,
      exception: (flags & UNW_FLAG_EHANDLER) !== 0,
      termination: (flags & UNW_FLAG_UHANDLER) !== 0,
    };
    byteLength += 4;
  } else if (codeCount === 0) {
    // The smallest record is 8 bytes; an empty one is padded, and the padding is part of it.
    byteLength += 4;
  }
  return { rva, version, flags, prologSize, frameRegister, frameOffset, operations, epilogs, handler, chainedTo, byteLength };
}

function decodeCodes(
  r: CvReader,
  rva: number,
  version: 1 | 2,
  frameRegister: Gpr | undefined,
): { operations: UnwindOperation[]; epilogs: EpilogDescriptors | undefined } {
  const operations: UnwindOperation[] = [];
  let epilogs: EpilogDescriptors | undefined;
  while (!r.atEnd) {
    const at = r.offset;
    const codeOffset = r.u8();
    const opAndInfo = r.u8();
    const op = opAndInfo & 0xf;
    const info = opAndInfo >> 4;
    const operand = (what: string, read: () => number): number => {
      if (r.remaining < 2) r.fail(`${what} needs an operand slot past the ${r.length / 2} codes`, at);
      return read();
    };
    switch (op) {
      case UnwindOp.PushNonvol:
        operations.push({ op: 'pushNonvol', codeOffset, register: gprFromUnwindNumber(info) });
        break;
      case UnwindOp.AllocLarge:
        if (info === 0) {
          operations.push({ op: 'allocLarge', codeOffset, size: operand('UWOP_ALLOC_LARGE', () => r.u16()) * 8, form: 'scaled16' });
        } else if (info === 1) {
          if (r.remaining < 4) r.fail('UWOP_ALLOC_LARGE (32-bit) needs two operand slots', at);
          operations.push({ op: 'allocLarge', codeOffset, size: r.u32(), form: 'unscaled32' });
        } else {
          r.fail(`UWOP_ALLOC_LARGE with OpInfo ${info} (only 0 and 1 exist)`, at);
        }
        break;
      case UnwindOp.AllocSmall:
        operations.push({ op: 'allocSmall', codeOffset, size: info * 8 + 8 });
        break;
      case UnwindOp.SetFpreg:
        if (frameRegister === undefined) r.fail('UWOP_SET_FPREG but the header names no frame register', at);
        operations.push({ op: 'setFpreg', codeOffset });
        break;
      case UnwindOp.SaveNonvol:
        operations.push({ op: 'saveNonvol', codeOffset, register: gprFromUnwindNumber(info), offset: operand('UWOP_SAVE_NONVOL', () => r.u16()) * 8, far: false });
        break;
      case UnwindOp.SaveNonvolFar:
        if (r.remaining < 4) r.fail('UWOP_SAVE_NONVOL_FAR needs two operand slots', at);
        operations.push({ op: 'saveNonvol', codeOffset, register: gprFromUnwindNumber(info), offset: r.u32(), far: true });
        break;
      case UnwindOp.SaveXmm128:
        operations.push({ op: 'saveXmm128', codeOffset, register: xmmFromNumber(info), offset: operand('UWOP_SAVE_XMM128', () => r.u16()) * 16, far: false });
        break;
      case UnwindOp.SaveXmm128Far:
        if (r.remaining < 4) r.fail('UWOP_SAVE_XMM128_FAR needs two operand slots', at);
        operations.push({ op: 'saveXmm128', codeOffset, register: xmmFromNumber(info), offset: r.u32(), far: true });
        break;
      case UnwindOp.PushMachframe:
        if (info > 1) r.fail(`UWOP_PUSH_MACHFRAME with OpInfo ${info} (only 0 and 1 exist)`, at);
        operations.push({ op: 'pushMachframe', codeOffset, errorCode: info === 1 });
        break;
      case UnwindOp.Epilog:
        if (version !== 2) r.fail('opcode 6 (UWOP_EPILOG) in a version 1 record', at);
        // Epilog descriptors lead the array: the first gives the shared size, the rest the locations.
        if (operations.length > 0) r.fail('UWOP_EPILOG after prologue operations', at);
        if (epilogs === undefined) {
          if (codeOffset === 0) r.fail('the first UWOP_EPILOG gives an epilog size of 0', at);
          if (info & ~1) r.fail(`UWOP_EPILOG flags ${hex(info)} (only bit 0, at-end, exists)`, at);
          epilogs = { size: codeOffset, atEnd: (info & 1) !== 0, offsetsFromEnd: [] };
        } else {
          const offset = codeOffset | (info << 8);
          if (offset !== 0) epilogs.offsetsFromEnd.push(offset);
        }
        break;
      default:
        r.fail(`unknown unwind opcode ${op}`, at);
    }
  }
  if (epilogs?.offsetsFromEnd.some((o) => o < epilogs!.size)) {
    throw unwindError(rva, HEADER_SIZE, 'a version 2 epilog runs past the end of its function');
  }
  return { operations, epilogs };
}

/** A version 2 record's epilogs as RVA ranges [start, end) inside `fn`. */
export function epilogRanges(info: UnwindInfo, fn: RuntimeFunction): { startRva: number; endRva: number }[] {
  const e = info.epilogs;
  if (!e) return [];
  const starts = e.offsetsFromEnd.map((o) => fn.endRva - o);
  if (e.atEnd) starts.push(fn.endRva - e.size);
  return [...new Set(starts)].filter((s) => s >= fn.beginRva).sort((a, b) => a - b).map((s) => ({ startRva: s, endRva: s + e.size }));
}

/**
 * An entry of .pdata whose UnwindData has bit 0 set points at another
 * RUNTIME_FUNCTION (the primary entry for a function split in parts), not at
 * an UNWIND_INFO. Follows such indirections to the entry that owns the record.
 */
export function resolveIndirectEntry(read: ImageByteReader, fn: RuntimeFunction): RuntimeFunction {
  let entry = fn;
  for (let hops = 0; entry.unwindInfoRva & 1; hops++) {
    if (hops >= MAX_CHAIN_LENGTH) throw unwindError(fn.unwindInfoRva, 0, 'RUNTIME_FUNCTION indirections do not end');
    const at = entry.unwindInfoRva & ~1;
    const r = new CvReader(readBytes(read, at, RUNTIME_FUNCTION_SIZE, at, 0), 'PE', `RUNTIME_FUNCTION at RVA ${hex(at)}`);
    entry = { beginRva: r.u32(), endRva: r.u32(), unwindInfoRva: r.u32() };
  }
  return entry;
}

/** One function's unwind info followed through CHAININFO: the entry's own record first, then each parent. */
export interface UnwindChain {
  function: RuntimeFunction;
  infos: UnwindInfo[];
  /** The entry each record belongs to, parallel to `infos` (infos[0] belongs to `function`). */
  owners: RuntimeFunction[];
}

export function decodeUnwindChain(read: ImageByteReader, fn: RuntimeFunction): UnwindChain {
  const infos: UnwindInfo[] = [];
  const owners: RuntimeFunction[] = [];
  const seen = new Set<number>();
  let owner = resolveIndirectEntry(read, fn);
  for (;;) {
    const rva = owner.unwindInfoRva;
    if (seen.has(rva)) throw unwindError(rva, 0, 'chained unwind info loops back to a record already in the chain');
    if (infos.length >= MAX_CHAIN_LENGTH) throw unwindError(rva, 0, `unwind info chain longer than ${MAX_CHAIN_LENGTH}`);
    seen.add(rva);
    const info = decodeUnwindInfo(read, rva);
    infos.push(info);
    owners.push(owner);
    if (!info.chainedTo) break;
    owner = resolveIndirectEntry(read, info.chainedTo);
  }
  return { function: fn, infos, owners };
}

/** The UWOP_* name llvm-readobj and the Microsoft documentation use. */
export function operationName(op: UnwindOperation): string {
  switch (op.op) {
    case 'pushNonvol':
      return 'PUSH_NONVOL';
    case 'allocLarge':
      return 'ALLOC_LARGE';
    case 'allocSmall':
      return 'ALLOC_SMALL';
    case 'setFpreg':
      return 'SET_FPREG';
    case 'saveNonvol':
      return op.far ? 'SAVE_NONVOL_FAR' : 'SAVE_NONVOL';
    case 'saveXmm128':
      return op.far ? 'SAVE_XMM128_FAR' : 'SAVE_XMM128';
    case 'pushMachframe':
      return 'PUSH_MACHFRAME';
  }
}
