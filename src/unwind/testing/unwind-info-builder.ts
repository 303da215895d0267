/**
 * Hand-written UNWIND_INFO records for tests, encoded from the same typed
 * operations the decoder produces, plus an image-like byte space to put them
 * (and code) at chosen RVAs. Written from the format description, not from
 * the decoder, so a round trip checks one against the other.
 */
import { GPRS, XMMS } from '../registers';
import type { UnwindOperation } from '../unwind-info';

export interface UnwindInfoSpec {
  version?: 1 | 2;
  /** UNW_FLAG_* bits. */
  flags?: number;
  prologSize: number;
  frameRegister?: (typeof GPRS)[number];
  /** Bytes; must be a multiple of 16. */
  frameOffset?: number;
  operations: UnwindOperation[];
  /** Version 2 epilog descriptors: the first gives the size and at-end flag, then raw offsets (0 = padding). */
  epilogs?: { size: number; atEnd: boolean; offsets: number[] };
  handlerRva?: number;
  handlerData?: number[];
  chainedTo?: { beginRva: number; endRva: number; unwindInfoRva: number };
  /** Override CountOfCodes (to write a truncated record). */
  codeCountOverride?: number;
}

function slots(op: UnwindOperation): number[] {
  const code = (opcode: number, info: number): number => op.codeOffset | (opcode << 8) | (info << 12);
  switch (op.op) {
    case 'pushNonvol':
      return [code(0, GPRS.indexOf(op.register))];
    case 'allocLarge':
      return op.form === 'scaled16' ? [code(1, 0), op.size / 8] : [code(1, 1), op.size & 0xffff, op.size >>> 16];
    case 'allocSmall':
      return [code(2, op.size / 8 - 1)];
    case 'setFpreg':
      return [code(3, 0)];
    case 'saveNonvol':
      return op.far ? [code(5, GPRS.indexOf(op.register)), op.offset & 0xffff, op.offset >>> 16] : [code(4, GPRS.indexOf(op.register)), op.offset / 8];
    case 'saveXmm128':
      return op.far ? [code(9, XMMS.indexOf(op.register)), op.offset & 0xffff, op.offset >>> 16] : [code(8, XMMS.indexOf(op.register)), op.offset / 16];
    case 'pushMachframe':
      return [code(10, op.errorCode ? 1 : 0)];
  }
}

export function encodeUnwindInfo(spec: UnwindInfoSpec): Uint8Array {
  const codes: number[] = [];
  if (spec.epilogs) {
    codes.push(spec.epilogs.size | (6 << 8) | ((spec.epilogs.atEnd ? 1 : 0) << 12));
    for (const o of spec.epilogs.offsets) codes.push((o & 0xff) | (6 << 8) | ((o >> 8) << 12));
  }
  for (const op of spec.operations) codes.push(...slots(op));
  const count = spec.codeCountOverride ?? codes.length;
  const padded = codes.length + (codes.length % 2);
  const bytes: number[] = [
    (spec.version ?? 1) | ((spec.flags ?? 0) << 3),
    spec.prologSize,
    count,
    (spec.frameRegister ? GPRS.indexOf(spec.frameRegister) : 0) | (((spec.frameOffset ?? 0) / 16) << 4),
  ];
  for (let i = 0; i < padded; i++) bytes.push((codes[i] ?? 0) & 0xff, (codes[i] ?? 0) >> 8);
  const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  if (spec.chainedTo) bytes.push(...u32(spec.chainedTo.beginRva), ...u32(spec.chainedTo.endRva), ...u32(spec.chainedTo.unwindInfoRva));
  if (spec.handlerRva !== undefined) bytes.push(...u32(spec.handlerRva), ...(spec.handlerData ?? []));
  return Uint8Array.from(bytes);
}

/** A sparse image: byte ranges at RVAs, read like PeImage.readRva (throws outside them). */
export class ByteSpace {
  private readonly ranges: { rva: number; bytes: Uint8Array }[] = [];

  put(rva: number, bytes: Uint8Array): this {
    this.ranges.push({ rva, bytes });
    return this;
  }

  read = (rva: number, length: number): Uint8Array => {
    const r = this.ranges.find((x) => rva >= x.rva && rva + length <= x.rva + x.bytes.length);
    if (!r) throw new Error(`nothing at RVA 0x${rva.toString(16)}+${length}`);
    return r.bytes.slice(rva - r.rva, rva - r.rva + length);
  };

  /** Like `read`, but undefined instead of throwing (a CodeReader). */
  tryRead = (rva: number, length: number): Uint8Array | undefined => {
    try {
      return this.read(rva, length);
    } catch {
      return undefined;
    }
  };
}
