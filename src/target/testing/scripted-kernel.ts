/**
 * Fake kernels for tests of the client and of everything above it (the bridge):
 *
 *  - ScriptedKernel: the target end of a Link that decodes what the host sends the
 *    way josx64 reads it, records it, and sends whatever the test scripts (or an
 *    automatic responder answers).
 *  - replayCaptureAsKernel: plays a real josx64 capture back: it sends what the
 *    kernel sent and, where the capturing host sent a request, waits for the host
 *    under test to send the same one.
 */
import { JosgdbError } from '../../common/errors';
import type { Link } from '../../link/link';
import type { Capture } from './captures';
import { HostStreamDecoder, encodeKernelMessage, encodeRequest } from '../codec';
import { buildConnectionInfoBody, parseKernelInfo } from '../info';
import type { ConnectionInfoFields } from '../info';
import type { HostEvent, InterruptFrame, KernelMessage, KernelRequest, StopRecord } from '../messages';
import { HANDSHAKE, HANDSHAKE_AS_HEADER_ID } from '../protocol';
import type { StopKind } from '../protocol';

/** A plausible stop record (a breakpoint in a josx64 image), with overrides. */
export function makeStopRecord(
  overrides: Omit<Partial<StopRecord>, 'frame'> & { frame?: Partial<InterruptFrame> } = {},
): StopRecord {
  const frame: InterruptFrame = {
    rdi: 0n, rsi: 0x7857d1a8n, rbp: 0x7867d1e8n, rdx: 0n, rcx: 0n, rbx: 0n, rax: 0x1400129e0n,
    r15: 0n, r14: 0n, r13: 0n, r12: 0n, r11: 0n, r10: 0n, r9: 0n, r8: 0n,
    handlerId: 3n, errorCode: 0n, rip: 0x1400129e0n, cs: 0x38n, rflags: 0x246n, rsp: 0x7867d178n, ss: 0x30n,
    ...overrides.frame,
  };
  return {
    instruction: Buffer.from('4883ec28' + '00'.repeat(11), 'hex'),
    cr0: 0x80010033n,
    cr2: 0n,
    cr3: 0x7f801000n,
    cr4: 0x668n,
    callStackSize: 0,
    ...overrides,
    frame,
  };
}

export interface ScriptedKernelOptions {
  /** Extensions announced and understood (default none: a josx64 kernel). */
  features?: string[];
  /** Already past the handshake (for clients that attach). */
  connected?: boolean;
  /** KernelConnectionInfo fields (default: josx64 at 0x140000000). */
  info?: Partial<ConnectionInfoFields>;
  /** Answer the handshake with KernelConnectionInfo (default true). */
  autoInfo?: boolean;
  /** Called for each request; may answer with kernel.send(...). */
  respond?: (req: KernelRequest, kernel: ScriptedKernel) => void;
}

export class ScriptedKernel {
  /** Everything decoded from the host, in order. */
  readonly received: HostEvent[] = [];
  private readonly raw: Buffer[] = [];
  private readonly decoder: HostStreamDecoder;
  private readonly waiters: { match: (e: HostEvent) => boolean; resolve: (e: HostEvent) => void }[] = [];
  private consumed = 0;
  readonly infoFields: ConnectionInfoFields;

  constructor(
    readonly link: Link,
    private readonly opts: ScriptedKernelOptions = {},
  ) {
    this.decoder = new HostStreamDecoder({ connected: opts.connected ?? false, features: opts.features ?? [] });
    this.infoFields = { imageBase: 0x140000000n, entryPoint: 0x140001160n, vendor: 'AuthenticAMD', ...opts.info };
    if (opts.features) this.infoFields.features = opts.features;
    link.onData((chunk) => this.onData(chunk));
  }

  private onData(chunk: Buffer): void {
    this.raw.push(chunk);
    for (const ev of this.decoder.push(chunk)) {
      this.received.push(ev);
      if (ev.kind === 'handshake' && this.opts.autoInfo !== false) this.sendInfo();
      if (ev.kind === 'request') this.opts.respond?.(ev.request, this);
      const w = this.waiters.findIndex((x) => x.match(ev));
      if (w >= 0) this.waiters.splice(w, 1)[0].resolve(ev);
    }
  }

  /** All bytes the host sent. */
  get bytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  /** How many handshake copies the host sent (each is 8 bytes, `----josx`). */
  get handshakesSent(): number {
    const all = this.bytes;
    let n = 0;
    for (let at = all.indexOf(HANDSHAKE); at >= 0; at = all.indexOf(HANDSHAKE, at + 1)) n++;
    return n;
  }

