import { isJosgdbError } from '../common/errors';
import type { ErrorCode } from '../common/errors';
import { linkPair } from '../link/memory';
import { loadCapture } from './testing/captures';
import { KernelClient } from './client';
import type { KernelClientOptions, StopEvent } from './client';
import { encodeKernelMessage, packet } from './codec';
import { buildConnectionInfoBody, parseKernelInfo } from './info';
import { ALL_FEATURES, HANDSHAKE, PacketId } from './protocol';
import { ScriptedKernel, captureRequests, makeStopRecord, replayCaptureAsKernel } from './testing/scripted-kernel';
import type { ScriptedKernelOptions } from './testing/scripted-kernel';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function rejection(p: Promise<unknown>): Promise<{ code: ErrorCode | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: isJosgdbError(err) ? err.code : undefined, message: err instanceof Error ? err.message : String(err) };
  }
  throw new Error('expected a rejection');
}

function setup(kopts: ScriptedKernelOptions = {}, copts: KernelClientOptions = {}) {
  const [host, target] = linkPair();
  const kernel = new ScriptedKernel(target, kopts);
  const client = new KernelClient(host, { handshakeIntervalMs: 20, baseTimeoutMs: 200, ...copts });
  return { host, target, kernel, client };
}

/** Connected and stopped at a breakpoint. */
async function stopped(kopts: ScriptedKernelOptions = {}, copts: KernelClientOptions = {}) {
  const s = setup(kopts, copts);
  const stop = s.client.next('stop');
  await s.client.connect();
  s.kernel.sendStop('breakpoint', makeStopRecord(), [0x14000ff94n]);
  await stop;
  return s;
}

describe('handshake', () => {
  it('repeats the handshake until the connection info arrives, and never after', async () => {
    const { client, kernel } = setup({ autoInfo: false });
    const connected = client.connect();
    await sleep(110);
    const before = kernel.handshakesSent;
    expect(before).toBeGreaterThanOrEqual(3);
    kernel.sendInfo();
    const info = await connected;
    expect(info.imageBase).toBe(0x140000000n);
    expect(client.state).toBe('running');
    const settled = kernel.handshakesSent;
    await sleep(120);
    expect(kernel.handshakesSent).toBe(settled);
    // every copy is the 8-byte form, so the kernel read the late ones as whole ignorable headers
    expect(kernel.bytes.length % HANDSHAKE.length).toBe(0);
    expect(kernel.received.filter((e) => e.kind === 'request')).toEqual([]);
  });

  it('stops repeating as soon as the connection info header starts arriving', async () => {
    const { client, kernel } = setup({ autoInfo: false }, { handshakeIntervalMs: 10 });
    const connected = client.connect();
    await sleep(30);
    const wire = packet(PacketId.KernelConnectionInfo, buildConnectionInfoBody({ imageBase: 1n, entryPoint: 2n }));
    kernel.send(wire.subarray(0, 20));
    await sleep(10);
    const n = kernel.handshakesSent;
    await sleep(60);
    expect(kernel.handshakesSent).toBe(n);
    kernel.send(wire.subarray(20));
    await connected;
  });

  it('attach sends nothing and resumes from the given state', async () => {
    const { client, kernel } = setup({ connected: true });
    const info = parseKernelInfo(buildConnectionInfoBody({ imageBase: 0x140000000n, entryPoint: 0x140001160n }));
    await client.connect({ attach: true, info, state: 'stopped' });
    await sleep(50);
    expect(kernel.bytes.length).toBe(0);
    expect(client.state).toBe('stopped');
    const read = client.readMemory(0x140000000n, 2);
    expect(await kernel.nextRequest()).toEqual({ kind: 'readMemory', address: 0x140000000n, length: 2 });
    kernel.send({ kind: 'memory', data: Buffer.from('MZ') });
    expect((await read).toString()).toBe('MZ');
    expect(kernel.handshakesSent).toBe(0);
  });

  it('connect() on a connected client resolves without another handshake', async () => {
    const { client, kernel } = setup();
    const info = await client.connect();
    const n = kernel.handshakesSent;
    expect(await client.connect()).toBe(info);
    await sleep(50);
    expect(kernel.handshakesSent).toBe(n);
  });

  it('attach without the KernelInfo is refused', async () => {
    const { client } = setup();
    expect((await rejection(client.connect({ attach: true }))).code).toBe('BAD_ARGUMENT');
  });

  it('times out with what was seen on the line', async () => {
    const { client, kernel } = setup({ autoInfo: false });
    const lines: string[] = [];
    const p = client.connect({ handshakeTimeoutMs: 80, onNoise: (l) => lines.push(l) });
    kernel.send(Buffer.from('\x1b[2JBdsDxe: loading Boot0002\r\n'));
    const r = await rejection(p);
    expect(r.code).toBe('HANDSHAKE_TIMEOUT');
    expect(r.message).toMatch(/BdsDxe: loading Boot0002/);
    expect(lines).toEqual(['BdsDxe: loading Boot0002']);
  });

  it('hides the trace josx64 emits for a late handshake copy', async () => {
    const { client, kernel } = await stopped();
    const traces: string[] = [];
    client.on('trace', (t) => traces.push(t));
    kernel.send({ kind: 'trace', text: '[debugger] unhandled packet id 757935405, length 2020831082' });
    kernel.send({ kind: 'trace', text: '[x] real' });
    await sleep(10);
    expect(traces).toEqual(['[x] real']);
  });
});

