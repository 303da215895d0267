/**
 * KernelClient: typed requests to a josx64 kernel (or the extension stub) over a
 * Link, and events for what the kernel sends on its own.
 *
 * Why it looks like this:
 *  - The kernel answers strictly in order and has no request ids, so exactly one
 *    request is on the wire at a time; the rest wait in a queue. Requests without a
 *    reply (writes, breakpoint updates, resumes) go through the same queue so their
 *    order relative to reads is kept; they complete once written.
 *  - A reply is also checked against its request (length, address, msr, leaf), so a
 *    late answer to a request that timed out is dropped, not handed to the next one.
 *  - Timeouts scale with the link: a 64 KiB read at 38400 baud takes 17 s.
 *  - The kernel only reads commands while it is stopped: a request while it runs is
 *    refused locally (TARGET_RUNNING), except BreakIn.
 *  - An extension id sent to a base josx64 kernel desynchronises it for good, so
 *    every extension method checks the announced features before anything is queued.
 *  - The handshake is repeated only until KernelConnectionInfo starts arriving, and
 *    never sent when attaching to a kernel that is already connected.
 *  - Every pending request is rejected with LINK_CLOSED when the link drops; each
 *    error carries the stack of the call that made the request.
 */
import pino from 'pino';
import { hex, isCanonical } from '../common/bytes';
import { JosgdbError, errorMessage } from '../common/errors';
import type { ErrorCode } from '../common/errors';
import type { Link } from '../link/link';
import { KernelStreamDecoder, encodeRequest, featureOf, replyIdOf } from './codec';
import { TypedEmitter } from './events';
import { applyCompactStop } from './structs';
import type {
  BreakpointEntry,
  Context,
  HwBreakpointSpec,
  InterruptFrame,
  KernelEvent,
  KernelInfo,
  KernelMessage,
  KernelRequest,
  ResumeKind,
  StopRecord,
} from './messages';
import {
  CONTEXT_SIZE,
  Feature,
  HANDSHAKE,
  HANDSHAKE_ECHO_TRACE,
  HEADER_SIZE,
  HW_BREAKPOINT_LENGTHS,
  HW_BREAKPOINT_SLOTS,
  HwBreakpointKind,
  MAX_BREAKPOINT_ENTRIES,
  MAX_MEMORY_TRANSFER,
  SAFE_MEMORY_MAX,
  STOP_RECORD_SIZE,
  packetName,
} from './protocol';
import type { FeatureName, StopKind } from './protocol';

export type KernelState = 'disconnected' | 'running' | 'stopped' | 'asserted';

export interface StopEvent {
  kind: StopKind;
  record: StopRecord;
  /** The BreakpointCallstack that followed the stop (stack values pointing into code: candidates, not a verified call stack). */
  callstack: bigint[];
  /** hwBreakpoint only: which DR0-DR3 fired, and DR6. */
  slot?: number;
  dr6?: bigint;
  /** compact-stop only: the stack bytes right below rsp as they were at the stop, [rsp - length, rsp). */
  stackBelow?: Buffer;
}

export interface AssertEvent {
  cond: string;
  file: string;
  line: number;
}

export interface WedgeEvent {
  address: bigint;
  length: number;
  /** Bytes the kernel sent before it faulted. */
  partial: Buffer;
  faultKind: 'pf' | 'gpf';
  /** The fault inside the kernel's own serial code. */
  fault: StopRecord;
  message: string;
}

export interface KernelClientEvents {
  stop(ev: StopEvent): void;
  assert(ev: AssertEvent): void;
  trace(text: string): void;
  /** A pre-handshake text line (firmware console, raw kernel traces). */
  noise(line: string): void;
  wedge(ev: WedgeEvent): void;
  garbage(ev: { bytes: Buffer; reason: string }): void;
  connectionInfo(info: KernelInfo): void;
  state(state: KernelState): void;
  close(err?: Error): void;
}

export interface KernelClientOptions {
  logger?: pino.Logger;
  /** Link throughput for timeouts (default 3840: josx64's 38400 baud, 8N1). */
  bytesPerSecond?: number;
  /** Fixed part of every request timeout (default 2000 ms); 3x the transfer time is added. */
  baseTimeoutMs?: number;
  /** How often the handshake is repeated until the kernel answers (default 500 ms). */
  handshakeIntervalMs?: number;
  /** How long to wait for the BreakpointCallstack after a stop that announces one (default 250 ms + transfer). */
  callstackTimeoutMs?: number;
  /** Quiet time after which an ambiguous read reply is taken as data (default 20 ms + transfer of a fault packet). */
  settleMs?: number;
}

export interface ConnectOptions {
  /** Overall time to wait for KernelConnectionInfo (default 60000 ms). */
  handshakeTimeoutMs?: number;
  /** Pre-handshake text lines as they arrive ("seen on the line so far"). */
  onNoise?: (line: string) => void;
  /**
   * The kernel is already connected (the bridge restarted): send no handshake and
   * resume from `info` (required) and `state` (default 'stopped').
   */
  attach?: boolean;
  info?: KernelInfo;
  state?: 'running' | 'stopped' | 'asserted';
  /** With attach to a stopped kernel: the stop it is sitting in (it will not send it again). */
  lastStop?: StopEvent;
  /** With attach to an asserted kernel: the assert it reported. */
  lastAssert?: AssertEvent;
}

