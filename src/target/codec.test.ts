import fc from 'fast-check';
import { isJosgdbError } from '../common/errors';
import { canonical, kernelMessage, kernelRequest, splitAt, splitPoints, stopRecord } from './testing/arbitraries';
import {
  HostStreamDecoder,
  KernelStreamDecoder,
  MAX_DECODER_BUFFER,
  cleanNoiseLine,
  encodeKernelMessage,
  encodeRequest,
  packet,
} from './codec';
import { buildConnectionInfoBody } from './info';
import { makeStopRecord } from './testing/scripted-kernel';
import type { KernelEvent, KernelMessage } from './messages';
import { ALL_FEATURES, HANDSHAKE, PacketId, STOP_RECORD_SIZE } from './protocol';
import { encodeStopRecord } from './structs';

const INFO = packet(PacketId.KernelConnectionInfo, buildConnectionInfoBody({ imageBase: 0x140000000n, entryPoint: 0x140001160n }));

function pushAll(dec: KernelStreamDecoder, chunks: Buffer[]): KernelEvent[] {
  return chunks.flatMap((c) => dec.push(c));
}

const pfFor = (cr2: bigint): Buffer => packet(PacketId.PF, encodeStopRecord(makeStopRecord({ cr2, frame: { handlerId: 14n, rip: 0x1400135d1n } })));
const memHeader = (length: number): Buffer => {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x804, 0);
  h.writeUInt32LE(length, 4);
  return h;
};

describe('KernelStreamDecoder before the handshake', () => {
  it('reports text as noise lines and connects on a valid id 2 packet', () => {
    const dec = new KernelStreamDecoder();
    const evs = dec.push(Buffer.concat([Buffer.from('\x1b[2J\x1b[01;01HBdsDxe: hello\r\n[kernel] x\r\n\0partial'), INFO]));
    expect(evs.map((e) => e.kind)).toEqual(['noise', 'noise', 'noise', 'connectionInfo']);
    expect(evs.slice(0, 3)).toEqual([
      { kind: 'noise', text: 'BdsDxe: hello' },
      { kind: 'noise', text: '[kernel] x' },
      { kind: 'noise', text: 'partial' },
    ]);
    expect(dec.connected).toBe(true);
  });

  it('does not mistake 02 00 00 00 inside noise for the connection info', () => {
    const dec = new KernelStreamDecoder();
    const fake = Buffer.concat([Buffer.from([2, 0, 0, 0, 0xff, 0xff, 0, 0]), Buffer.from('abc\n')]);
    const fakeJson = Buffer.concat([packet(2, Buffer.from('{ not json')), Buffer.from('\n')]);
    const evs = pushAll(dec, [fake, fakeJson, INFO]);
    expect(evs.filter((e) => e.kind === 'connectionInfo')).toHaveLength(1);
    expect(evs[evs.length - 1].kind).toBe('connectionInfo');
    expect(dec.buffered).toBe(0);
  });

  it('holds a possible header prefix at the end of a chunk', () => {
    const dec = new KernelStreamDecoder();
    expect(dec.push(Buffer.from('line\n\x02\x00'))).toEqual([{ kind: 'noise', text: 'line' }]);
    expect(dec.buffered).toBe(2);
    expect(dec.push(INFO.subarray(2)).map((e) => e.kind)).toEqual(['connectionInfo']);
  });

  it('splits an endless line at maxNoiseLine', () => {
    const dec = new KernelStreamDecoder({ maxNoiseLine: 10 });
    const evs = dec.push(Buffer.from('a'.repeat(25)));
    expect(evs).toEqual([
      { kind: 'noise', text: 'a'.repeat(10) },
      { kind: 'noise', text: 'a'.repeat(10) },
    ]);
    expect(dec.buffered).toBe(5);
  });

  it('cleans noise lines', () => {
    expect(cleanNoiseLine(Buffer.from('\x1b[=3h\x1b[01;01H\0[x] y\r\x07'))).toBe('[x] y');
  });

  it('treats late handshake copies the kernel read as packets... never: the decoder is the host side', () => {
    // The handshake bytes are host -> kernel; the kernel model reads a late copy as an unknown header.
    const kernel = new HostStreamDecoder();
    expect(kernel.push(Buffer.concat([HANDSHAKE, HANDSHAKE, HANDSHAKE]))).toEqual([
      { kind: 'handshake' },
      { kind: 'unknown', id: 0x2d2d2d2d, length: 0x78736f6a },
      { kind: 'unknown', id: 0x2d2d2d2d, length: 0x78736f6a },
    ]);
  });
});