describe('requests', () => {
  it('keeps exactly one request in flight and matches replies in order', async () => {
    const { client, kernel } = await stopped();
    const a = client.readMemory(0x1000n, 4);
    const b = client.traversePageTable(0x2000n);
    const c = client.readMemory(0x3000n, 2);
    expect(await kernel.nextRequest()).toEqual({ kind: 'readMemory', address: 0x1000n, length: 4 });
    await sleep(20);
    expect(kernel.requests).toHaveLength(1);
    kernel.send({ kind: 'memory', data: Buffer.from([1, 2, 3, 4]) });
    expect(await kernel.nextRequest()).toEqual({ kind: 'traversePageTable', address: 0x2000n });
    await sleep(20);
    expect(kernel.requests).toHaveLength(2);
    kernel.send({ kind: 'pageTable', address: 0x2000n, pml4e: 1n, pdpte: 2n, pde: 3n, pte: 4n });
    expect(await kernel.nextRequest()).toEqual({ kind: 'readMemory', address: 0x3000n, length: 2 });
    kernel.send({ kind: 'memory', data: Buffer.from([9, 9]) });
    expect(await a).toEqual(Buffer.from([1, 2, 3, 4]));
    expect(await b).toEqual({ address: 0x2000n, pml4e: 1n, pdpte: 2n, pde: 3n, pte: 4n });
    expect(await c).toEqual(Buffer.from([9, 9]));
  });

  it('keeps replyless requests in order with the others', async () => {
    const { client, kernel } = await stopped();
    const w = client.writeMemory(0x1000n, Buffer.from([0xaa]));
    const r = client.readMemory(0x1000n, 1);
    const u = client.updateBreakpoints([{ address: 0x1400129e0n, state: 0 }]);
    await w;
    expect(await kernel.nextRequest()).toEqual({ kind: 'writeMemory', address: 0x1000n, data: Buffer.from([0xaa]) });
    expect(await kernel.nextRequest()).toEqual({ kind: 'readMemory', address: 0x1000n, length: 1 });
    await sleep(20);
    expect(kernel.requests).toHaveLength(2); // the update waits behind the read
    kernel.send({ kind: 'memory', data: Buffer.from([0xaa]) });
    await r;
    await u;
    expect(await kernel.nextRequest()).toEqual({ kind: 'updateBreakpoints', entries: [{ address: 0x1400129e0n, state: 0 }] });
  });

  it('times out, moves on, and drops the late reply', async () => {
    const { client, kernel } = await stopped({}, { baseTimeoutMs: 60 });
    const slow = client.readMemory(0x1000n, 4);
    const next = client.readMemory(0x2000n, 2);
    await kernel.nextRequest();
    const r = await rejection(slow);
    expect(r.code).toBe('TIMEOUT');
    expect(r.message).toMatch(/ReadTargetMemory at 0x1000 \(4 bytes\)/);
    await kernel.nextRequest();
    kernel.send({ kind: 'memory', data: Buffer.from([1, 2, 3, 4]) }); // late answer to the first read
    kernel.send({ kind: 'memory', data: Buffer.from([5, 6]) });
    expect(await next).toEqual(Buffer.from([5, 6]));
  });

  it('rejects every pending request when the link closes', async () => {
    const { client, kernel, target } = await stopped();
    const closed = client.next('close');
    const a = client.readMemory(0x1000n, 4);
    const b = client.readMemory(0x2000n, 4);
    const c = client.cpuid(0);
    await kernel.nextRequest();
    target.close();
    const ra = await rejection(a);
    expect(ra).toEqual({ code: 'LINK_CLOSED', message: 'target link closed while waiting for ReadTargetMemory at 0x1000 (4 bytes)' });
    expect(await rejection(b)).toEqual({ code: 'LINK_CLOSED', message: 'target link closed before ReadTargetMemory at 0x2000 (4 bytes) was sent' });
    expect((await rejection(c)).code).toBe('LINK_CLOSED');
    await closed;
    expect(client.state).toBe('disconnected');
    expect((await rejection(client.readMemory(0n, 1))).code).toBe('LINK_CLOSED');
  });

  it('rejects a pending handshake when the link closes', async () => {
    const { client, target } = setup({ autoInfo: false });
    const p = client.connect();
    target.close();
    expect((await rejection(p)).code).toBe('LINK_CLOSED');
  });

  it('errors carry the stack of the call that made the request', async () => {
    const { client, kernel, target } = await stopped();
    const p = client.readMemory(0x1000n, 4);
    await kernel.nextRequest();
    target.close();
    try {
      await p;
    } catch (err) {
      expect((err as Error).stack).toMatch(/client\.test\.ts/);
    }
  });

  it('refuses what the kernel cannot do without sending anything', async () => {
    const { client, kernel } = await stopped();
    expect(await client.readMemory(0x1000n, 0)).toEqual(Buffer.alloc(0));
    expect((await rejection(client.readMemory(0x1000n, 0x10001))).code).toBe('BAD_ARGUMENT');
    expect((await rejection(client.readMemory(0x7ffffffffff0n, 0x20))).code).toBe('BAD_ADDRESS');
    expect((await rejection(client.readMemory(0x800000000000n, 1))).code).toBe('BAD_ADDRESS');
    expect((await rejection(client.writeMemory(-1n, Buffer.from([1])))).code).toBe('BAD_ARGUMENT');
    expect((await rejection(client.updateBreakpoints([{ address: 1n, state: 5 as never }]))).code).toBe('BAD_ARGUMENT');
    await sleep(20);
    expect(kernel.requests).toEqual([]);
  });

  it('refuses requests while the target runs, except BreakIn', async () => {
    const { client, kernel } = await stopped({ features: ['break-in'] });
    await client.resume('continue');
    expect(await kernel.nextRequest()).toEqual({ kind: 'continue' });
    expect(client.state).toBe('running');
    const r = await rejection(client.readMemory(0x1000n, 4));
    expect(r.code).toBe('TARGET_RUNNING');
    expect((await rejection(client.resume('traceStep'))).code).toBe('TARGET_RUNNING');
    await client.breakIn();
    expect(await kernel.nextRequest()).toEqual({ kind: 'breakIn' });
    const stop = client.next('stop');
    kernel.sendStop('breakIn', makeStopRecord({ frame: { handlerId: 0x20n } }));
    expect((await stop).kind).toBe('breakIn');
    expect(client.state).toBe('stopped');
    await client.breakIn(); // already stopped: nothing sent
    await sleep(20);
    expect(kernel.requests).toHaveLength(2);
  });

  it('a request queued behind a resume is refused when its turn comes', async () => {
    const { client, kernel } = await stopped();
    const read = client.readMemory(0x1000n, 4);
    const go = client.resume('continue');
    const late = client.readMemory(0x2000n, 4);
    await kernel.nextRequest();
    kernel.send({ kind: 'memory', data: Buffer.alloc(4) });
    await read;
    await go;
    expect((await rejection(late)).code).toBe('TARGET_RUNNING');
  });
});

