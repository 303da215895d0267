/**
 * 100,000 generated and mutated RSP inputs through the real RspConnection
 * (framing, acks, checksums), parseCommand and GdbHandlers, over a Session on an
 * in-memory target that answers at once: wrong checksums, missing '#', packets of
 * more than 1 MiB without an end, bad binary escapes, absurd addresses and
 * lengths, registers out of range, malformed vCont, qXfer offsets past the end.
 * Every reply must be a well-formed packet (checksum, escapes), every error a
 * well-formed `Exx`/`E.text`, nothing may throw or hang, the process's memory
 * stays bounded, the session keeps answering `?`, and after the release target
 * memory holds exactly what the fuzz wrote on purpose: no 0xCC left behind.
 * The whole-bridge fuzz over sockets to the josx64 double is test/bridge-fuzz.test.ts.
 */
import { EventEmitter } from 'events';
import fc from 'fast-check';
import pino from 'pino';
import { GdbHandlers } from '../../src/bridge/gdb-handlers';
import { Session } from '../../src/bridge/session';
import { RspConnection } from '../../src/rsp/connection';
import { checksum, decodePayload, encodePacket } from '../../src/rsp/framing';
import { report, rssMb, Tally } from './support/figures';
import { BASE, MemoryTarget, SIZE } from './support/memory-target';
import { mutatePacket, packetMutation } from '../../src/rsp/testing/packet-mutation';

const TOTAL = Number(process.env.JOSGDB_RSP_FUZZ_PACKETS ?? 100_000);
const h = (v: bigint | number) => v.toString(16);
const WELL_FORMED_ERROR = /^E([0-9a-fA-F]{2}|\..*)$/s;

class FakeStream extends EventEmitter {
  out: Buffer[] = [];
  write(data: Buffer): boolean {
    this.out.push(Buffer.from(data));
    // gdb acknowledges every packet it gets
    if (data[0] === 0x24) queueMicrotask(() => this.emit('data', Buffer.from('+')));
    return true;
  }
  destroy(): void {
    this.emit('close');
  }
  take(): Buffer {
    const b = Buffer.concat(this.out);
    this.out = [];
    return b;
  }
}

function corpus(): string[] {
  const code = BASE + 0x1000n;
  const data = BASE + 0x8000n;
  return [
    'qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386;vContSupported+', '?', 'g', 'p10', 'p0', 'p39', 'p63', 'p99', 'pffffffff',
    'pffffffffffffffffffff', 'P0=0100000000000000', 'P10=' + '00'.repeat(8), 'P99=00', 'Pffffffff=00', 'P0=0', 'G' + '00'.repeat(100), 'G' + '0'.repeat(3),
    `m${h(code)},10`, `m${h(code)},40`, `m${h(data)},8`, 'm0,10', 'm7f0000000000,8', 'm8000000000000000,4', 'mffffffffffffffff,10',
    `m${h(code)},ffffffff`, `m${h(code)},100000000`, 'm,', 'm1', 'mzz,4', `x${h(code)},20`, `x${h(code)},ffffffff`,
    `M${h(data)},8:0100000000000000`, `M${h(data)},ffffffff:00`, `M${h(data)},4:0`, `X${h(data)},1:a`, `X${h(data)},4:}`, `X${h(data)},2:}}}`,
    `X${h(data)},3:ab}`, `X${h(data)},ffffffff:a`, `Xffffffffffffffff,1:a`,
    `Z0,${h(code + 0x10n)},1`, `z0,${h(code + 0x10n)},1`, `Z0,${h(code + 0x20n)},1`, `z0,${h(code + 0x20n)},1`, 'Z0,0,1', 'Z0,ffffffffffffffff,1', 'Z9,0,1',
    `Z1,${h(code)},1`, `z1,${h(code)},1`, `Z2,${h(data)},8`, `z2,${h(data)},8`, `Z3,${h(data)},4`, `Z4,${h(data)},3`, `Z2,${h(data)},ffffffff`,
    's', 'c', `c${h(code)}`, 'C05', 'S0b', 'vCont;s:1', 'vCont;c', `vCont;r${h(code)},${h(code + 4n)}:1`, `vCont;r${h(code + 4n)},${h(code)}`,
    'vCont?', 'vCont;t', 'vCont;', 'vCont;x', 'vCont;c:zz', 'vCont;s:1;s:1', 'vCont;C', 'vCont;r1', 'vCont;c:p1.-1', 'vCont;cccc',
    'Hg0', 'Hc-1', 'Hg1', 'Hgzz', 'T1', 'T2', 'qC', 'qfThreadInfo', 'qsThreadInfo', 'qAttached', 'qAttached:1', 'qOffsets',
    'qXfer:features:read:target.xml:0,ffb', 'qXfer:features:read:target.xml:400,200', 'qXfer:features:read:target.xml:ffffffff,10',
    'qXfer:features:read:target.xml:0,0', 'qXfer:features:read:nope.xml:0,10', 'qXfer:features:read:target.xml:fffffffffffffffffff,1',
    'qXfer:exec-file:read::ffff,10', 'qXfer:exec-file:read::0,100', 'qXfer:libraries:read::99999,10', 'qXfer:threads:read::0,1000', 'qXfer:threads:read::fffff,10',
    'qSymbol::', 'qSymbol:10:6d61696e', 'vMustReplyEmpty', 'qTStatus', 'qHostInfo', 'qProcessInfo', 'qRegisterInfo0', 'qRegisterInfo3d', 'qRegisterInfoffff',
    'qMemoryRegionInfo:1000', `qMemoryRegionInfo:${h(code)}`, 'qMemoryRegionInfo:ffffffffffffffff', 'QThreadSuffixSupported', 'QListThreadsInStopReply',
    'jThreadsInfo', 'qRcmd,68656c70', 'qRcmd,696e666f', 'qRcmd,72656773', 'qRcmd,6370756964203020', 'qRcmd,7a', 'qRcmd,', 'qRcmd,zz',
    `qRcmd,${Buffer.from(`pt 0x${h(code)}`).toString('hex')}`, `qRcmd,${Buffer.from('x/100000xg 0').toString('hex')}`, 'qRcmd,627265616b706f696e7473',
    'qThreadExtraInfo,1', 'vFile:setfs:0', 'vFile:setfs:99', 'vFile:open:2f6574632f706173737764,0,0', 'vFile:pread:0,ffffffff,0', 'vFile:pread:7,10,ffffffffffff',
    'vFile:close:0', 'vFile:readlink:2f', 'vFile:unlink:2f746d70', 'vFile:fstat:0', 'qGetTLSAddr:1,0,0', '', 'QNonStop:1', 'vAttach;1', 'vStopped', 'bc', 'bs', 'A', 'i', 'I',
  ];
}

