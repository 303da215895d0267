/**
 * The translation table: one handler per RSP command kind, each turning a typed
 * gdb request into Session calls and a reply payload. Handlers never write to the
 * socket; a thrown error becomes `Enn` in one place (`toRspError` + the
 * connection's errorReply), and a kind without a handler gets the empty reply,
 * which is how RSP says "not supported".
 */
import path from 'path';
import type { Logger } from 'pino';
import { FileIoErrno, hostIoReply, type HostFiles, type HostIoResult } from './host-files';
import type { SymbolLookup } from './symbol-lookup';
import { errorMessage, isJosgdbError, JosgdbError } from '../common/errors';
import {
  binaryMemoryReply,
  buildQSupportedReply,
  buildStopReply,
  buildVContReply,
  clientSupports,
  type CommandKind,
  type CommandOf,
  commandSupported,
  consoleOutputPackets,
  decodeRegisterBlock,
  decodeRegisterValue,
  encodeRegisterBlock,
  encodeRegisterValue,
  errorReply,
  hostInfoReply,
  libraryListXml,
  type MalformedCommand,
  monitorReply,
  processInfoReply,
  qRegisterInfoReply,
  qXferRead,
  registerByNumber,
  type RspCommand,
  type RegisterValue as RspRegisterValue,
  RspErrno,
  RspError,
  serverVersionReply,
  targetXml,
} from '../rsp';
import type { LoadedSymbols } from '../symbols/loader';
import { type MonitorImage, runMonitorCommand } from './monitor';
import { LLDB_ONLY_PACKETS, imageMemoryRegion, lldbStopReason, sameImageFile } from './lldb-support';
import type { ResumeAction } from './execution';
import type { Session, SessionStop } from './session';

export const PACKET_SIZE = 0x4000;
/** The one thread josgdb shows: the CPU the kernel debugger runs on. */
export const THREAD_ID = 1;
/** lldb wants a process: the kernel is process 1, its thread is THREAD_ID. */
export const PROCESS_ID = 1;
/** x86 has four debug registers, shared by hardware breakpoints and watchpoints. */
const DEBUG_REGISTER_SLOTS = 4;

const BREAKPOINT_TYPE_NUMBER = { software: 0, hardware: 1, write: 2, read: 3, access: 4 } as const;

/** What a handler set needs from the connection it serves. */
export interface GdbPeer {
  /** Sends a packet that is not the reply to the current command (stop replies, console output). */
  send(payload: string): void;
  /** Ends the gdb connection after the current reply. */
  closeAfterReply(): void;
}

export interface GdbHandlerContext {
  session: Session;
  peer: GdbPeer;
  log: Logger;
  linkDescription: string;
  setLogLevel(level: string): boolean;
  /** The symbol file gdb may load through Host I/O (`qXfer:exec-file:read` names it). */
  symbolFile?: { name: string; files: HostFiles };
  /** What `monitor sym/addr/disas` look names up in. */
  symbols?: SymbolLookup;
  /**
   * The image and PDB the bridge loaded: lldb is told the image file's host path
   * and load base (`qXfer:libraries:read`, `qFileLoadAddress`), `qMemoryRegionInfo`
   * names its sections, and `monitor lldb` prints the commands for by-hand setups.
   */
  image?: LoadedSymbols;
}

type Reply = string | Buffer | null;
type Handler<K extends CommandKind> = (cmd: CommandOf<K>) => Promise<Reply> | Reply;
type HandlerTable = { [K in CommandKind]?: Handler<K> };

/** Maps bridge errors to RSP errno values gdb and lldb understand. */
export function toRspError(err: unknown): RspError {
  if (err instanceof RspError) return err;
  const message = errorMessage(err);
  if (isJosgdbError(err)) {
    switch (err.code) {
      case 'BAD_ADDRESS':
        return new RspError(RspErrno.EFAULT, message);
      case 'UNSUPPORTED':
        return new RspError(RspErrno.ENOSYS, message);
      case 'BAD_ARGUMENT':
        return new RspError(RspErrno.EINVAL, message);
      case 'TARGET_RUNNING':
        return new RspError(RspErrno.EBUSY, message);
      default:
        return new RspError(RspErrno.EIO, message);
    }
  }
  return new RspError(RspErrno.EIO, message);
}

