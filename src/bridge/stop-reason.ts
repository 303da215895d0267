/**
 * Why the target stopped, in gdb's terms: a signal, the stop-reply reason
 * (swbreak/hwbreak/watch...) and a console line for the user where the signal alone
 * says too little (which address faulted, which assert failed).
 */
import { hex } from '../common/bytes';
import { GdbSignal, type StopReason } from '../rsp';

/** gdb's own signal numbers (RSP uses these, not the host's: SIGBUS is 10). */
export const Signal = GdbSignal;

export interface StopDescription {
  signal: number;
  /** swbreak/hwbreak/watch...; absent for a plain signal (a step, a fault). */
  reason?: StopReason;
  /** A line for gdb's console (sent as `O` output before the stop reply). */
  console?: string;
}

const VECTOR_NAMES: Record<number, string> = {
  0: 'divide error (#DE)', 1: 'debug (#DB)', 2: 'NMI', 3: 'breakpoint (#BP)', 4: 'overflow (#OF)',
  5: 'bound range (#BR)', 6: 'invalid opcode (#UD)', 7: 'device not available (#NM)', 8: 'double fault (#DF)',
  10: 'invalid TSS (#TS)', 11: 'segment not present (#NP)', 12: 'stack fault (#SS)',
  13: 'general protection fault (#GP)', 14: 'page fault (#PF)', 16: 'x87 floating-point error (#MF)',
  17: 'alignment check (#AC)', 18: 'machine check (#MC)', 19: 'SIMD floating-point error (#XM)',
  20: 'virtualization exception (#VE)', 21: 'control protection (#CP)',
};

export function vectorName(vector: number): string {
  return VECTOR_NAMES[vector] ?? `exception vector ${vector}`;
}

/** The POSIX signal gdb users expect for a CPU exception vector (as Linux maps them). */
export function signalForVector(vector: number): number {
  switch (vector) {
    case 0: case 7: case 16: case 19:
      return Signal.SIGFPE;
    case 1: case 3:
      return Signal.SIGTRAP;
    case 2:
      return Signal.SIGINT;
    case 6:
      return Signal.SIGILL;
    case 11: case 12: case 17: case 18:
      return Signal.SIGBUS;
    default:
      return Signal.SIGSEGV;
  }
}

/** Decodes the #PF error code bits into words a kernel developer reads at a glance. */
export function describePageFault(errorCode: bigint): string {
  const bits = Number(errorCode & 0xffffn);
  const parts = [
    bits & 1 ? 'protection violation' : 'page not present',
    bits & 2 ? 'write' : 'read',
    bits & 4 ? 'user mode' : 'kernel mode',
  ];
  if (bits & 8) parts.push('reserved bit set');
  if (bits & 16) parts.push('instruction fetch');
  return parts.join(', ');
}

export interface FaultInfo {
  vector: number;
  rip: bigint;
  errorCode: bigint;
  cr2: bigint;
}

export function describeFault(f: FaultInfo): StopDescription {
  const signal = signalForVector(f.vector);
  let console = `josgdb: ${vectorName(f.vector)} at rip ${hex(f.rip)}`;
  if (f.vector === 14) {
    console += `, accessing ${hex(f.cr2)} (error code ${hex(f.errorCode)}: ${describePageFault(f.errorCode)})`;
  } else if ([8, 10, 11, 12, 13, 17, 21].includes(f.vector)) {
    console += `, error code ${hex(f.errorCode)}`;
  }
  return { signal, console };
}