export interface SafeReadResult {
  status: number;
  data: Buffer;
}

export interface SafeWriteResult {
  status: number;
  count: number;
}

type Accept<T> = (msg: KernelMessage) => { value: T } | undefined;

interface Pending {
  req: KernelRequest;
  what: string;
  replyBytes: number;
  states: readonly KernelState[];
  accept?: Accept<unknown>;
  /** Value a request without a reply resolves with once written. */
  done?: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  origin: Error;
  timer?: NodeJS.Timeout;
}

const STOPPED: readonly KernelState[] = ['stopped', 'asserted'];
const RUNNING: readonly KernelState[] = ['running'];
const RECENT_NOISE = 12;

export class KernelClient extends TypedEmitter<KernelClientEvents> {
  private readonly log: pino.Logger;
  private readonly decoder = new KernelStreamDecoder();
  private readonly bytesPerSecond: number;
  private readonly baseTimeoutMs: number;
  private readonly handshakeIntervalMs: number;
  private readonly callstackTimeoutMs: number;
  private readonly settleMs: number;

  private currentState: KernelState = 'disconnected';
  private kernelInfo: KernelInfo | undefined;
  private stop: StopEvent | undefined;
  /**
   * The last stop record the kernel sent on this link, which a CompactStop is
   * relative to (compact-stop). Unset after a handshake, an attach or a wedge:
   * the next step then asks for a whole record.
   */
  private reportedRecord: StopRecord | undefined;
  /** The record the CompactStop now awaited will be relative to; set when TraceStepCompact is sent. */
  private compactBase: StopRecord | undefined;
  private assertion: AssertEvent | undefined;
  private isWedged = false;
  private subscribed = false;

  private queue: Pending[] = [];
  private inFlight: Pending | undefined;

  private handshake:
    | { resolve: (i: KernelInfo) => void; reject: (e: unknown) => void; interval: NodeJS.Timeout; timer: NodeJS.Timeout; onNoise?: (l: string) => void; origin: Error }
    | undefined;
  private handshakePromise: Promise<KernelInfo> | undefined;
  private recentNoise: string[] = [];

  private pendingStop: StopEvent | undefined;
  private callstackTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private lastGarbageLog = 0;
  private garbageSinceLog = 0;