/**
 * gdb prints a refused register write's reply verbatim ("Could not write register
 * "rax"; remote failure reply '...'"): a refusal the user can do nothing about
 * (UNSUPPORTED, an assert) goes out as `E.<why>` instead of a bare errno.
 */
async function textualRefusal(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (isJosgdbError(err, 'UNSUPPORTED') || isJosgdbError(err, 'TARGET_ASSERT')) {
      throw new RspError(toRspError(err).errno, errorMessage(err), { textual: true });
    }
    throw err;
  }
}

export class GdbHandlers {
  private readonly table: HandlerTable;
  private running: Promise<void> | undefined;
  private interruptNoticeShown = false;
  /** swbreak/hwbreak stop reasons the client announced it understands (watch kinds are always known). */
  private clientReasons = new Set<string>();
  /** The client sent a packet only lldb sends (it asks them before any breakpoint). */
  private lldbClient = false;
  /** lldb asked for `threads:`/`thread-pcs:` in stop replies (QListThreadsInStopReply). */
  private threadsInStopReply = false;
  /**
   * lldb has asked where the image is loaded (`qFileLoadAddress`). Until then the
   * library list names the image so that lldb creates it as its executable; after
   * that the list is empty, because every time lldb finds an executable in the
   * list it makes it the target's executable again, which drops the load
   * addresses it has just set (lldb 14, ProcessGDBRemote::LoadModules).
   */
  private lldbImageLocated = false;
  private readonly stopTraceForwarding: () => void;

  constructor(private readonly ctx: GdbHandlerContext) {
    this.table = this.buildTable();
    // Kernel trace lines reach gdb's console while it waits for a stop (the only
    // time RSP allows `O` packets); at other times they go to the log alone.
    this.stopTraceForwarding = ctx.session.onTraceText((text) => {
      if (this.running) for (const p of consoleOutputPackets(text.endsWith('\n') ? text : text + '\n')) ctx.peer.send(p);
    });
  }

  dispose(): void {
    this.stopTraceForwarding();
  }

  get capabilities(): ReadonlySet<string> {
    const caps = new Set(this.ctx.session.target.features);
    // without the extension the session steps through the range itself (one reply to gdb)
    caps.add('range-step');
    if (this.ctx.symbolFile) caps.add('symbols');
    if (this.ctx.image?.imagePath !== undefined) caps.add('image-file');
    return caps;
  }

  async handle(cmd: RspCommand | MalformedCommand): Promise<Reply> {
    if (cmd.kind === 'malformed') {
      this.ctx.log.warn({ packet: cmd.payload.toString('latin1').slice(0, 80) }, `malformed packet from gdb: ${cmd.error.message}`);
      throw cmd.error;
    }
    if (LLDB_ONLY_PACKETS.has(cmd.kind)) this.lldbClient = true;
    const handler = this.table[cmd.kind] as Handler<typeof cmd.kind> | undefined;
    if (!handler || !commandSupported(cmd.kind, this.capabilities)) return '';
    try {
      return await handler(cmd as never);
    } catch (err) {
      const rsp = toRspError(err);
      this.ctx.log.warn({ packet: cmd.kind }, `${cmd.kind} failed: ${rsp.message}`);
      throw rsp;
    }
  }

  /** gdb's Ctrl-C. */
  async interrupt(): Promise<void> {
    const { session, log } = this.ctx;
    try {
      if (await session.interrupt()) return;
    } catch (err) {
      log.error(`break-in failed: ${errorMessage(err)}`);
      return;
    }
    const message =
      'josgdb: this target cannot be interrupted (the josx64 base protocol has no break-in); ' +
      'it stops at the next breakpoint, fault or assert. Set a breakpoint in code it runs, or kill gdb to detach.\n';
    log.warn('gdb sent Ctrl-C but the target has no break-in');
    if (!this.interruptNoticeShown && this.running) for (const p of consoleOutputPackets(message)) this.ctx.peer.send(p);
    this.interruptNoticeShown = true;
  }

