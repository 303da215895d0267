/**
 * One unwinding step on real values: a FrameRule, the frame's registers and
 * target memory in, the caller's registers out. Slots are read in as few
 * requests as possible (neighbouring slots in one read), since every read may
 * be a round trip over a serial line.
 */
import { FrameRule, MACHINE_FRAME, SavedSlot, describeRule } from './frame-rule';
import { GPRS, RegisterName, RegisterSet, XMMS, addU64, hex, isNonvolatile, registerSize } from './registers';
import { UnwindError } from './unwind-error';

/** Reads target memory; rejects (any error) when the range is not readable. */
export type MemoryReader = (address: bigint, length: number) => Promise<Buffer>;

export interface UnwoundFrame {
  /** The caller's registers: rip, rsp, the callee-saved registers carried over, and every saved one. */
  registers: RegisterSet;
  /** The anchor's value: the CFA for a call frame, the machine frame's address for an interrupt frame. */
  anchor: bigint;
}

interface Read {
  register: RegisterName;
  address: bigint;
  size: 8 | 16;
}

/** Reads within this many bytes of each other are merged into one request. */
const MERGE_GAP = 64n;

export async function applyFrameRule(rule: FrameRule, registers: RegisterSet, readMemory: MemoryReader): Promise<UnwoundFrame> {
  const base = (name: RegisterName): bigint => {
    const v = registers[name];
    if (v === undefined) throw new UnwindError('unknown-register', `the rule '${describeRule(rule)}' needs ${name}, which this frame does not know`);
    return v;
  };
  const anchor = addU64(base(rule.anchor.register), rule.anchor.offset);
  const slotAddress = (s: SavedSlot): bigint => addU64(s.base === 'anchor' ? anchor : base(s.base), s.offset);

  const reads: Read[] = rule.saved.map((s) => ({ register: s.register, address: slotAddress(s), size: registerSize(s.register) }));
  if (rule.kind === 'call') {
    reads.push({ register: 'rip', address: addU64(anchor, -8), size: 8 });
  } else {
    for (const reg of ['rip', 'cs', 'rflags', 'rsp', 'ss'] as const) {
      reads.push({ register: reg, address: addU64(anchor, MACHINE_FRAME[reg]), size: 8 });
    }
  }
  const values = await readSlots(reads, readMemory);

  const caller: RegisterSet = {};
  // Callee-saved registers keep their value across the call unless the rule says where it was saved.
  const carried = new Set(rule.carried ?? []);
  for (const r of [...GPRS, ...XMMS]) {
    if ((isNonvolatile(r) || carried.has(r)) && r !== 'rsp' && registers[r] !== undefined) caller[r] = registers[r];
  }
  for (const [reg, value] of values) caller[reg] = value;
  if (rule.kind === 'call') caller.rsp = anchor;
  return { registers: caller, anchor };
}

async function readSlots(reads: Read[], readMemory: MemoryReader): Promise<Map<RegisterName, bigint>> {
  const sorted = [...reads].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const out = new Map<RegisterName, bigint>();
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!.address;
    let end = start + BigInt(sorted[i]!.size);
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.address <= end + MERGE_GAP) {
      const e = sorted[j]!.address + BigInt(sorted[j]!.size);
      if (e > end) end = e;
      j++;
    }
    let data: Buffer;
    try {
      data = await readMemory(start, Number(end - start));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new UnwindError('unreadable-memory', `cannot read the saved registers at ${hex(start)}..${hex(end)}: ${why}`);
    }
    if (data.length < Number(end - start)) {
      throw new UnwindError('unreadable-memory', `read ${data.length} of ${end - start} bytes at ${hex(start)}`);
    }
    for (const r of sorted.slice(i, j)) {
      const at = Number(r.address - start);
      const lo = data.readBigUInt64LE(at);
      out.set(r.register, r.size === 16 ? lo | (data.readBigUInt64LE(at + 8) << 64n) : lo);
    }
    i = j;
  }
  return out;
}