  /** Requests decoded so far (handshake copies and unknown ids excluded). */
  get requests(): KernelRequest[] {
    return this.received.flatMap((e) => (e.kind === 'request' ? [e.request] : []));
  }

  send(msg: KernelMessage | Buffer): void {
    this.link.write(Buffer.isBuffer(msg) ? msg : encodeKernelMessage(msg));
  }

  sendInfo(): void {
    this.send({ kind: 'connectionInfo', info: parseKernelInfo(buildConnectionInfoBody(this.infoFields)) });
  }

  /** Sends a stop, followed by its callstack packet when `callstack` is non-empty. */
  sendStop(stopKind: StopKind = 'breakpoint', record: StopRecord = makeStopRecord(), callstack: bigint[] = []): void {
    const r = { ...record, callStackSize: callstack.length };
    this.send({ kind: 'stop', stopKind, record: r });
    if (callstack.length) this.send({ kind: 'callstack', addresses: callstack });
  }

  /** The next request not yet taken by nextRequest() (waits for it). */
  nextRequest(): Promise<KernelRequest> {
    const pending = this.received.filter((e) => e.kind === 'request');
    if (pending.length > this.consumed) {
      const ev = pending[this.consumed++] as Extract<HostEvent, { kind: 'request' }>;
      return Promise.resolve(ev.request);
    }
    return new Promise<KernelRequest>((resolve) => {
      this.waiters.push({
        match: (e) => e.kind === 'request',
        resolve: (e) => {
          this.consumed++;
          resolve((e as Extract<HostEvent, { kind: 'request' }>).request);
        },
      });
    });
  }

  /** Waits for the next decoded event matching `match` (e.g. the handshake). */
  waitFor(match: (e: HostEvent) => boolean): Promise<HostEvent> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

/** The requests a capture's host sent, as a client can send them (no zero-length reads, no unknown ids). */
export function captureRequests(capture: Capture): KernelRequest[] {
  const host = new HostStreamDecoder();
  return host
    .push(capture.tx)
    .flatMap((e) => (e.kind === 'request' && !(e.request.kind === 'readMemory' && e.request.length === 0) ? [e.request] : []));
}

/**
 * Plays a capture back as the kernel over `link`: sends each rx event's bytes and,
 * at each tx event, waits for the host under test to send the same request (its
 * handshake, for the capture's). Requests a client cannot send (a zero-length read,
 * an unknown id) are not waited for. Rejects on the first request that differs.
 */
export async function replayCaptureAsKernel(link: Link, capture: Capture, opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const kernel = new HostStreamDecoder();
  const inbox: HostEvent[] = [];
  let wake: (() => void) | undefined;
  link.onData((chunk) => {
    for (const e of kernel.push(chunk)) {
      // A late handshake copy reads as an unknown header: josx64 ignores it, so does the replay.
      if (e.kind === 'unknown' && e.id === HANDSHAKE_AS_HEADER_ID) continue;
      inbox.push(e);
    }
    wake?.();
  });
  const next = async (): Promise<HostEvent> => {
    const deadline = Date.now() + timeoutMs;
    while (inbox.length === 0) {
      if (link.closed) throw new JosgdbError('LINK_CLOSED', 'replay: the host closed the link');
      const left = deadline - Date.now();
      if (left <= 0) throw new JosgdbError('TIMEOUT', 'replay: the host sent nothing');
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.min(left, 50)).unref();
      });
      wake = undefined;
    }
    return inbox.shift() as HostEvent;
  };
  const expected = new HostStreamDecoder();
  for (const e of capture.events) {
    if (e.dir === 'rx') {
      link.write(e.bytes);
      continue;
    }
    for (const want of expected.push(e.bytes)) {
      if (want.kind === 'unknown') continue;
      if (want.kind === 'request' && want.request.kind === 'readMemory' && want.request.length === 0) continue;
      const got = await next();
      if (want.kind === 'handshake') {
        if (got.kind !== 'handshake') throw new JosgdbError('PROTOCOL', `replay: expected the handshake, got ${got.kind}`);
        continue;
      }
      if (got.kind !== 'request' || want.kind !== 'request' || !encodeRequest(got.request).equals(encodeRequest(want.request))) {
        throw new JosgdbError(
          'PROTOCOL',
          `replay of ${capture.name}: expected ${JSON.stringify(want, jsonBig)}, got ${JSON.stringify(got, jsonBig)}`,
        );
      }
    }
  }
}

function jsonBig(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `0x${v.toString(16)}` : v;
}