describe('HostStreamDecoder: the josx64 matcher', () => {
  const connects = (s: string): boolean => new HostStreamDecoder().push(Buffer.from(s, 'latin1')).some((e) => e.kind === 'handshake');
  it('reproduces the kernel matcher quirks', () => {
    expect(connects('josx')).toBe(true);
    expect(connects('xxjosx')).toBe(true);
    expect(connects('jjosx')).toBe(false);
    expect(connects('josjosx')).toBe(false);
    expect(connects('----josx')).toBe(true);
  });
  it('the 8-byte handshake connects from any partial matcher state and stays aligned', () => {
    for (const prefix of ['', 'j', 'jo', 'jos', 'jox', 'x']) {
      const k = new HostStreamDecoder();
      const evs = k.push(Buffer.concat([Buffer.from(prefix), HANDSHAKE, HANDSHAKE, encodeRequest({ kind: 'continue' })]));
      expect(evs.map((e) => e.kind)).toEqual(['handshake', 'unknown', 'request']);
    }
  });
  it('does not consume the body of an unknown id (josx64 behaviour)', () => {
    const k = new HostStreamDecoder({ connected: true });
    const evs = k.push(Buffer.concat([packet(0x7f, Buffer.alloc(8)), encodeRequest({ kind: 'traceStep' })]));
    expect(evs.map((e) => (e.kind === 'request' ? e.request.kind : e.kind))).toEqual(['unknown', 'continue', 'traceStep']);
  });
  it('treats extension ids as unknown unless the modelled kernel has the feature', () => {
    const raw = encodeRequest({ kind: 'readContext' });
    expect(new HostStreamDecoder({ connected: true }).push(raw)[0].kind).toBe('unknown');
    expect(new HostStreamDecoder({ connected: true, features: ['full-context'] }).push(raw)[0].kind).toBe('request');
  });
});

describe('KernelStreamDecoder after the handshake', () => {
  const connected = (): KernelStreamDecoder => new KernelStreamDecoder({ connected: true });
  const trace = (t: string): Buffer => packet(PacketId.Trace, Buffer.from(t));

  it('skips junk before a packet and reports it once as garbage', () => {
    const evs = connected().push(Buffer.concat([Buffer.from('hello world junk'), trace('[a] b')]));
    expect(evs).toEqual([
      { kind: 'garbage', bytes: Buffer.from('hello world junk'), reason: expect.stringMatching(/unknown packet id/) },
      { kind: 'trace', text: '[a] b' },
    ]);
  });

  it('rejects a header announcing an absurd length at once, without waiting for the body', () => {
    const bad = Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]);
    const evs = connected().push(Buffer.concat([bad, trace('x')]));
    expect(evs.map((e) => e.kind)).toEqual(['garbage', 'trace']);
    expect((evs[0] as { bytes: Buffer }).bytes).toEqual(bad);
    expect((evs[0] as { reason: string }).reason).toMatch(/Trace announcing 2147483647 bytes/);
  });

  it('rejects an implausible stop record and resynchronises on the next packet', () => {
    const body = encodeStopRecord(makeStopRecord({ frame: { rflags: 0x200n } })); // bit 1 clear: impossible
    const evs = connected().push(Buffer.concat([packet(PacketId.Breakpoint, body), trace('after')]));
    expect(evs.map((e) => e.kind)).toEqual(['garbage', 'trace']);
    expect((evs[0] as { reason: string }).reason).toMatch(/rflags/);
  });

  it('rejects a stop record early from its partial fields (no wait for 225 bytes)', () => {
    const body = encodeStopRecord(makeStopRecord({ frame: { rip: 0x0000800000000000n } }));
    const dec = connected();
    const evs = dec.push(Buffer.concat([packet(PacketId.Breakpoint, body).subarray(0, 8 + 150)]));
    expect(evs.map((e) => e.kind)).toEqual(['garbage']);
  });

  it('rejects a trace containing a NUL byte', () => {
    const evs = connected().push(Buffer.concat([packet(PacketId.Trace, Buffer.from('ab\0cd')), trace('ok')]));
    expect(evs.map((e) => e.kind)).toEqual(['garbage', 'trace']);
  });

  it('decodes a HwBreakpoint stop with slot and dr6', () => {
    const r = makeStopRecord({ frame: { handlerId: 1n } });
    const msg: KernelMessage = { kind: 'stop', stopKind: 'hwBreakpoint', slot: 2, dr6: 0xffff0ff4n, record: r };
    expect(connected().push(encodeKernelMessage(msg))).toEqual([msg]);
  });

  it('reset() returns to the pre-handshake phase', () => {
    const dec = connected();
    dec.push(trace('x').subarray(0, 5));
    dec.reset();
    expect(dec.connected).toBe(false);
    expect(dec.buffered).toBe(0);
    expect(dec.push(Buffer.from('firmware\n'))).toEqual([{ kind: 'noise', text: 'firmware' }]);
  });
});