  /**
   * The stop reply for `stop`, with any console line sent first when `console` (only
   * while gdb waits for a resume to end: an `O` packet anywhere else, e.g. before the
   * reply to `?`, is taken as the reply itself and every later reply is off by one).
   */
  private stopReply(
    stop: SessionStop,
    registers: ReadonlyMap<string, RspRegisterValue | undefined> | undefined,
    options: { console: boolean; librariesChanged?: boolean },
  ): string {
    const { description } = stop;
    if (options.console && description.console) for (const p of consoleOutputPackets(description.console + '\n')) this.ctx.peer.send(p);
    const rip = registers?.get('rip');
    const lldb = this.lldbClient ? lldbStopReason(stop) : undefined;
    return buildStopReply({
      signal: description.signal,
      thread: THREAD_ID,
      registers,
      reason:
        description.reason && (description.reason.kind.endsWith('watch') || this.clientReasons.has(description.reason.kind))
          ? description.reason
          : undefined,
      ...(this.threadsInStopReply ? { threads: [THREAD_ID], ...(typeof rip === 'bigint' ? { threadPcs: [rip] } : {}) } : {}),
      ...(lldb ? { lldbReason: lldb.reason, ...(lldb.description !== undefined ? { description: lldb.description } : {}) } : {}),
      librariesChanged: options.librariesChanged,
    });
  }

  private async stopReplyFor(stop: SessionStop, options: { console: boolean; librariesChanged?: boolean }): Promise<string> {
    const registers = stop.stop.kind === 'assert' ? undefined : await this.ctx.session.readRegisters();
    return this.stopReply(stop, registers, options);
  }

  /** Starts a resume; the stop reply is sent when the target stops, not as this command's reply. */
  private startResume(action: ResumeAction): null {
    const { session, peer, log } = this.ctx;
    if (session.status === 'asserted' && session.currentStop) {
      const stop = session.currentStop;
      for (const p of consoleOutputPackets('josgdb: the kernel stopped in an assert and cannot resume or step; reboot the target to go on.\n')) peer.send(p);
      void this.stopReplyFor(stop, { console: true }).then((r) => peer.send(r));
      return null;
    }
    const run = (async () => {
      try {
        const stop = await session.resume(action);
        peer.send(await this.stopReplyFor(stop, { console: true }));
      } catch (err) {
        log.error(`resume failed: ${errorMessage(err)}`);
        for (const p of consoleOutputPackets(`josgdb: ${errorMessage(err)}\n`)) peer.send(p);
        const status = session.status;
        if (!this.lldbClient && (status === 'stopped' || status === 'asserted')) {
          // The kernel never left its stop (the resume was refused or never sent).
          // gdb takes an error for a stop reply as "Remote failure reply" and stays
          // stopped there, so the user can look around or try again; lldb would
          // end the process all the same, so it gets the exit below.
          peer.send(errorReply(toRspError(err)));
          return;
        }
        // gdb waits for a stop reply; the target is gone or wedged, so end the process view.
        peer.send(`X${(isJosgdbError(err, 'TARGET_WEDGED') ? 11 : 9).toString(16).padStart(2, '0')}`);
      }
    })();
    this.running = run.finally(() => {
      this.running = undefined;
    });
    return null;
  }

  private actionFromVCont(cmd: CommandOf<'vCont'>): ResumeAction {
    // One CPU: the first action that applies to thread 1 or to all threads wins.
    const action = cmd.actions[0];
    if (!action) throw new RspError(RspErrno.EINVAL, 'vCont without an action');
    switch (action.op) {
      case 'continue':
        return { kind: 'continue' };
      case 'step':
        return { kind: 'step' };
      case 'rangeStep':
        return { kind: 'range', start: action.start, end: action.end };
      case 'stop':
        throw new RspError(RspErrno.EINVAL, 'vCont;t is for non-stop mode, which josgdb does not offer');
    }
  }

