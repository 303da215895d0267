/**
 * Drives the fake josx64 kernel with raw bytes over a real TCP socket. The client
 * below encodes and decodes the wire format itself (no src/target), so these tests
 * pin the fake to the brief, and the fake can then pin the bridge's codec.
 */
import * as net from 'node:net';
import { ALL_FEATURES, FakeKernel, FakeKernelOptions, IMAGE_BASE, NON_CANONICAL_ADDRESS, Trigger, UNMAPPED_ADDRESS, sym } from '.';

// ---------------------------------------------------------------- a minimal raw client

interface Packet {
  id: number;
  body: Buffer;
}
const FIELDS = 'rdi rsi rbp rdx rcx rbx rax r15 r14 r13 r12 r11 r10 r9 r8 handler_id error_code rip cs rflags rsp ss'.split(' ');
interface Stop {
  id: number;
  f: Record<string, bigint>;
  instruction: Buffer;
  cr2: bigint;
  callStackSize: number;
  callstack: bigint[];
}

function decodeStop(id: number, rec: Buffer): Stop {
  expect(rec.length).toBe(225);
  const f: Record<string, bigint> = {};
  FIELDS.forEach((n, i) => (f[n] = rec.readBigUInt64LE(8 * i)));
  return { id, f, instruction: rec.subarray(176, 191), cr2: rec.readBigUInt64LE(199), callStackSize: rec.readUInt16LE(223), callstack: [] };
}