describe('extensions', () => {
  it('are refused with UNSUPPORTED, and nothing reaches the wire, when not announced', async () => {
    const { client, kernel } = await stopped();
    const calls: [string, () => Promise<unknown>][] = [
      ['write-registers', () => client.writeRegisters(makeStopRecord().frame)],
      ['break-in', () => client.breakIn()],
      ['safe-memory', () => client.safeRead(0x1000n, 4)],
      ['safe-memory', () => client.safeWrite(0x1000n, Buffer.from([1]))],
      ['hw-breakpoints', () => client.setHwBreakpoint({ slot: 0, kind: 0, length: 1, enable: true, address: 0x1000n })],
      ['range-step', () => client.rangeStep(0x1000n, 0x1010n)],
      ['full-context', () => client.readContext()],
      ['reset', () => client.reset()],
    ];
    for (const [feature, call] of calls) {
      const r = await rejection(call());
      expect(r.code).toBe('UNSUPPORTED');
      expect(r.message).toContain(`"${feature}"`);
    }
    await sleep(20);
    expect(kernel.bytes.length).toBe(kernel.handshakesSent * HANDSHAKE.length);
  });

  it('are used when announced', async () => {
    const respond = (req: import('./messages').KernelRequest, k: ScriptedKernel): void => {
      switch (req.kind) {
        case 'writeRegisters':
          k.send({ kind: 'writeRegistersReply', status: 0 });
          break;
        case 'safeRead':
          k.send({ kind: 'safeReadReply', status: 1, count: 2, data: Buffer.from([7, 8]) });
          break;
        case 'safeWrite':
          k.send({ kind: 'safeWriteReply', status: 0, count: req.data.length });
          break;
        case 'setHwBreakpoint':
          k.send({ kind: 'hwBreakpointReply', status: req.hw.slot === 3 ? 1 : 0 });
          break;
        case 'readContext':
          k.send({
            kind: 'context',
            context: {
              cs: 0x38, ds: 0x30, es: 0x30, fs: 0x30, gs: 0x30, ss: 0x30,
              fsBase: 0n, gsBase: 0x77b750a8n, cr8: 0n, dr0: 0n, dr1: 0n, dr2: 0n, dr3: 0n, dr6: 0xffff0ff0n, dr7: 0x400n,
              fxsave: Buffer.alloc(512),
            },
          });
          break;
        default:
      }
    };
    const { client, kernel } = await stopped({ features: [...ALL_FEATURES], respond });
    expect(client.has('safe-memory')).toBe(true);
    await client.writeRegisters(makeStopRecord().frame);
    expect(await client.safeRead(0x1000n, 4)).toEqual({ status: 1, data: Buffer.from([7, 8]) });
    expect(await client.safeWrite(0x1000n, Buffer.from([1, 2, 3]))).toEqual({ status: 0, count: 3 });
    await client.setHwBreakpoint({ slot: 1, kind: 1, length: 4, enable: true, address: 0x2000n });
    expect((await rejection(client.setHwBreakpoint({ slot: 3, kind: 0, length: 1, enable: true, address: 0x2000n }))).code).toBe(
      'BAD_ARGUMENT',
    );
    expect((await rejection(client.setHwBreakpoint({ slot: 4, kind: 0, length: 1, enable: true, address: 0n }))).code).toBe(
      'BAD_ARGUMENT',
    );
    expect((await client.readContext()).gsBase).toBe(0x77b750a8n);
    await client.rangeStep(0x1000n, 0x1010n);
    expect(client.state).toBe('running');
    const stop = client.next('stop');
    kernel.send({ kind: 'stop', stopKind: 'hwBreakpoint', slot: 2, dr6: 0xffff0ff4n, record: makeStopRecord({ frame: { handlerId: 1n } }) });
    const s = await stop;
    expect(s).toMatchObject({ kind: 'hwBreakpoint', slot: 2, dr6: 0xffff0ff4n });
    const kinds = kernel.requests.map((r) => r.kind);
    expect(kinds).toEqual(['writeRegisters', 'safeRead', 'safeWrite', 'setHwBreakpoint', 'setHwBreakpoint', 'readContext', 'rangeStep']);
  });

  it('compact-stop: a step asks for the changes only and rebuilds the record from the one before', async () => {
    const { client, kernel } = await stopped({ features: ['compact-stop'] });
    const base = makeStopRecord();
    const instruction = Buffer.from('c3' + '00'.repeat(14), 'hex');
    const first = client.next('stop');
    await client.resume('traceStep');
    const stackBelow = Buffer.from('0102030405060708', 'hex');
    kernel.send({ kind: 'compactStop', changed: { handlerId: 1n, rip: base.frame.rip + 4n, rsp: base.frame.rsp - 0x28n }, instruction, stackBelow });
    const one = await first;
    expect(one).toEqual({
      kind: 'breakpoint',
      record: { ...base, frame: { ...base.frame, handlerId: 1n, rip: base.frame.rip + 4n, rsp: base.frame.rsp - 0x28n }, instruction, callStackSize: 0 },
      callstack: [],
      stackBelow,
    });
    // The next one is relative to the record just rebuilt.
    const second = client.next('stop');
    await client.resume('traceStep');
    kernel.send({ kind: 'compactStop', changed: { rax: 7n, cr2: 0x1000n }, instruction, stackBelow: Buffer.alloc(0) });
    const two = await second;
    expect(two.record.frame).toEqual({ ...one.record.frame, rax: 7n });
    expect(two.record.cr2).toBe(0x1000n);
    // A step that faults comes back as a whole record; a CompactStop after it has nothing to apply to.
    const fault = client.next('stop');
    await client.resume('traceStep');
    kernel.sendStop('pf', makeStopRecord({ frame: { handlerId: 14n } }), []);
    await fault;
    kernel.send({ kind: 'compactStop', changed: { rip: 1n }, instruction, stackBelow: Buffer.alloc(0) });
    await sleep(30);
    expect(client.state).toBe('stopped');
    expect(client.lastStop?.kind).toBe('pf');
    // A continue is never compact.
    await client.resume('continue');
    expect(kernel.requests.map((r) => r.kind)).toEqual(['traceStepCompact', 'traceStepCompact', 'traceStepCompact', 'continue']);
  });

  it('compact-stop: a whole record first after an attach, and a CompactStop nobody asked for is ignored', async () => {
    const { client, kernel } = setup({ connected: true, features: ['compact-stop'] });
    const info = parseKernelInfo(buildConnectionInfoBody({ imageBase: 0x140000000n, entryPoint: 0x140001160n, features: ['compact-stop'] }));
    await client.connect({ attach: true, info, state: 'stopped', lastStop: { kind: 'breakpoint', record: makeStopRecord(), callstack: [] } });
    await client.resume('traceStep');
    kernel.send({ kind: 'compactStop', changed: { rip: 1n }, instruction: Buffer.alloc(15), stackBelow: Buffer.alloc(0) });
    await sleep(30);
    expect(client.state).toBe('running');
    const stop = client.next('stop');
    kernel.sendStop('breakpoint', makeStopRecord({ frame: { handlerId: 1n } }), []);
    await stop;
    await client.resume('traceStep');
    expect(kernel.requests.map((r) => r.kind)).toEqual(['traceStep', 'traceStepCompact']);
  });

  it('reset puts the client back before the handshake', async () => {
    const { client, kernel } = await stopped({ features: ['reset'] });
    await client.reset();
    expect(await kernel.nextRequest()).toEqual({ kind: 'reset' });
    expect(client.state).toBe('disconnected');
    const noise: string[] = [];
    client.on('noise', (l) => noise.push(l));
    kernel.send(Buffer.from('BdsDxe: starting Boot0002\r\n'));
    await sleep(10);
    expect(noise).toEqual(['BdsDxe: starting Boot0002']);
  });
});

