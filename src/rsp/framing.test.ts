import fc from 'fast-check';
import { checksum, decodePayload, encodeNotification, encodePacket, RspDecoder, type RspEvent } from './framing';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

function feedWhole(input: Buffer, dec = new RspDecoder()): RspEvent[] {
  return dec.push(input);
}

/** Feed `input` split at `cuts` (sorted offsets) and collect events. */
function feedSplit(input: Buffer, cuts: number[], dec = new RspDecoder()): RspEvent[] {
  const events: RspEvent[] = [];
  let at = 0;
  for (const c of [...cuts, input.length]) {
    events.push(...dec.push(input.subarray(at, c)));
    at = c;
  }
  return events;
}

/** Garbage runs may be split differently; merge adjacent garbage events for comparison. */
function normalise(events: RspEvent[]): unknown[] {
  const out: unknown[] = [];
  for (const ev of events) {
    const prev = out[out.length - 1] as { kind: string; bytes?: Buffer } | undefined;
    if (ev.kind === 'garbage' && prev?.kind === 'garbage') {
      prev.bytes = Buffer.concat([prev.bytes!, ev.bytes]);
      continue;
    }
    out.push(ev.kind === 'garbage' ? { kind: 'garbage', bytes: Buffer.from(ev.bytes) } : ev);
  }
  return out.map((e) => JSON.parse(JSON.stringify(e)));
}

