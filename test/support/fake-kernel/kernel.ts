/**
 * FakeKernel: a deterministic, QEMU-free double of the josx64 kernel debugger.
 *
 * The debugger half reproduces josx64's kernel/debugger.c step by step (its
 * breakpoint vector, the `_last_rt_bp` re-arm after a hit, the `rip - 1` lookup in
 * the trap handler, the stale slot pointer, the swap-without-shrink removal), so
 * each of the brief's flaws 1-7 is the real code path when switched on and a
 * corrected path when off. The machine half (machine.ts) runs the built-in program
 * (program.ts) in slices on setImmediate, so a running kernel never blocks the
 * event loop. The transport half is a TCP server that behaves like QEMU's
 * `-serial tcp:...,server=on`: one client at a time, output dropped while nobody is
 * connected, state kept across reconnects.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { Mnemonic } from 'iced-x86';
import { ByteWriter, isCanonical } from '../../../src/common/bytes';
import { Access, GPRS, Gpr, Machine, StepResult, TF } from './machine';
import { CODE, CODE_BASE, CODE_END, IMAGE_BASE, STACK_TOP, SYMBOLS, sym } from './program';
import { CONTEXT_SIZE, FRAME_FIELDS, FRAME_SIZE, Frame, Id, RESPONSE, decodeFrame, encodeCompactStop, encodeStopRecord, packet } from './wire';

export type FlawNumber = 1 | 2 | 3 | 4 | 5 | 6 | 7;
export const ALL_FEATURES = [
  'write-registers', 'break-in', 'safe-memory', 'hw-breakpoints', 'range-step', 'full-context', 'reset', 'all-exceptions',
  'compact-stop',
] as const;
export type Feature = (typeof ALL_FEATURES)[number];

export interface FakeKernelOptions {
  /** Switch individual josx64 flaws on (all off by default). */
  flaws?: Partial<Record<FlawNumber, boolean>>;
  /** All seven flaws on: an unmodified josx64 kernel. */
  compat?: boolean;
  /** Extensions to announce and implement; empty = base protocol, no `features` key. */
  features?: readonly string[];
  /** Instructions interpreted per event-loop turn while running (default 500: a few ms). */
  instructionsPerSlice?: number;
  /** Input arriving this soon after a pre-handshake connect is lost, as to the firmware console (default 0). */
  bootInputDropMs?: number;
  /** The image base KernelConnectionInfo reports (default: where the code is), as after a firmware loaded the image elsewhere. */
  reportedImageBase?: bigint;
  /** system_info.memory in KernelConnectionInfo (default 2^53 + 1, to test exact parsing). */
  memory?: bigint;
  /** Emit firmware/trace text to a client that connects before the handshake (default true). */
  noise?: boolean;
}

export interface KernelBreakpoint {
  address: bigint;
  originalByte: number;
  active: boolean;
  transient: boolean;
}
export interface FakeEvent {
  seq: number;
  kind: string;
  detail: string;
}
export type KernelPhase = 'booting' | 'running' | 'stopped' | 'halted';
export type StopKind = 'frame' | 'assert' | 'wedge';

interface Bp {
  address: bigint;
  orig: number;
  active: boolean;
  transient: boolean;
}
interface Stop {
  kind: StopKind;
  vector: number;
  errorCode: bigint;
  /** The breakpoint slot found at the stop (the kernel's `bp` pointer), if any. */
  hitSlot: number | null;
  hitAddr: bigint | null;
  hitTransient: boolean;
  fault: { rip: bigint; nextRip: bigint } | null;
  /** For a wedge: the fault packet every resume sends again. */
  wedge: Buffer | null;
}
interface HwSlot {
  kind: 0 | 1 | 3;
  length: number;
  address: bigint;
}
type Resume = 'continue' | 'trace' | 'single' | 'range';

const HYPERVISOR_ID = Buffer.from([0x6e, 0xa7, 0x46, 0x4f, 0x6e, 0x68, 0xea, 0x7f]); // as captured: not UTF-8
const TIMER_VECTOR = 0x20;
const SAFE_MAX = 65536;
const EXTENSION_FEATURE: Record<number, Feature> = {
  [Id.WriteRegisters]: 'write-registers',
  [Id.BreakIn]: 'break-in',
  [Id.SafeRead]: 'safe-memory',
  [Id.SafeWrite]: 'safe-memory',
  [Id.SetHwBreakpoint]: 'hw-breakpoints',
  [Id.RangeStep]: 'range-step',
  [Id.ReadContext]: 'full-context',
  [Id.Reset]: 'reset',
  [Id.TraceStepCompact]: 'compact-stop',
};
/** Stop packets and where their stop record starts (HwBreakpoint puts slot and dr6 first). */
const STOP_RECORD_AT: ReadonlyMap<number, number> = new Map([
  [Id.Breakpoint, 0], [Id.GPF, 0], [Id.UD, 0], [Id.PF, 0], [Id.Exception, 0], [Id.BreakIn + RESPONSE, 0], [Id.HwBreakpoint, 9],
]);

const FIRMWARE_TEXT =
  '\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01H\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01H' +
  'BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00005 " from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x2,0xFFFF,0x0): Not Found\r\n' +
  'BdsDxe: loading Boot0002 "UEFI QEMU HARDDISK QM00001 " from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)\r\n' +
  'BdsDxe: starting Boot0002 "UEFI QEMU HARDDISK QM00001 " from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)\r\n' +
  'jox64\n';