  constructor(
    private link: Link,
    opts: KernelClientOptions = {},
  ) {
    super((event, err) => this.log.error({ err }, `a '${event}' listener threw: ${errorMessage(err)} (a josgdb bug: please report it)`));
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'target' });
    this.bytesPerSecond = opts.bytesPerSecond ?? 3840;
    this.baseTimeoutMs = opts.baseTimeoutMs ?? 2000;
    this.handshakeIntervalMs = opts.handshakeIntervalMs ?? 500;
    this.callstackTimeoutMs = opts.callstackTimeoutMs ?? 250;
    this.settleMs = opts.settleMs ?? 20;
  }

  // ------------------------------------------------------------ state

  get state(): KernelState {
    return this.currentState;
  }

  /** What the kernel announced; undefined before the handshake. */
  get info(): KernelInfo | undefined {
    return this.kernelInfo;
  }

  get features(): ReadonlySet<string> {
    return this.kernelInfo?.features ?? new Set<string>();
  }

  has(feature: FeatureName | string): boolean {
    return this.features.has(feature);
  }

  /** The last stop (kept while running, for reference). */
  get lastStop(): StopEvent | undefined {
    return this.stop;
  }

  /** The assert the kernel is sitting in (state 'asserted'). */
  get lastAssert(): AssertEvent | undefined {
    return this.currentState === 'asserted' ? this.assertion : undefined;
  }

  /** An unmapped read faulted inside the kernel: only a reboot recovers it. */
  get wedged(): boolean {
    return this.isWedged;
  }

  get description(): string {
    return this.link.description;
  }

  private setState(s: KernelState): void {
    if (s === this.currentState) return;
    this.currentState = s;
    this.emit('state', s);
  }

  // ------------------------------------------------------------ connection

  /**
   * Handshakes with the kernel (or attaches to one already connected) and resolves
   * with its KernelInfo. Subscribe to events first: the traces and the first stop
   * may arrive in the same chunk as the connection info.
   */
  connect(opts: ConnectOptions = {}): Promise<KernelInfo> {
    if (this.link.closed) return Promise.reject(new JosgdbError('LINK_CLOSED', `${this.link.description} is closed`));
    if (this.handshakePromise) return this.handshakePromise;
    // Already connected: a second handshake would be read as a packet. Only reset() starts over.
    if (this.kernelInfo && this.decoder.connected && !opts.attach) return Promise.resolve(this.kernelInfo);
    this.subscribe();
    if (opts.attach) {
      if (!opts.info) {
        return Promise.reject(new JosgdbError('BAD_ARGUMENT', 'attach needs the KernelInfo of the running session'));
      }
      this.kernelInfo = opts.info;
      this.decoder.reset({ connected: true });
      this.stop = opts.lastStop;
      this.reportedRecord = undefined;
      this.assertion = opts.lastAssert;
      this.setState(opts.state ?? 'stopped');
      this.log.info({ state: this.currentState }, 'attached to a connected kernel: no handshake sent');
      return Promise.resolve(opts.info);
    }
    const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 60000;
    const origin = new Error();
    this.decoder.reset({ connected: false });
    this.setState('disconnected');
    this.handshakePromise = new Promise<KernelInfo>((resolve, reject) => {
      const interval = setInterval(() => this.sendHandshake(), this.handshakeIntervalMs);
      interval.unref();
      const timer = setTimeout(() => {
        this.failHandshake(
          'HANDSHAKE_TIMEOUT',
          `no KernelConnectionInfo from ${this.link.description} within ${handshakeTimeoutMs / 1000} s (--handshake-timeout)` + this.noiseSummary(),
        );
      }, handshakeTimeoutMs);
      timer.unref();
      this.handshake = { resolve, reject, interval, timer, onNoise: opts.onNoise, origin };
    });
    this.sendHandshake();
    return this.handshakePromise;
  }

  private noiseSummary(): string {
    if (this.recentNoise.length === 0) return '; nothing was seen on the line (is the target booting, and on this port?)';
    return `; last lines seen on the line:\n  ${this.recentNoise.join('\n  ')}`;
  }

  private sendHandshake(): void {
    if (!this.handshake || this.decoder.connected || this.decoder.receivingInfo) return;
    try {
      this.link.write(HANDSHAKE);
      this.log.debug('handshake sent');
    } catch (err) {
      this.failHandshake('LINK_CLOSED', `cannot send the handshake: ${errorMessage(err)}`);
    }
  }

  private endHandshake(): NonNullable<KernelClient['handshake']> | undefined {
    const h = this.handshake;
    if (!h) return undefined;
    clearInterval(h.interval);
    clearTimeout(h.timer);
    this.handshake = undefined;
    this.handshakePromise = undefined;
    return h;
  }

  private failHandshake(code: ErrorCode, message: string): void {
    const h = this.endHandshake();
    if (h) h.reject(withOrigin(new JosgdbError(code, message), h.origin));
  }

  /**
   * Continues on a new link after the old one dropped (a TCP hop or a USB serial
   * adapter went away while the kernel kept its state). The kernel is already
   * connected, so this attaches: no handshake. Listeners and state carry over.
   */
  replaceLink(link: Link, attach: Pick<ConnectOptions, 'state' | 'lastStop' | 'lastAssert'>): Promise<KernelInfo> {
    if (!this.link.closed) return Promise.reject(new JosgdbError('BAD_ARGUMENT', 'replaceLink: the current link is still open'));
    if (!this.kernelInfo) return Promise.reject(new JosgdbError('NOT_CONNECTED', 'replaceLink: the kernel never connected: handshake instead'));
    this.link = link;
    this.subscribed = false;
    return this.connect({ attach: true, info: this.kernelInfo, ...attach });
  }

  /**
   * Drops what the client believes about the kernel's connection, so the next
   * connect() handshakes. For an attach that turned out wrong: the kernel did not
   * answer, so it rebooted and waits for `josx` again.
   */
  forgetConnection(reason: string): void {
    this.rejectAll('NOT_CONNECTED', (p) => `${p.what} abandoned: ${reason}`);
    this.kernelInfo = undefined;
    this.stop = undefined;
    this.reportedRecord = undefined;
    this.assertion = undefined;
    this.decoder.reset({ connected: false });
    this.setState('disconnected');
  }

  /** Closes the link (pending requests are rejected with LINK_CLOSED). */
  close(): void {
    this.link.close();
  }

  private subscribe(): void {
    if (this.subscribed) return;
    this.subscribed = true;
    this.link.onData((chunk) => this.onData(chunk));
    this.link.onClose((err) => this.onClose(err));
  }

  // ------------------------------------------------------------ incoming

  private onData(chunk: Buffer): void {
    this.handle(this.decoder.push(chunk));
    if (this.handshake && this.decoder.receivingInfo) clearInterval(this.handshake.interval);
    this.scheduleSettle();
  }

  private scheduleSettle(): void {
    if (!this.decoder.ambiguous) {
      if (this.settleTimer) clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
      return;
    }
    if (this.settleTimer) return;
    const ms = this.settleMs + this.transferMs(2 * (HEADER_SIZE * 2 + STOP_RECORD_SIZE));
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      this.handle(this.decoder.settle());
      this.scheduleSettle();
    }, ms);
    this.settleTimer.unref();
  }

  private handle(events: KernelEvent[]): void {
    for (const ev of events) {
      if (this.pendingStop && ev.kind !== 'callstack' && ev.kind !== 'garbage') this.finishStop();
      switch (ev.kind) {
        case 'noise':
          this.onNoise(ev.text);
          break;
        case 'garbage':
          this.onGarbage(ev.bytes, ev.reason);
          break;
        case 'connectionInfo':
          this.onConnectionInfo(ev.info);
          break;
        case 'trace':
          if (ev.text === HANDSHAKE_ECHO_TRACE) {
            this.log.debug('the kernel read a late handshake copy as a packet header and ignored it');
          } else {
            this.emit('trace', ev.text);
          }
          break;
        case 'stop':
          this.onStop({
            kind: ev.stopKind,
            record: ev.record,
            callstack: [],
            ...(ev.slot !== undefined ? { slot: ev.slot } : {}),
            ...(ev.dr6 !== undefined ? { dr6: ev.dr6 } : {}),
          });
          break;
        case 'compactStop':
          this.onCompactStop(ev);
          break;
        case 'callstack':
          if (this.pendingStop) {
            if (ev.addresses.length !== this.pendingStop.record.callStackSize) {
              this.log.warn(`callstack holds ${ev.addresses.length} entries, the stop announced ${this.pendingStop.record.callStackSize}`);
            }
            this.pendingStop.callstack = ev.addresses;
            this.finishStop();
          } else {
            this.log.warn('a BreakpointCallstack without a stop before it: ignored');
          }
          break;
        case 'assert':
          this.setState('asserted');
          this.stop = undefined;
          this.assertion = { cond: ev.cond, file: ev.file, line: ev.line };
          this.emit('assert', this.assertion);
          break;
        case 'wedge':
          this.onWedge(ev);
          break;
        default:
          this.onReply(ev);
      }
    }
  }

  private onNoise(text: string): void {
    this.recentNoise.push(text);
    if (this.recentNoise.length > RECENT_NOISE) this.recentNoise.shift();
    this.handshake?.onNoise?.(text);
    this.emit('noise', text);
  }

  private onGarbage(bytes: Buffer, reason: string): void {
    const now = Date.now();
    this.garbageSinceLog += bytes.length;
    if (now - this.lastGarbageLog > 1000) {
      this.log.warn(
        `skipped ${this.garbageSinceLog} bytes that are not a packet (${reason}); first bytes ${bytes.subarray(0, 16).toString('hex')}`,
      );
      this.lastGarbageLog = now;
      this.garbageSinceLog = 0;
    }
    this.emit('garbage', { bytes, reason });
  }

  private onConnectionInfo(info: KernelInfo): void {
    const h = this.endHandshake();
    const again = !h && this.kernelInfo !== undefined;
    this.kernelInfo = info;
    this.isWedged = false;
    this.stop = undefined;
    this.reportedRecord = undefined;
    for (const w of info.warnings) this.log.warn(`KernelConnectionInfo: ${w}`);
    this.log.info(
      { imageBase: hex(info.imageBase), entryPoint: hex(info.entryPoint), features: [...info.features] },
      again ? 'the kernel sent KernelConnectionInfo again: it restarted' : 'kernel connected',
    );
    if (again) this.rejectAll('PROTOCOL', (p) => `the target restarted while ${p.what} was pending`);
    // The kernel runs on to the breakpoint it set at main.
    this.setState('running');
    this.emit('connectionInfo', info);
    h?.resolve(info);
  }

  private onStop(ev: StopEvent): void {
    if (ev.record.callStackSize > 0) {
      this.pendingStop = ev;
      const ms = this.callstackTimeoutMs + this.transferMs(HEADER_SIZE + 8 * ev.record.callStackSize);
      this.callstackTimer = setTimeout(() => {
        this.log.warn(`the stop announced ${ev.record.callStackSize} callstack entries but none came within ${ms} ms`);
        this.finishStop();
      }, ms);
      this.callstackTimer.unref();
      return;
    }
    this.deliverStop(ev);
  }

  private onCompactStop({ changed, instruction, stackBelow }: Extract<KernelEvent, { kind: 'compactStop' }>): void {
    const base = this.compactBase;
    this.compactBase = undefined;
    if (!base) {
      // Nothing to apply it to: the kernel answered a TraceStepCompact this client never sent.
      this.log.warn('a CompactStop without a TraceStepCompact before it: ignored');
      return;
    }
    this.onStop({ kind: 'breakpoint', record: applyCompactStop(base, changed, instruction), callstack: [], stackBelow });
  }

  private finishStop(): void {
    const ev = this.pendingStop;
    if (!ev) return;
    this.pendingStop = undefined;
    if (this.callstackTimer) clearTimeout(this.callstackTimer);
    this.callstackTimer = undefined;
    this.deliverStop(ev);
  }

  private deliverStop(ev: StopEvent): void {
    this.stop = ev;
    this.reportedRecord = ev.record;
    // A step that ended in a fault comes back whole: no CompactStop is awaited any more.
    this.compactBase = undefined;
    this.setState('stopped');
    this.emit('stop', ev);
    this.pump();
  }

  private onWedge(ev: Extract<KernelEvent, { kind: 'wedge' }>): void {
    this.isWedged = true;
    this.reportedRecord = undefined;
    const message =
      `reading ${ev.length} bytes at ${hex(ev.address)} faulted inside the kernel ` +
      `(${ev.faultKind === 'pf' ? `page fault, cr2=${hex(ev.fault.cr2)}` : 'general protection fault'}, ` +
      `rip=${hex(ev.fault.frame.rip)}): the kernel now waits in a nested fault loop where Continue faults again; ` +
      'only a reboot recovers it';
    this.log.error(message);
    const p = this.inFlight;
    if (p && p.req.kind === 'readMemory') {
      this.settle(p);
      p.reject(withOrigin(new JosgdbError('TARGET_WEDGED', message), p.origin));
    }
    this.setState('stopped');
    this.emit('wedge', { address: ev.address, length: ev.length, partial: ev.partial, faultKind: ev.faultKind, fault: ev.fault, message });
    this.pump();
  }

  private onReply(msg: KernelMessage): void {
    const p = this.inFlight;
    let accepted: { value: unknown } | undefined;
    try {
      accepted = p?.accept?.(msg);
    } catch (err) {
      // The reply is this request's, and says it failed (a non-zero status).
      if (p) {
        this.settle(p);
        p.reject(err instanceof JosgdbError ? withOrigin(err, p.origin) : err);
        this.pump();
      }
      return;
    }
    if (!p || !accepted) {
      this.log.warn(
        `dropped a ${msg.kind} reply nobody waits for` +
          (p ? ` (waiting for ${p.what})` : '') +
          ': a late answer to a request that timed out?',
      );
      return;
    }
    this.settle(p);
    p.resolve(accepted.value);
    this.pump();
  }

  private onClose(err?: Error): void {
    this.finishStop();
    const why = err ? `: ${err.message}` : '';
    this.failHandshake('LINK_CLOSED', `target link closed before the kernel answered the handshake${why}` + this.noiseSummary());
    this.rejectAll('LINK_CLOSED', (p, sent) =>
      sent ? `target link closed while waiting for ${p.what}${why}` : `target link closed before ${p.what} was sent${why}`,
    );
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.setState('disconnected');
    this.emit('close', err);
  }

  private rejectAll(code: ErrorCode, message: (p: Pending, sent: boolean) => string): void {
    const inFlight = this.inFlight;
    const queued = this.queue;
    this.queue = [];
    if (inFlight) {
      this.settle(inFlight);
      inFlight.reject(withOrigin(new JosgdbError(code, message(inFlight, true)), inFlight.origin));
    }
    for (const p of queued) p.reject(withOrigin(new JosgdbError(code, message(p, false)), p.origin));
  }

  // ------------------------------------------------------------ request machinery

  private transferMs(bytes: number): number {
    return (bytes * 1000) / this.bytesPerSecond;
  }

  private timeoutFor(p: Pending, requestBytes: number): number {
    return Math.ceil(this.baseTimeoutMs + 3 * this.transferMs(requestBytes + p.replyBytes));
  }

  /** Why a request cannot go out in the current state (undefined: it can). */
  private stateProblem(p: Pending): JosgdbError | undefined {
    if (this.link.closed) return new JosgdbError('LINK_CLOSED', `${this.link.description} is closed: cannot send ${p.what}`);
    const s = this.currentState;
    if (p.states.includes(s)) return undefined;
    switch (s) {
      case 'disconnected':
        return new JosgdbError('NOT_CONNECTED', `${p.what}: the kernel has not completed the handshake`);
      case 'running':
        return new JosgdbError('TARGET_RUNNING', `${p.what}: the target is running; it reads commands only while stopped`);
      case 'asserted':
        return new JosgdbError('TARGET_ASSERT', `${p.what}: the kernel stopped on an assert and cannot resume or step`);
      case 'stopped':
        return new JosgdbError('BAD_ARGUMENT', `${p.what}: the target is already stopped`);
    }
  }

  private enqueue<T>(
    req: KernelRequest,
    what: string,
    opts: { replyBytes?: number; states?: readonly KernelState[]; accept?: Accept<T>; done?: () => T },
  ): Promise<T> {
    const origin = new Error();
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        req,
        what,
        replyBytes: opts.replyBytes ?? 0,
        states: opts.states ?? STOPPED,
        accept: opts.accept as Accept<unknown> | undefined,
        done: opts.done,
        resolve: resolve as (v: unknown) => void,
        reject,
        origin,
      };
      const problem = this.stateProblem(p);
      if (problem) {
        reject(withOrigin(problem, origin));
        return;
      }
      this.queue.push(p);
      this.pump();
    });
  }

  private pump(): void {
    while (!this.inFlight && this.queue.length > 0) {
      const p = this.queue.shift() as Pending;
      const problem = this.stateProblem(p);
      if (problem) {
        p.reject(withOrigin(problem, p.origin));
        continue;
      }
      const feature = featureOf(p.req);
      if (feature && !this.has(feature)) {
        // Last line of defence: an extension id desynchronises a base kernel for good.
        p.reject(withOrigin(new JosgdbError('UNSUPPORTED', `${p.what} needs the "${feature}" extension`), p.origin));
        continue;
      }
      const bytes = encodeRequest(p.req);
      const expectsReply = replyIdOf(p.req) !== undefined;
      if (p.req.kind === 'readMemory') this.decoder.expectMemoryReply(p.req.address, p.req.length);
      try {
        this.link.write(bytes);
      } catch (err) {
        this.settle(p);
        p.reject(withOrigin(new JosgdbError('LINK_CLOSED', `cannot send ${p.what}: ${errorMessage(err)}`), p.origin));
        continue;
      }
      this.log.debug(`sent ${p.what}`);
      if (!expectsReply) {
        p.resolve(p.done?.());
        this.afterSend(p.req);
        continue;
      }
      this.inFlight = p;
      const ms = this.timeoutFor(p, bytes.length);
      p.timer = setTimeout(() => this.onTimeout(p, ms), ms);
      p.timer.unref();
    }
  }

  private onTimeout(p: Pending, ms: number): void {
    if (this.inFlight !== p) return;
    this.settle(p);
    p.reject(
      withOrigin(
        new JosgdbError('TIMEOUT', `no ${packetName(replyIdOf(p.req) ?? 0, 'toHost')} for ${p.what} within ${ms} ms`),
        p.origin,
      ),
    );
    this.pump();
  }

  /** Takes `p` off the wire: clears its timer and the decoder's read expectation. */
  private settle(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    if (this.inFlight === p) {
      this.inFlight = undefined;
      if (p.req.kind === 'readMemory') {
        const released = this.decoder.clearExpectation();
        if (released.length > 0) queueMicrotask(() => this.handle(released));
      }
    }
  }

  /** State effects of requests without a reply. */
  private afterSend(req: KernelRequest): void {
    switch (req.kind) {
      case 'continue':
      case 'traceStep':
      case 'traceStepCompact':
      case 'singleStep':
      case 'rangeStep':
        this.setState('running');
        break;
      case 'reset':
        // The machine reboots: firmware text again, then a new handshake (call connect()).
        this.decoder.reset({ connected: false });
        this.isWedged = false;
        this.stop = undefined;
        this.setState('disconnected');
        break;
      default:
    }
  }

  private requireFeature(feature: FeatureName, what: string): void {
    if (this.has(feature)) return;
    throw new JosgdbError(
      'UNSUPPORTED',
      `${what} needs the "${feature}" extension, which the target did not announce` +
        (this.features.size === 0 ? ' (a josx64 kernel speaks only the base protocol)' : ''),
    );
  }

  /** Rejects instead of throwing, so callers see one failure path. */
  private guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return fn();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ------------------------------------------------------------ base protocol

  /**
   * Reads target memory with ReadTargetMemory. Length 0 resolves empty without a
   * packet (josx64 would send no reply); above MAX_MEMORY_TRANSFER is refused. A
   * non-canonical range is refused (BAD_ADDRESS): it would wedge the kernel. Reading
   * unmapped memory wedges it too: the caller checks pages first; if it happens, the
   * promise rejects with TARGET_WEDGED and a `wedge` event follows.
   */
  readMemory(address: bigint, length: number): Promise<Buffer> {
    return this.guarded(() => {
      checkLength(length, MAX_MEMORY_TRANSFER, 'ReadTargetMemory');
      if (length === 0) return Promise.resolve(Buffer.alloc(0));
      checkRange(address, length, 'ReadTargetMemory');
      return this.enqueue<Buffer>({ kind: 'readMemory', address, length }, `ReadTargetMemory at ${hex(address)} (${length} bytes)`, {
        replyBytes: HEADER_SIZE + length,
        accept: (m) => (m.kind === 'memory' && m.data.length === length ? { value: m.data } : undefined),
      });
    });
  }

  /** Writes target memory (WriteTargetMemory: no reply exists; resolves once written to the link). */
  writeMemory(address: bigint, data: Buffer): Promise<void> {
    return this.guarded(() => {
      checkLength(data.length, MAX_MEMORY_TRANSFER, 'WriteTargetMemory');
      if (data.length === 0) return Promise.resolve();
      checkRange(address, data.length, 'WriteTargetMemory');
      return this.enqueue<void>(
        { kind: 'writeMemory', address, data: Buffer.from(data) },
        `WriteTargetMemory at ${hex(address)} (${data.length} bytes)`,
        {},
      );
    });
  }

  /** The four paging-structure entries for an address (TraversePageTable). */
  traversePageTable(address: bigint): Promise<{ address: bigint; pml4e: bigint; pdpte: bigint; pde: bigint; pte: bigint }> {
    return this.guarded(() =>
      this.enqueue({ kind: 'traversePageTable', address: checkU64(address) }, `TraversePageTable of ${hex(address)}`, {
        replyBytes: HEADER_SIZE + 40,
        accept: (m) => (m.kind === 'pageTable' && m.address === address ? { value: stripKind(m) } : undefined),
      }),
    );
  }

  rdmsr(msr: number): Promise<{ msr: number; lo: number; hi: number; value: bigint }> {
    return this.guarded(() =>
      this.enqueue({ kind: 'rdmsr', msr }, `RDMSR ${hex(msr)}`, {
        replyBytes: HEADER_SIZE + 12,
        accept: (m) => (m.kind === 'msr' && m.msr === msr ? { value: stripKind(m) } : undefined),
      }),
    );
  }

  cpuid(leaf: number, subleaf = 0): Promise<{ eax: number; ebx: number; ecx: number; edx: number }> {
    return this.guarded(() =>
      this.enqueue({ kind: 'cpuid', leaf, subleaf }, `CPUID ${hex(leaf)}/${subleaf}`, {
        replyBytes: HEADER_SIZE + 24,
        accept: (m) =>
          m.kind === 'cpuid' && m.leaf === leaf && m.subleaf === subleaf
            ? { value: { eax: m.eax, ebx: m.ebx, ecx: m.ecx, edx: m.edx } }
            : undefined,
      }),
    );
  }

  /**
   * Sends UpdateBreakpoints (no reply). An empty list clears every breakpoint, the
   * only reliable removal on josx64 (see docs/protocol.md for its list flaws).
   */
  updateBreakpoints(entries: readonly BreakpointEntry[]): Promise<void> {
    return this.guarded(() => {
      if (entries.length > MAX_BREAKPOINT_ENTRIES) {
        throw new JosgdbError('BAD_ARGUMENT', `UpdateBreakpoints: ${entries.length} entries, at most ${MAX_BREAKPOINT_ENTRIES}`);
      }
      for (const e of entries) {
        checkU64(e.address);
        if (e.state !== 0 && e.state !== 1 && e.state !== 2) {
          throw new JosgdbError('BAD_ARGUMENT', `UpdateBreakpoints: bad state ${String(e.state)} at ${hex(e.address)}`);
        }
      }
      const list = entries.map((e) => ({ address: e.address, state: e.state }));
      return this.enqueue<void>({ kind: 'updateBreakpoints', entries: list }, `UpdateBreakpoints (${list.length} entries)`, {});
    });
  }

  /**
   * Resumes the kernel: Continue, TraceStep (one instruction) or SingleStep (over a
   * CALL). Resolves once sent; the outcome is the next `stop` event.
   */
  resume(kind: ResumeKind): Promise<void> {
    const base = this.reportedRecord;
    if (kind === 'traceStep' && base && this.has(Feature.CompactStop)) {
      // The stop after one instruction differs from the last in a few registers: only those cross the link.
      return this.guarded(() => {
        this.compactBase = base;
        return this.enqueue<void>({ kind: 'traceStepCompact' }, 'TraceStepCompact', { states: ['stopped'] });
      });
    }
    const names: Record<ResumeKind, string> = { continue: 'Continue', traceStep: 'TraceStep', singleStep: 'SingleStep' };
    return this.guarded(() => this.enqueue<void>({ kind }, names[kind], { states: ['stopped'] }));
  }

  /** MemoryMap: the kernel traces its memory map (Trace events); no reply. */
  memoryMap(): Promise<void> {
    return this.guarded(() => this.enqueue<void>({ kind: 'memoryMap' }, 'MemoryMap', {}));
  }

  /** HiveDump: the kernel traces its hive (Trace events); no reply. */
  hiveDump(): Promise<void> {
    return this.guarded(() => this.enqueue<void>({ kind: 'hiveDump' }, 'HiveDump', {}));
  }

  // ------------------------------------------------------------ extensions

  /** write-registers: replaces rdi..r8, rip, rflags, rsp of the stopped frame. */
  writeRegisters(frame: InterruptFrame): Promise<void> {
    return this.guarded(() => {
      this.requireFeature(Feature.WriteRegisters, 'WriteRegisters');
      return this.enqueue<void>({ kind: 'writeRegisters', frame }, 'WriteRegisters', {
        replyBytes: HEADER_SIZE + 4,
        accept: (m) => {
          if (m.kind !== 'writeRegistersReply') return undefined;
          if (m.status !== 0) throw new JosgdbError('PROTOCOL', `WriteRegisters refused by the target (status ${m.status})`);
          return { value: undefined };
        },
      });
    });
  }

  /**
   * break-in: asks a running target to stop (it polls on its timer tick). Resolves
   * once sent (or at once, sending nothing, if the target is already stopped); the
   * stop arrives as a `stop` event of kind 'breakIn'.
   */
  breakIn(): Promise<void> {
    return this.guarded(() => {
      this.requireFeature(Feature.BreakIn, 'BreakIn');
      if (this.currentState === 'stopped' || this.currentState === 'asserted') return Promise.resolve();
      return this.enqueue<void>({ kind: 'breakIn' }, 'BreakIn', { states: RUNNING });
    });
  }

  /** safe-memory: a fault-guarded read; status 0 all read, 1/2 a fault after `data.length` bytes. */
  safeRead(address: bigint, length: number): Promise<SafeReadResult> {
    return this.guarded(() => {
      this.requireFeature(Feature.SafeMemory, 'SafeRead');
      checkLength(length, SAFE_MEMORY_MAX, 'SafeRead');
      checkU64(address);
      if (length === 0) return Promise.resolve({ status: 0, data: Buffer.alloc(0) });
      return this.enqueue<SafeReadResult>({ kind: 'safeRead', address, length }, `SafeRead at ${hex(address)} (${length} bytes)`, {
        replyBytes: HEADER_SIZE + 8 + length,
        accept: (m) => (m.kind === 'safeReadReply' && m.count <= length ? { value: { status: m.status, data: m.data } } : undefined),
      });
    });
  }

  /** safe-memory: a fault-guarded, acknowledged write (works on read-only code pages). */
  safeWrite(address: bigint, data: Buffer): Promise<SafeWriteResult> {
    return this.guarded(() => {
      this.requireFeature(Feature.SafeMemory, 'SafeWrite');
      checkLength(data.length, SAFE_MEMORY_MAX, 'SafeWrite');
      checkU64(address);
      if (data.length === 0) return Promise.resolve({ status: 0, count: 0 });
      return this.enqueue<SafeWriteResult>(
        { kind: 'safeWrite', address, data: Buffer.from(data) },
        `SafeWrite at ${hex(address)} (${data.length} bytes)`,
        {
          replyBytes: HEADER_SIZE + 8,
          accept: (m) => (m.kind === 'safeWriteReply' && m.count <= data.length ? { value: { status: m.status, count: m.count } } : undefined),
        },
      );
    });
  }

  /** hw-breakpoints: programs DR0-DR3/DR7. Rejects with BAD_ARGUMENT when the target refuses. */
  setHwBreakpoint(hw: HwBreakpointSpec): Promise<void> {
    return this.guarded(() => {
      this.requireFeature(Feature.HwBreakpoints, 'SetHwBreakpoint');
      checkHw(hw);
      return this.enqueue<void>({ kind: 'setHwBreakpoint', hw: { ...hw } }, `SetHwBreakpoint slot ${hw.slot} at ${hex(hw.address)}`, {
        replyBytes: HEADER_SIZE + 4,
        accept: (m) => {
          if (m.kind !== 'hwBreakpointReply') return undefined;
          if (m.status !== 0) {
            throw new JosgdbError('BAD_ARGUMENT', `the target refused hardware breakpoint slot ${hw.slot} at ${hex(hw.address)} (status ${m.status})`);
          }
          return { value: undefined };
        },
      });
    });
  }

  /** range-step: steps while start <= rip < end and stops once; the outcome is the next `stop`. */
  rangeStep(start: bigint, end: bigint): Promise<void> {
    return this.guarded(() => {
      this.requireFeature(Feature.RangeStep, 'RangeStep');
      checkU64(start);
      checkU64(end);
      return this.enqueue<void>({ kind: 'rangeStep', start, end }, `RangeStep [${hex(start)}, ${hex(end)})`, { states: ['stopped'] });
    });
  }

  /** full-context: segment selectors, fs/gs base, cr8, debug registers and FXSAVE of the stopped context. */
  readContext(): Promise<Context> {
    return this.guarded(() => {
      this.requireFeature(Feature.FullContext, 'ReadContext');
      return this.enqueue<Context>({ kind: 'readContext' }, 'ReadContext', {
        replyBytes: HEADER_SIZE + CONTEXT_SIZE,
        accept: (m) => (m.kind === 'context' ? { value: m.context } : undefined),
      });
    });
  }

  /**
   * reset: reboots the machine. Resolves once sent; the client is then
   * 'disconnected' and expects firmware text: call connect() to handshake again.
   */
  reset(): Promise<void> {
    return this.guarded(() => {
      this.requireFeature(Feature.Reset, 'Reset');
      return this.enqueue<void>({ kind: 'reset' }, 'Reset', { states: ['stopped', 'asserted', 'running'] });
    });
  }
}

