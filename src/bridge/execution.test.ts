import { KernelBreakpointList } from './breakpoints';
import { planResume } from './execution';

const R = 0x140001000n;
const other = 0x140002000n;

describe('planResume', () => {
  it('continues natively from the breakpoint the kernel stopped at when nothing changed', () => {
    const plan = planResume({ kind: 'continue' }, { rip: R, hitListedBreakpoint: true }, new KernelBreakpointList([R, other]), [R, other]);
    expect(plan).toEqual({ stepOffFirst: false, sync: [] });
  });

  it('steps off first when gdb removed the breakpoint it stands on (flaw 3)', () => {
    const plan = planResume({ kind: 'step' }, { rip: R, hitListedBreakpoint: true }, new KernelBreakpointList([R, other]), [other]);
    expect(plan.stepOffFirst).toBe(true);
  });

  it('steps off first when the list changes while standing on a listed breakpoint (flaw 3)', () => {
    const plan = planResume({ kind: 'continue' }, { rip: R, hitListedBreakpoint: true }, new KernelBreakpointList([R]), [R, other]);
    expect(plan.stepOffFirst).toBe(true);
  });

  it('steps off first after a step landed on an armed breakpoint (flaw 6)', () => {
    const plan = planResume({ kind: 'continue' }, { rip: R, hitListedBreakpoint: false }, new KernelBreakpointList([R]), [R]);
    expect(plan.stepOffFirst).toBe(true);
  });

  it('never single-steps a listed address in place (flaw 1)', () => {
    const plan = planResume({ kind: 'step' }, { rip: R, hitListedBreakpoint: true }, new KernelBreakpointList([R]), [R]);
    expect(plan.stepOffFirst).toBe(true);
  });

  it('treats an unknown list (the kernel\'s own breakpoint at main) as containing rip', () => {
    const plan = planResume({ kind: 'continue' }, { rip: R, hitListedBreakpoint: true }, new KernelBreakpointList('unknown'), []);
    expect(plan).toEqual({ stepOffFirst: true, sync: [[]] });
  });

  it('steps off first when the list was emptied at a hit and is refilled (flaw 3 via the stale slot)', () => {
    const plan = planResume({ kind: 'continue' }, { rip: R, hitListedBreakpoint: true }, new KernelBreakpointList([]), [other]);
    expect(plan.stepOffFirst).toBe(true);
  });

  it('starts a range step at once when gdb removed every breakpoint: the clear-all leaves nothing to re-arm', () => {
    const plan = planResume({ kind: 'range', start: R, end: R + 0x20n }, { rip: R, hitListedBreakpoint: true }, new KernelBreakpointList([R]), []);
    expect(plan).toEqual({ stepOffFirst: false, sync: [[]] });
    const refill = planResume({ kind: 'range', start: R, end: R + 0x20n }, { rip: R, hitListedBreakpoint: true }, new KernelBreakpointList([R]), [other]);
    expect(refill.stepOffFirst).toBe(true);
  });

  it('resumes directly from an address that is not listed', () => {
    const plan = planResume({ kind: 'step' }, { rip: R + 4n, hitListedBreakpoint: false }, new KernelBreakpointList([R]), [R, other]);
    expect(plan.stepOffFirst).toBe(false);
    expect(plan.sync).toHaveLength(1);
  });
});
