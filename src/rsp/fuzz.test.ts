/**
 * Robustness: 10,000 random and mutated packets through decoder + parser. The
 * only acceptable outcomes are a command or an RspError; the decoder must stay
 * bounded and keep decoding well-formed packets afterwards.
 */
import fc from 'fast-check';
import { parseCommand } from './commands';
import { RspError } from './errors';
import { encodePacket, RspDecoder } from './framing';
import { mutatePacket, packetMutation } from './testing/packet-mutation';

const CORPUS = [
  'qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386',
  'qXfer:features:read:target.xml:0,ffb',
  'g', 'G' + '00'.repeat(164), 'p10', 'P10=0010000000000000', 'm401000,40', 'M1000,2:cc90',
  'X1000,3:abc', 'x1000,20', 'Z0,401000,1', 'z1,401000,1', 'c', 'c401000', 's', 'C05;1000', 'S0b',
  'vCont?', 'vCont;c:p1.-1;s:1;r1000,2000;t', 'D;1', 'k', 'vKill;1', 'Hg0', 'Hc-1', 'T1', 'qC',
  'qfThreadInfo', 'qsThreadInfo', 'qAttached:1', 'qOffsets', 'qSymbol::', 'qSymbol:10:6d61696e',
  'qRcmd,68656c70', 'vMustReplyEmpty', 'qTStatus', 'qThreadExtraInfo,1', 'qHostInfo', 'qRegisterInfo3d',
  'qMemoryRegionInfo:1000', 'QThreadSuffixSupported', 'g;thread:1;', 'jThreadsInfo', '?', 'QStartNoAckMode',
].map((s) => Buffer.from(s, 'latin1'));

const MAX = 4096;

function parseOrRspError(payload: Buffer): void {
  try {
    parseCommand(payload);
  } catch (err) {
    if (!(err instanceof RspError)) throw new Error(`non-RspError for ${JSON.stringify(payload.toString('latin1'))}: ${String(err)}`);
  }
}

const mutation = packetMutation(20);

describe('fuzz: decoder + parseCommand', () => {
  it('mutated payloads, correctly framed: parse or RspError (5,000 runs)', () => {
    fc.assert(
      fc.property(fc.nat({ max: CORPUS.length - 1 }), fc.array(mutation, { maxLength: 6 }), (i, muts) => {
        const payload = mutatePacket(CORPUS[i]!, muts);
        const dec = new RspDecoder({ maxPacketSize: MAX });
        const events = dec.push(encodePacket(payload));
        expect(events).toEqual([{ kind: 'packet', payload }]);
        parseOrRspError(payload);
      }),
      { numRuns: 5000, seed: 0x5eed },
    );
  });

  it('mutated wire bytes in random splits: no throw, bounded, recovers (5,000 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: CORPUS.length - 1 }), { minLength: 1, maxLength: 5 }),
        fc.array(mutation, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 64 }),
        (picks, muts, rawCuts, noise) => {
          const wire = mutatePacket(
            Buffer.concat([...picks.map((i) => encodePacket(CORPUS[i]!)), Buffer.from(noise)]),
            muts,
          );
          const dec = new RspDecoder({ maxPacketSize: MAX });
          const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          let at = 0;
          for (const c of [...cuts, wire.length]) {
            for (const ev of dec.push(wire.subarray(at, c))) {
              if (ev.kind === 'packet' || ev.kind === 'bad-checksum') parseOrRspError(ev.payload);
            }
            expect(dec.bufferedBytes).toBeLessThanOrEqual(MAX);
            at = c;
          }
          // Whatever state the garbage left, '#xx' ends any frame and a fresh packet decodes.
          dec.push(Buffer.from('#00'));
          const after = dec.push(encodePacket('qC'));
          expect(after.filter((e) => e.kind === 'packet')).toEqual([{ kind: 'packet', payload: Buffer.from('qC') }]);
        },
      ),
      { numRuns: 5000, seed: 0xf00d },
    );
  });

  it('a flood without # never grows the decoder beyond its cap', () => {
    const dec = new RspDecoder({ maxPacketSize: MAX });
    dec.push(Buffer.from('$'));
    for (let i = 0; i < 100; i++) {
      dec.push(Buffer.alloc(1000, 0x41));
      expect(dec.bufferedBytes).toBeLessThanOrEqual(MAX);
    }
  });
});
