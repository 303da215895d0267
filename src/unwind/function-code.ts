/**
 * One function's instructions, by RVA, and the control flow between them: what
 * prologue analysis walks, and what a pass that only needs the instruction
 * boundaries (the rows of a function with unwind info) walks without the
 * dataflow.
 */
import { CodeDecoder, DecodedInstruction, InstructionShapes, InstructionSource } from './x86';

/** Stop following code this far from the start when the function's end is unknown. */
export const MAX_ANALYZED_BYTES = 1 << 20;

/**
 * A value per instruction of one function, by RVA: an array indexed from the
 * function's start rather than a Map, since the analysis reads and writes
 * one at every step of its walk and RVAs inside a function are dense.
 */
export class ByRva<T> {
  private readonly values: (T | undefined)[];
  private readonly set_: number[] = [];

  constructor(
    private readonly start: number,
    size: number,
  ) {
    this.values = new Array<T | undefined>(Math.max(0, size));
  }

  get(rva: number): T | undefined {
    return this.values[rva - this.start];
  }

  has(rva: number): boolean {
    return this.values[rva - this.start] !== undefined;
  }

  set(rva: number, value: T): void {
    const i = rva - this.start;
    if (this.values[i] === undefined) this.set_.push(rva);
    this.values[i] = value;
  }

  /** The RVAs given a value, in the order they were first set. */
  keys(): readonly number[] {
    return this.set_;
  }
}

export class FunctionCode {
  readonly startRva: number;
  /** First RVA past the code looked at: the function's end, or as far as the bytes (at most MAX_ANALYZED_BYTES) reach. */
  readonly limit: number;
  private readonly decoder: CodeDecoder;

  /** `bytes` start at `startRva`; `endRva` undefined when the function's end is unknown. Call `free()` when done. */
  constructor(startRva: number, bytes: Uint8Array, endRva: number | undefined, shapes?: InstructionShapes) {
    this.startRva = startRva;
    this.limit = endRva ?? startRva + Math.min(bytes.length, MAX_ANALYZED_BYTES);
    this.decoder = new CodeDecoder(bytes.subarray(0, this.limit - startRva), BigInt(startRva), shapes);
  }

  /** The decoder, its offset 0 at `startRva`. */
  get code(): InstructionSource {
    return this.decoder;
  }

  insAt(rva: number): DecodedInstruction | undefined {
    return rva >= this.startRva && rva < this.limit ? this.decoder.at(rva - this.startRva) : undefined;
  }

  /** A branch target as an RVA inside the function, or undefined when it leaves. */
  inside(target: bigint): number | undefined {
    const t = Number(target);
    return t >= this.startRva && t < this.limit ? t : undefined;
  }

  /** Where control goes after the instruction at `rva`, within the function. */
  successors(rva: number, ins: DecodedInstruction): number[] {
    const next = rva + ins.length;
    const f = ins.flow;
    const out: number[] = [];
    if (f.kind === 'next' || f.kind === 'call' || f.kind === 'branch') if (next < this.limit) out.push(next);
    if (f.kind === 'jump' || f.kind === 'branch') {
      const t = this.inside(f.target);
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  /** Every address control flow reaches from the start (the start included, even if it does not decode). */
  reachable(): Set<number> {
    const seen = new Set<number>([this.startRva]);
    const work = [this.startRva];
    while (work.length > 0) {
      const rva = work.pop()!;
      const ins = this.insAt(rva);
      if (!ins) continue;
      for (const succ of this.successors(rva, ins)) {
        if (!seen.has(succ)) {
          seen.add(succ);
          work.push(succ);
        }
      }
    }
    return seen;
  }

  /**
   * The addresses `reachable` gives, in no particular order, as an array: a
   * pass over every function needs them only to mark, and a Set per function
   * cost more than the walk.
   */
  reachableList(): number[] {
    const seen = new Uint8Array(Math.max(0, this.limit - this.startRva));
    const out = [this.startRva];
    seen[0] = 1;
    const work = [this.startRva];
    while (work.length > 0) {
      const rva = work.pop()!;
      const ins = this.insAt(rva);
      if (!ins) continue;
      const f = ins.flow;
      const next = rva + ins.length;
      // successors(), without an array per instruction.
      if ((f.kind === 'next' || f.kind === 'call' || f.kind === 'branch') && next < this.limit && seen[next - this.startRva] === 0) {
        seen[next - this.startRva] = 1;
        out.push(next);
        work.push(next);
      }
      if (f.kind === 'jump' || f.kind === 'branch') {
        const t = this.inside(f.target);
        if (t !== undefined && seen[t - this.startRva] === 0) {
          seen[t - this.startRva] = 1;
          out.push(t);
          work.push(t);
        }
      }
    }
    return out;
  }

  /**
   * The instruction boundaries, in address order: those `reached`, plus a
   * linear sweep from the start up to `sweepEnd` for code no path reaches;
   * only addresses where an instruction decodes.
   */
  instructionOrder(reached: Iterable<number>, sweepEnd: number): number[] {
    // A mark per byte, read in address order: no set of numbers to build and sort.
    const size = this.limit - this.startRva;
    const marked = new Uint8Array(size);
    const mark = (rva: number): void => {
      const at = rva - this.startRva;
      if (at >= 0 && at < size) marked[at] = 1;
    };
    // An array (prologue analysis passes one) without an iterator object per element.
    if (Array.isArray(reached)) for (let i = 0; i < reached.length; i++) mark(reached[i] as number);
    else for (const rva of reached) mark(rva);
    for (let rva = this.startRva; rva < sweepEnd; ) {
      const ins = this.insAt(rva);
      if (!ins) break;
      marked[rva - this.startRva] = 1;
      rva += ins.length;
    }
    const order: number[] = [];
    for (let at = 0; at < size; at++) if (marked[at] === 1 && this.decoder.at(at)) order.push(this.startRva + at);
    return order;
  }

  /**
   * The same addresses as `instructionOrder(reachableList(), end)` for a
   * function whose code is what compilers write: a linear sweep to its end that
   * every branch target inside it lands on. Then what control flow reaches is
   * part of the sweep (by induction: the start, a fall-through from a sweep
   * instruction, or a checked target), so the walk is not needed. Otherwise
   * (data in the code, a sweep that stops early) the walk decides.
   */
  instructionBoundaries(): number[] {
    const size = this.limit - this.startRva;
    const starts = new Uint8Array(size);
    const order: number[] = [];
    const targets: number[] = [];
    const walked = (): number[] => this.instructionOrder(this.reachableList(), this.limit);
    for (let at = 0; at < size; ) {
      const ins = this.decoder.at(at);
      if (!ins) return walked();
      starts[at] = 1;
      order.push(this.startRva + at);
      const f = ins.flow;
      if (f.kind === 'jump' || f.kind === 'branch') {
        const t = this.inside(f.target);
        if (t !== undefined) targets.push(t);
      }
      at += ins.length;
    }
    return targets.every((t) => starts[t - this.startRva] === 1) ? order : walked();
  }

  free(): void {
    this.decoder.free();
  }
}
