/**
 * Target memory as gdb sees it: never a read that wedges the kernel, never a
 * breakpoint byte, and never the same bytes fetched twice in one stop.
 *
 * A base-protocol kernel faults inside its serial code on an unmapped read and
 * never recovers, so every read is checked first: canonical form locally, then
 * page presence with TraversePageTable (cached for the stop). A target with
 * `safe-memory` guards its own accesses and reports partial counts instead.
 * Reads are split at page boundaries, so a range that runs into an unmapped page
 * returns the bytes before it (gdb's partial-read convention).
 */
import { hex, isCanonical } from '../common/bytes';
import { JosgdbError } from '../common/errors';
import type { LocalCode } from './local-code';

export const PAGE_SIZE = 0x1000n;

/** The four paging-structure entries TraversePageTable returns for an address. */
export interface PageWalk {
  pml4e: bigint;
  pdpte: bigint;
  pde: bigint;
  pte: bigint;
}

const PRESENT = 1n;
const PAGE_SIZE_BIT = 0x80n;

/** True when `walk` maps its address (4-level paging with 1 GiB and 2 MiB pages). */
export function walkIsPresent(walk: PageWalk): boolean {
  if ((walk.pml4e & PRESENT) === 0n || (walk.pdpte & PRESENT) === 0n) return false;
  if (walk.pdpte & PAGE_SIZE_BIT) return true;
  if ((walk.pde & PRESENT) === 0n) return false;
  if (walk.pde & PAGE_SIZE_BIT) return true;
  return (walk.pte & PRESENT) !== 0n;
}

export interface MemoryPort {
  readMemory(address: bigint, length: number): Promise<Buffer>;
  writeMemory(address: bigint, data: Buffer): Promise<void>;
  pageWalk(address: bigint): Promise<PageWalk>;
  /** Present with `safe-memory`: a guarded read that returns what it could read. */
  safeRead?(address: bigint, length: number): Promise<Buffer>;
  /** Present with `safe-memory`: a guarded, acknowledged write; returns the count written. */
  safeWrite?(address: bigint, data: Buffer): Promise<number>;
}

/**
 * Cached bytes that stay true across a single step: those in [keepFrom, keepTo)
 * that the stepped instruction did not write (`written`, or nothing kept when
 * that is unknown).
 */
export interface StackCarry {
  keepFrom: bigint;
  keepTo: bigint;
  written: { ranges: readonly MappedRange[] } | 'unknown';
}

function carriedRanges(cache: readonly CachedRange[], carry: StackCarry): CachedRange[] {
  if (carry.written === 'unknown') return [];
  let pieces: { start: bigint; end: bigint; range: CachedRange }[] = [];
  for (const range of cache) {
    const start = range.start > carry.keepFrom ? range.start : carry.keepFrom;
    const rangeEnd = range.start + BigInt(range.data.length);
    const end = rangeEnd < carry.keepTo ? rangeEnd : carry.keepTo;
    if (start < end) pieces.push({ start, end, range });
  }
  for (const cut of carry.written.ranges) {
    const cutEnd = cut.address + BigInt(cut.length);
    pieces = pieces.flatMap((p) => {
      if (cutEnd <= p.start || cut.address >= p.end) return [p];
      const parts = [];
      if (p.start < cut.address) parts.push({ ...p, end: cut.address });
      if (cutEnd < p.end) parts.push({ ...p, start: cutEnd });
      return parts;
    });
  }
  return pieces.map((p) => ({
    start: p.start,
    data: p.range.data.subarray(Number(p.start - p.range.start), Number(p.end - p.range.start)),
  }));
}

/** What TargetMemory.newStop learns from a stop. */
export interface NewStop {
  code?: { address: bigint; bytes: Buffer };
  mapped?: readonly MappedRange[];
  carry?: StackCarry;
  rsp?: bigint;
  /** Stack bytes the stop itself carried (compact-stop: the part of rsp's line below rsp, where the trap frame is). */
  stackBelow?: { address: bigint; bytes: Buffer };
}

/** Where reads count as stack reads for read-ahead: from just below rsp to 64 KiB above. */
const STACK_BELOW = 0x100n;
const STACK_ABOVE = 0x10000n;
const MAX_READ_AHEAD = 2048;

/** Bytes the kernel is known to have read at this stop, so their pages are mapped. */
export interface MappedRange {
  address: bigint;
  length: number;
}

interface CachedRange {
  start: bigint;
  data: Buffer;
}

export interface MemoryStats {
  targetReads: number;
  targetBytes: number;
  pageWalks: number;
  cacheHits: number;
  /** Bytes served from the image file instead of the link. */
  localBytes: number;
}

export class TargetMemory {
  private cache: CachedRange[] = [];
  private presence = new Map<bigint, boolean>();
  /** Original bytes under breakpoints, recorded before the kernel first armed them. */
  private readonly originals = new Map<bigint, number>();
  readonly stats: MemoryStats = { targetReads: 0, targetBytes: 0, pageWalks: 0, cacheHits: 0, localBytes: 0 };
  private localCode: LocalCode | undefined;
  /** rsp at this stop, and how many stack reads went to the target since (see readAhead). */
  private stackTop: bigint | undefined;
  private stackMisses = 0;

