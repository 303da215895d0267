/**
 * Checking a rule against ground truth: the simulator's machine state before
 * an instruction, and what the caller's registers really were. A rule is right
 * when applying it to that state gives back the caller's rip and rsp and every
 * callee-saved register (and, for an interrupt frame, every register the entry
 * code saved).
 */
import { applyFrameRule } from '../apply-rule';
import { FrameRule, describeRule } from '../frame-rule';
import { GPRS, Gpr, RegisterName, RegisterSet, XMMS, Xmm, isNonvolatile } from '../registers';
import { Machine, memoryReader, readMemory } from './x86-sim';

export interface CallerTruth {
  rip: bigint;
  rsp: bigint;
  /** Registers the rule must give back (callee-saved ones, or all for an interrupt entry). */
  registers: Partial<Record<Gpr | Xmm, bigint>>;
}

export function registersOf(m: Machine): RegisterSet {
  const out: RegisterSet = { rip: m.rip };
  for (const r of GPRS) out[r] = m.gpr[r];
  for (const x of XMMS) out[x] = m.xmm[x];
  return out;
}

/** What a called function must give back: its caller's state at the call. */
export function callerOfCall(entry: Machine): CallerTruth {
  const registers: Partial<Record<Gpr | Xmm, bigint>> = {};
  for (const r of [...GPRS, ...XMMS]) if (isNonvolatile(r as RegisterName)) registers[r] = r.startsWith('xmm') ? entry.xmm[r as Xmm] : entry.gpr[r as Gpr];
  const rip = readMemory(entry, entry.gpr.rsp, 8);
  if (rip === undefined) throw new Error('the entry state has no return address');
  return { rip, rsp: entry.gpr.rsp + 8n, registers };
}

/** undefined when the rule gives back the truth, else what is wrong. */
export async function ruleMismatch(rule: FrameRule | undefined, m: Machine, truth: CallerTruth): Promise<string | undefined> {
  if (!rule) return 'no rule';
  let caller: RegisterSet;
  try {
    caller = (await applyFrameRule(rule, registersOf(m), memoryReader(m))).registers;
  } catch (err) {
    return `${describeRule(rule)}: ${err instanceof Error ? err.message : String(err)}`;
  }
  const wrong: string[] = [];
  if (caller.rip !== truth.rip) wrong.push(`rip ${caller.rip?.toString(16)} != ${truth.rip.toString(16)}`);
  if (caller.rsp !== truth.rsp) wrong.push(`rsp ${caller.rsp?.toString(16)} != ${truth.rsp.toString(16)}`);
  for (const [r, v] of Object.entries(truth.registers)) {
    if (caller[r as RegisterName] !== v) wrong.push(`${r} ${caller[r as RegisterName]?.toString(16)} != ${v!.toString(16)}`);
  }
  return wrong.length ? `${describeRule(rule)}: ${wrong.join(', ')}` : undefined;
}
