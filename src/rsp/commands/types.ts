/**
 * The typed form of every packet gdb or lldb may send us. Parsers produce these;
 * the bridge switches on `kind` and never looks at packet text. Addresses are
 * bigint; lengths, register numbers and thread ids are numbers.
 */

/** One half of a gdb thread id: `-1` = all, `0` = any, else a positive id. */
export type ThreadIdPart = 'all' | 'any' | number;

/** gdb thread-id syntax: `tid`, `-1`, `0`, or multiprocess `ppid.tid` / `ppid`. */
export interface ThreadId {
  pid?: ThreadIdPart;
  tid: ThreadIdPart;
}

/** qSupported feature as sent by the client: `name+`, `name-`, `name?` or `name=value`. */
export type FeatureValue = { support: '+' | '-' | '?' } | { value: string };

/** Z/z type field: 0 software, 1 hardware, 2 write, 3 read, 4 access watchpoint. */
export type BreakpointType = 'software' | 'hardware' | 'write' | 'read' | 'access';
export const BREAKPOINT_TYPES: readonly BreakpointType[] = ['software', 'hardware', 'write', 'read', 'access'];

export type VContAction =
  | { op: 'continue'; signal?: number; thread?: ThreadId }
  | { op: 'step'; signal?: number; thread?: ThreadId }
  /** `r start,end`: step while start <= pc < end. */
  | { op: 'rangeStep'; start: bigint; end: bigint; thread?: ThreadId }
  | { op: 'stop'; thread?: ThreadId };

export type RspCommand =
  // Session
  | { kind: 'qSupported'; features: Map<string, FeatureValue> }
  | { kind: 'QStartNoAckMode' }
  | { kind: 'haltReason' }
  | { kind: 'detach'; pid?: number }
  | { kind: 'kill'; pid?: number }
  | { kind: 'qAttached'; pid?: number }
  | { kind: 'qOffsets' }
  | { kind: 'qTStatus' }
  | { kind: 'vMustReplyEmpty' }
  /** `qSymbol::` (ready to serve lookups) or `qSymbol:value:hexname` (an answer). */
  | { kind: 'qSymbol'; name?: string; value?: bigint }
  /** `qRcmd,hex`: `monitor <command>`. */
  | { kind: 'monitor'; command: string }
  | { kind: 'qXferRead'; object: string; annex: string; offset: number; length: number }
  // Host I/O: gdb reading the executable through the target (`target:` sysroot)
  | { kind: 'vFile'; op: 'setfs'; pid: number }
  | { kind: 'vFile'; op: 'open'; filename: string; flags: number; mode: number }
  | { kind: 'vFile'; op: 'close' | 'fstat' | 'pwrite'; fd: number }
  | { kind: 'vFile'; op: 'pread'; fd: number; count: number; offset: number }
  | { kind: 'vFile'; op: 'unlink' | 'readlink'; filename: string }
  // Registers. `thread` is lldb's `;thread:tid;` suffix (QThreadSuffixSupported).
  | { kind: 'readRegisters'; thread?: number }
  | { kind: 'writeRegisters'; data: Buffer; thread?: number }
  | { kind: 'readRegister'; regnum: number; thread?: number }
  | { kind: 'writeRegister'; regnum: number; value: Buffer; thread?: number }
  // Memory
  | { kind: 'readMemory'; addr: bigint; length: number }
  | { kind: 'writeMemory'; addr: bigint; data: Buffer }
  | { kind: 'writeMemoryBinary'; addr: bigint; data: Buffer }
  /** `x addr,length`. Reply format differs: lldb wants raw binary, gdb >= 16 `b` + binary. */
  | { kind: 'readMemoryBinary'; addr: bigint; length: number }
  // Breakpoints / watchpoints. `size` is gdb's "kind": 1 for x86 int3, the length for watchpoints.
  | { kind: 'insertBreakpoint'; type: BreakpointType; addr: bigint; size: number; extra?: string }
  | { kind: 'removeBreakpoint'; type: BreakpointType; addr: bigint; size: number }
  // Execution
  | { kind: 'continue'; addr?: bigint }
  | { kind: 'step'; addr?: bigint }
  | { kind: 'continueWithSignal'; signal: number; addr?: bigint }
  | { kind: 'stepWithSignal'; signal: number; addr?: bigint }
  | { kind: 'vContQuery' }
  | { kind: 'vCont'; actions: VContAction[] }
  // Threads
  /** `H op thread`: op 'g' selects the thread for register/memory ops, 'c' for resumption. */
  | { kind: 'setThread'; op: string; thread: ThreadId }
  | { kind: 'threadAlive'; thread: ThreadId }
  | { kind: 'currentThread' }
  | { kind: 'threadInfoFirst' }
  | { kind: 'threadInfoNext' }
  | { kind: 'threadExtraInfo'; thread: ThreadId }
  // lldb extensions (lldbgdbremote.md)
  | { kind: 'qHostInfo' }
  | { kind: 'qProcessInfo' }
  | { kind: 'QThreadSuffixSupported' }
  | { kind: 'QListThreadsInStopReply' }
  | { kind: 'qGDBServerVersion' }
  | { kind: 'QEnableErrorStrings' }
  | { kind: 'jThreadsInfo' }
  | { kind: 'qRegisterInfo'; regnum: number }
  /** Without `addr`: lldb probing whether the packet is supported. */
  | { kind: 'qMemoryRegionInfo'; addr?: bigint }
  | { kind: 'qThreadStopInfo'; thread: number }
  | { kind: 'qWatchpointSupportInfo' }
  /** `qFileLoadAddress:hexpath`: where the file named by `path` is loaded. */
  | { kind: 'qFileLoadAddress'; path: string }
  /** Anything we do not parse: the bridge replies with the empty packet. */
  | { kind: 'unknown'; name: string };

export type CommandKind = RspCommand['kind'];
export type CommandOf<K extends CommandKind> = Extract<RspCommand, { kind: K }>;
