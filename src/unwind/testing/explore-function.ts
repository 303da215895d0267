/**
 * Ground truth at every reachable instruction of one function: the simulator
 * explores it from its entry (called, or entered by an interrupt), and each
 * rule source under test is asked for the rule there and checked against the
 * caller's real registers.
 */
import type { FrameRule } from '../frame-rule';
import { CallerTruth, callerOfCall, ruleMismatch } from './truth';
import { Arbitrary, Machine, explore, newMachine, writeMemory } from './x86-sim';

export type CodeAt = (address: bigint, length: number) => Uint8Array | undefined;

export interface Entry {
  kind: 'call' | 'interrupt';
  /** For an interrupt: the CPU pushed an error code. */
  errorCode?: boolean;
  /** Extra qwords a vector stub pushed before this code (interrupt entries). */
  pushed?: number;
}

/** An entry state: a return address at rsp, or a machine frame (and error code, and stub pushes). */
export function entryMachine(start: bigint, entry: Entry, values: Arbitrary): { machine: Machine; truth: CallerTruth } {
  const top = 0x7ffe0000n;
  if (entry.kind === 'call') {
    const m = newMachine(values, top - 8n, start);
    writeMemory(m, m.gpr.rsp, 0x0badc0de00n, 8);
    return { machine: m, truth: callerOfCall(m) };
  }
  const m = newMachine(values, top, start);
  const interrupted = { rip: 0x0badc0de10n, rsp: 0x7ffd1230n, rflags: 0x246n, cs: 0x38n, ss: 0x30n };
  let sp = top;
  const push = (v: bigint): void => {
    sp -= 8n;
    writeMemory(m, sp, v, 8);
  };
  push(interrupted.ss);
  push(interrupted.rsp);
  push(interrupted.rflags);
  push(interrupted.cs);
  push(interrupted.rip);
  if (entry.errorCode) push(0x4n);
  for (let i = 0; i < (entry.pushed ?? 0); i++) push(BigInt(i));
  m.gpr.rsp = sp;
  // An interrupt entry gives back every register it saved; the test says which through `registers`.
  const registers: CallerTruth['registers'] = { ...m.gpr };
  delete registers.rsp;
  return { machine: m, truth: { rip: interrupted.rip, rsp: interrupted.rsp, registers } };
}

export interface Mismatch {
  address: bigint;
  source: string;
  problem: string;
}

/**
 * Explores [start, end) and checks each rule source at every instruction
 * reached. For interrupt entries `registers` limits which registers must come back.
 */
export async function checkAgainstTruth(options: {
  code: CodeAt;
  start: bigint;
  end: bigint;
  entry: Entry;
  sources: Record<string, (address: bigint) => FrameRule | undefined>;
  registers?: (keyof CallerTruth['registers'])[];
  seed?: bigint;
}): Promise<{ samples: number; mismatches: Mismatch[] }> {
  const values = new Arbitrary(options.seed);
  const { machine, truth } = entryMachine(options.start, options.entry, values);
  if (options.registers) {
    const keep = new Set<string>(options.registers);
    for (const r of Object.keys(truth.registers)) if (!keep.has(r)) delete truth.registers[r as keyof CallerTruth['registers']];
  }
  const samples = explore({ code: options.code, start: options.start, end: options.end, entry: machine, values });
  const mismatches: Mismatch[] = [];
  for (const sample of samples) {
    for (const [source, ruleAt] of Object.entries(options.sources)) {
      const problem = await ruleMismatch(ruleAt(sample.address), sample.machine, truth);
      if (problem) mismatches.push({ address: sample.address, source, problem });
    }
  }
  return { samples: samples.length, mismatches };
}