describe('events', () => {
  it('combines a stop with the callstack that follows it', async () => {
    const { client, kernel } = setup();
    const stops: StopEvent[] = [];
    client.on('stop', (s) => stops.push(s));
    await client.connect();
    kernel.send({ kind: 'stop', stopKind: 'breakpoint', record: makeStopRecord({ callStackSize: 2 }) });
    await sleep(20);
    expect(stops).toEqual([]); // waiting for the callstack
    expect(client.state).toBe('running');
    kernel.send({ kind: 'callstack', addresses: [0x140016220n, 0x140016210n] });
    await sleep(10);
    expect(stops).toHaveLength(1);
    expect(stops[0].callstack).toEqual([0x140016220n, 0x140016210n]);
    expect(client.state).toBe('stopped');
    expect(client.lastStop).toBe(stops[0]);
  });

  it('delivers a stop without its callstack when none comes', async () => {
    const { client, kernel } = setup({}, { callstackTimeoutMs: 30, bytesPerSecond: 1e9 });
    await client.connect();
    const stop = client.next('stop');
    kernel.send({ kind: 'stop', stopKind: 'breakpoint', record: makeStopRecord({ callStackSize: 2 }) });
    const s = await stop;
    expect(s.callstack).toEqual([]);
  });

  it('delivers faults at once (they carry no callstack)', async () => {
    const { client, kernel } = setup();
    await client.connect();
    const stop = client.next('stop');
    kernel.sendStop('pf', makeStopRecord({ frame: { handlerId: 14n }, cr2: 0xdeadb000n }));
    const s = await stop;
    expect(s).toMatchObject({ kind: 'pf', callstack: [] });
    expect(s.record.cr2).toBe(0xdeadb000n);
  });

  it('an assert leaves the kernel able to read but not to resume', async () => {
    const { client, kernel } = setup();
    await client.connect();
    const asserted = client.next('assert');
    kernel.send({ kind: 'assert', cond: 'x != 0', file: 'kernel.c', line: 42, raw: '{ "assert" : { "cond" : "x != 0", "file" : "kernel.c", "line" : 42 } }' });
    expect(await asserted).toEqual({ cond: 'x != 0', file: 'kernel.c', line: 42 });
    expect(client.state).toBe('asserted');
    expect((await rejection(client.resume('continue'))).code).toBe('TARGET_ASSERT');
    const read = client.readMemory(0x1000n, 1);
    await kernel.nextRequest();
    kernel.send({ kind: 'memory', data: Buffer.from([1]) });
    expect(await read).toEqual(Buffer.from([1]));
  });

  it('reports garbage and recovers', async () => {
    const { client, kernel } = await stopped();
    const garbage: string[] = [];
    client.on('garbage', (g) => garbage.push(g.reason));
    const read = client.readMemory(0x1000n, 2);
    await kernel.nextRequest();
    kernel.send(Buffer.concat([Buffer.from('zzzz junk'), encodeKernelMessage({ kind: 'memory', data: Buffer.from([1, 2]) })]));
    expect(await read).toEqual(Buffer.from([1, 2]));
    expect(garbage).toHaveLength(1);
  });

  it('a listener that throws does not break decoding', async () => {
    const { client, kernel } = setup();
    client.on('trace', () => {
      throw new Error('boom');
    });
    const traces: string[] = [];
    client.on('trace', (t) => traces.push(t));
    await client.connect();
    kernel.send({ kind: 'trace', text: 'a' });
    kernel.send({ kind: 'trace', text: 'b' });
    await sleep(10);
    expect(traces).toEqual(['a', 'b']);
  });
});

