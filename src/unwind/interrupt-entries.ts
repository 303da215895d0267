/**
 * Interrupt entry code without unwind data, described so that a walk that
 * reaches it continues into the interrupted code. stub-uefi's entry
 * (stub-uefi/src/isr.S) is the model: one small stub per vector pushes a zero
 * error code when the CPU pushes none, then the vector number, and jumps to a
 * common entry, which pushes every general register and calls the C handler:
 *
 *   vector stub entry:  rsp -> [error code] rip cs rflags rsp ss   (CPU)
 *   common entry:       rsp -> vector, error code, rip cs rflags rsp ss
 *
 * Each stub is analysed from "the CPU just pushed a machine frame" (with or
 * without an error code, by vector), and the common entry from the state every
 * stub reaches at its jump. The prologue analysis then gives the common entry
 * a rule at every instruction: the pushes, the frame pointer it keeps while
 * the stack is realigned, the call, the pops and iretq. The vector stubs are
 * found through the stub's vector table (`isr_stub_table`, 256 addresses).
 */
import { EntryState, analyzeFunction } from './prologue-analysis';
import { hex } from './registers';
import { UnwindError } from './unwind-error';
import { CodeDecoder } from './x86';

export interface InterruptEntry {
  startRva: number;
  /** First RVA after the entry code. */
  endRva: number;
  entry: EntryState;
  name: string;
}

/** Vectors for which the CPU pushes an error code (#DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX). */
export const ERROR_CODE_VECTORS: ReadonlySet<number> = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);

export type CodeBytes = (rva: number, length: number) => Uint8Array | undefined;

/** A vector stub is a few pushes and a jump; anything longer is not one. */
const MAX_STUB_BYTES = 32;
/** The common entry is followed as far as its control flow goes, within this many bytes. */
const MAX_COMMON_BYTES = 4096;

/**
 * The entries for a vector table: `stubRvas[v]` is vector v's stub. Stubs
 * that do not end in a jump to one common entry are left out; an error is
 * thrown when stubs disagree about the state at the common entry.
 */
export function interruptEntriesFromStubs(readCode: CodeBytes, stubRvas: readonly number[]): InterruptEntry[] {
  const entries: InterruptEntry[] = [];
  const common = new Map<number, number>();
  stubRvas.forEach((rva, vector) => {
    const bytes = readCode(rva, MAX_STUB_BYTES);
    if (!bytes) return;
    const jump = stubJump(bytes, rva);
    if (!jump) return;
    const entry: EntryState = { kind: 'interrupt', rspToAnchor: ERROR_CODE_VECTORS.has(vector) ? 8 : 0 };
    const analysis = analyzeFunction({ startRva: rva, endRva: jump.endRva, bytes, entry });
    const atJump = analysis.ruleAt(jump.rva);
    if (!atJump || atJump.anchor.register !== 'rsp') return;
    entries.push({ startRva: rva, endRva: jump.endRva, entry, name: `interrupt stub ${vector}` });
    const seen = common.get(jump.target);
    if (seen !== undefined && seen !== atJump.anchor.offset) {
      throw new UnwindError('bad-unwind-data', `interrupt stubs reach ${hex(jump.target)} with ${seen} and ${atJump.anchor.offset} bytes above the machine frame`);
    }
    common.set(jump.target, atJump.anchor.offset);
  });
  for (const [target, rspToAnchor] of common) {
    const bytes = readCode(target, MAX_COMMON_BYTES);
    if (!bytes) continue;
    const entry: EntryState = { kind: 'interrupt', rspToAnchor };
    const analysis = analyzeFunction({ startRva: target, bytes, entry });
    entries.push({ startRva: target, endRva: analysis.endRva, entry, name: 'interrupt entry' });
  }
  return entries.sort((a, b) => a.startRva - b.startRva);
}

/** The stub's closing `jmp rel` (its RVA, target and end), when the stub is pushes and a jump. */
function stubJump(bytes: Uint8Array, rva: number): { rva: number; target: number; endRva: number } | undefined {
  const decoder = new CodeDecoder(bytes, BigInt(rva));
  try {
    for (let offset = 0; offset < bytes.length; ) {
      const ins = decoder.at(offset);
      if (!ins) return undefined;
      if (ins.flow.kind === 'jump') return { rva: rva + offset, target: Number(ins.flow.target), endRva: rva + offset + ins.length };
      if (ins.stack.kind !== 'push' || ins.flow.kind !== 'next') return undefined;
      offset += ins.length;
    }
    return undefined;
  } finally {
    decoder.free();
  }
}

/**
 * The stub RVAs a vector table holds. The table stores absolute addresses:
 * relative to the image's preferred base in the file, to the load base in
 * memory; `addressBase` is the one that applies to `table`.
 */
export function vectorTableRvas(table: Uint8Array, addressBase: bigint, imageSize: number): number[] {
  const out: number[] = [];
  for (let at = 0; at + 8 <= table.length; at += 8) {
    const address = Buffer.from(table.buffer, table.byteOffset + at, 8).readBigUInt64LE(0);
    const rva = address - addressBase;
    if (rva < 0n || rva >= BigInt(imageSize)) throw new UnwindError('bad-unwind-data', `vector table entry ${at / 8} (${hex(address)}) is outside the image`);
    out.push(Number(rva));
  }
  return out;
}
