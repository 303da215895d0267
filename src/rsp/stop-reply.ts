/**
 * Stop replies and other target-initiated packets ("Stop Reply Packets" in the
 * gdb manual): `T` with signal, expedited registers, thread and stop reason;
 * `W`/`X` for exit; `O` console output. Builders only: they return payload
 * strings and never touch the connection.
 *
 * Signal numbers are GDB's target-independent numbers (include/gdb/signals.def),
 * not the host's: SIGBUS is 10 and 7 is SIGEMT, unlike Linux.
 */
import { hexEncode } from './hex';
import { encodeRegisterValue, EXPEDITED_REGISTERS, registerByName, type RegisterValue } from './registers';

export const GdbSignal = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGEMT: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGBUS: 10,
  SIGSEGV: 11,
  SIGSYS: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTOP: 17,
} as const;
export type GdbSignalNumber = (typeof GdbSignal)[keyof typeof GdbSignal];

/** Why the target stopped, beyond the signal. */
export type StopReason =
  /** Software breakpoint; the reported pc is the breakpoint address (already adjusted). Needs client `swbreak+`. */
  | { kind: 'swbreak' }
  /** Hardware breakpoint. Needs client `hwbreak+`. */
  | { kind: 'hwbreak' }
  | { kind: 'watch'; addr: bigint }
  | { kind: 'rwatch'; addr: bigint }
  | { kind: 'awatch'; addr: bigint };

export type LldbStopReason = 'breakpoint' | 'watchpoint' | 'trace' | 'signal' | 'exception';

export interface StopReplyOptions {
  signal: number;
  /** Plain hex thread id (`thread:1;`). Omit for a target without threads. */
  thread?: number;
  /** Registers to expedite by name; by default rbp, rsp and rip if present here. */
  registers?: ReadonlyMap<string, RegisterValue | undefined>;
  /** Which names from `registers` to send; default EXPEDITED_REGISTERS. */
  expedite?: readonly string[];
  reason?: StopReason;
  /** lldb's `reason:` key (gdb ignores keys it does not know). */
  lldbReason?: LldbStopReason;
  /**
   * `library:;` - the loaded libraries changed: the client re-reads
   * `qXfer:libraries:read`. lldb acts on it in the reply to `?` too, which is
   * how it learns of the image before its dynamic loader runs.
   */
  librariesChanged?: boolean;
  /** lldb's `description:` (sent hex-encoded): the text lldb prints as the stop reason. */
  description?: string;
  /** lldb `QListThreadsInStopReply`: `threads:1,2;`. */
  threads?: readonly number[];
  /** With `threads`: each thread's pc, in the same order (`thread-pcs:`), so lldb need not read them. */
  threadPcs?: readonly bigint[];
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}

/** `T<sig>[nn:value;...][thread:t;][reason...;]` */
export function buildStopReply(opts: StopReplyOptions): string {
  let out = 'T' + hex2(opts.signal);
  if (opts.registers) {
    for (const name of opts.expedite ?? EXPEDITED_REGISTERS) {
      const reg = registerByName(name);
      const value = opts.registers.get(name);
      if (!reg || value === undefined) continue; // never expedite an unknown value
      out += `${reg.regnum.toString(16).padStart(2, '0')}:${encodeRegisterValue(reg, value)};`;
    }
  }
  if (opts.thread !== undefined) out += `thread:${opts.thread.toString(16)};`;
  if (opts.threads !== undefined) out += `threads:${opts.threads.map((t) => t.toString(16)).join(',')};`;
  if (opts.threadPcs !== undefined) out += `thread-pcs:${opts.threadPcs.map((pc) => pc.toString(16)).join(',')};`;
  if (opts.reason) {
    switch (opts.reason.kind) {
      case 'swbreak':
      case 'hwbreak':
        out += `${opts.reason.kind}:;`;
        break;
      default:
        out += `${opts.reason.kind}:${opts.reason.addr.toString(16)};`;
    }
  }
  if (opts.librariesChanged) out += 'library:;';
  if (opts.lldbReason !== undefined) out += `reason:${opts.lldbReason};`;
  if (opts.description !== undefined) out += `description:${hexEncode(Buffer.from(opts.description, 'utf8'))};`;
  return out;
}

/** `S<sig>`: the minimal stop reply. */
export function signalReply(signal: number): string {
  return 'S' + hex2(signal);
}

/** `W<code>`: the target exited (for us: the kernel went away, e.g. reset). */
export function exitReply(code: number, pid?: number): string {
  return 'W' + hex2(code) + (pid !== undefined ? `;process:${pid.toString(16)}` : '');
}

/** `X<sig>`: the target was terminated by a signal. */
export function terminatedReply(signal: number, pid?: number): string {
  return 'X' + hex2(signal) + (pid !== undefined ? `;process:${pid.toString(16)}` : '');
}

export const DEFAULT_CONSOLE_CHUNK = 256;

/**
 * `O<hex>` packets for console output, split so no packet carries more than
 * `maxBytes` bytes of text (2*maxBytes+1 payload chars). Empty text -> no packets
 * (a bare `O` would be read as an `O` reply, not output).
 */
export function consoleOutputPackets(text: string | Buffer, maxBytes = DEFAULT_CONSOLE_CHUNK): string[] {
  const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const step = Math.max(1, Math.floor(maxBytes));
  const out: string[] = [];
  for (let at = 0; at < data.length; at += step) out.push('O' + hexEncode(data.subarray(at, at + step)));
  return out;
}

/**
 * The final reply to `qRcmd` (monitor): the command's output as hex, which gdb
 * prints, or `OK` when there is none. Long output can instead be streamed with
 * consoleOutputPackets before replying `OK`.
 */
export function monitorReply(output: string): string {
  return output === '' ? 'OK' : hexEncode(Buffer.from(output, 'utf8'));
}

/**
 * `x` reply: lldb wants the raw bytes (its `x0,0` probe expects `OK`), gdb >= 16
 * a `b` prefix. The framing layer escapes the bytes.
 */
export function binaryMemoryReply(data: Buffer, client: 'gdb' | 'lldb'): Buffer {
  if (client === 'gdb') return Buffer.concat([Buffer.from('b'), data]);
  return data.length === 0 ? Buffer.from('OK') : Buffer.from(data);
}