const BOOT_TRACES = [
  '[kernel] uefi init',
  '[pagetables] initialising',
  '[pagetables] pml4 @ 0x7f801000',
  '[memory] uefi init succeeded',
  '[kernel] uefi init ok',
  '[efi_main] kernel starting',
  `[image_protocol] image is 12288 bytes, loaded at 0x0${IMAGE_BASE.toString(16)}, efi_main @ 0x0${sym('efi_main').toString(16)}`,
  '[interrupts] initialised',
  '[tasks] initialising for ap 0 (ctx 0x7857d0a8)',
];

function hx(v: bigint): string {
  return '0x' + v.toString(16);
}

export class FakeKernel extends EventEmitter {
  /** Symbol name -> address of the built-in program (functions, loop labels, globals). */
  readonly symbols: Readonly<Record<string, bigint>> = SYMBOLS;
  readonly features: readonly string[];
  /** compact-stop: the last stop record sent, and whether the next stop is to be sent compact. */
  private lastRecord: Buffer | null = null;
  private compactNext = false;
  readonly events: FakeEvent[] = [];
  /** TCP port of the QEMU-like server (after listen()). */
  port = 0;
  phase: KernelPhase = 'booting';

  private readonly flawOn: ReadonlySet<number>;
  private readonly sliceSize: number;
  private server: net.Server | null = null;
  private client: Duplex | null = null;
  private readonly waiting: Duplex[] = [];
  private connectedAt = 0;
  private input = Buffer.alloc(0);
  private m = Machine.boot();
  private stop: Stop | null = null;
  private bps: Bp[] = [];
  private transient: { at: bigint; orig: number } | null = null; // flaw 5 off only
  private lastRt: bigint | null = null; // josx64's _last_rt_bp: re-arm this address at the next #DB
  private lastCommand: 'continue' | 'trace' | 'single' = 'continue';
  private range: { start: bigint; end: bigint } | null = null;
  private hw: (HwSlot | null)[] = [null, null, null, null];
  private dr6 = 0xffff0ff0n;
  private skipExecCheck = false; // RF: the first instruction after a resume ignores execute breakpoints
  private pendingSkipTrap = false;
  private matchPos = 0;
  private timer: NodeJS.Immediate | null = null;
  private stopCount = 0;
  private seq = 0;
  private closed = false;

  constructor(private readonly opts: FakeKernelOptions = {}) {
    super();
    const flaws = Object.entries(opts.flaws ?? {}).filter(([, on]) => on).map(([n]) => Number(n));
    this.flawOn = new Set(opts.compat ? [1, 2, 3, 4, 5, 6, 7] : flaws);
    this.features = [...(opts.features ?? [])];
    this.sliceSize = opts.instructionsPerSlice ?? 500;
  }

  /** Start a QEMU-like TCP serial server on 127.0.0.1, port 0. */
  static async listen(opts: FakeKernelOptions = {}): Promise<FakeKernel> {
    const k = new FakeKernel(opts);
    const server = net.createServer((sock) => {
      sock.setNoDelay(true);
      k.attach(sock);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    k.server = server;
    k.port = (server.address() as net.AddressInfo).port;
    return k;
  }

  /** Serve one byte stream (a socket or any Duplex). A second one waits until the first closes, as with QEMU. */
  attach(stream: Duplex): void {
    if (this.closed) {
      stream.destroy();
      return;
    }
    if (this.client) {
      stream.pause();
      this.waiting.push(stream);
      return;
    }
    this.client = stream;
    this.connectedAt = Date.now();
    this.log('connect', this.phase);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (this.client !== stream) return;
      this.client = null;
      this.log('disconnect', '');
      const next = this.waiting.shift();
      if (next) {
        next.resume();
        this.attach(next);
      }
    });
    stream.resume();
    if (this.phase === 'booting') this.emitBootNoise();
  }