const mutation = packetMutation(16);

/** How one input goes on the wire. */
type Wire = { how: 'framed' | 'bad-checksum' | 'no-hash' | 'raw'; payload: Buffer };
function onWire(w: Wire): Buffer {
  const framed = encodePacket(w.payload);
  if (w.how === 'framed') return framed;
  if (w.how === 'bad-checksum') {
    const bad = Buffer.from(framed);
    bad[bad.length - 1] = bad[bad.length - 1] === 0x30 ? 0x31 : 0x30;
    return bad;
  }
  if (w.how === 'no-hash') return framed.subarray(0, framed.length - 3);
  return w.payload;
}

/** Splits what the bridge wrote into packets; anything malformed throws. */
function repliesIn(bytes: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const c = bytes[at]!;
    if (c === 0x2b || c === 0x2d) {
      at++;
      continue;
    }
    if (c !== 0x24) throw new Error(`a byte outside a packet: 0x${h(c)} in ${JSON.stringify(bytes.subarray(at, at + 60).toString('latin1'))}`);
    const hash = bytes.indexOf(0x23, at);
    if (hash < 0 || hash + 3 > bytes.length) throw new Error(`an unterminated reply ${JSON.stringify(bytes.subarray(at, at + 60).toString('latin1'))}`);
    const wire = bytes.subarray(at + 1, hash);
    if (wire.includes(0x24)) throw new Error(`an unescaped '$' in a reply`);
    const sum = bytes.subarray(hash + 1, hash + 3).toString('latin1');
    if (!/^[0-9a-f]{2}$/.test(sum) || parseInt(sum, 16) !== checksum(wire)) throw new Error(`a bad checksum ${sum} on ${JSON.stringify(wire.toString('latin1').slice(0, 60))}`);
    out.push(decodePayload(wire).toString('latin1'));
    at = hash + 3;
  }
  return out;
}

