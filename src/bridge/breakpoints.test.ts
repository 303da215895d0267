import { BreakpointState } from '../target/protocol';
import { BreakpointTable, KernelBreakpointList, planBreakpointSync } from './breakpoints';

const E = BreakpointState.Enabled;

function syncAndApply(kernel: KernelBreakpointList, desired: bigint[]) {
  const plan = planBreakpointSync(kernel, desired);
  for (const message of plan) kernel.apply(message);
  return plan;
}

describe('planBreakpointSync', () => {
  it('sends nothing when the enabled set did not change (gdb remove/re-insert around a stop)', () => {
    const kernel = new KernelBreakpointList([0x1000n, 0x2000n]);
    expect(planBreakpointSync(kernel, [0x2000n, 0x1000n])).toEqual([]);
  });

  it('sends only the additions in one message', () => {
    const kernel = new KernelBreakpointList([0x1000n]);
    expect(syncAndApply(kernel, [0x1000n, 0x3000n])).toEqual([[{ address: 0x3000n, state: E }]]);
    expect(kernel.enabled()).toEqual([0x1000n, 0x3000n]);
  });

  it('removes by clear-all then re-sending what remains, never with state 2 (flaw 2)', () => {
    const kernel = new KernelBreakpointList([0x1000n, 0x2000n, 0x3000n]);
    const plan = syncAndApply(kernel, [0x1000n, 0x3000n]);
    expect(plan).toEqual([[], [{ address: 0x1000n, state: E }, { address: 0x3000n, state: E }]]);
    expect(plan.flat().some((e) => e.state === BreakpointState.Cleared)).toBe(false);
    expect(kernel.enabled()).toEqual([0x1000n, 0x3000n]);
  });

  it('removing the last breakpoint is a single clear-all', () => {
    const kernel = new KernelBreakpointList([0x1000n]);
    expect(syncAndApply(kernel, [])).toEqual([[]]);
    expect(kernel.mayBeNonEmpty).toBe(false);
  });

  it('clears an unknown list first (the kernel set its own breakpoint at main)', () => {
    const kernel = new KernelBreakpointList('unknown');
    expect(kernel.mayContain(0x1234n)).toBe(true);
    expect(syncAndApply(kernel, [])).toEqual([[]]);
    const again = new KernelBreakpointList();
    expect(syncAndApply(again, [0x5000n])).toEqual([[], [{ address: 0x5000n, state: E }]]);
    expect(again.enabled()).toEqual([0x5000n]);
  });

  it('keeps the model equal to the desired set over random edit sequences', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const kernel = new KernelBreakpointList('unknown');
    const table = new BreakpointTable();
    for (let i = 0; i < 500; i++) {
      const addr = BigInt(0x1000 + Math.floor(rand() * 8) * 0x10);
      if (rand() < 0.5) table.insert(addr);
      else table.remove(addr);
      syncAndApply(kernel, table.list());
      expect(new Set(kernel.enabled())).toEqual(new Set(table.list()));
      expect(planBreakpointSync(kernel, table.list())).toEqual([]);
    }
  });
});