describe('the unmapped-read wedge', () => {
  it('rejects the read with TARGET_WEDGED and reports the fault', async () => {
    const { client, kernel } = await stopped();
    const wedge = client.next('wedge');
    const read = client.readMemory(0x7f0000000000n, 16);
    await kernel.nextRequest();
    const header = Buffer.alloc(8);
    header.writeUInt32LE(0x804, 0);
    header.writeUInt32LE(16, 4);
    kernel.send(header);
    kernel.sendStop('pf', makeStopRecord({ frame: { handlerId: 14n, rip: 0x1400135d1n }, cr2: 0x7f0000000000n }));
    const r = await rejection(read);
    expect(r.code).toBe('TARGET_WEDGED');
    expect(r.message).toMatch(/reading 16 bytes at 0x7f0000000000 faulted inside the kernel/);
    expect((await wedge).fault.frame.rip).toBe(0x1400135d1n);
    expect(client.wedged).toBe(true);
    expect(client.state).toBe('stopped');
  });

  it('settles an ambiguous reply as data after a quiet moment', async () => {
    const { client, kernel } = await stopped({}, { settleMs: 10, bytesPerSecond: 1e9 });
    const read = client.readMemory(0x1000n, 1);
    await kernel.nextRequest();
    kernel.send({ kind: 'memory', data: Buffer.from([0x10]) }); // could be the start of a PF header
    expect(await read).toEqual(Buffer.from([0x10]));
  });
});