describe('encodePacket', () => {
  it.each([
    ['', '$#00'],
    ['OK', '$OK#9a'],
    ['qSupported', '$qSupported#37'],
    ['g', '$g#67'],
    ['a$b', '$a}\x04b#' + checksum(bytes('a}\x04b')).toString(16).padStart(2, '0')],
  ])('encodes %j', (payload, wire) => {
    expect(encodePacket(payload).toString('latin1')).toBe(wire);
  });

  it('escapes $ # } * as } + byte^0x20', () => {
    const wire = encodePacket(Buffer.from([0x24, 0x23, 0x7d, 0x2a, 0x41])).toString('latin1');
    expect(wire.slice(0, -3)).toBe('$}\x04}\x03}\x5d}\x0aA');
  });

  it('frames notifications with %', () => {
    expect(encodeNotification('Stop:T05').toString('latin1')).toMatch(/^%Stop:T05#[0-9a-f]{2}$/);
  });
});

describe('RspDecoder', () => {
  const stream = Buffer.concat([
    bytes('+'),
    encodePacket('qSupported:multiprocess+;swbreak+;hwbreak+'),
    bytes('-'),
    encodePacket(Buffer.from([0x58, 0x24, 0x23, 0x7d, 0x2a, 0x03, 0x00, 0xff])),
    bytes('\x03'),
    encodePacket(''),
    bytes('junk'),
    bytes('$m1000,4#00'), // bad checksum
    encodePacket('vCont;c'),
  ]);

  const expected: unknown[] = [
    { kind: 'ack' },
    { kind: 'packet', payload: bytes('qSupported:multiprocess+;swbreak+;hwbreak+') },
    { kind: 'nack' },
    { kind: 'packet', payload: Buffer.from([0x58, 0x24, 0x23, 0x7d, 0x2a, 0x03, 0x00, 0xff]) },
    { kind: 'interrupt' },
    { kind: 'packet', payload: Buffer.alloc(0) },
    { kind: 'garbage', bytes: bytes('junk') },
    { kind: 'bad-checksum', payload: bytes('m1000,4'), expected: checksum(bytes('m1000,4')), received: '00' },
    { kind: 'packet', payload: bytes('vCont;c') },
  ].map((e) => JSON.parse(JSON.stringify(e)));

  it('decodes a mixed stream in one chunk', () => {
    expect(normalise(feedWhole(stream))).toEqual(expected);
  });

  it('gives the same events when cut at every single byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect({ cut, events: normalise(feedSplit(stream, [cut])) }).toEqual({ cut, events: expected });
    }
  });

  it('gives the same events when fed one byte at a time', () => {
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(normalise(feedSplit(stream, cuts))).toEqual(expected);
  });

  it('gives the same events for every pair of cuts', () => {
    for (let a = 1; a < stream.length; a += 3) {
      for (let b = a; b < stream.length; b += 5) {
        expect(normalise(feedSplit(stream, [a, b]))).toEqual(expected);
      }
    }
  });

  it('treats 0x03 inside a packet as data, not an interrupt', () => {
    const ev = feedWhole(encodePacket(Buffer.from([0x58, 0x03, 0x59])));
    expect(ev).toEqual([{ kind: 'packet', payload: Buffer.from([0x58, 0x03, 0x59]) }]);
  });

  it('reports non-hex checksum characters as a bad checksum', () => {
    const [ev] = feedWhole(bytes('$OK#zz'));
    expect(ev).toMatchObject({ kind: 'bad-checksum', received: 'zz' });
  });

  it('accepts uppercase checksum digits', () => {
    expect(feedWhole(bytes('$qC#B4'))).toEqual([{ kind: 'packet', payload: bytes('qC') }]);
  });

  it('resyncs when a $ appears inside a packet (lost frame end)', () => {
    const ev = feedWhole(Buffer.concat([bytes('$m10'), encodePacket('g')]));
    expect(normalise(ev)).toEqual(
      normalise([
        { kind: 'garbage', bytes: bytes('$m10') },
        { kind: 'packet', payload: bytes('g') },
      ]),
    );
  });

  it('drops oversized packets as garbage and keeps working', () => {
    const dec = new RspDecoder({ maxPacketSize: 16 });
    const big = Buffer.concat([bytes('$'), Buffer.alloc(100, 0x41), bytes('#00')]);
    const events: RspEvent[] = [];
    for (let i = 0; i < big.length; i += 7) {
      events.push(...dec.push(big.subarray(i, i + 7)));
      expect(dec.bufferedBytes).toBeLessThanOrEqual(16);
    }
    events.push(...dec.push(encodePacket('qC')));
    expect(events.filter((e) => e.kind !== 'garbage')).toEqual([{ kind: 'packet', payload: bytes('qC') }]);
    expect(dec.inPacket).toBe(false);
  });

  it('expands run-length encoding', () => {
    // "0* " = '0' repeated 1 + (0x20 - 29) = 4 times
    expect(decodePayload(bytes('0* '))).toEqual(bytes('0000'));
    const wire = bytes('$0* #' + checksum(bytes('0* ')).toString(16).padStart(2, '0'));
    expect(feedWhole(wire)).toEqual([{ kind: 'packet', payload: bytes('0000') }]);
  });

  it('round-trips arbitrary binary payloads, whole and split (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), (data, rawCuts) => {
        const wire = encodePacket(Buffer.from(data));
        const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const events = feedSplit(wire, cuts);
        expect(events).toEqual([{ kind: 'packet', payload: Buffer.from(data) }]);
      }),
      { numRuns: 500 },
    );
  });

  it('escaped wire form never contains raw $ # * outside the frame (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
        const wire = encodePacket(Buffer.from(data));
        const body = wire.subarray(1, wire.length - 3);
        expect(body.includes(0x24)).toBe(false);
        expect(body.includes(0x23)).toBe(false);
        expect(body.includes(0x2a)).toBe(false);
      }),
    );
  });

  it('decodes sequences of packets in any split (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (payloads, rawCuts) => {
          const wire = Buffer.concat(payloads.map((p) => encodePacket(Buffer.from(p))));
          const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const events = feedSplit(wire, cuts);
          expect(events).toEqual(payloads.map((p) => ({ kind: 'packet', payload: Buffer.from(p) })));
        },
      ),
    );
  });

  it('does not alias the caller chunk buffer', () => {
    const dec = new RspDecoder();
    const chunk = Buffer.from('$abc');
    dec.push(chunk);
    chunk.fill(0x5a);
    const ev = dec.push(Buffer.from('#' + checksum(bytes('abc')).toString(16)));
    expect(ev).toEqual([{ kind: 'packet', payload: bytes('abc') }]);
  });
});