class Client {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  all = Buffer.alloc(0);
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.all = Buffer.concat([this.all, d]);
      this.wake?.();
    });
  }
  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Client(s)));
      s.on('error', reject);
    });
  }
  write(b: Buffer | string): void {
    this.sock.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
  }
  close(): void {
    this.sock.destroy();
  }
  get pending(): number {
    return this.buf.length;
  }
  private async until(ok: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${what}; have ${this.buf.toString('hex').slice(0, 80)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }
  async readExact(n: number, ms = 3000): Promise<Buffer> {
    await this.until(() => this.buf.length >= n, ms, `${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async packet(ms = 3000): Promise<Packet> {
    const h = await this.readExact(8, ms);
    return { id: h.readUInt32LE(0), body: await this.readExact(h.readUInt32LE(4), ms) };
  }
  /** The next stop, skipping Trace packets; reads the callstack packet that follows a Breakpoint. */
  async stop(ms = 3000): Promise<Stop> {
    for (;;) {
      const p = await this.packet(ms);
      if (p.id === 1) continue;
      if (p.id === 0x52) return { ...decodeStop(p.id, p.body.subarray(9)), slot: p.body[0] } as Stop;
      const s = decodeStop(p.id, p.body);
      if (p.id === 3 && s.callStackSize) {
        const cs = await this.packet(ms);
        expect(cs.id).toBe(14);
        for (let i = 0; i < s.callStackSize; i++) s.callstack.push(cs.body.readBigUInt64LE(8 * i));
      }
      return s;
    }
  }
  async silence(ms = 150): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    expect(this.buf.toString('hex')).toBe('');
  }
  /** Wait for the pre-handshake noise to go quiet, drop it, optionally send josx, return the KCI. */
  async handshake(send = 'josx'): Promise<Packet> {
    if (send) this.write(send);
    await this.until(() => this.buf.includes('{ "version"'), 3000, 'KernelConnectionInfo');
    this.buf = this.buf.subarray(this.buf.indexOf('{ "version"') - 8);
    return this.packet();
  }
}

// encoders
const u32 = (v: number): Buffer => Buffer.from(new Uint32Array([v]).buffer);
const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
};
const pkt = (id: number, ...body: Buffer[]): Buffer => {
  const b = Buffer.concat(body);
  return Buffer.concat([u32(id), u32(b.length), b]);
};
const CONTINUE = pkt(0), TRACE = pkt(8), SINGLE = pkt(15);
const readReq = (a: bigint, n: number): Buffer => pkt(4, u64(a), u32(n));
const writeReq = (a: bigint, data: Buffer): Buffer => Buffer.concat([pkt(5, u64(a), u32(data.length)), data]);
const bps = (...list: [bigint, number][]): Buffer => pkt(13, ...list.map(([a, s]) => Buffer.concat([u64(a), Buffer.from([s])])));
const S = sym;

// ---------------------------------------------------------------- fixtures

const open: { k: FakeKernel[]; c: Client[] } = { k: [], c: [] };
afterEach(async () => {
  open.c.forEach((c) => c.close());
  await Promise.all(open.k.map((k) => k.close()));
  open.k = [];
  open.c = [];
});

async function connect(k: FakeKernel): Promise<Client> {
  const c = await Client.connect(k.port);
  open.c.push(c);
  return c;
}
async function boot(opts: FakeKernelOptions = {}): Promise<{ k: FakeKernel; c: Client; kci: Packet; traces: string[]; stop: Stop }> {
  const k = await FakeKernel.listen(opts);
  open.k.push(k);
  const c = await connect(k);
  const kci = await c.handshake();
  const traces: string[] = [];
  let p = await c.packet();
  while (p.id === 1) {
    traces.push(p.body.toString('latin1'));
    p = await c.packet();
  }
  const stop = decodeStop(p.id, p.body);
  if (stop.callStackSize) {
    const cs = await c.packet();
    for (let i = 0; i < stop.callStackSize; i++) stop.callstack.push(cs.body.readBigUInt64LE(8 * i));
  }
  return { k, c, kci, traces, stop };
}
async function read(c: Client, a: bigint, n: number): Promise<Buffer> {
  c.write(readReq(a, n));
  const p = await c.packet();
  expect(p.id).toBe(0x804);
  return p.body;
}
/** UpdateBreakpoints has no reply: a 1-byte read after it proves it was processed. */
const barrier = (c: Client): Promise<Buffer> => read(c, IMAGE_BASE, 1);
async function setTrigger(c: Client, n: number): Promise<void> {
  c.write(writeReq(S('g_trigger'), u64(BigInt(n))));
  await barrier(c);
}

// ---------------------------------------------------------------- handshake and base protocol

describe('handshake', () => {
  test('noise, KernelConnectionInfo, traces, and the unannounced stop at main', async () => {
    const { k, c, kci, traces, stop } = await boot();
    const noise = c.all.subarray(0, c.all.indexOf('{ "version"') - 8).toString('latin1');
    expect(noise).toContain('\x1b[2J\x1b[01;01H');
    expect(noise).toContain('BdsDxe: loading Boot0002');
    expect(noise).toContain('[kernel] uefi init\r\n\0[pagetables] initialising\r\n\0');
    expect(kci.id).toBe(2);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(kci.body)).toThrow();
    const text = kci.body.toString('latin1');
    expect(text).toContain('"base" : 5368709120');
    expect(text).toContain(`"entry_point" : ${S('efi_main')}`);
    expect(text).toContain('"memory" : 9007199254740993');
    expect(text).not.toContain('features');
    expect(kci.body.includes(Buffer.from([0x6e, 0xa7, 0x46, 0x4f]))).toBe(true);
    expect(traces[0]).toBe('[debugger] connected');
    expect(traces[1]).toMatch(/^\[tasks\] created task "main"/);
    expect(stop.id).toBe(3);
    expect(stop.f.handler_id).toBe(3n);
    expect(stop.f.rip).toBe(S('main'));
    expect(stop.instruction[0]).toBe(0x55);
    expect(stop.callstack).toEqual([S('efi_main') + 9n]);
    expect(k.breakpointList()).toEqual([{ address: S('main'), originalByte: 0x55, active: true, transient: false }]);
    expect(k.phase).toBe('stopped');
  });

  test('jjosx does not connect, xxjosx does', async () => {
    const k = await FakeKernel.listen();
    open.k.push(k);
    const c = await connect(k);
    c.write('jjosx');
    await new Promise((r) => setTimeout(r, 150));
    expect(c.all.includes('{ "version"')).toBe(false);
    expect(k.phase).toBe('booting');
    const kci = await c.handshake('xxjosx');
    expect(kci.id).toBe(2);
  });

  test('josx sent while the firmware reads the port is lost', async () => {
    const k = await FakeKernel.listen({ bootInputDropMs: 100 });
    open.k.push(k);
    const c = await connect(k);
    c.write('josx');
    await new Promise((r) => setTimeout(r, 150));
    expect(k.phase).toBe('booting');
    expect((await c.handshake()).id).toBe(2);
  });

  test('a reconnecting client finds the state intact and gets no second handshake', async () => {
    const { k, c } = await boot();
    c.close();
    await k.waitFor('disconnect', () => !k.connected);
    const c2 = await connect(k);
    await c2.silence(100);
    expect((await read(c2, S('main'), 1))[0]).toBe(0x55);
    expect(k.phase).toBe('stopped');
  });
});

describe('base protocol', () => {
  test('memory reads: image header, zero length gets no reply, 0xCC at another enabled breakpoint', async () => {
    const { k, c } = await boot();
    const mz = await read(c, IMAGE_BASE, 64);
    expect(mz.subarray(0, 2).toString()).toBe('MZ');
    expect(mz.readUInt32LE(0x3c)).toBe(0x78);
    c.write(readReq(S('main'), 0));
    expect(await read(c, S('leaf'), 1)).toEqual(Buffer.from([0x48]));
    c.write(bps([S('leaf'), 0]));
    expect(await read(c, S('leaf'), 2)).toEqual(Buffer.from([0xcc, 0xc7]));
    expect(k.readMemoryDirect(S('leaf'), 1)[0]).toBe(0xcc);
    expect(await read(c, S('main'), 1)).toEqual(Buffer.from([0x55])); // the hit breakpoint shows its original byte
  });

  test('TraceStep advances rip by the instruction length, valid bytes first, garbage after', async () => {
    const { c, stop } = await boot();
    c.write(TRACE);
    const s1 = await c.stop();
    expect([s1.id, s1.f.handler_id, s1.f.rip]).toEqual([3, 1n, S('main') + 1n]);
    expect(s1.f.rsp).toBe(stop.f.rsp - 8n);
    expect(s1.f.rflags & 0x100n).toBe(0x100n);
    expect([...s1.instruction.subarray(0, 3)]).toEqual([0x48, 0x89, 0xe5]);
    expect(s1.instruction.subarray(3).some((b) => b !== 0)).toBe(true);
    c.write(TRACE);
    expect((await c.stop()).f.rip).toBe(S('main') + 4n);
    c.write(TRACE);
    expect((await c.stop()).f.rip).toBe(S('main_loop'));
  });

  test('breakpoints: hit with rip = address, callstack, re-armed after resume, clear-all leaves no 0xCC', async () => {
    const { k, c } = await boot();
    c.write(bps([S('func_b'), 0], [S('leaf'), 0]));
    c.write(CONTINUE);
    const s1 = await c.stop();
    expect([s1.id, s1.f.handler_id, s1.f.rip]).toEqual([3, 3n, S('func_b')]);
    expect((await read(c, S('func_b'), 1))[0]).toBe(0x53);
    expect((await read(c, S('leaf'), 1))[0]).toBe(0xcc);
    c.write(CONTINUE);
    const s2 = await c.stop();
    expect(s2.f.rip).toBe(S('leaf'));
    expect(s2.callstack).toEqual([S('b_add'), S('func_a_call') + 5n, S('main_count'), S('efi_main') + 9n]);
    c.write(CONTINUE);
    expect((await c.stop()).f.rip).toBe(S('leaf')); // func_b loops three times
    c.write(bps());
    await barrier(c);
    expect(k.breakpointList()).toEqual([]);
    expect(k.strayBreakpointBytes()).toEqual([]);
    const before = k.readU64(S('g_counter'));
    c.write(CONTINUE);
    await new Promise((r) => setTimeout(r, 30)); // the event loop stays free while it runs
    expect(k.phase).toBe('running');
    expect(k.readU64(S('g_counter'))).toBeGreaterThan(before);
  });

  test('SingleStep steps over a call with a transient breakpoint', async () => {
    const { k, c } = await boot();
    for (let i = 0; i < 3; i++) {
      c.write(TRACE);
      await c.stop();
    }
    c.write(SINGLE);
    const s = await c.stop();
    expect([s.f.handler_id, s.f.rip]).toEqual([3n, S('main_count')]);
    expect(k.breakpointList().map((b) => b.address)).toEqual([S('main')]);
    expect(k.strayBreakpointBytes({ exceptArmed: true })).toEqual([]);
    c.write(SINGLE); // not a call: a trace step
    expect((await c.stop()).f.rip).toBe(S('main_check'));
  });

  test('SingleStep over a call from a hit breakpoint re-arms that breakpoint on the way', async () => {
    const { k, c } = await boot();
    c.write(bps());
    c.write(bps([S('main_loop'), 0]));
    c.write(CONTINUE);
    expect((await c.stop()).f.rip).toBe(S('main_loop'));
    c.write(SINGLE);
    const s = await c.stop();
    expect([s.f.handler_id, s.f.rip]).toEqual([3n, S('main_count')]);
    expect((await read(c, S('main_loop'), 1))[0]).toBe(0xcc);
    expect(k.strayBreakpointBytes({ exceptArmed: true })).toEqual([]);
  });

  test('WriteTargetMemory data follows the counted 12 bytes; page tables, CPUID, RDMSR', async () => {
    const { c } = await boot();
    c.write(writeReq(S('g_watch'), Buffer.from('1122334455667788', 'hex')));
    expect((await read(c, S('g_watch'), 8)).toString('hex')).toBe('1122334455667788');
    c.write(pkt(9, u64(IMAGE_BASE)));
    const pt = await c.packet();
    expect(pt.id).toBe(0x809);
    expect(pt.body.readBigUInt64LE(0)).toBe(IMAGE_BASE);
    for (let i = 0; i < 4; i++) expect(pt.body.readBigUInt64LE(8 + 8 * i) & 1n).toBe(1n);
    c.write(pkt(9, u64(UNMAPPED_ADDRESS)));
    expect((await c.packet()).body.subarray(8).every((b) => b === 0)).toBe(true);
    c.write(pkt(17, u32(0), u32(0)));
    const id = await c.packet();
    expect(id.id).toBe(0x811);
    expect(Buffer.concat([id.body.subarray(12, 16), id.body.subarray(20, 24), id.body.subarray(16, 20)]).toString()).toBe('AuthenticAMD');
    c.write(pkt(11, u32(0xc0000080)));
    const msr = await c.packet();
    expect([msr.id, msr.body.readUInt32LE(0), msr.body.readUInt32LE(4)]).toEqual([0x80b, 0xc0000080, 0xd00]);
  });

  test('an unknown id is traced and its body is not consumed (8 zero bytes read as Continue)', async () => {
    const { k, c } = await boot();
    c.write(pkt(127));
    expect((await c.packet()).body.toString()).toBe('[debugger] unhandled packet id 127, length 0');
    c.write(pkt(127, Buffer.alloc(8)));
    expect((await c.packet()).body.toString()).toBe('[debugger] unhandled packet id 127, length 8');
    await k.waitFor('resume', () => k.phase === 'running');
    expect(k.phase).toBe('running');
  });

  test('faults: GPF, UD, int3 in code, and Assert with no frame', async () => {
    const { k, c } = await boot();
    c.write(bps());
    await setTrigger(c, Trigger.GP);
    c.write(CONTINUE);
    const gp = await c.stop();
    expect([gp.id, gp.f.handler_id, gp.f.rip, gp.callStackSize]).toEqual([6, 13n, S('gp_load'), 0]);
    await setTrigger(c, Trigger.UD);
    c.write(CONTINUE);
    const ud = await c.stop();
    expect([ud.id, ud.f.handler_id, ud.f.rip]).toEqual([12, 6n, S('ud_insn')]);
    await setTrigger(c, Trigger.Int3);
    c.write(CONTINUE);
    const bp = await c.stop();
    expect([bp.id, bp.f.handler_id, bp.f.rip]).toEqual([3, 3n, S('int3_insn') + 1n]);
    await setTrigger(c, Trigger.Assert);
    c.write(CONTINUE);
    const a = await c.packet();
    expect(a.id).toBe(10);
    expect(JSON.parse(a.body.toString()).assert.line).toBe(42);
    c.write(CONTINUE);
    c.write(TRACE);
    await c.silence();
    expect(k.stopKind).toBe('assert');
    expect((await read(c, IMAGE_BASE, 2)).toString()).toBe('MZ');
  });

  test('the wedge: an unmapped read sends the 0x804 header, no body, a PF from serial code, and Continue faults again', async () => {
    const { k, c } = await boot();
    c.write(readReq(UNMAPPED_ADDRESS, 16));
    const h = await c.readExact(8);
    expect([h.readUInt32LE(0), h.readUInt32LE(4)]).toEqual([0x804, 16]);
    const pf = await c.stop();
    expect([pf.id, pf.f.handler_id, pf.f.rip, pf.cr2, pf.callStackSize]).toEqual([16, 14n, S('serial_write'), UNMAPPED_ADDRESS, 0]);
    expect([...pf.instruction.subarray(0, 3)]).toEqual([0x45, 0x8a, 0x19]);
    expect(k.stopKind).toBe('wedge');
    expect((await read(c, IMAGE_BASE, 2)).toString()).toBe('MZ'); // reads still work in the nested loop
    c.write(CONTINUE);
    const again = await c.stop();
    expect([again.id, again.f.rip]).toEqual([16, S('serial_write')]);
    // a read that starts mapped sends the mapped part of the body first
    c.write(readReq(IMAGE_BASE + 0x2ffcn, 8));
    const partial = await c.readExact(12);
    expect(partial.readUInt32LE(4)).toBe(8);
    expect((await c.stop()).cr2).toBe(IMAGE_BASE + 0x3000n);
  });

  test('an unmapped WriteTargetMemory faults in serial_read and leaves the rest of its data in the stream', async () => {
    const { k, c } = await boot();
    c.write(writeReq(UNMAPPED_ADDRESS, Buffer.from([0xaa, 0xbb, 0xcc, 0xdd])));
    const pf = await c.stop();
    expect([pf.id, pf.f.rip, pf.f.error_code, pf.cr2]).toEqual([16, S('serial_read'), 2n, UNMAPPED_ADDRESS]);
    expect(k.stopKind).toBe('wedge');
    c.write(Buffer.alloc(5)); // bb cc dd + 5 zeros read as a header
    expect((await c.packet()).body.toString()).toBe(`[debugger] unhandled packet id ${0xddccbb}, length 0`);
  });

  test('the wedge for a non-canonical read is a GPF', async () => {
    const { c } = await boot();
    c.write(readReq(NON_CANONICAL_ADDRESS, 4));
    await c.readExact(8);
    const gp = await c.stop();
    expect([gp.id, gp.f.handler_id, gp.f.rip]).toEqual([6, 13n, S('serial_write')]);
  });
});

// ---------------------------------------------------------------- flaws, each on and off

describe('flaws', () => {
  test.each([true, false])('1: TraceStep off a 1-byte instruction at a breakpoint (flaw %s)', async (on) => {
    const { c, stop } = await boot({ flaws: { 1: on } });
    c.write(TRACE);
    const s = await c.stop();
    expect(s.f.rip).toBe(on ? S('main') : S('main') + 1n); // the push ran either way
    expect(s.f.rsp).toBe(stop.f.rsp - 8n);
  });

  test.each([true, false])('1: with the breakpoint disabled, no stop packet at all (flaw %s)', async (on) => {
    const { k, c } = await boot({ flaws: { 1: on } });
    c.write(bps([S('main'), 1]));
    c.write(TRACE);
    if (on) {
      await c.silence(200);
      expect(k.phase).toBe('stopped');
      expect(k.registers.rip).toBe(S('main') + 1n);
    } else {
      expect((await c.stop()).f.rip).toBe(S('main') + 1n);
    }
  });

  test.each([true, false])('2: state 2 does not shrink the list (flaw %s)', async (on) => {
    const { k, c } = await boot({ flaws: { 2: on } });
    c.write(bps([S('func_a'), 0], [S('func_b'), 0], [S('leaf'), 0]));
    c.write(bps([S('func_a'), 2]));
    await barrier(c);
    const list = k.breakpointList().map((b) => b.address);
    expect(list).toEqual(on ? [S('main'), S('leaf'), S('func_b'), S('leaf')] : [S('main'), S('func_b'), S('leaf')]);
    expect(k.readMemoryDirect(S('func_a'), 1)[0]).toBe(0x55);
  });

  test.each([true, false])('3: clearing the hit breakpoint leaves a stray 0xCC (flaw %s)', async (on) => {
    const { k, c } = await boot({ flaws: { 2: true, 3: on } });
    c.write(bps());
    c.write(bps([S('func_a'), 0], [S('leaf'), 0]));
    c.write(CONTINUE);
    expect((await c.stop()).f.rip).toBe(S('func_a'));
    c.write(bps([S('func_a'), 2])); // its slot now holds a copy of leaf
    c.write(CONTINUE);
    expect((await c.stop()).f.rip).toBe(S('leaf'));
    expect(k.breakpointList().some((b) => b.address === S('func_a'))).toBe(false);
    // flaw 3 struck twice: also at main, where the first Continue re-armed slot 0 (now func_a) at the stop address
    expect(k.strayBreakpointBytes({ exceptArmed: true })).toEqual(on ? [S('main'), S('func_a')] : []);
    if (on) {
      c.write(bps());
      let s: Stop;
      do {
        c.write(CONTINUE);
        s = await c.stop();
      } while (s.f.rip === S('leaf'));
      expect(s.f.rip).toBe(S('func_a') + 1n); // the stray shows up as an unknown int3 (flaw 4)
    }
  });

  test.each([true, false])('4: a written 0xCC is an unknown int3; writes over an armed breakpoint (flaw %s)', async (on) => {
    const { k, c } = await boot({ flaws: { 4: on } });
    c.write(bps());
    c.write(writeReq(S('leaf_nop'), Buffer.from([0xcc])));
    for (let i = 0; i < 2; i++) {
      c.write(CONTINUE);
      const s = await c.stop();
      expect([s.f.handler_id, s.f.rip]).toEqual([3n, S('leaf_nop') + 1n]);
    }
    c.write(writeReq(S('leaf_nop'), Buffer.from([0x90])));
    c.write(bps([S('leaf'), 0]));
    c.write(writeReq(S('leaf'), Buffer.from([0x48])));
    await barrier(c);
    expect(k.readMemoryDirect(S('leaf'), 1)[0]).toBe(on ? 0x48 : 0xcc);
  });

  test.each([true, false])('5: the step-over breakpoint stays in the list (flaw %s)', async (on) => {
    const { k, c } = await boot({ flaws: { 5: on } });
    for (let i = 0; i < 3; i++) {
      c.write(TRACE);
      await c.stop();
    }
    c.write(SINGLE);
    expect((await c.stop()).f.rip).toBe(S('main_count'));
    c.write(TRACE); // resuming is when josx64 "removes" it
    expect((await c.stop()).f.rip).toBe(S('main_check'));
    expect(k.breakpointList().some((b) => b.address === S('main_count') && b.transient)).toBe(on);
    c.write(bps([S('main_count'), 0]));
    expect((await read(c, S('main_count'), 1))[0]).toBe(on ? 0x48 : 0xcc);
  });

  test.each([true, false])('6: stepping onto an armed breakpoint stops twice (flaw %s)', async (on) => {
    const { c } = await boot({ flaws: { 6: on } });
    c.write(bps([S('main') + 1n, 0]));
    c.write(TRACE);
    const s1 = await c.stop();
    expect([s1.f.handler_id, s1.f.rip]).toEqual([1n, S('main') + 1n]);
    c.write(TRACE);
    const s2 = await c.stop();
    expect([s2.f.handler_id, s2.f.rip]).toEqual(on ? [3n, S('main') + 1n] : [1n, S('main') + 4n]);
    expect((await read(c, S('main') + 1n, 1))[0]).toBe(on ? 0x48 : 0xcc);
  });

  test.each([true, false])('7: Continue after a fault faults again (flaw %s)', async (on) => {
    const { c } = await boot({ flaws: { 7: on } });
    c.write(bps());
    await setTrigger(c, Trigger.PF);
    c.write(CONTINUE);
    const pf = await c.stop();
    expect([pf.id, pf.f.handler_id, pf.f.error_code, pf.f.rip, pf.cr2]).toEqual([16, 14n, 0n, S('pf_load'), UNMAPPED_ADDRESS]);
    await c.silence(50); // faults have no callstack packet
    c.write(bps([S('func_a'), 0]));
    c.write(CONTINUE);
    const next = await c.stop();
    expect([next.id, next.f.rip]).toEqual(on ? [16, S('pf_load')] : [3, S('func_a')]);
  });

  test('compat: all seven on', async () => {
    const { k } = await boot({ compat: true });
    expect([1, 2, 3, 4, 5, 6, 7].every((n) => k.flaw(n as 1))).toBe(true);
  });
});

// ---------------------------------------------------------------- extensions

describe('extensions', () => {
  const features = [...ALL_FEATURES];

  test('announced in KernelConnectionInfo; without them an extension id is unknown', async () => {
    const { kci } = await boot({ features });
    expect(JSON.parse(kci.body.toString('latin1')).features).toEqual(features);
    const base = await boot();
    base.c.write(pkt(0x46));
    expect((await base.c.packet()).body.toString()).toBe('[debugger] unhandled packet id 70, length 0');
  });

  test('write-registers, full-context', async () => {
    const { c } = await boot({ features });
    const frame = Buffer.alloc(176);
    frame.writeBigUInt64LE(0x1234n, 6 * 8); // rax
    frame.writeBigUInt64LE(S('main'), 17 * 8); // rip
    frame.writeBigUInt64LE(0x246n, 19 * 8); // rflags
    frame.writeBigUInt64LE(0x7867d000n, 20 * 8); // rsp
    c.write(pkt(0x40, frame));
    const ack = await c.packet();
    expect([ack.id, ack.body.readUInt32LE(0)]).toEqual([0x840, 0]);
    c.write(TRACE);
    const s = await c.stop();
    expect([s.f.rax, s.f.rsp, s.f.rip]).toEqual([0x1234n, 0x7867d000n - 8n, S('main') + 1n]);
    c.write(pkt(0x46));
    const ctx = await c.packet();
    expect([ctx.id, ctx.body.length, ctx.body.readUInt16LE(0)]).toEqual([0x846, 596, 0x38]);
    expect(ctx.body.readUInt32LE(84 + 24)).toBe(0x1f80);
  });

  test('break-in stops a running target; while stopped it is ignored', async () => {
    const { c } = await boot({ features });
    c.write(bps());
    c.write(CONTINUE);
    await new Promise((r) => setTimeout(r, 20));
    c.write(pkt(0x41));
    const s = await c.stop();
    expect([s.id, s.f.handler_id]).toEqual([0x841, 0x20n]);
    expect(s.f.rip >= S('efi_main') && s.f.rip < S('kernel_assert')).toBe(true);
    c.write(pkt(0x41));
    expect((await read(c, IMAGE_BASE, 2)).toString()).toBe('MZ');
  });

  test('safe-memory: status and count instead of a wedge', async () => {
    const { c } = await boot({ features });
    const safeRead = async (a: bigint, n: number): Promise<[number, number, Buffer]> => {
      c.write(pkt(0x42, u64(a), u32(n)));
      const p = await c.packet();
      expect(p.id).toBe(0x842);
      return [p.body.readUInt32LE(0), p.body.readUInt32LE(4), p.body.subarray(8)];
    };
    expect(await safeRead(UNMAPPED_ADDRESS, 8)).toEqual([1, 0, Buffer.alloc(0)]);
    const [st, n, data] = await safeRead(IMAGE_BASE + 0x2ffcn, 8);
    expect([st, n, data.length]).toEqual([1, 4, 4]);
    expect((await safeRead(NON_CANONICAL_ADDRESS, 1))[0]).toBe(2);
    expect((await safeRead(IMAGE_BASE, 65537))[0]).toBe(3);
    c.write(pkt(0x43, u64(S('leaf_nop')), u32(1), Buffer.from([0x90])));
    const w = await c.packet();
    expect([w.id, w.body.readUInt32LE(0), w.body.readUInt32LE(4)]).toEqual([0x843, 0, 1]);
  });

  test('hw-breakpoints: execute and write watch, with the slot and dr6', async () => {
    const { c } = await boot({ features });
    c.write(bps());
    const setHw = async (slot: number, kind: number, len: number, enable: number, a: bigint): Promise<number> => {
      c.write(pkt(0x44, Buffer.from([slot, kind, len, enable]), u64(a)));
      return (await c.packet()).body.readUInt32LE(0);
    };
    expect(await setHw(0, 2, 1, 1, S('leaf'))).toBe(1);
    expect(await setHw(0, 0, 1, 1, S('leaf'))).toBe(0);
    c.write(CONTINUE);
    const p = await c.packet();
    expect([p.id, p.body[0], p.body.readBigUInt64LE(1) & 0xfn]).toEqual([0x52, 0, 1n]);
    const s = decodeStop(0x52, p.body.subarray(9));
    expect([s.f.handler_id, s.f.rip]).toEqual([1n, S('leaf')]);
    expect(await setHw(0, 0, 1, 0, 0n)).toBe(0);
    expect(await setHw(1, 1, 8, 1, S('g_counter'))).toBe(0);
    c.write(CONTINUE);
    const w = await c.packet();
    expect([w.id, w.body[0]]).toEqual([0x52, 1]);
    expect(decodeStop(0x52, w.body.subarray(9)).f.rip).toBe(S('main_check'));
    expect(await setHw(1, 1, 8, 0, 0n)).toBe(0);
    expect(await setHw(2, 3, 8, 1, S('g_watch'))).toBe(0); // a read/write watch sees leaf's read
    c.write(CONTINUE);
    const r = await c.packet();
    expect([r.id, r.body[0], decodeStop(0x52, r.body.subarray(9)).f.rip]).toEqual([0x52, 2, S('leaf_ret')]);
  });

  test('range-step reports one stop when rip leaves the range', async () => {
    const { c, stop } = await boot({ features });
    c.write(pkt(0x45, u64(S('main')), u64(S('main_loop'))));
    const s = await c.stop();
    expect([s.id, s.f.handler_id, s.f.rip, s.f.rsp]).toEqual([3, 1n, S('main_loop'), stop.f.rsp - 0x28n]);
  });

  test('all-exceptions reports #DE; without it the kernel halts', async () => {
    const { c } = await boot({ features: ['all-exceptions'] });
    c.write(bps());
    await setTrigger(c, Trigger.DivideError);
    c.write(CONTINUE);
    const de = await c.stop();
    expect([de.id, de.f.handler_id, de.f.rip]).toEqual([0x50, 0n, S('div_insn')]);
    const base = await boot();
    base.c.write(bps());
    await setTrigger(base.c, Trigger.DivideError);
    base.c.write(CONTINUE);
    expect((await base.c.packet()).body.toString()).toMatch(/unhandled exception 0/);
    expect(base.k.phase).toBe('halted');
  });

  test('reset reboots: noise, a new handshake, the stop at main again', async () => {
    const { k, c } = await boot({ features });
    c.write(bps());
    c.write(CONTINUE);
    await new Promise((r) => setTimeout(r, 10));
    c.write(pkt(0x41));
    await c.stop();
    c.write(pkt(0x47));
    await k.waitFor('reset');
    expect(k.phase).toBe('booting');
    expect((await c.handshake()).id).toBe(2);
    expect(k.readU64(S('g_counter'))).toBe(0n);
    const s = await c.stop();
    expect(s.f.rip).toBe(S('main'));
  });
});