describe('the unmapped-read wedge', () => {
  const connected = (): KernelStreamDecoder => new KernelStreamDecoder({ connected: true });

  it('recognises a fault at a page boundary inside the read, keeping the bytes before it', () => {
    const dec = connected();
    dec.expectMemoryReply(0x10000ff8n, 16);
    const data = Buffer.from('0102030405060708', 'hex');
    const evs = dec.push(Buffer.concat([memHeader(16), data, pfFor(0x10001000n), packet(PacketId.Trace, Buffer.from('t'))]));
    expect(evs.map((e) => e.kind)).toEqual(['wedge', 'trace']);
    expect(evs[0]).toMatchObject({ kind: 'wedge', address: 0x10000ff8n, length: 16, partial: data, faultKind: 'pf' });
  });

  it('recognises a GPF where the read crosses into non-canonical addresses', () => {
    const dec = connected();
    dec.expectMemoryReply(0x7ffffffffffcn, 8);
    const gp = packet(PacketId.GPF, encodeStopRecord(makeStopRecord({ frame: { handlerId: 13n } })));
    const evs = dec.push(Buffer.concat([memHeader(8), Buffer.from([1, 2, 3, 4]), gp]));
    expect(evs).toMatchObject([{ kind: 'wedge', faultKind: 'gpf', partial: Buffer.from([1, 2, 3, 4]) }]);
  });

  it('is not fooled by fault-like bytes that do not prove a fault', () => {
    const dec = connected();
    // A PF header + record inside real data, but cr2 is not the address of that byte.
    const data = Buffer.concat([pfFor(0x5000n), Buffer.alloc(20, 0xaa)]);
    dec.expectMemoryReply(0x1000n, data.length);
    const evs = dec.push(Buffer.concat([memHeader(data.length), data]));
    expect(evs).toEqual([{ kind: 'memory', data }]);
    expect(dec.ambiguous).toBe(false);
  });

  it('ignores fault-like bytes at offsets where no fault can happen', () => {
    const dec = connected();
    const data = Buffer.concat([Buffer.alloc(5), pfFor(0x1005n)]);
    dec.expectMemoryReply(0x1000n, data.length);
    expect(dec.push(Buffer.concat([memHeader(data.length), data]))).toEqual([{ kind: 'memory', data }]);
  });

  it('holds a reply whose data looks like the start of a fault packet until settled', () => {
    const dec = connected();
    dec.expectMemoryReply(0x1000n, 1);
    expect(dec.push(Buffer.concat([memHeader(1), Buffer.from([0x10])]))).toEqual([]);
    expect(dec.ambiguous).toBe(true);
    expect(dec.settle()).toEqual([{ kind: 'memory', data: Buffer.from([0x10]) }]);
    expect(dec.ambiguous).toBe(false);
    expect(dec.buffered).toBe(0);
  });

  it('an ambiguous reply that turns out to be the wedge', () => {
    const dec = connected();
    dec.expectMemoryReply(0x7f0000000000n, 4);
    const wire = Buffer.concat([memHeader(4), pfFor(0x7f0000000000n)]);
    expect(dec.push(wire.subarray(0, 12))).toEqual([]);
    expect(dec.ambiguous).toBe(true);
    expect(dec.push(wire.subarray(12)).map((e) => e.kind)).toEqual(['wedge']);
    expect(dec.ambiguous).toBe(false);
  });

  it('clearExpectation() releases a held reply as data', () => {
    const dec = connected();
    dec.expectMemoryReply(0x1000n, 2);
    expect(dec.push(Buffer.concat([memHeader(2), Buffer.from([0x06, 0x00])]))).toEqual([]);
    expect(dec.clearExpectation()).toEqual([{ kind: 'memory', data: Buffer.from([0x06, 0x00]) }]);
  });

  it('without an expectation, a 0x804 is just data', () => {
    const dec = connected();
    expect(dec.push(Buffer.concat([memHeader(1), Buffer.from([0x10])]))).toEqual([{ kind: 'memory', data: Buffer.from([0x10]) }]);
  });
});