describe('reliability: 100,000 RSP inputs through framing, parser and handlers', () => {
  it(`answers ${TOTAL} generated and mutated inputs with well-formed packets, bounded, and leaves no 0xCC`, async () => {
    const tally = new Tally();
    tally.scenarios = 1;
    const rssBefore = rssMb();
    const log = pino({ level: 'silent' });
    const target = new MemoryTarget();
    const session = new Session(target, log);
    target.start();
    const stream = new FakeStream();
    const conn = new RspConnection(stream);
    const handlers = new GdbHandlers({
      session,
      log,
      linkDescription: 'memory',
      setLogLevel: () => true,
      peer: { send: (p) => conn.sendAsync(p), closeAfterReply: () => undefined },
    });
    conn.onCommand((cmd) => handlers.handle(cmd));
    conn.onInterrupt(() => void handlers.interrupt());
    const tick = () => new Promise((r) => setImmediate(r));

    const seeds = corpus().map((s) => Buffer.from(s, 'latin1'));
    const payload = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...seeds) },
      { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([s, m]) => mutatePacket(s, m)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a)) },
    );
    const input: fc.Arbitrary<Wire> = fc.record({
      how: fc.constantFrom<Wire['how']>('framed', 'framed', 'framed', 'framed', 'framed', 'framed', 'bad-checksum', 'no-hash', 'raw'),
      payload,
    });
    // a few more than TOTAL: the ones that would end the session (k, D, R, vKill, vRun) are not sent
    const inputs = fc.sample(input, { numRuns: Math.ceil(TOTAL * 1.02), seed: 0x8e11ab });
    const HUGE = Buffer.concat([Buffer.from('$'), Buffer.alloc(1_200_000, 0x41)]); // more than the 1 MiB cap, no end

    let errors = 0;
    let replies = 0;
    let maxRss = rssBefore;
    const recent: string[] = [];
    const lastWire: string[] = [];
    const check = (bytes: Buffer) => {
      for (const r of repliesIn(bytes)) {
        replies++;
        if (r.startsWith('E') && !/^E[0-9a-fA-F]{2}/.test(r) && r.length > 3 && !r.startsWith('E.')) {
          // an 'E' that is not an error: only a stop reply or data could start so; none does
          throw new Error(`malformed error reply ${JSON.stringify(r.slice(0, 80))} after ${recent.join(' ')}`);
        }
        if (/^E/.test(r) && (r.length === 3 || r.startsWith('E.'))) {
          errors++;
          if (!WELL_FORMED_ERROR.test(r)) throw new Error(`malformed error reply ${JSON.stringify(r)}`);
        }
      }
    };

    for (let i = 0; i < inputs.length && tally.packets < TOTAL; i++) {
      const w = inputs[i]!;
      recent.push(`${w.how}:${JSON.stringify(w.payload.toString('latin1').slice(0, 40))}`);
      if (recent.length > 8) recent.shift();
      if (/^(k|vKill|R|vRun|D)/.test(w.payload.toString('latin1'))) continue; // they end the session: their own tests
      const bytes = onWire(w);
      lastWire.push(bytes.toString('latin1'));
      if (lastWire.length > 4) lastWire.shift();
      stream.emit('data', bytes);
      if (i % 20_000 === 7) stream.emit('data', HUGE);
      await conn.whenIdle();
      await tick();
      if (session.status === 'running') {
        stream.emit('data', Buffer.from([0x03]));
        await tick();
        await tick();
        await conn.whenIdle();
      }
      check(stream.take());
      tally.packets++;
      if (i % 1000 === 999) {
        // whatever state the garbage left, '#00' ends any frame, and '?' must be answered with a stop
        // (twice: a '}' at the end of the garbage escapes the first '#')
        stream.emit('data', Buffer.from('#00#00'));
        await conn.whenIdle();
        await tick();
        check(stream.take());
        stream.emit('data', encodePacket('?'));
        await conn.whenIdle();
        await tick();
        const got = repliesIn(stream.take());
        if (!got.some((r) => /^T[0-9a-f]{2}/.test(r))) {
          const why = await handlers.handle({ kind: 'haltReason' }).then(String, (e: unknown) => String(e));
          got.push(`(direct: ${why}) wire ${JSON.stringify(lastWire)} noack ${conn.noAckMode}`);
        }
        tally.check(got.some((r) => /^T[0-9a-f]{2}/.test(r)), `'?' after ${i + 1} inputs got ${JSON.stringify(got)} (session ${session.status}); last: ${recent.join(' ')}`);
        maxRss = Math.max(maxRss, rssMb());
        tally.check(rssMb() < rssBefore + 400, `RSS ${rssMb()} MB after ${i + 1} inputs (from ${rssBefore} MB)`);
      }
    }
    expect(errors).toBeGreaterThan(1000);
    expect(tally.packets).toBe(TOTAL);
    expect(replies).toBeGreaterThan(TOTAL / 2);

    // the session ends: nothing the bridge armed may stay in memory
    stream.emit('data', Buffer.from('#00'));
    if (session.status === 'running') {
      await session.interrupt();
      await session.waitForStop();
    }
    await session.release({ resume: false });
    tally.checks++;
    const stray: string[] = [];
    for (let i = 0; i < SIZE; i++) if (target.memory[i] !== target.intended[i]) stray.push(`0x${h(BASE + BigInt(i))}: 0x${h(target.memory[i]!)}`);
    if (stray.length) tally.failures++;
    expect(stray).toEqual([]);
    report({ suite: 'RSP fuzz (framing, parser, handlers)', scenarios: 1, faults: 0, packets: tally.packets, checks: tally.checks, failures: tally.failures, rssBeforeMb: rssBefore, rssAfterMb: rssMb(), notes: `${replies} replies, ${errors} errors, ${target.stops} stops, peak RSS ${maxRss} MB` });
  }, 600_000);
});
