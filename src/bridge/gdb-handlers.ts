/**
 * The translation table: one handler per RSP command kind, each turning a typed
 * gdb request into Session calls and a reply payload. Handlers never write to the
 * socket; a thrown error becomes `Enn` in one place (`toRspError` + the
 * connection's errorReply), and a kind without a handler gets the empty reply,
 * which is how RSP says "not supported".
 */
import type { Logger } from 'pino';
import { errorMessage, isJosgdbError, JosgdbError } from '../common/errors';
import {
  buildQSupportedReply,
  buildStopReply,
  buildVContReply,
  clientSupports,
  type CommandKind,
  type CommandOf,
  consoleOutputPackets,
  decodeRegisterBlock,
  decodeRegisterValue,
  encodeRegisterBlock,
  encodeRegisterValue,
  type MalformedCommand,
  monitorReply,
  qXferRead,
  registerByNumber,
  type RspCommand,
  type RegisterValue as RspRegisterValue,
  RspErrno,
  RspError,
  targetXml,
} from '../rsp';
import { runMonitorCommand } from './monitor';
import type { ResumeAction } from './execution';
import type { Session, SessionStop } from './session';

export const PACKET_SIZE = 0x4000;
/** The one thread josgdb shows: the CPU the kernel debugger runs on. */
export const THREAD_ID = 1;

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

export class GdbHandlers {
  private readonly table: HandlerTable;
  private running: Promise<void> | undefined;
  private interruptNoticeShown = false;
  /** swbreak/hwbreak stop reasons the client announced it understands (watch kinds are always known). */
  private clientReasons = new Set<string>();
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
    return this.ctx.session.target.features;
  }

  async handle(cmd: RspCommand | MalformedCommand): Promise<Reply> {
    if (cmd.kind === 'malformed') {
      this.ctx.log.warn({ packet: cmd.payload.toString('latin1').slice(0, 80) }, `malformed packet from gdb: ${cmd.error.message}`);
      throw cmd.error;
    }
    const handler = this.table[cmd.kind] as Handler<typeof cmd.kind> | undefined;
    if (!handler) return '';
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

  /** The stop reply for `stop`, with any console line sent first. */
  private stopReply(stop: SessionStop, registers?: ReadonlyMap<string, RspRegisterValue | undefined>): string {
    const { description } = stop;
    if (description.console) for (const p of consoleOutputPackets(description.console + '\n')) this.ctx.peer.send(p);
    return buildStopReply({
      signal: description.signal,
      thread: THREAD_ID,
      registers,
      reason:
        description.reason && (description.reason.kind.endsWith('watch') || this.clientReasons.has(description.reason.kind))
          ? description.reason
          : undefined,
    });
  }

  private async stopReplyFor(stop: SessionStop): Promise<string> {
    const registers = stop.stop.kind === 'assert' ? undefined : await this.ctx.session.readRegisters();
    return this.stopReply(stop, registers);
  }

  /** Starts a resume; the stop reply is sent when the target stops, not as this command's reply. */
  private startResume(action: ResumeAction): null {
    const { session, peer, log } = this.ctx;
    if (session.status === 'asserted' && session.currentStop) {
      const stop = session.currentStop;
      for (const p of consoleOutputPackets('josgdb: the kernel stopped in an assert and cannot resume or step; reboot the target to go on.\n')) peer.send(p);
      void this.stopReplyFor(stop).then((r) => peer.send(r));
      return null;
    }
    const run = (async () => {
      try {
        const stop = await session.resume(action);
        peer.send(await this.stopReplyFor(stop));
      } catch (err) {
        log.error(`resume failed: ${errorMessage(err)}`);
        for (const p of consoleOutputPackets(`josgdb: ${errorMessage(err)}\n`)) peer.send(p);
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
        if (cmd.object !== 'features' || cmd.annex !== 'target.xml') return '';
        return qXferRead(targetXml(), cmd.offset, cmd.length);
      },
      haltReason: async () => this.stopReplyFor(await session.waitForStop()),
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
        return encodeRegisterValue(reg, values.get(reg.name));
      },
      writeRegisters: async (cmd) => {
        const current = await session.readRegisters();
        const writes = new Map<string, bigint>();
        for (const [name, value] of decodeRegisterBlock(cmd.data)) {
          if (typeof value !== 'bigint') continue;
          if (current.get(name) !== value) writes.set(name, value);
        }
        if (writes.size > 0) await session.writeRegisters(writes);
        return 'OK';
      },
      writeRegister: async (cmd) => {
        const reg = registerByNumber(cmd.regnum);
        if (!reg) throw new RspError(RspErrno.EINVAL, `no register number ${cmd.regnum}`);
        const value = decodeRegisterValue(reg, cmd.value);
        if (typeof value !== 'bigint') throw new JosgdbError('UNSUPPORTED', `register ${reg.name} cannot be written on this target`);
        await session.writeRegisters(new Map([[reg.name, value]]));
        return 'OK';
      },

      readMemory: async (cmd) => {
        const length = Math.min(cmd.length, (PACKET_SIZE - 4) / 2);
        return (await session.readMemory(cmd.addr, length)).toString('hex');
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
        await session.insertBreakpoint(type, cmd.addr, cmd.size);
        return 'OK';
      },
      removeBreakpoint: async (cmd) => {
        const type = BREAKPOINT_TYPE_NUMBER[cmd.type];
        if (type !== 0 && !session.target.setHwBreakpoint) return '';
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
        await session.release({ resume: !session.target.reset });
        if (session.target.reset && session.status !== 'disconnected') await session.target.reset();
        this.ctx.peer.closeAfterReply();
        return 'OK';
      },

      monitor: async (cmd) =>
        monitorReply(
          await runMonitorCommand(
            { session, linkDescription: this.ctx.linkDescription, setLogLevel: this.ctx.setLogLevel },
            cmd.command,
          ),
        ),
    };
  }

  private resumeAt(addr: bigint | undefined, action: ResumeAction): Promise<Reply> | Reply {
    if (addr === undefined) return this.startResume(action);
    return (async () => {
      await this.ctx.session.writeRegisters(new Map([['rip', addr]]));
      return this.startResume(action);
    })();
  }
}