describe('properties', () => {
  it('kernel messages round-trip through encode and the decoder, however they are cut', () => {
    fc.assert(
      fc.property(fc.array(kernelMessage(), { maxLength: 12 }), splitPoints(), (msgs, points) => {
        const dec = new KernelStreamDecoder({ connected: true });
        const wire = Buffer.concat(msgs.map(encodeKernelMessage));
        const evs = pushAll(dec, splitAt(wire, points));
        expect(evs).toEqual(msgs);
        expect(dec.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('noise, then the connection info, then messages', () => {
    const noiseLine = fc
      .string({ unit: 'grapheme-ascii', maxLength: 60 })
      .map((s) => s.replace(/[\x00-\x1f\x7f]/g, '') + '\r\n\0');
    fc.assert(
      fc.property(fc.array(noiseLine, { maxLength: 10 }), fc.array(kernelMessage(), { maxLength: 5 }), splitPoints(), (lines, msgs, points) => {
        const dec = new KernelStreamDecoder();
        const wire = Buffer.concat([Buffer.from(lines.join(''), 'latin1'), INFO, ...msgs.map(encodeKernelMessage)]);
        const evs = pushAll(dec, splitAt(wire, points)).filter((e) => e.kind !== 'noise');
        expect(evs[0].kind).toBe('connectionInfo');
        expect(evs.slice(1)).toEqual(msgs);
      }),
      { numRuns: 200 },
    );
  });

  it('requests round-trip through encodeRequest and the kernel-side decoder', () => {
    fc.assert(
      fc.property(fc.array(kernelRequest(), { maxLength: 10 }), splitPoints(), (reqs, points) => {
        const k = new HostStreamDecoder({ connected: true, features: ALL_FEATURES });
        const wire = Buffer.concat(reqs.map(encodeRequest));
        const evs = splitAt(wire, points).flatMap((c) => k.push(c));
        expect(evs.map((e) => (e.kind === 'request' ? e.request : e))).toEqual(reqs);
        expect(k.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('10,000 random streams: never throws, buffering stays bounded', () => {
    const valid = kernelMessage().map(encodeKernelMessage);
    const junkHeader = fc
      .record({ id: fc.constantFrom(1, 2, 3, 6, 10, 12, 14, 16, 0x804, 0x809, 0x842, 0x846, 0x52), length: fc.nat() })
      .map(({ id, length }) => {
        const h = Buffer.alloc(8);
        h.writeUInt32LE(id, 0);
        h.writeUInt32LE(length % 70000, 4);
        return h;
      });
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      valid,
      valid.map((b) => b.subarray(0, Math.floor(b.length / 2))),
      junkHeader,
      fc.constant(INFO),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }),
        splitPoints(),
        fc.boolean(),
        fc.option(fc.record({ address: canonical(), length: fc.integer({ min: 1, max: 64 }) })),
        (pieces, points, startConnected, expectRead) => {
          const dec = new KernelStreamDecoder({ connected: startConnected });
          if (expectRead) dec.expectMemoryReply(expectRead.address, expectRead.length);
          for (const chunk of splitAt(Buffer.concat(pieces), points)) {
            dec.push(chunk);
            expect(dec.buffered).toBeLessThanOrEqual(MAX_DECODER_BUFFER);
            if (dec.ambiguous) dec.settle();
          }
        },
      ),
      { numRuns: 10000 },
    );
  });

  it('a stop record with every field plausible is never rejected', () => {
    fc.assert(
      fc.property(stopRecord(), (r) => {
        const msg: KernelMessage = { kind: 'stop', stopKind: 'breakpoint', record: r };
        expect(new KernelStreamDecoder({ connected: true }).push(encodeKernelMessage(msg))).toEqual([msg]);
      }),
    );
  });
});

describe('encodeRequest', () => {
  it('writes WriteTargetMemory with header length 12 and the data after it', () => {
    expect(encodeRequest({ kind: 'writeMemory', address: 0x7867cd78n, data: Buffer.from('1122334455667788', 'hex') }).toString('hex')).toBe(
      '050000000c00000078cd677800000000080000001122334455667788',
    );
  });
  it('writes SafeWrite with the data inside the counted body', () => {
    expect(encodeRequest({ kind: 'safeWrite', address: 0x1000n, data: Buffer.from([0xaa, 0xbb]) }).toString('hex')).toBe(
      '430000000e000000' + '0010000000000000' + '02000000' + 'aabb',
    );
  });
  it('lays out SetHwBreakpoint and RangeStep as docs/protocol.md says', () => {
    expect(
      encodeRequest({ kind: 'setHwBreakpoint', hw: { slot: 1, kind: 1, length: 8, enable: true, address: 0x1234n } }).toString('hex'),
    ).toBe('440000000c000000' + '01010801' + '3412000000000000');
    expect(encodeRequest({ kind: 'rangeStep', start: 1n, end: 2n }).toString('hex')).toBe(
      '4500000010000000' + '0100000000000000' + '0200000000000000',
    );
  });
  it('refuses values that do not fit their field', () => {
    expect(() => encodeRequest({ kind: 'readMemory', address: -1n, length: 1 })).toThrow(/u64/);
    expect(() => encodeRequest({ kind: 'rdmsr', msr: 2 ** 32 })).toThrow(/u32/);
    let caught: unknown;
    try {
      encodeRequest({ kind: 'updateBreakpoints', entries: [{ address: 1n, state: 7 as never }] });
    } catch (err) {
      caught = err;
    }
    expect(isJosgdbError(caught, 'BAD_ARGUMENT')).toBe(true);
  });
  it('stop records are 225 bytes', () => {
    expect(encodeStopRecord(makeStopRecord()).length).toBe(STOP_RECORD_SIZE);
  });
});
