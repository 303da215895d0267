/**
 * How to leave the current stop without tripping over the kernel's breakpoint flaws.
 *
 * josx64 keeps a pointer to the breakpoint slot it stopped at across list updates
 * (flaw 3), rewinds rip after a one-byte instruction stepped off a listed address
 * (flaw 1), and reports a breakpoint it was stepped onto twice (flaw 6). All three
 * need the resume to start from an address that is in the kernel's list. So when
 * rip is (or may be) listed, the bridge first empties the list and steps one
 * instruction with nothing armed; only then does it send the breakpoints and
 * continue. The one resume that needs no such step is a Continue from the very
 * breakpoint the kernel stopped at, with an unchanged list: the kernel then steps
 * and re-arms by itself, which is exactly what it was built for. A stop on a
 * listed breakpoint counts even after the list was emptied (a memory write clears
 * it): the kernel still points at the old slot, and a new entry there re-arms the
 * stop address (flaw 3).
 */
import type { BreakpointUpdate } from './breakpoints';
import { KernelBreakpointList, planBreakpointSync } from './breakpoints';

export type ResumeAction = { kind: 'continue' } | { kind: 'step' } | { kind: 'range'; start: bigint; end: bigint };

export interface ResumePlan {
  /** Empty the kernel's list and step once before anything else. */
  stepOffFirst: boolean;
  /** The UpdateBreakpoints messages to send right before the final resume. */
  sync: BreakpointUpdate[];
}

export interface StopPosition {
  rip: bigint;
  /**
   * The kernel stopped on a breakpoint of its list at rip: it restored the byte,
   * holds a pointer to that slot until it resumes (flaw 3), and will re-arm it.
   */
  hitListedBreakpoint: boolean;
}

export function planResume(
  action: ResumeAction,
  at: StopPosition | undefined,
  kernel: KernelBreakpointList,
  desired: readonly bigint[],
): ResumePlan {
  const sync = planBreakpointSync(kernel, desired);
  if (!at) return { stepOffFirst: false, sync };
  const listed = kernel.mayContain(at.rip);
  if (!listed && !at.hitListedBreakpoint) return { stepOffFirst: false, sync };
  const nativeContinue = action.kind === 'continue' && at.hitListedBreakpoint && listed && kernel.known && sync.length === 0;
  // A range step (the `range-step` extension) that leaves no breakpoint set: after
  // the clear-all the stale slot holds nothing to re-arm (flaw 3) and no address is
  // listed to trip over (flaws 1, 6), so the range can start at once, which keeps
  // gdb's `next` from a deleted breakpoint at one round trip.
  const emptiedRange = action.kind === 'range' && desired.length === 0;
  return { stepOffFirst: !nativeContinue && !emptiedRange, sync };
}