  /** Drops the current host connection (a pulled cable); the kernel keeps its state, as under QEMU. */
  dropConnection(): void {
    this.client?.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    for (const s of [this.client, ...this.waiting]) s?.destroy();
    this.waiting.length = 0;
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ inspection

  get connected(): boolean {
    return this.client !== null;
  }
  get stopKind(): StopKind | null {
    return this.stop?.kind ?? null;
  }
  flaw(n: FlawNumber): boolean {
    return this.flawOn.has(n);
  }
  has(feature: Feature): boolean {
    return this.features.includes(feature);
  }
  /** The machine's registers now, in InterruptFrame form (handler_id/error_code of the current stop). */
  get registers(): Frame {
    return this.frame(this.stop?.vector ?? 0, this.stop?.errorCode ?? 0n);
  }
  /** True memory bytes, 0xCC breakpoint bytes included. Throws on unmapped memory. */
  readMemoryDirect(address: bigint, length: number): Buffer {
    const b = this.m.peek(address, length);
    if (b.length !== length) throw new Error(`fake kernel: ${hx(address + BigInt(b.length))} is not mapped`);
    return b;
  }
  writeMemoryDirect(address: bigint, data: Uint8Array): void {
    if (this.m.poke(address, data) !== data.length) throw new Error(`fake kernel: ${hx(address)} is not mapped`);
  }
  readU64(address: bigint): bigint {
    return this.readMemoryDirect(address, 8).readBigUInt64LE();
  }
  /** Select the fault path main takes on its next loop iteration (program.ts Trigger). */
  setTrigger(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.writeMemoryDirect(sym('g_trigger'), b);
  }
  /** The code as loaded, before any breakpoint byte. */
  originalCode(): { address: bigint; bytes: Buffer } {
    return { address: CODE_BASE, bytes: Buffer.from(CODE) };
  }
  /**
   * Code addresses whose byte differs from the loaded program. Empty = no 0xCC left
   * behind. With exceptArmed, addresses the kernel itself has armed are left out, so
   * what remains is a byte nobody will ever restore (flaw 3, flaw 4).
   */
  strayBreakpointBytes(opts: { exceptArmed?: boolean } = {}): bigint[] {
    const out: bigint[] = [];
    const now = this.m.peek(CODE_BASE, CODE.length);
    for (let i = 0; i < CODE.length; i++) {
      if (now[i] === CODE[i]) continue;
      const a = CODE_BASE + BigInt(i);
      if (opts.exceptArmed && (this.bps.some((b) => b.active && b.address === a) || this.transient?.at === a)) continue;
      out.push(a);
    }
    return out;
  }
  /** The kernel's own breakpoint list, duplicates and all (flaw 2 and 5 are visible here). */
  breakpointList(): KernelBreakpoint[] {
    const list = this.bps.map((b) => ({ address: b.address, originalByte: b.orig, active: b.active, transient: b.transient }));
    if (this.transient) list.push({ address: this.transient.at, originalByte: this.transient.orig, active: true, transient: true });
    return list;
  }
  /** Resolves at the next event of `kind` (or at once if `ready()` already holds). */
  waitFor(kind: string, ready: () => boolean = () => false, timeoutMs = 5000): Promise<FakeEvent | null> {
    if (ready()) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('event', on);
        reject(new Error(`fake kernel: no ${kind} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (e: FakeEvent): void => {
        if (e.kind !== kind) return;
        clearTimeout(timer);
        this.off('event', on);
        resolve(e);
      };
      this.on('event', on);
    });
  }
  waitForStop(timeoutMs = 5000): Promise<FakeEvent | null> {
    return this.waitFor('stop', () => this.phase === 'stopped', timeoutMs);
  }

  private log(kind: string, detail: string): void {
    const e = { seq: this.seq++, kind, detail };
    this.events.push(e);
    if (this.events.length > 5000) this.events.splice(0, 1000);
    this.emit('event', e);
  }

  // ------------------------------------------------------------------ transport

  private send(bytes: Buffer): void {
    if (this.client && !this.client.destroyed) this.client.write(bytes);
    else this.log('dropped', `${bytes.length} bytes`);
  }
  private sendPacket(id: number, body: Buffer = Buffer.alloc(0)): void {
    this.log('tx', `id=${hx(BigInt(id))} length=${body.length}`);
    this.send(packet(id, body));
  }
  private trace(channel: string, message: string): void {
    this.log('trace', `[${channel}] ${message}`);
    this.sendPacket(Id.Trace, Buffer.from(`[${channel}] ${message}`, 'latin1'));
  }
  private emitBootNoise(): void {
    if (this.opts.noise === false) return;
    const lines = BOOT_TRACES.map((l) => `${l}\r\n\0`).join('');
    this.send(Buffer.from(FIRMWARE_TEXT + lines + '\n', 'latin1'));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.phase === 'booting') {
      if (Date.now() - this.connectedAt < (this.opts.bootInputDropMs ?? 0)) {
        this.log('dropped-input', `${chunk.length} bytes while the firmware reads the port`);
        return;
      }
      let i = 0;
      while (i < chunk.length && this.phase === 'booting') this.handshakeByte(chunk[i++]!);
      chunk = chunk.subarray(i);
    }
    if (chunk.length) this.input = Buffer.concat([this.input, chunk]);
    this.pump();
  }

  /** josx64's matcher: a mismatch resets to 0 without re-testing the byte, so `jjosx` fails and `xxjosx` works. */
  private handshakeByte(b: number): void {
    if (b === 'josx'.charCodeAt(this.matchPos)) {
      if (++this.matchPos === 4) this.connect();
    } else {
      this.matchPos = 0;
    }
  }

  private connect(): void {
    this.log('handshake', '');
    const features = this.features.length ? `, "features" : [ ${this.features.map((f) => `"${f}"`).join(', ')} ]` : '';
    const memory = this.opts.memory ?? 2n ** 53n + 1n;
    const head =
      `{ "version" : { "major" : 0, "minor" : 1, "patch" : 0 }, "image_info" : { "base" : ${this.opts.reportedImageBase ?? IMAGE_BASE}, ` +
      `"entry_point" : ${sym('efi_main')} }, "system_info" : { "processors" : 1, "memory" : ${memory}, ` +
      `"vendor" : "AuthenticAMD", "hypervisor" : { "id" : "`;
    const tail = `" }, "xsave" : { "size" : 832, "bitmap" : 7 } }${features} }`;
    this.sendPacket(Id.KernelConnectionInfo, Buffer.concat([Buffer.from(head, 'latin1'), HYPERVISOR_ID, Buffer.from(tail, 'latin1')]));
    this.trace('debugger', 'connected');
    this.setBreakpoint(sym('main')); // never announced to the host
    this.trace('tasks', `created task "main" 0x${sym('main').toString(16).padStart(10, '0')} (0x0), pri 1`);
    this.phase = 'running';
    this.schedule();
  }

  // ------------------------------------------------------------------ execution

  private schedule(): void {
    if (this.timer || this.closed || this.phase !== 'running') return;
    this.timer = setImmediate(() => this.slice());
  }

  private slice(): void {
    this.timer = null;
    if (this.phase !== 'running' || this.closed) return;
    if (this.pendingSkipTrap) {
      this.pendingSkipTrap = false;
      this.debugException(1); // the skipped faulting instruction counts as the stepped one
    } else if (this.has('break-in') && this.lastRt === null && this.input.length >= 8 && this.input.readUInt32LE(0) === Id.BreakIn) {
      this.input = this.input.subarray(8 + this.input.readUInt32LE(4));
      this.stopWith({ kind: 'frame', vector: TIMER_VECTOR }, [packet(Id.BreakIn + RESPONSE, this.record(TIMER_VECTOR, 0n, 0))]);
    }
    for (let n = 0; n < this.sliceSize && this.phase === 'running'; n++) this.runOne();
    this.schedule();
  }

  private runOne(): void {
    const m = this.m;
    if (!this.skipExecCheck) {
      const slot = this.hw.findIndex((h) => h?.kind === 0 && h.address === m.rip);
      if (slot >= 0) return this.debugException(1, slot);
    }
    this.skipExecCheck = false;
    const tf = (m.rflags & TF) !== 0n;
    const r: StepResult = m.step();
    switch (r.kind) {
      case 'ok': {
        const slot = this.watchHit(r.accesses);
        if (slot >= 0 || tf) this.debugException(1, slot >= 0 ? slot : undefined);
        return;
      }
      case 'int3':
        return this.debugException(3);
      case 'assert': {
        const json = `{ "assert" : { "cond" : "g_trigger != 4", "file" : "kernel/main.c", "line" : 42 } }`;
        this.stopWith({ kind: 'assert' }, [packet(Id.Assert, Buffer.from(json, 'latin1'))]);
        return;
      }
      case 'fault': {
        const base = ({ 6: Id.UD, 13: Id.GPF, 14: Id.PF } as Record<number, number>)[r.vector];
        const id = base ?? (this.has('all-exceptions') ? Id.Exception : undefined);
        if (id === undefined) {
          this.trace('interrupts', `unhandled exception ${r.vector} at ${hx(r.rip)}, halting`);
          this.phase = 'halted';
          this.log('halt', `vector ${r.vector}`);
          return;
        }
        const fault = { rip: r.rip, nextRip: r.nextRip };
        this.stopWith({ kind: 'frame', vector: r.vector, errorCode: r.errorCode, fault }, [packet(id, this.record(r.vector, r.errorCode, 0))]);
        return;
      }
    }
  }

  private watchHit(accesses: Access[]): number {
    return this.hw.findIndex(
      (h) =>
        h !== null &&
        h.kind !== 0 &&
        accesses.some((a) => (a.write || h.kind === 3) && a.address < h.address + BigInt(h.length) && h.address < a.address + BigInt(a.size)),
    );
  }

  /** josx64's _debugger_isr_handler for vectors 1 and 3 (plus hardware breakpoints, an extension). */
  private debugException(vector: 1 | 3, hwSlot?: number): void {
    const m = this.m;
    if (this.lastRt !== null) {
      m.poke(this.lastRt, 0xcc); // put back the breakpoint we just stepped off
      this.lastRt = null;
      if (this.lastCommand !== 'trace' && hwSlot === undefined) {
        m.rflags &= ~TF;
        return; // silently run on
      }
    }
    if (hwSlot !== undefined) {
      this.dr6 = 0xffff0ff0n | (1n << BigInt(hwSlot));
      const body = new ByteWriter().u8(hwSlot).u64(this.dr6).bytes(this.record(1, 0n, 0)).toBuffer();
      this.stopWith({ kind: 'frame', vector: 1 }, [packet(Id.HwBreakpoint, body)]);
      return;
    }
    if (vector === 1 && this.range) {
      if (m.rip >= this.range.start && m.rip < this.range.end) return; // keep stepping, TF stays set
    }
    const stop: Partial<Stop> = { kind: 'frame', vector };
    let report = true;
    // flaw 1: the trap handler also looks for a breakpoint at rip - 1
    if (vector === 3 || this.flaw(1)) {
      const at = m.rip - 1n;
      if (vector === 3 && this.transient?.at === at) {
        m.poke(at, this.transient.orig);
        m.rip = at;
        this.transient = null; // done with: gone from the list at once
        Object.assign(stop, { hitTransient: true, hitAddr: at });
      } else {
        const slot = this.find(at);
        if (slot >= 0) {
          const bp = this.bps[slot]!;
          Object.assign(stop, { hitSlot: slot, hitAddr: at });
          if (bp.active) {
            m.poke(at, bp.orig);
            m.rip = at;
          } else {
            report = false; // an inactive entry there: no packet, but the kernel waits for commands
          }
        }
      }
    }
    const packets: Buffer[] = [];
    if (report) {
      const stack = this.scanStack();
      packets.push(packet(Id.Breakpoint, this.record(vector, 0n, stack.length)));
      if (stack.length) {
        const w = new ByteWriter();
        for (const v of stack) w.u64(v);
        packets.push(packet(Id.BreakpointCallstack, w.toBuffer()));
      }
    }
    this.stopWith(stop, packets);
  }

  /**
   * compact-stop: a stop after TraceStepCompact that would be a Breakpoint goes
   * out as a CompactStop relative to the last stop record sent, without its
   * callstack. Every stop record sent becomes the next one's base.
   */
  private compactIfAsked(packets: Buffer[]): Buffer[] {
    const compact = this.compactNext;
    this.compactNext = false;
    const first = packets[0];
    if (compact && this.lastRecord && first && first.readUInt32LE(0) === Id.Breakpoint) {
      const record = first.subarray(8, 8 + 225);
      // The stack below rsp down to the start of its 64-byte line, as stub-uefi sends it.
      const rsp = this.m.regs.rsp;
      const below = Number(rsp & 63n);
      const stack = below > 0 && this.m.isMapped(rsp - BigInt(below)) ? this.m.peek(rsp - BigInt(below), below) : Buffer.alloc(0);
      const out = packet(Id.CompactStop, encodeCompactStop(this.lastRecord, record, stack));
      this.lastRecord = Buffer.from(record);
      return [out];
    }
    for (const p of packets) {
      const at = STOP_RECORD_AT.get(p.readUInt32LE(0));
      if (at !== undefined) this.lastRecord = Buffer.from(p.subarray(8 + at, 8 + at + 225));
    }
    return packets;
  }

  private stopWith(partial: Partial<Stop>, wanted: Buffer[]): void {
    const packets = this.compactIfAsked(wanted);
    this.stop = {
      kind: 'frame', vector: 0, errorCode: 0n, hitSlot: null, hitAddr: null, hitTransient: false, fault: null, wedge: null,
      ...partial,
    };
    this.phase = 'stopped';
    this.range = null;
    this.stopCount++;
    for (const p of packets) {
      this.log('tx', `id=${hx(BigInt(p.readUInt32LE(0)))} length=${p.length - 8}`);
      this.send(p);
    }
    this.log('stop', `${this.stop.kind} vector ${this.stop.vector} rip ${hx(this.m.rip)}${packets.length ? '' : ' (silent)'}`);
    this.pump();
  }

  /** Values on the stack between rsp and the stack top that point into the code section. */
  private scanStack(): bigint[] {
    const out: bigint[] = [];
    for (let a = this.m.regs.rsp; a + 8n <= STACK_TOP; a += 8n) {
      const b = this.m.peek(a, 8);
      if (b.length < 8) break;
      const v = b.readBigUInt64LE();
      if (v >= CODE_BASE && v < CODE_END) out.push(v);
    }
    return out;
  }

  private frame(vector: number, errorCode: bigint): Frame {
    const m = this.m;
    const f = {} as Frame;
    for (const name of FRAME_FIELDS) f[name] = (GPRS as readonly string[]).includes(name) ? m.regs[name as Gpr] : 0n;
    Object.assign(f, { handler_id: BigInt(vector), error_code: errorCode, rip: m.rip, cs: 0x38n, rflags: m.rflags, rsp: m.regs.rsp, ss: 0x30n });
    return f;
  }

  private record(vector: number, errorCode: bigint, callStackSize: number, f = this.frame(vector, errorCode)): Buffer {
    const m = this.m;
    return encodeStopRecord(f, this.instructionBytes(f.rip), { cr0: m.cr0, cr2: m.cr2, cr3: m.cr3, cr4: m.cr4 }, callStackSize);
  }

  /** The valid instruction bytes, then leftover stack garbage; zeros if it does not decode. */
  private instructionBytes(rip: bigint): Buffer {
    const insn = this.m.decodeAt(rip);
    if (!insn) return Buffer.alloc(15);
    const b = Buffer.from(Array.from({ length: 15 }, (_, i) => (0x5a + 0x3b * i + 7 * this.stopCount) & 0xff));
    insn.bytes.copy(b, 0);
    return b;
  }

  // ------------------------------------------------------------------ the debugger loop

  private pump(): void {
    while (this.phase === 'stopped' && this.input.length >= 8 && !this.closed) {
      if (!this.command(this.input.readUInt32LE(0), this.input.readUInt32LE(4))) return;
    }
  }

  /** One command; false if it needs more input first. */
  private command(id: number, len: number): boolean {
    const total = 8 + len;
    const have = this.input.length >= total;
    const body = (size: number): Buffer => {
      const b = Buffer.alloc(Math.max(size, len)); // a short body leaves the rest of the struct as it was (zero here)
      this.input.copy(b, 0, 8, total);
      return b;
    };
    const consume = (n: number): void => {
      this.input = this.input.subarray(n);
    };
    const feature = EXTENSION_FEATURE[id];
    if (feature && this.has(feature)) {
      if (!have) return false;
      const b = body(0);
      consume(total);
      this.log('rx', `id=${hx(BigInt(id))} length=${len}`);
      this.extension(id, b);
      return true;
    }
    this.log('rx', `id=${hx(BigInt(id))} length=${len}`);
    switch (id) {
      case Id.Continue:
      case Id.TraceStep:
      case Id.SingleStep:
        consume(8); // these read no body
        this.resume(id === Id.Continue ? 'continue' : id === Id.TraceStep ? 'trace' : 'single');
        return true;
      case Id.ReadTargetMemory: {
        if (!have) return false;
        const b = body(12);
        consume(total);
        this.readTarget(b.readBigUInt64LE(0), b.readUInt32LE(8));
        return true;
      }
      case Id.WriteTargetMemory: {
        if (!have) return false;
        const b = body(12);
        const address = b.readBigUInt64LE(0);
        const n = b.readUInt32LE(8);
        // the kernel reads the data straight into place: it takes bytes until one cannot be stored
        const writable = this.m.peek(address, n).length;
        const take = writable < n ? writable + 1 : n;
        if (this.input.length < total + take) return false;
        const data = this.input.subarray(total, total + writable);
        consume(total + take);
        this.writeMemory(address, data);
        if (writable < n) this.wedge(address + BigInt(writable), true);
        return true;
      }
      case Id.TraversePageTable: {
        if (!have) return false;
        const address = body(8).readBigUInt64LE(0);
        consume(total);
        const w = new ByteWriter().u64(address);
        for (const e of this.pageTableEntries(address)) w.u64(e);
        this.sendPacket(Id.TraversePageTable + RESPONSE, w.toBuffer());
        return true;
      }
      case Id.RDMSR: {
        if (!have) return false;
        const msr = body(4).readUInt32LE(0);
        consume(total);
        const v = ({ 0xc0000080: 0xd00n, 0x1b: 0xfee00900n, 0xc0000101: 0x77b750a8n } as Record<number, bigint>)[msr] ?? 0n;
        this.sendPacket(Id.RDMSR + RESPONSE, new ByteWriter().u32(msr).u32(Number(v & 0xffffffffn)).u32(Number(v >> 32n)).toBuffer());
        return true;
      }
      case Id.CPUID: {
        if (!have) return false;
        const b = body(8);
        consume(total);
        const leaf = b.readUInt32LE(0);
        const regs: Record<number, number[]> = {
          0: [0xd, 0x68747541, 0x444d4163, 0x69746e65], // eax ebx ecx edx: "AuthenticAMD"
          1: [0x00a00f11, 0x00000800, 0x80802001, 0x178bfbff],
          0x80000000: [0x80000008, 0x68747541, 0x444d4163, 0x69746e65],
        };
        const w = new ByteWriter().u32(leaf).u32(b.readUInt32LE(4));
        for (const r of regs[leaf] ?? [0, 0, 0, 0]) w.u32(r);
        this.sendPacket(Id.CPUID + RESPONSE, w.toBuffer());
        return true;
      }
      case Id.UpdateBreakpoints: {
        const n = Math.floor(len / 9);
        if (n === 0) {
          consume(8); // the body, if any, is left unread
          this.clearAll();
          return true;
        }
        if (!have) return false;
        const b = body(0);
        consume(total);
        for (let i = 0; i < n && this.stop?.kind !== 'wedge'; i++) this.updateBreakpoint(b.readBigUInt64LE(i * 9), b[i * 9 + 8]!);
        return true;
      }
      case Id.MemoryMap:
        consume(8);
        this.trace('memory', 'free kernel memory on startup 61 MB');
        this.trace('memory', `Loader Code: 0000000${IMAGE_BASE.toString(16)} 12 KB`);
        return true;
      case Id.HiveDump:
        consume(8);
        this.trace('hive', 'kernel:version : 0.1.0');
        return true;
      default:
        consume(8); // the body is NOT consumed: the stream desynchronises, as on the real kernel
        this.trace('debugger', `unhandled packet id ${id}, length ${len}`);
        return true;
    }
  }

  private resume(cmd: Resume, range?: { start: bigint; end: bigint }): void {
    const s = this.stop!;
    const m = this.m;
    if (s.kind === 'assert') {
      this.log('ignored', `${cmd}: an assert has no frame to resume`);
      return;
    }
    if (s.kind === 'wedge') {
      this.log('tx', 'wedge fault again');
      this.send(s.wedge!); // the faulting serial instruction runs again
      return;
    }
    // flaw 6 off: resuming on an armed breakpoint that was not hit (a step landed on it) steps over it
    let steppedOver: bigint | null = null;
    if (!this.flaw(6) && s.hitSlot === null && !s.hitTransient) {
      const slot = this.find(m.rip);
      const bp = this.bps[slot];
      if (bp?.active && m.peek8(m.rip) === 0xcc) {
        m.poke(m.rip, bp.orig);
        steppedOver = m.rip;
      } else if (this.transient?.at === m.rip) {
        m.poke(m.rip, this.transient.orig);
        this.transient = null;
      }
    }
    if (cmd === 'single') {
      const insn = m.decodeAt(m.rip);
      if (!insn) return; // the kernel ignores it and keeps waiting
      if (insn.mnemonic === Mnemonic.Call) {
        this.setTransient(m.rip + BigInt(insn.length));
        m.rflags &= ~TF;
        this.lastCommand = 'single';
      } else {
        m.rflags |= TF;
        this.lastCommand = 'trace';
      }
    } else if (cmd === 'continue') {
      m.rflags &= ~TF;
      this.lastCommand = 'continue';
    } else {
      m.rflags |= TF;
      this.lastCommand = 'trace';
      if (range) this.range = range;
    }
    this.afterLoop(s);
    if (steppedOver !== null) {
      this.lastRt = steppedOver;
      m.rflags |= TF;
    }
    // flaw 7 off: continuing after a fault skips the faulting instruction (unless the host moved rip)
    if (s.fault && !this.flaw(7) && m.rip === s.fault.rip && s.fault.nextRip !== s.fault.rip) {
      m.rip = s.fault.nextRip;
      if (this.lastRt !== null) m.rflags |= TF;
      this.pendingSkipTrap = (m.rflags & TF) !== 0n;
    }
    this.stop = null;
    this.phase = 'running';
    this.skipExecCheck = true;
    this.log('resume', cmd);
    this.schedule();
  }

  /** What josx64 does after its debugger loop returns, with the stale `bp` pointer of flaw 3. */
  private afterLoop(s: Stop): void {
    const m = this.m;
    if (s.hitTransient) {
      this.lastRt = null;
      return;
    }
    if (s.hitSlot === null) {
      // a pending re-arm survives a fault only when flaw 7 is off
      if (!(s.fault && !this.flaw(7))) this.lastRt = null;
      return;
    }
    const slot = this.flaw(3) ? s.hitSlot : this.find(s.hitAddr!);
    const bp = this.bps[slot];
    if (bp?.active && !bp.transient) {
      if (!this.flaw(3) && m.peek8(s.hitAddr!) === 0xcc) m.poke(s.hitAddr!, bp.orig); // re-added while stopped
      this.lastRt = this.flaw(3) ? m.rip : s.hitAddr; // flaw 3: re-arms wherever rip is, whatever the slot holds now
      m.rflags |= TF;
    } else {
      if (bp?.transient) this.removeSlot(slot, 5);
      this.lastRt = null;
    }
  }

  // ------------------------------------------------------------------ breakpoints (josx64's vector)

  private find(address: bigint): number {
    return this.bps.findIndex((b) => b.address === address);
  }
  /** _set_breakpoint: used for the kernel's own breakpoint at main and for step-over. */
  private setBreakpoint(address: bigint): number {
    const slot = this.find(address);
    const cur = this.m.peek8(address) ?? 0;
    if (slot >= 0) {
      const bp = this.bps[slot]!;
      if (cur !== 0xcc) {
        bp.orig = cur;
        this.m.poke(address, 0xcc);
      }
      bp.active = true;
      bp.transient = false;
      return slot;
    }
    this.bps.push({ address, orig: cur, active: true, transient: false });
    this.m.poke(address, 0xcc);
    return this.bps.length - 1;
  }
  private setTransient(address: bigint): void {
    if (this.flaw(5)) {
      this.bps[this.setBreakpoint(address)]!.transient = true; // stays in the list after it fires
      return;
    }
    if (this.bps.some((b) => b.address === address && b.active)) return; // an armed breakpoint stops there anyway
    if (this.transient) this.m.poke(this.transient.at, this.transient.orig);
    this.transient = { at: address, orig: this.m.peek8(address) ?? 0 };
    this.m.poke(address, 0xcc);
  }
  private arm(bp: Bp): void {
    if (bp.active) return;
    bp.orig = this.transient?.at === bp.address ? this.transient.orig : (this.m.peek8(bp.address) ?? 0);
    this.m.poke(bp.address, 0xcc);
    bp.active = true;
  }
  private disarm(bp: Bp): void {
    if (!bp.active) return;
    if (this.transient?.at !== bp.address) this.m.poke(bp.address, bp.orig);
    bp.active = false;
  }
  /** _remove_breakpoint: with the flaw, copy the last entry over the slot and never shrink. */
  private removeSlot(slot: number, flaw: 2 | 5): void {
    if (this.flaw(flaw)) this.bps[slot] = { ...this.bps[this.bps.length - 1]! };
    else this.bps.splice(slot, 1);
  }
  private updateBreakpoint(address: bigint, state: number): void {
    const slot = this.find(address);
    if (slot >= 0) {
      const bp = this.bps[slot]!;
      if (state === 0) this.arm(bp);
      else if (state === 1) this.disarm(bp);
      else if (state === 2) {
        this.disarm(bp);
        this.removeSlot(slot, 2);
      }
      return;
    }
    if (state === 2 && !this.flaw(2)) return;
    const orig = this.m.peek8(address);
    if (orig === undefined) return this.wedge(address, false); // the kernel reads the byte and faults
    this.bps.push({ address, orig, active: state === 0, transient: false });
    if (state === 0) this.m.poke(address, 0xcc);
  }
  private clearAll(): void {
    for (const bp of this.bps) this.disarm(bp);
    this.bps = [];
    if (this.transient) this.m.poke(this.transient.at, this.transient.orig);
    this.transient = null;
  }

  // ------------------------------------------------------------------ memory commands

  private readTarget(address: bigint, length: number): void {
    if (length === 0) return; // no reply at all
    const bytes = this.m.peek(address, length);
    if (bytes.length === length) return this.sendPacket(Id.ReadTargetMemory + RESPONSE, bytes);
    // the header goes out first, then the serial code faults on the first unmapped byte
    this.log('tx', `id=0x804 length=${length} (header, ${bytes.length} body bytes, then a fault)`);
    this.send(Buffer.concat([new ByteWriter().u32(Id.ReadTargetMemory + RESPONSE).u32(length).toBuffer(), bytes]));
    this.wedge(address + BigInt(bytes.length), false);
  }

  /** A fault inside the kernel's own serial code: a nested debugger loop that every resume re-enters. */
  private wedge(address: bigint, write: boolean): void {
    const canonical = isCanonical(address);
    const vector = canonical ? 14 : 13;
    if (canonical) this.m.cr2 = address;
    const errorCode = canonical && write ? 2n : 0n;
    const f = this.frame(vector, errorCode);
    Object.assign(f, { rip: sym(write ? 'serial_read' : 'serial_write'), r9: address, rdx: address, rsp: this.m.regs.rsp - 0x5a0n, rflags: 0x202n });
    const p = packet(canonical ? Id.PF : Id.GPF, this.record(vector, errorCode, 0, f));
    this.stop = { ...this.stop!, kind: 'wedge', vector, errorCode, wedge: p };
    this.log('wedge', `${canonical ? 'PF' : 'GPF'} at ${hx(address)}`);
    this.send(p);
  }

  /** WriteTargetMemory / SafeWrite. Flaw 4 off: a write over an armed breakpoint updates its saved byte. */
  private writeMemory(address: bigint, data: Uint8Array): void {
    data.forEach((v, i) => {
      const a = address + BigInt(i);
      const bp = this.flaw(4) ? undefined : this.bps.find((b) => b.address === a && b.active);
      if (bp) bp.orig = v;
      else if (!this.flaw(4) && this.transient?.at === a) this.transient.orig = v;
      else this.m.poke(a, v);
    });
  }

  private pageTableEntries(address: bigint): bigint[] {
    const pages = [...this.m.pages.keys()].map((p) => BigInt(p) << 12n);
    const same = (shift: bigint): boolean => pages.some((p) => p >> shift === address >> shift);
    const entries = [same(39n) ? 0x7f802023n : 0n, same(30n) ? 0x7f803023n : 0n, same(21n) ? 0x7f804023n : 0n];
    entries.push(this.m.isMapped(address) ? (address & 0xffffffffff000n) | 0x23n : 0n);
    for (let i = 1; i < 4; i++) if (!entries[i - 1]) entries[i] = 0n;
    return entries;
  }

  // ------------------------------------------------------------------ extensions (docs/protocol.md)

  private extension(id: number, b: Buffer): void {
    const m = this.m;
    const status = (s: number, extra?: Buffer): void =>
      this.sendPacket(id + RESPONSE, Buffer.concat([new ByteWriter().u32(s).toBuffer(), extra ?? Buffer.alloc(0)]));
    switch (id) {
      case Id.WriteRegisters: {
        if (this.stop?.kind !== 'frame' || b.length !== FRAME_SIZE) return status(1);
        const f = decodeFrame(b);
        for (const r of GPRS) if (r !== 'rsp') m.regs[r] = f[r as keyof Frame];
        m.regs.rsp = f.rsp;
        m.rip = f.rip;
        m.rflags = f.rflags | 0x2n;
        return status(0);
      }
      case Id.BreakIn:
        return; // already stopped: consumed and ignored
      case Id.SafeRead:
      case Id.SafeWrite: {
        if (b.length < 12) return status(3, Buffer.alloc(4));
        const address = b.readBigUInt64LE(0);
        const n = b.readUInt32LE(8);
        if (n > SAFE_MAX) return status(3, Buffer.alloc(4));
        let count = 0;
        while (count < n && m.isMapped(address + BigInt(count))) count++;
        const st = count === n ? 0 : isCanonical(address + BigInt(count)) ? 1 : 2;
        if (id === Id.SafeWrite) {
          this.writeMemory(address, b.subarray(12, 12 + count));
          return status(st, new ByteWriter().u32(count).toBuffer());
        }
        return status(st, Buffer.concat([new ByteWriter().u32(count).toBuffer(), m.peek(address, count)]));
      }
      case Id.SetHwBreakpoint: {
        if (b.length < 12) return status(1);
        const [slot, kind, length, enable] = [b[0]!, b[1]!, b[2]!, b[3]!];
        const address = b.readBigUInt64LE(4);
        if (slot > 3) return status(1);
        if (!enable) {
          this.hw[slot] = null;
          return status(0);
        }
        const ok =
          (kind === 0 || kind === 1 || kind === 3) &&
          [1, 2, 4, 8].includes(length) &&
          (kind !== 0 || length === 1) &&
          address % BigInt(length) === 0n &&
          isCanonical(address);
        if (!ok) return status(1);
        this.hw[slot] = { kind: kind as 0 | 1 | 3, length, address };
        return status(0);
      }
      case Id.RangeStep:
        if (b.length < 16) return;
        return this.resume('range', { start: b.readBigUInt64LE(0), end: b.readBigUInt64LE(8) });
      case Id.ReadContext:
        return this.sendPacket(id + RESPONSE, this.contextRecord());
      case Id.Reset:
        return this.reboot();
      case Id.TraceStepCompact:
        this.compactNext = true;
        return this.resume('trace');
    }
  }

  private contextRecord(): Buffer {
    const w = new ByteWriter();
    for (const sel of [0x38, 0x30, 0x30, 0x30, 0x30, 0x30]) w.u16(sel);
    let dr7 = 0n;
    this.hw.forEach((h, i) => {
      if (!h) return;
      const len = ({ 1: 0n, 2: 1n, 8: 2n, 4: 3n } as Record<number, bigint>)[h.length]!;
      dr7 |= (1n << BigInt(2 * i)) | (BigInt(h.kind) << BigInt(16 + 4 * i)) | (len << BigInt(18 + 4 * i));
    });
    w.u64(0n).u64(0x77b750a8n).u64(0n); // fs_base, gs_base, cr8
    for (const h of this.hw) w.u64(h?.address ?? 0n);
    w.u64(this.dr6).u64(dr7 | 0x400n);
    const fx = Buffer.alloc(512);
    fx.writeUInt16LE(0x037f, 0); // fcw
    fx.writeUInt32LE(0x1f80, 24); // mxcsr
    fx.writeUInt32LE(0xffff, 28); // mxcsr_mask
    for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) fx[160 + 16 * i + j] = (i << 4) | j; // xmm0-15
    const out = Buffer.concat([w.toBuffer(), fx]);
    if (out.length !== CONTEXT_SIZE) throw new Error('context record size');
    return out;
  }

  private reboot(): void {
    this.log('reset', '');
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    this.m = Machine.boot();
    Object.assign(this, {
      phase: 'booting', stop: null, bps: [], transient: null, lastRt: null, range: null, hw: [null, null, null, null],
      input: Buffer.alloc(0), matchPos: 0, pendingSkipTrap: false, connectedAt: Date.now(), lastRecord: null, compactNext: false,
    });
    setImmediate(() => {
      if (this.client && this.phase === 'booting') this.emitBootNoise();
    });
  }
}
