/**
 * josgdb's own backtrace (`monitor bt`): the unwinder walks the stop's
 * registers through target memory (read through the session, so breakpoint
 * bytes never show and each page is read once per stop), with the kernel's
 * BreakpointCallstack as scan candidates, and each frame is named with the
 * symbols at the load base. Every line says how its frame was found, so a
 * frame found by scanning the stack is never mistaken for an exact one.
 */
import { hex } from '../common/bytes';
import { walkStack, type CodeLookup, type RegisterSet, type StackFrame, type StackWalk } from '../unwind';
import type { RegisterValue } from './registers';
import type { Session } from './session';
import { describeLocation, type SymbolLookup } from './symbol-lookup';

const GPR_NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'] as const;

/** The stop's integer registers as the unwinder names them. */
function registerSet(registers: ReadonlyMap<string, RegisterValue>): RegisterSet {
  const set: RegisterSet = {};
  for (const name of GPR_NAMES) {
    const v = registers.get(name);
    if (typeof v === 'bigint') set[name] = v;
  }
  return set;
}

export interface BacktraceRequest {
  session: Session;
  code: CodeLookup;
  maxFrames?: number;
}

/** Walks the stack of the current stop; throws when the target is not stopped with registers. */
export async function backtrace(request: BacktraceRequest): Promise<StackWalk> {
  const { session } = request;
  const current = session.currentStop;
  if (!current || current.stop.kind === 'assert') throw new Error('no registers to unwind: the target is not stopped at an instruction');
  const registers = registerSet(await session.readRegisters());
  return walkStack({
    registers,
    readMemory: (address, length) => session.readMemory(address, length),
    code: request.code,
    ...(request.maxFrames !== undefined ? { maxFrames: request.maxFrames } : {}),
    ...(current.stop.callstack.length > 0 ? { callstackCandidates: current.stop.callstack } : {}),
  });
}

/**
 * The frame's function and line. A caller's pc is a return address: its line
 * is that of pc - 1, the call in progress (the call may be the last
 * instruction of its function or line), while the offset shown is pc's own.
 */
function frameLocation(frame: StackFrame, symbols: SymbolLookup | undefined): string {
  const loc = symbols?.locate(frame.pcIsReturnAddress ? frame.pc - 1n : frame.pc);
  if (loc) return describeLocation(frame.pc, loc);
  if (frame.function?.name && frame.image) {
    return describeLocation(frame.pc, { name: frame.function.name, start: frame.image.base + BigInt(frame.function.startRva) });
  }
  if (frame.image) return `${frame.image.name}+0x${(frame.pc - frame.image.base).toString(16)}`;
  return '??';
}

/**
 * One line per frame, then why the walk ended:
 *
 *     #1  0x000000001de15974 main+0x24 (src/workload.c:73)  rsp=0x...  [unwind-info]
 */
export function formatBacktrace(walk: StackWalk, symbols: SymbolLookup | undefined): string {
  const lines = walk.frames.map((f) => {
    const rsp = f.rsp === undefined ? 'rsp=?' : `rsp=${hex(f.rsp, 16)}`;
    return `#${String(f.index).padEnd(3)}${hex(f.pc, 16)} ${frameLocation(f, symbols)}  ${rsp}  [${f.foundBy}]`;
  });
  lines.push(`(${walk.end}: ${walk.detail})`);
  const scanned = walk.frames.filter((f) => f.foundBy === 'scan').length;
  if (scanned > 0) lines.push(`${scanned} frame(s) found by scanning the stack for return addresses: plausible, not exact (no unwind data or function bounds there)`);
  return lines.join('\n') + '\n';
}
