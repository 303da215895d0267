/**
 * The last resort, as josx64 does it: look up the stack for a value that is a
 * return address (it points into executable image code right after a CALL,
 * call-site.ts). Stale return addresses of earlier calls linger below a
 * frame, so a direct call that targets the function the walk is in wins over
 * one that targets some other function; an indirect call cannot be checked and
 * counts as consistent. Candidates come from stack memory, or, when the kernel
 * sent its BreakpointCallstack, from that list (which also works when the
 * stack cannot be read: the frame then has no known rsp).
 */
import type { MemoryReader } from './apply-rule';
import { CallSite, MAX_CALL_LENGTH, callEndingAt } from './call-site';
import type { CodeLookup } from './code-lookup';

export interface ScanRequest {
  /** The first stack slot examined (rounded up to 8 bytes). */
  from: bigint;
  /** rip of the frame whose caller is sought. */
  pc: bigint;
  readMemory: MemoryReader;
  code: CodeLookup;
  /** How far above `from` to look. */
  maxBytes: number;
  /** The kernel's candidates, in stack order; when given, only these values are considered. */
  candidates?: readonly bigint[];
}

export interface ScanHit {
  /** Where the return address was found; undefined when it came from the candidate list alone. */
  slot: bigint | undefined;
  returnAddress: bigint;
  call: CallSite;
  /** The call targets the function `pc` is in (or is indirect, which cannot be checked). */
  consistent: boolean;
  /** Index in `candidates` of the value used, when it came from the list. */
  candidateIndex?: number;
}

const CHUNK = 512;

/**
 * The CALL that `value` returns to, when value points into image code right
 * after one. A direct call must also target image code: stray bytes that
 * happen to read as E8 rel32 almost always point nowhere.
 */
export function returnSite(code: CodeLookup, value: bigint): CallSite | undefined {
  const image = code.imageAt(value);
  if (!image) return undefined;
  const rva = Number(value - image.base);
  if (!image.isCode(rva) || !image.isCode(rva - 1)) return undefined;
  for (let n = Math.min(MAX_CALL_LENGTH, rva); n >= 2; n--) {
    const before = image.readCode(rva - n, n);
    if (!before || before.length !== n) continue;
    const site = callEndingAt(before, value);
    if (site?.kind === 'direct' && !isCodeAddress(code, site.target!)) return undefined;
    return site;
  }
  return undefined;
}

function isCodeAddress(code: CodeLookup, address: bigint): boolean {
  const image = code.imageAt(address);
  return image !== undefined && image.isCode(Number(address - image.base));
}

/** A direct call is consistent when its target starts the function `pc` is in. */
export function callTargetsFunctionOf(code: CodeLookup, call: CallSite, pc: bigint): boolean {
  if (call.kind === 'indirect' || call.target === undefined) return true;
  const image = code.imageAt(pc);
  if (!image || code.imageAt(call.target) !== image || call.target > pc) return false;
  const here = image.functionAt(Number(pc - image.base));
  const there = image.functionAt(Number(call.target - image.base));
  if (here || there) return here !== undefined && there !== undefined && here.startRva === there.startRva;
  // Neither bound is known (assembly): accept a target shortly before pc.
  return pc - call.target < 0x10000n;
}

export async function scanForCaller(req: ScanRequest): Promise<ScanHit | undefined> {
  const wanted = req.candidates ? new Set(req.candidates) : undefined;
  const start = (req.from + 7n) & ~7n;
  const end = start + BigInt(req.maxBytes);
  let fallback: ScanHit | undefined;
  for (let chunk = start; chunk < end; chunk += BigInt(CHUNK)) {
    const length = Number(end - chunk < BigInt(CHUNK) ? end - chunk : BigInt(CHUNK));
    let data: Buffer;
    try {
      data = await req.readMemory(chunk, length);
    } catch {
      // The stack ends (or cannot be read): what the list says is all there is.
      if (chunk === start && req.candidates) return fromList(req);
      break;
    }
    for (let at = 0; at + 8 <= data.length; at += 8) {
      const value = data.readBigUInt64LE(at);
      if (wanted && !wanted.has(value)) continue;
      const call = returnSite(req.code, value);
      if (!call) continue;
      const hit: ScanHit = { slot: chunk + BigInt(at), returnAddress: value, call, consistent: callTargetsFunctionOf(req.code, call, req.pc) };
      if (hit.consistent) return hit;
      fallback ??= hit;
    }
    if (data.length < length) break;
  }
  return fallback;
}

function fromList(req: ScanRequest): ScanHit | undefined {
  let fallback: ScanHit | undefined;
  for (const [i, value] of (req.candidates ?? []).entries()) {
    const call = returnSite(req.code, value);
    if (!call) continue;
    const hit: ScanHit = { slot: undefined, returnAddress: value, call, consistent: callTargetsFunctionOf(req.code, call, req.pc), candidateIndex: i };
    if (hit.consistent) return hit;
    fallback ??= hit;
  }
  return fallback;
}