  private buildTable(): HandlerTable {
    const { session } = this.ctx;
    return {
      qSupported: (cmd) => {
        this.clientReasons = new Set(['swbreak', 'hwbreak'].filter((f) => clientSupports(cmd, f)));
        return buildQSupportedReply(this.capabilities, { packetSize: PACKET_SIZE });
      },
      QStartNoAckMode: () => 'OK',
      vMustReplyEmpty: () => '',
      qXferRead: (cmd) => {
        if (cmd.object === 'exec-file' && this.ctx.symbolFile) {
          return qXferRead(this.ctx.symbolFile.name, cmd.offset, cmd.length);
        }
        if (cmd.object === 'libraries' && this.capabilities.has('image-file')) {
          return qXferRead(this.libraryList(), cmd.offset, cmd.length);
        }
        if (cmd.object !== 'features' || cmd.annex !== 'target.xml') return '';
        return qXferRead(targetXml(), cmd.offset, cmd.length);
      },
      vFile: (cmd) => this.hostIo(cmd),
      haltReason: async () => {
        // gdb connecting to a target that runs (a previous debugger detached) expects it
        // stopped: break in where the target can. Without break-in, wait for its next stop.
        // The wait is registered first: a stop that came before it would find no one
        // waiting, and a pending release (the detach before) would resume the target.
        const stopped = session.waitForStop();
        if (session.status === 'running' && session.target.breakIn) await session.interrupt();
        // `library:` makes lldb read the library list now, before its dynamic loader
        // runs: that is how it learns which host file is the image.
        const librariesChanged = this.lldbClient && this.capabilities.has('image-file') && !this.lldbImageLocated;
        return this.stopReplyFor(await stopped, { console: false, librariesChanged });
      },
      qAttached: () => '1',
      qOffsets: () => 'Text=0;Data=0;Bss=0',
      qSymbol: () => 'OK',
      qTStatus: () => '',
      setThread: () => 'OK',
      threadAlive: () => 'OK',
      currentThread: () => `QC${THREAD_ID.toString(16)}`,
      threadInfoFirst: () => `m${THREAD_ID.toString(16)}`,
      threadInfoNext: () => 'l',
      threadExtraInfo: () => Buffer.from(`CPU 0 (${session.status})`).toString('hex'),

      readRegisters: async () => encodeRegisterBlock(await session.readRegisters()),
      readRegister: async (cmd) => {
        const reg = registerByNumber(cmd.regnum);
        if (!reg) throw new RspError(RspErrno.EINVAL, `no register number ${cmd.regnum}`);
        const values = reg.inGPacket ? await session.readRegisters() : await session.readExtendedRegisters();
        const value = values.get(reg.name);
        // gdb understands `xx` as "unavailable"; lldb would show it as 0xcccc...: it
        // gets an error, and `register read` then counts the register as unavailable.
        if (value === undefined && this.lldbClient) {
          throw new RspError(RspErrno.EIO, `${reg.name} is not available on this target (its stop record does not carry it)`);
        }
        return encodeRegisterValue(reg, value);
      },
      writeRegisters: async (cmd) => {
        const current = await session.readRegisters();
        const writes = new Map<string, bigint>();
        for (const [name, value] of decodeRegisterBlock(cmd.data)) {
          if (typeof value !== 'bigint') continue;
          if (current.get(name) !== value) writes.set(name, value);
        }
        if (writes.size > 0) await textualRefusal(() => session.writeRegisters(writes));
        return 'OK';
      },
      writeRegister: async (cmd) => {
        const reg = registerByNumber(cmd.regnum);
        if (!reg) throw new RspError(RspErrno.EINVAL, `no register number ${cmd.regnum}`);
        const value = decodeRegisterValue(reg, cmd.value);
        await textualRefusal(async () => {
          if (typeof value !== 'bigint') throw new JosgdbError('UNSUPPORTED', `register ${reg.name} cannot be written on this target`);
          await session.writeRegisters(new Map([[reg.name, value]]));
        });
        return 'OK';
      },

      readMemory: async (cmd) => {
        const length = Math.min(cmd.length, (PACKET_SIZE - 4) / 2);
        return (await session.readMemory(cmd.addr, length)).toString('hex');
      },
      readMemoryBinary: async (cmd) => {
        // Escaping may double every byte: stay within the packet size we announced.
        const length = Math.min(cmd.length, (PACKET_SIZE - 4) / 2);
        const data = length === 0 ? Buffer.alloc(0) : await session.readMemory(cmd.addr, length);
        return binaryMemoryReply(data, this.lldbClient ? 'lldb' : 'gdb');
      },
      writeMemory: async (cmd) => {
        await session.writeMemory(cmd.addr, cmd.data);
        return 'OK';
      },
      writeMemoryBinary: async (cmd) => {
        await session.writeMemory(cmd.addr, cmd.data);
        return 'OK';
      },

      insertBreakpoint: async (cmd) => {
        const type = BREAKPOINT_TYPE_NUMBER[cmd.type];
        if (type !== 0 && !session.target.setHwBreakpoint) return '';
        // x86 has no read-only watchpoint. gdb, told so (as gdbserver does), emulates
        // `rwatch` with an access watchpoint (Z4) and ignores hits that changed the
        // value; a read/write slot answered as Z3 would show every store as a read.
        // lldb expects lldb-server's read/write slot reported as a read watchpoint.
        if (type === 3 && !this.lldbClient) return '';
        await session.insertBreakpoint(type, cmd.addr, cmd.size);
        return 'OK';
      },
      removeBreakpoint: async (cmd) => {
        const type = BREAKPOINT_TYPE_NUMBER[cmd.type];
        if (type !== 0 && !session.target.setHwBreakpoint) return '';
        if (type === 3 && !this.lldbClient) return '';
        await session.removeBreakpoint(type, cmd.addr, cmd.size);
        return 'OK';
      },

      continue: (cmd) => this.resumeAt(cmd.addr, { kind: 'continue' }),
      continueWithSignal: (cmd) => this.resumeAt(cmd.addr, { kind: 'continue' }),
      step: (cmd) => this.resumeAt(cmd.addr, { kind: 'step' }),
      stepWithSignal: (cmd) => this.resumeAt(cmd.addr, { kind: 'step' }),
      vContQuery: () => buildVContReply(this.capabilities),
      vCont: (cmd) => this.startResume(this.actionFromVCont(cmd)),

      detach: async () => {
        await session.release({ resume: true });
        this.ctx.peer.closeAfterReply();
        return 'OK';
      },
      kill: async () => {
        // With `reset` the machine reboots: nothing to release, the new boot starts clean.
        if (session.target.reset && session.status !== 'disconnected') await session.reset();
        else await session.release({ resume: true });
        this.ctx.peer.closeAfterReply();
        // lldb waits for the process's exit status (lldb-server answers X09); gdb reads no reply.
        return this.lldbClient ? 'X09' : 'OK';
      },

      qHostInfo: () => hostInfoReply(),
      qProcessInfo: () => processInfoReply({ pid: PROCESS_ID }),
      qGDBServerVersion: () => serverVersionReply('josgdb'),
      // The parsers already take lldb's `;thread:N;` suffix off g/G/p/P.
      QThreadSuffixSupported: () => 'OK',
      QListThreadsInStopReply: () => {
        this.threadsInStopReply = true;
        return 'OK';
      },
      // The connection switches to `Enn;hex-text` once this reply is OK.
      QEnableErrorStrings: () => 'OK',
      qRegisterInfo: (cmd) => {
        const info = qRegisterInfoReply(cmd.regnum);
        // E45 is how lldb-server says "no register with that number": lldb stops asking.
        if (info === undefined) throw new RspError(0x45, `no register number ${cmd.regnum}`);
        return info;
      },
      qThreadStopInfo: async (cmd) => {
        if (cmd.thread !== THREAD_ID) throw new RspError(RspErrno.EINVAL, `no thread ${cmd.thread.toString(16)}`);
        const stop = session.currentStop;
        if (!stop || session.status === 'running') throw new RspError(RspErrno.EBUSY, 'the target is running');
        return this.stopReplyFor(stop, { console: false });
      },
      qWatchpointSupportInfo: () => `num:${DEBUG_REGISTER_SLOTS};`,
      qMemoryRegionInfo: (cmd) => {
        if (cmd.addr === undefined) throw new RspError(RspErrno.EINVAL, 'qMemoryRegionInfo needs an address');
        return this.memoryRegion(cmd.addr);
      },
      qFileLoadAddress: (cmd) => {
        const image = this.ctx.image;
        if (!image?.imagePath || !sameImageFile(cmd.path, image.imagePath)) {
          // E01 is lldb's "this file is not loaded".
          throw new RspError(RspErrno.EPERM, `${cmd.path} is not the image josgdb knows (${image?.imagePath ?? 'none'})`);
        }
        this.lldbImageLocated = true;
        return session.target.info.imageBase.toString(16);
      },

      monitor: async (cmd) => {
        const output = await runMonitorCommand(
          {
            session,
            linkDescription: this.ctx.linkDescription,
            setLogLevel: this.ctx.setLogLevel,
            symbols: this.ctx.symbols,
            image: this.ctx.image ? monitorImage(this.ctx.image) : undefined,
          },
          cmd.command,
        );
        // lldb's `process plugin packet monitor` prints a hex reply as it is, but
        // prints `O` output as text; gdb prints either as text.
        if (!this.lldbClient) return monitorReply(output);
        for (const p of consoleOutputPackets(output)) this.ctx.peer.send(p);
        return 'OK';
      },
    };
  }