// ---------------------------------------------------------------- helpers

function withOrigin(err: JosgdbError, origin: Error): JosgdbError {
  const frames = origin.stack?.split('\n').slice(1).join('\n');
  if (frames) err.stack = `${err.name}: ${err.message}\n${frames}`;
  return err;
}

function stripKind<T extends { kind: string }>(m: T): Omit<T, 'kind'> {
  const { kind: _kind, ...rest } = m;
  void _kind;
  return rest;
}

function checkU64(v: bigint): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
    throw new JosgdbError('BAD_ARGUMENT', `address ${String(v)} is not a 64-bit unsigned value`);
  }
  return v;
}

function checkLength(length: number, max: number, what: string): void {
  if (!Number.isInteger(length) || length < 0) throw new JosgdbError('BAD_ARGUMENT', `${what}: bad length ${length}`);
  if (length > max) throw new JosgdbError('BAD_ARGUMENT', `${what}: ${length} bytes is more than the ${max} one request may carry`);
}

function checkRange(address: bigint, length: number, what: string): void {
  checkU64(address);
  const last = address + BigInt(length) - 1n;
  if (!isCanonical(address) || !isCanonical(last) || last > 0xffffffffffffffffn || (address >> 47n) !== (last >> 47n)) {
    throw new JosgdbError(
      'BAD_ADDRESS',
      `${what} at ${hex(address)} (${length} bytes) touches non-canonical addresses: josx64 would fault inside its serial code and never recover`,
    );
  }
}

function checkHw(hw: HwBreakpointSpec): void {
  const bad = (why: string): never => {
    throw new JosgdbError('BAD_ARGUMENT', `SetHwBreakpoint: ${why}`);
  };
  if (!Number.isInteger(hw.slot) || hw.slot < 0 || hw.slot >= HW_BREAKPOINT_SLOTS) bad(`slot ${hw.slot} (0-3)`);
  if (!Object.values(HwBreakpointKind).includes(hw.kind)) bad(`kind ${String(hw.kind)} (0 execute, 1 write, 3 read/write)`);
  if (!HW_BREAKPOINT_LENGTHS.includes(hw.length)) bad(`length ${hw.length} (1, 2, 4 or 8)`);
  if (hw.kind === HwBreakpointKind.Execute && hw.length !== 1) bad('an execute breakpoint has length 1');
  if (hw.enable && hw.length > 1 && hw.address % BigInt(hw.length) !== 0n) bad(`${hex(hw.address)} is not aligned to ${hw.length}`);
  checkU64(hw.address);
}
