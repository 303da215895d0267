/**
 * Software breakpoints, owned by the host.
 *
 * gdb's Z0/z0 only change `BreakpointTable`; the kernel hears about them when the
 * target resumes, and only when the enabled set really changed (gdb removes and
 * re-inserts every breakpoint around each stop). `KernelBreakpointList` models the
 * josx64 kernel's own list, in its order, so the sync plan can route around the
 * kernel's flaws:
 *
 * - flaw 2 (state 2 "cleared" never shrinks the list): removal is always
 *   clear-all (an empty UpdateBreakpoints) followed by the entries that remain;
 * - flaw 5 (SingleStep's transient breakpoint stays in the list): the bridge never
 *   sends SingleStep, so no transient entry exists;
 * - the kernel's own unannounced breakpoint at `main` after the handshake, and a
 *   list left by an earlier bridge, make the list `unknown`: the first sync clears it.
 *
 * Flaws 1, 3 and 6 concern resuming from an address that is in the kernel's list;
 * `execution.ts` decides how to step off such an address.
 */

import type { BreakpointEntry } from '../target/messages';
import { BreakpointState } from '../target/protocol';

/** One UpdateBreakpoints message; an empty list is the kernel's "clear all". */
export type BreakpointUpdate = BreakpointEntry[];

export class BreakpointTable {
  private readonly addresses = new Set<bigint>();

  insert(address: bigint): void {
    this.addresses.add(address);
  }
  remove(address: bigint): void {
    this.addresses.delete(address);
  }
  has(address: bigint): boolean {
    return this.addresses.has(address);
  }
  clear(): void {
    this.addresses.clear();
  }
  get size(): number {
    return this.addresses.size;
  }
  list(): bigint[] {
    return [...this.addresses].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** What the kernel's breakpoint list holds: enabled addresses in list order, or unknown. */
export class KernelBreakpointList {
  private entries: bigint[] | 'unknown';

  constructor(initial: bigint[] | 'unknown' = 'unknown') {
    this.entries = initial === 'unknown' ? 'unknown' : [...initial];
  }

  get known(): boolean {
    return this.entries !== 'unknown';
  }

  /** True when `address` is (or may be, if unknown) in the kernel's list. */
  mayContain(address: bigint): boolean {
    return this.entries === 'unknown' || this.entries.includes(address);
  }

  /** True when the kernel's list is (or may be) non-empty. */
  get mayBeNonEmpty(): boolean {
    return this.entries === 'unknown' || this.entries.length > 0;
  }

  enabled(): bigint[] {
    return this.entries === 'unknown' ? [] : [...this.entries];
  }

  /** Records that a message was sent, so the model follows the kernel. */
  apply(update: BreakpointUpdate): void {
    if (update.length === 0) {
      this.entries = [];
      return;
    }
    if (this.entries === 'unknown') throw new Error('cannot apply a partial update to an unknown kernel list');
    for (const { address, state } of update) {
      if (state === BreakpointState.Enabled && !this.entries.includes(address)) this.entries.push(address);
      else if (state !== BreakpointState.Enabled) this.entries = this.entries.filter((a) => a !== address);
    }
  }

  markUnknown(): void {
    this.entries = 'unknown';
  }

  snapshot(): bigint[] | 'unknown' {
    return this.entries === 'unknown' ? 'unknown' : [...this.entries];
  }
}

/**
 * The UpdateBreakpoints messages that make the kernel's enabled set equal `desired`.
 * Nothing when it already is; additions alone in one message; any removal as
 * clear-all followed by everything that remains (flaw 2).
 */
export function planBreakpointSync(kernel: KernelBreakpointList, desired: readonly bigint[]): BreakpointUpdate[] {
  const enable = (addresses: readonly bigint[]): BreakpointUpdate =>
    addresses.map((address) => ({ address, state: BreakpointState.Enabled }));
  if (!kernel.known) {
    return desired.length > 0 ? [[], enable(desired)] : [[]];
  }
  const current = new Set(kernel.enabled());
  const wanted = new Set(desired);
  const removed = [...current].filter((a) => !wanted.has(a));
  const added = desired.filter((a) => !current.has(a));
  if (removed.length === 0) return added.length > 0 ? [enable(added)] : [];
  return desired.length > 0 ? [[], enable(desired)] : [[]];
}
