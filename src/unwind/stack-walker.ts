/**
 * The backtrace: from the registers of a stop, frame after frame, each found
 * the most exact way there is for the code it is in (unwind info, prologue
 * analysis, a leaf, an interrupt entry) and by scanning the stack only where
 * nothing is known. Every frame says how it was found, and the walk says why
 * it ended.
 *
 * A caller's rip is a return address: its function is looked up at rip - 1.
 * The frame after an interrupt frame is the interrupted code itself, whose rip
 * is exact. A return address must follow a CALL; if an exact rule produces one
 * that does not, the rule is not trusted and the stack is scanned instead.
 */
import { MemoryReader, applyFrameRule } from './apply-rule';
import { CodeLookup, FunctionBounds, RuleMethod } from './code-lookup';
import { RegisterSet, hex } from './registers';
import { returnSite, scanForCaller } from './stack-scan';
import { UnwindError } from './unwind-error';

export type FoundBy = 'stop' | RuleMethod | 'scan';

export interface StackFrame {
  index: number;
  /** The frame's rip: the stop address, a return address, or the interrupted instruction. */
  pc: bigint;
  /** The frame's rsp, unknown only for frames found in the kernel's candidate list without stack memory. */
  rsp: bigint | undefined;
  /** What is known of the frame's registers (rip and rsp included when known). */
  registers: RegisterSet;
  /** How this frame was found: by unwinding the frame before it with this method. */
  foundBy: FoundBy;
  /** pc is a return address (so pc - 1 is the instruction in progress). */
  pcIsReturnAddress: boolean;
  image?: { name: string; base: bigint };
  /** The function holding the frame's instruction, when known. */
  function?: FunctionBounds;
}

export type WalkEnd =
  /** A return address of 0: the bottom of the stack (a task entry pushes one). */
  | 'end-of-chain'
  /** The last frame's code is in no known image (firmware): it cannot be unwound. */
  | 'outside-image'
  | 'rsp-not-increasing'
  | 'max-frames'
  | 'unreadable-memory'
  /** No rule and no plausible return address on the stack. */
  | 'no-caller-found';

export interface StackWalk {
  frames: StackFrame[];
  end: WalkEnd;
  /** What happened at the end, for people. */
  detail: string;
}

export interface WalkOptions {
  /** The stop's registers; rip and rsp are required. */
  registers: RegisterSet;
  readMemory: MemoryReader;
  code: CodeLookup;
  maxFrames?: number;
  /** The kernel's BreakpointCallstack values, in stack order, when it sent them. */
  callstackCandidates?: readonly bigint[];
  /** How far up the stack a scan looks for a return address. */
  maxScanBytes?: number;
}

export const DEFAULT_MAX_FRAMES = 64;
export const DEFAULT_MAX_SCAN_BYTES = 8192;

export async function walkStack(options: WalkOptions): Promise<StackWalk> {
  const { readMemory, code } = options;
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const maxScanBytes = options.maxScanBytes ?? DEFAULT_MAX_SCAN_BYTES;
  const rip = options.registers.rip;
  const rsp = options.registers.rsp;
  if (rip === undefined || rsp === undefined) throw new UnwindError('unknown-register', 'a stack walk needs rip and rsp');

  const frames: StackFrame[] = [describe(code, { index: 0, pc: rip, rsp, registers: { ...options.registers }, foundBy: 'stop', pcIsReturnAddress: false })];
  let candidates = options.callstackCandidates;
  const end = (why: WalkEnd, detail: string): StackWalk => ({ frames, end: why, detail });

  for (;;) {
    const frame = frames[frames.length - 1]!;
    if (frames.length >= maxFrames) return end('max-frames', `stopped after ${maxFrames} frames`);
    const image = code.imageAt(frame.pcIsReturnAddress ? frame.pc - 1n : frame.pc);
    if (!image && frame.index > 0) return end('outside-image', `${hex(frame.pc)} is in no known image`);

    let next: { registers: RegisterSet; foundBy: FoundBy; pcIsReturnAddress: boolean } | undefined;
    let why = '';
    if (image) {
      const lookup = image.ruleAt(Number(frame.pc - image.base), { returnAddress: frame.pcIsReturnAddress });
      if (lookup.found) {
        try {
          const unwound = await applyFrameRule(lookup.rule, frame.registers, readMemory);
          const callerPc = unwound.registers.rip!;
          const isCall = lookup.rule.kind === 'call';
          if (callerPc === 0n) return end('end-of-chain', 'return address 0: the bottom of the stack');
          // An exact rule must land after a CALL; otherwise it is wrong here (bad analysis, corrupt stack).
          const plausible = !isCall || code.imageAt(callerPc) === undefined || returnSite(code, callerPc) !== undefined;
          if (plausible) next = { registers: unwound.registers, foundBy: lookup.method, pcIsReturnAddress: isCall };
          else why = `${lookup.method} gave ${hex(callerPc)}, which follows no call`;
        } catch (err) {
          if (err instanceof UnwindError && err.failure === 'unreadable-memory') return end('unreadable-memory', err.message);
          why = err instanceof Error ? err.message : String(err);
        }
      } else {
        why = lookup.reason;
      }
    } else {
      why = `${hex(frame.pc)} is in no known image`;
    }

    if (!next) {
      const hit = await scanForCaller({
        from: frame.rsp ?? 0n,
        pc: frame.pc,
        readMemory: frame.rsp === undefined ? unreadable : readMemory,
        code,
        maxBytes: maxScanBytes,
        ...(candidates ? { candidates } : {}),
      });
      if (!hit) return end('no-caller-found', `${why}; no return address found on the stack`);
      if (hit.candidateIndex !== undefined) candidates = candidates?.slice(hit.candidateIndex + 1);
      const registers: RegisterSet = { rip: hit.returnAddress };
      if (hit.slot !== undefined) registers.rsp = hit.slot + 8n;
      next = { registers, foundBy: 'scan', pcIsReturnAddress: true };
    }

    const callerRsp = next.registers.rsp;
    if (next.foundBy !== 'machine-frame' && callerRsp !== undefined && frame.rsp !== undefined && callerRsp <= frame.rsp) {
      return end('rsp-not-increasing', `the caller's rsp ${hex(callerRsp)} is not above ${hex(frame.rsp)}`);
    }
    frames.push(
      describe(code, {
        index: frames.length,
        pc: next.registers.rip!,
        rsp: callerRsp,
        registers: next.registers,
        foundBy: next.foundBy,
        pcIsReturnAddress: next.pcIsReturnAddress,
      }),
    );
  }
}

const unreadable: MemoryReader = () => Promise.reject(new Error('the frame has no known rsp'));

function describe(code: CodeLookup, frame: StackFrame): StackFrame {
  const image = code.imageAt(frame.pcIsReturnAddress ? frame.pc - 1n : frame.pc);
  if (!image) return frame;
  const fn = image.functionAt(Number((frame.pcIsReturnAddress ? frame.pc - 1n : frame.pc) - image.base));
  return { ...frame, image: { name: image.name, base: image.base }, ...(fn ? { function: fn } : {}) };
}