  constructor(
    private readonly port: MemoryPort,
    /** Addresses where the kernel may currently hold a 0xCC. */
    private readonly armedAddresses: () => Iterable<bigint>,
  ) {}

  /**
   * A new stop: memory may have changed. Seeds the cache with what the stop record
   * already carries (`code`: the instruction bytes at rip) and with the stack bytes
   * that survive a single step (`carry`), and the page presence with what the
   * kernel itself just read (`mapped`, and the code), so that no TraversePageTable
   * is spent on pages known to be there. `rsp` marks the stack for read-ahead;
   * `stackBelow` is stack the stop message carried.
   */
  newStop(stop: NewStop = {}): void {
    this.cache = stop.carry ? carriedRanges(this.cache, stop.carry) : [];
    this.presence.clear();
    this.stackTop = stop.rsp;
    this.stackMisses = 0;
    const mapped = [...(stop.mapped ?? [])];
    for (const known of [stop.code, stop.stackBelow]) {
      if (!known || known.bytes.length === 0) continue;
      this.cache.push({ start: known.address, data: Buffer.from(known.bytes) });
      mapped.push({ address: known.address, length: known.bytes.length });
    }
    for (const range of mapped) {
      if (range.length <= 0 || !isCanonical(range.address)) continue;
      const last = range.address + BigInt(range.length) - 1n;
      for (let page = range.address / PAGE_SIZE; page <= last / PAGE_SIZE; page++) this.presence.set(page * PAGE_SIZE, true);
    }
  }

  /** Drops cached bytes (after a write, or when the kernel's breakpoint bytes changed). */
  invalidate(): void {
    this.cache = [];
  }

  /** The target rebooted: no cached byte, page or recorded original is true any more. */
  forget(): void {
    this.newStop();
    this.originals.clear();
    this.localCode?.forget();
  }

  /** Code reads inside the image's executable sections come from the image file (see local-code.ts). */
  useLocalCode(localCode: LocalCode | undefined): void {
    this.localCode = localCode;
  }

  originalByte(address: bigint): number | undefined {
    return this.originals.get(address);
  }

  /** Records the byte under a breakpoint before it is armed, reading it if need be. */
  async rememberOriginal(address: bigint): Promise<void> {
    if (this.originals.has(address)) return;
    const [byte] = await this.read(address, 1);
    if (byte === undefined) throw new JosgdbError('BAD_ADDRESS', `cannot set a breakpoint at ${hex(address)}: memory there is not readable`);
    this.originals.set(address, byte);
  }

  /**
   * Reads up to `length` bytes; fewer when the range runs into unreadable memory.
   * Throws BAD_ADDRESS when not even the first byte is readable.
   */
  async read(address: bigint, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let at = address;
    let left = length;
    while (left > 0) {
      const pageEnd = (at / PAGE_SIZE + 1n) * PAGE_SIZE;
      const n = Number(pageEnd - at < BigInt(left) ? pageEnd - at : BigInt(left));
      const chunk = await this.readWithinPage(at, n);
      parts.push(chunk);
      if (chunk.length < n) break;
      at += BigInt(n);
      left -= n;
    }
    const data = Buffer.concat(parts);
    if (data.length === 0 && length > 0) {
      throw new JosgdbError('BAD_ADDRESS', `cannot read memory at ${hex(address)}: the address is not mapped`);
    }
    return this.hideBreakpoints(address, data);
  }

  async write(address: bigint, data: Buffer): Promise<void> {
    if (data.length === 0) return;
    const end = address + BigInt(data.length) - 1n;
    if (!isCanonical(address) || !isCanonical(end)) {
      throw new JosgdbError('BAD_ADDRESS', `cannot write memory at ${hex(address)}: not a canonical address`);
    }
    this.invalidate();
    this.localCode?.wrote(address, data.length);
    if (this.port.safeWrite) {
      const written = await this.port.safeWrite(address, data);
      if (written < data.length) {
        throw new JosgdbError('BAD_ADDRESS', `cannot write memory at ${hex(address + BigInt(written))}: the target faulted`);
      }
    } else {
      for (let page = address / PAGE_SIZE; page <= end / PAGE_SIZE; page++) {
        if (!(await this.isPresent(page * PAGE_SIZE))) {
          throw new JosgdbError('BAD_ADDRESS', `cannot write memory at ${hex(page * PAGE_SIZE)}: the address is not mapped`);
        }
      }
      await this.port.writeMemory(address, data);
    }
    for (let i = 0; i < data.length; i++) {
      const a = address + BigInt(i);
      if (this.originals.has(a)) this.originals.set(a, data[i]!);
    }
  }

