import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { buildConnectionInfoBody, parseKernelInfo } from '../target/info';
import { STOP_RECORD_SIZE } from '../target/protocol';
import { decodeStopRecord, encodeStopRecord } from '../target/structs';
import { defaultSnapshotPath, parseSnapshot, serializeSnapshot, SnapshotStore, type SessionSnapshot } from './session-snapshot';

const info = parseKernelInfo(
  buildConnectionInfoBody({ imageBase: 0xfffff80012340000n, entryPoint: 0xfffff80012341000n, hypervisor: 'TCG\xff\x01', features: ['break-in'] }),
);

describe('session snapshot', () => {
  it('round-trips every stop record, callstack, breakpoint list and the exact kernel info', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: STOP_RECORD_SIZE, maxLength: STOP_RECORD_SIZE }),
        fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 8 }),
        fc.oneof(fc.constant('unknown' as const), fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 8 })),
        (recordBytes, callstack, kernelBreakpoints) => {
          const record = decodeStopRecord(Buffer.from(recordBytes));
          const snapshot: SessionSnapshot = {
            target: 'tcp:127.0.0.1:5555',
            savedAt: '2026-01-01T00:00:00.000Z',
            kernelInfo: info,
            state: 'stopped',
            lastStop: { kind: 'hwBreakpoint', record, callstack, slot: 2, dr6: 0xffff0ff4n },
            kernelBreakpoints,
          };
          const back = parseSnapshot(serializeSnapshot(snapshot), 'test');
          expect(encodeStopRecord(back.lastStop!.record).equals(encodeStopRecord(record))).toBe(true);
          expect(back.lastStop!.callstack).toEqual(callstack);
          expect(back.lastStop!.slot).toBe(2);
          expect(back.lastStop!.dr6).toBe(0xffff0ff4n);
          expect(back.kernelBreakpoints).toEqual(kernelBreakpoints);
          expect(back.kernelInfo.raw).toBe(info.raw);
          expect(back.kernelInfo.imageBase).toBe(0xfffff80012340000n);
          expect([...back.kernelInfo.features]).toEqual(['break-in']);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('refuses unusable files with a message that says what to do', () => {
    expect(() => parseSnapshot('{', 'f.json')).toThrow(/f.json is unusable: not JSON.*without --attach/);
    expect(() => parseSnapshot('{"format":"other"}', 'f.json')).toThrow(/format is "other"/);
    const stoppedWithoutRecord = serializeSnapshot({
      target: 't', savedAt: 'x', kernelInfo: info, state: 'running', kernelBreakpoints: [],
    }).replace('"running"', '"stopped"');
    expect(() => parseSnapshot(stoppedWithoutRecord, 'f.json')).toThrow(/no stop record was saved/);
  });

  it('stores atomically per target and refuses a snapshot of another target', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'josgdb-snapshot-'));
    try {
      const store = new SnapshotStore(path.join(dir, 'sub', 's.json'));
      store.save({ target: 'tcp:127.0.0.1:1', savedAt: 'now', kernelInfo: info, state: 'running', kernelBreakpoints: [0x1000n] });
      expect(store.load('tcp:127.0.0.1:1').kernelBreakpoints).toEqual([0x1000n]);
      expect(() => store.load('tcp:127.0.0.1:2')).toThrow(/is for tcp:127.0.0.1:1, not tcp:127.0.0.1:2/);
      writeFileSync(store.file, readFileSync(store.file, 'utf8').replace('0x1000', 'zzz'));
      expect(() => store.load('tcp:127.0.0.1:1')).toThrow(/breakpoint "zzz" is not a hex number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(path.basename(defaultSnapshotPath('tcp:127.0.0.1:5555'))).toBe('tcp_127.0.0.1_5555.json');
    expect(path.basename(defaultSnapshotPath('/dev/ttyUSB0'))).toBe('dev_ttyUSB0.json');
  });
});