  /** The image for lldb until it has located it, then nothing (see lldbImageLocated); gdb gets its symbols from exec-file. */
  private libraryList(): string {
    const imagePath = this.ctx.image?.imagePath;
    if (!this.lldbClient || this.lldbImageLocated || imagePath === undefined) return libraryListXml([]);
    return libraryListXml([{ path: path.resolve(imagePath), base: this.ctx.session.target.info.imageBase }]);
  }

  /** lldb's `memory region` answer at `address` (see imageMemoryRegion). */
  private memoryRegion(address: bigint): string {
    return imageMemoryRegion(this.ctx.image, this.ctx.session.target.info.imageBase, address);
  }

  /** gdb loading the symbol file through the target: only the files josgdb serves are readable. */
  private hostIo(cmd: CommandOf<'vFile'>): Reply {
    const files = this.ctx.symbolFile?.files;
    if (!files) return '';
    let result: HostIoResult;
    switch (cmd.op) {
      case 'setfs':
        result = { ok: true, value: 0 };
        break;
      case 'open':
        result = files.openFile(cmd.filename, cmd.flags);
        if (!result.ok) this.ctx.log.debug(`vFile:open ${cmd.filename} refused: ${result.why}`);
        break;
      case 'pread':
        // Escaping can double binary data: keep the reply within our packet size.
        result = files.pread(cmd.fd, Math.min(cmd.count, PACKET_SIZE / 2 - 64), cmd.offset);
        break;
      case 'fstat':
        result = files.fstat(cmd.fd);
        break;
      case 'close':
        result = files.close(cmd.fd);
        break;
      case 'readlink':
      case 'unlink':
        result = { ok: false, errno: FileIoErrno.ENOENT, why: `${cmd.filename} is not a file josgdb serves` };
        break;
      default:
        result = { ok: false, errno: FileIoErrno.EACCES, why: 'josgdb serves read-only files' };
    }
    return hostIoReply(result);
  }

  private resumeAt(addr: bigint | undefined, action: ResumeAction): Promise<Reply> | Reply {
    if (addr === undefined) return this.startResume(action);
    return (async () => {
      await this.ctx.session.writeRegisters(new Map([['rip', addr]]));
      return this.startResume(action);
    })();
  }
}

function monitorImage(loaded: LoadedSymbols): MonitorImage {
  return {
    name: loaded.imageName,
    path: loaded.imagePath !== undefined ? path.resolve(loaded.imagePath) : undefined,
    pdbPath: loaded.pdbPath !== undefined ? path.resolve(loaded.pdbPath) : undefined,
    linkedBase: loaded.image.layout === 'file' ? loaded.image.imageBase : undefined,
    sections: loaded.image.sections.map((s) => ({ name: s.name, rva: s.virtualAddress })),
  };
}
