/**
 * What each command needs and what we advertise, as data. The bridge asks
 * `commandSupported(kind, capabilities)` before dispatching (unsupported ->
 * empty reply), and `qSupported` / `vCont?` replies are derived from the same
 * capability set, so we never advertise a feature the target cannot serve.
 *
 * Capabilities are plain strings owned by the bridge's DebugTarget, e.g.
 * 'hw-breakpoints', 'watchpoints', 'range-step', 'memory-map', plus two the
 * bridge adds: 'symbols' (it serves a symbol file) and 'image-file' (it knows
 * the image's file on this host).
 */
import type { CommandKind } from './commands';

export interface CommandSpec {
  kind: CommandKind;
  /** Target capability without which the command is answered with the empty packet. */
  capability?: string;
  /** The qSupported feature that announces it, when there is one. */
  qSupportedFeature?: string;
  description: string;
}

type SpecRow = Omit<CommandSpec, 'kind'>;

/** Keyed by kind; `Record` makes the compiler insist every RspCommand kind has a row. */
const SPEC_ROWS: Record<CommandKind, SpecRow> = {
  qSupported: { description: 'feature negotiation' },
  QStartNoAckMode: { qSupportedFeature: 'QStartNoAckMode+', description: 'stop sending +/- acks' },
  haltReason: { description: '? - why the target is stopped' },
  detach: { description: 'D - resume the target and disconnect' },
  kill: { description: 'k / vKill - end the session' },
  qAttached: { description: 'attached to an existing process (1) or created (0)' },
  qOffsets: { description: 'section relocation offsets' },
  qTStatus: { description: 'tracepoint status (not supported: empty reply)' },
  vMustReplyEmpty: { description: 'probe for correct handling of unknown v packets' },
  qSymbol: { description: 'symbol lookup service offered by gdb' },
  monitor: { description: 'qRcmd - monitor command' },
  qXferRead: { qSupportedFeature: 'qXfer:features:read+', description: 'read target.xml and other objects' },
  vFile: { capability: 'symbols', description: "Host I/O: gdb reads the symbol file josgdb synthesised (and nothing else)" },
  readRegisters: { description: 'g - general registers' },
  writeRegisters: { description: 'G - write general registers' },
  readRegister: { description: 'p - one register' },
  writeRegister: { description: 'P - write one register' },
  readMemory: { description: 'm - read memory (hex)' },
  writeMemory: { description: 'M - write memory (hex)' },
  writeMemoryBinary: { description: 'X - write memory (binary)' },
  readMemoryBinary: { description: 'x - read memory (binary; lldb, gdb >= 16)' },
  insertBreakpoint: { description: 'Z0-Z4 - breakpoints and watchpoints (per-type capability, see breakpointCapability)' },
  removeBreakpoint: { description: 'z0-z4' },
  continue: { description: 'c' },
  step: { description: 's' },
  continueWithSignal: { description: 'C sig' },
  stepWithSignal: { description: 'S sig' },
  vContQuery: { qSupportedFeature: 'vContSupported+', description: 'vCont? - supported vCont actions' },
  vCont: { description: 'vCont;actions' },
  setThread: { description: 'H - select thread' },
  threadAlive: { description: 'T - is thread alive' },
  currentThread: { description: 'qC' },
  threadInfoFirst: { description: 'qfThreadInfo' },
  threadInfoNext: { description: 'qsThreadInfo' },
  threadExtraInfo: { description: 'qThreadExtraInfo - thread description text' },
  qHostInfo: { description: 'lldb: host triple, pointer size, endianness' },
  qProcessInfo: { description: 'lldb: process triple and pid' },
  QThreadSuffixSupported: { description: 'lldb: ;thread:tid; suffix on g/G/p/P' },
  QListThreadsInStopReply: { description: 'lldb: threads: in stop replies' },
  qGDBServerVersion: { description: 'lldb: server name and version' },
  QEnableErrorStrings: { description: 'lldb: Enn;hex-message error replies' },
  jThreadsInfo: { description: 'lldb: JSON thread list' },
  qRegisterInfo: { description: 'lldb: register description by number' },
  qMemoryRegionInfo: { description: 'lldb: memory region permissions (image sections, else the page tables)' },
  qThreadStopInfo: { description: 'lldb: stop reply for one thread' },
  qWatchpointSupportInfo: { capability: 'hw-breakpoints', description: 'lldb: number of hardware watchpoints (the debug registers)' },
  qFileLoadAddress: { capability: 'image-file', description: 'lldb: where the image file josgdb knows is loaded' },
  unknown: { description: 'anything else: empty reply' },
};

export const COMMAND_SPECS: Readonly<Record<CommandKind, CommandSpec>> = Object.fromEntries(
  Object.entries(SPEC_ROWS).map(([kind, row]) => [kind, { kind: kind as CommandKind, ...row }]),
) as Record<CommandKind, CommandSpec>;

export function commandSupported(kind: CommandKind, capabilities: ReadonlySet<string>): boolean {
  const cap = COMMAND_SPECS[kind].capability;
  return cap === undefined || capabilities.has(cap);
}

/**
 * Capability needed for a Z/z type: software breakpoints are always served by the
 * host-owned table; hardware breakpoints and watchpoints share the debug registers.
 */
export function breakpointCapability(type: 'software' | 'hardware' | 'write' | 'read' | 'access'): string | undefined {
  return type === 'software' ? undefined : 'hw-breakpoints';
}

/** Features in our qSupported reply, in order; gated ones only with their capability. */
export const QSUPPORTED_FEATURES: readonly { feature: string; capability?: string; why: string }[] = [
  { feature: 'qXfer:features:read+', why: 'target.xml with our register layout' },
  { feature: 'QStartNoAckMode+', why: 'TCP is reliable; acks only add latency' },
  { feature: 'swbreak+', why: 'we report software breakpoint stops with the pc already at the breakpoint' },
  { feature: 'hwbreak+', capability: 'hw-breakpoints', why: 'hardware breakpoint stop reason' },
  { feature: 'vContSupported+', why: 'we answer vCont?' },
  { feature: 'qXfer:memory-map:read+', capability: 'memory-map', why: 'memory map for flash/ROM regions' },
  { feature: 'qXfer:exec-file:read+', capability: 'symbols', why: 'names the synthesised symbol file, which gdb then reads with vFile' },
  {
    feature: 'qXfer:libraries:read+',
    capability: 'image-file',
    why: 'names the image file on the host and its load base, so lldb loads it and its PDB by itself',
  },
  { feature: 'multiprocess-', why: 'one target, plain thread ids' },
];

/**
 * Our qSupported reply: `PacketSize=<hex>` (largest packet we accept) followed by
 * the features this capability set supports.
 */
export function buildQSupportedReply(capabilities: ReadonlySet<string>, opts: { packetSize: number }): string {
  const parts = [`PacketSize=${opts.packetSize.toString(16)}`];
  for (const f of QSUPPORTED_FEATURES) {
    if (f.capability === undefined || capabilities.has(f.capability)) parts.push(f.feature);
  }
  return parts.join(';');
}

/** `vCont?` reply: c, C, s, S always; `r` (range stepping) with 'range-step'. */
export function buildVContReply(capabilities: ReadonlySet<string>): string {
  return 'vCont;c;C;s;S' + (capabilities.has('range-step') ? ';r' : '');
}