  private async readWithinPage(address: bigint, length: number): Promise<Buffer> {
    const end = address + BigInt(length);
    let pieces = this.cachedPieces(address, end);
    if (pieces.every((p) => p.data)) {
      this.stats.cacheHits++;
      return pieces.length === 1 ? pieces[0]!.data! : Buffer.concat(pieces.map((p) => p.data!));
    }
    if (this.localCode) {
      const cachedRanges = this.cache.length;
      const local = await this.localCode.read(address, length, (a, n) => this.fetch(a, n));
      if (local) {
        this.stats.localBytes += local.length;
        return local;
      }
      // Checking the file against the target read (and cached) target bytes: look again.
      if (this.cache.length !== cachedRanges) pieces = this.cachedPieces(address, end);
    }
    // Only the part the cache lacks goes to the link, in one request from its first
    // missing byte to its last: gdb's 64-byte stack reads after a step often differ
    // from what was kept only by the bytes a push or the trap wrote around rsp.
    const missing = pieces.filter((p) => !p.data);
    if (missing.length === pieces.length) {
      const data = await this.fetch(address, this.readAhead(address, length));
      return data.subarray(0, length);
    }
    const gapStart = missing[0]!.start;
    const gapEnd = missing[missing.length - 1]!.end;
    const fetched = await this.fetch(gapStart, Number(gapEnd - gapStart));
    const before = pieces.filter((p) => p.end <= gapStart).map((p) => p.data!);
    // A short read ends the result where the target stopped answering.
    if (fetched.length < Number(gapEnd - gapStart)) return Buffer.concat([...before, fetched]);
    const after = pieces.filter((p) => p.start >= gapEnd).map((p) => p.data!);
    return Buffer.concat([...before, fetched, ...after]);
  }

  /** [address, end) as consecutive pieces, each either cached bytes or a gap (no data). */
  private cachedPieces(address: bigint, end: bigint): { start: bigint; end: bigint; data?: Buffer }[] {
    const pieces: { start: bigint; end: bigint; data?: Buffer }[] = [];
    let at = address;
    while (at < end) {
      const range = this.cache.find((r) => r.start <= at && at < r.start + BigInt(r.data.length));
      if (range) {
        const rangeEnd = range.start + BigInt(range.data.length);
        const stop = rangeEnd < end ? rangeEnd : end;
        pieces.push({ start: at, end: stop, data: range.data.subarray(Number(at - range.start), Number(stop - range.start)) });
        at = stop;
        continue;
      }
      // A gap runs to the next cached byte.
      let next = end;
      for (const r of this.cache) if (r.start > at && r.start < next) next = r.start;
      const last = pieces[pieces.length - 1];
      if (last && !last.data) last.end = next;
      else pieces.push({ start: at, end: next });
      at = next;
    }
    return pieces;
  }

  /**
   * A backtrace reads the stack one 64-byte line per frame, each a round trip. From
   * the third stack line gdb asks for in one stop, the read grows (128, 256, ... up
   * to 2 KiB, never past the page): a deep `bt` costs a few requests, while the one
   * or two lines gdb reads after a step cost nothing extra.
   */
  private readAhead(address: bigint, length: number): number {
    if (this.stackTop === undefined || address < this.stackTop - STACK_BELOW || address >= this.stackTop + STACK_ABOVE) return length;
    this.stackMisses++;
    if (this.stackMisses < 3) return length;
    const wanted = Math.min(64 << (this.stackMisses - 2), MAX_READ_AHEAD);
    const pageEnd = (address / PAGE_SIZE + 1n) * PAGE_SIZE;
    return Math.max(length, Math.min(wanted, Number(pageEnd - address)));
  }

  /** Reads from the target (never from the cache) and caches what came back. */
  private async fetch(address: bigint, length: number): Promise<Buffer> {
    if (!isCanonical(address)) return Buffer.alloc(0);
    let data: Buffer;
    // A guarded read costs a status and a count more on the link than a plain one;
    // on a page the kernel itself just read, the plain read cannot fault.
    if (this.port.safeRead && this.presence.get(address & ~(PAGE_SIZE - 1n)) !== true) {
      data = await this.port.safeRead(address, length);
    } else {
      if (!(await this.isPresent(address))) return Buffer.alloc(0);
      data = await this.port.readMemory(address, length);
    }
    this.stats.targetReads++;
    this.stats.targetBytes += data.length;
    if (data.length > 0) this.cache.push({ start: address, data });
    return data;
  }

  private async isPresent(address: bigint): Promise<boolean> {
    const page = address & ~(PAGE_SIZE - 1n);
    const known = this.presence.get(page);
    if (known !== undefined) return known;
    this.stats.pageWalks++;
    const present = walkIsPresent(await this.port.pageWalk(page));
    this.presence.set(page, present);
    return present;
  }

  private hideBreakpoints(address: bigint, data: Buffer): Buffer {
    const end = address + BigInt(data.length);
    let out = data;
    for (const armed of this.armedAddresses()) {
      if (armed < address || armed >= end) continue;
      const i = Number(armed - address);
      const original = this.originals.get(armed);
      if (out[i] === 0xcc && original !== undefined && original !== 0xcc) {
        if (out === data) out = Buffer.from(data);
        out[i] = original;
      }
    }
    return out;
  }
}