describe('against the real kernel captures', () => {
  /** Drives a client through the requests the capturing host made, waiting for stops after resumes. */
  async function drive(name: string, onRead?: (err: unknown) => void) {
    const capture = loadCapture(name);
    const [host, target] = linkPair();
    const client = new KernelClient(host, { handshakeIntervalMs: 60000 });
    const stops: StopEvent[] = [];
    const traces: string[] = [];
    const reads: Buffer[] = [];
    client.on('stop', (s) => stops.push(s));
    client.on('trace', (t) => traces.push(t));
    const replay = replayCaptureAsKernel(target, capture);
    replay.catch(() => undefined);
    const untilStopped = async (): Promise<void> => {
      while (client.state !== 'stopped') await client.next('state');
    };
    await client.connect();
    for (const req of captureRequests(capture)) {
      await untilStopped();
      switch (req.kind) {
        case 'readMemory':
          try {
            reads.push(await client.readMemory(req.address, req.length));
          } catch (err) {
            if (!onRead) throw err;
            onRead(err);
          }
          break;
        case 'writeMemory':
          await client.writeMemory(req.address, req.data);
          break;
        case 'traversePageTable':
          await client.traversePageTable(req.address);
          break;
        case 'cpuid':
          await client.cpuid(req.leaf, req.subleaf);
          break;
        case 'rdmsr':
          await client.rdmsr(req.msr);
          break;
        case 'updateBreakpoints':
          await client.updateBreakpoints(req.entries);
          break;
        case 'continue':
        case 'traceStep':
        case 'singleStep':
          await client.resume(req.kind);
          break;
        default:
          throw new Error(`unexpected ${req.kind}`);
      }
    }
    await replay;
    await sleep(20);
    host.close();
    return { client, stops, traces, reads };
  }

  it('session_main: every request byte-identical, every stop with its callstack', async () => {
    const { stops, traces, reads } = await drive('session_main');
    expect(stops.map((s) => s.kind)).toEqual(Array(10).fill('breakpoint'));
    expect(stops[0].record.frame.rip).toBe(0x1400129e0n);
    expect(stops[0].callstack).toEqual([0x14000ff94n, 0x140016220n, 0x140016210n]);
    expect(stops.every((s) => s.callstack.length === s.record.callStackSize)).toBe(true);
    expect(reads[0]).toEqual(Buffer.from('4883ec2848b9d776024001000000' + '48b8', 'hex'));
    expect(reads[1].subarray(0, 2).toString()).toBe('MZ');
    expect(traces[0]).toBe('[debugger] connected');
    expect(traces).toContain('[memory] RESERVED: 00000000b0000000 256 MB');
  });

  it('extra_write_pagetable_cpuid_rdmsr: writes and the other requests', async () => {
    const { reads } = await drive('extra_write_pagetable_cpuid_rdmsr');
    expect(reads[1]).toEqual(Buffer.from('1122334455667788', 'hex'));
  });

  it('fault_unmapped_read: the wedge, then the nested fault loop', async () => {
    const errors: unknown[] = [];
    const { client, stops, reads } = await drive('fault_unmapped_read', (e) => errors.push(e));
    expect(errors).toHaveLength(1);
    expect(isJosgdbError(errors[0], 'TARGET_WEDGED')).toBe(true);
    expect(client.wedged).toBe(true);
    expect(stops.map((s) => s.kind)).toEqual(['breakpoint', 'pf', 'pf']);
    expect(reads).toEqual([Buffer.from('4d5a7800010000000400000000000000', 'hex')]);
  });
});
