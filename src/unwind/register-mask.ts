/**
 * A set of the 32 integer and vector registers as one 32-bit mask. Prologue
 * analysis copies its state at every instruction of every function; with a
 * Set of register names that copy was most of the time a whole-image pass
 * took. Same interface as the Set it replaces.
 */
import { GPRS, XMMS, type Gpr, type Xmm } from './registers';

const ORDER: readonly (Gpr | Xmm)[] = [...GPRS, ...XMMS];
/** A plain object, not a Map: a property read is several times cheaper than Map.get with a string key. */
const BIT: Readonly<Record<string, number>> = Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(ORDER.map((r, i) => [r, i])));

export class RegisterMask implements Iterable<Gpr | Xmm> {
  private constructor(private bits: number) {}

  static of(registers: Iterable<Gpr | Xmm>): RegisterMask {
    const mask = new RegisterMask(0);
    for (const r of registers) mask.add(r);
    return mask;
  }

  clone(): RegisterMask {
    return new RegisterMask(this.bits);
  }

  has(register: Gpr | Xmm): boolean {
    const bit = BIT[register];
    return bit !== undefined && ((this.bits >>> bit) & 1) === 1;
  }

  add(register: Gpr | Xmm): void {
    const bit = BIT[register];
    if (bit !== undefined) this.bits = (this.bits | (1 << bit)) >>> 0;
  }

  delete(register: Gpr | Xmm): void {
    const bit = BIT[register];
    if (bit !== undefined) this.bits = (this.bits & ~(1 << bit)) >>> 0;
  }

  /** Whether every register of `other` is in this set. */
  covers(other: RegisterMask): boolean {
    return (other.bits & ~this.bits) === 0;
  }

  /** The registers in both sets. */
  intersection(other: RegisterMask): RegisterMask {
    return new RegisterMask((this.bits & other.bits) >>> 0);
  }

  *[Symbol.iterator](): Iterator<Gpr | Xmm> {
    for (let i = 0; i < ORDER.length; i++) if ((this.bits >>> i) & 1) yield ORDER[i]!;
  }
}
