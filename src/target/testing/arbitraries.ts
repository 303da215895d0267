/**
 * fast-check generators for protocol values, shared by the codec and client
 * property tests (and usable by bridge tests). Generated stop records satisfy the
 * architectural invariants the decoder checks, so every generated message is one a
 * real target could send.
 */
import fc from 'fast-check';
import { buildAssertBody } from '../codec';
import { buildConnectionInfoBody, parseKernelInfo } from '../info';
import type { InterruptFrame, KernelMessage, KernelRequest, StopRecord } from '../messages';
import { ALL_FEATURES, COMPACT_STOP_FIELDS, INTERRUPT_FRAME_FIELDS, MAX_TRACE_LENGTH } from '../protocol';
import type { StopKind } from '../protocol';

export const u64 = (): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const u32 = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffffffff });
export const canonical = (): fc.Arbitrary<bigint> =>
  fc.oneof(fc.bigInt({ min: 0n, max: 0x7fffffffffffn }), fc.bigInt({ min: 0xffff800000000000n, max: (1n << 64n) - 1n }));
const bytes = (min: number, max: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));

export const interruptFrame = (): fc.Arbitrary<InterruptFrame> =>
  fc
    .record({
      regs: fc.array(u64(), { minLength: INTERRUPT_FRAME_FIELDS.length, maxLength: INTERRUPT_FRAME_FIELDS.length }),
      handlerId: fc.bigInt({ min: 0n, max: 255n }),
      errorCode: fc.bigInt({ min: 0n, max: 0xffffffffn }),
      rip: canonical(),
      rsp: canonical(),
      cs: fc.bigInt({ min: 0n, max: 0xffffn }),
      ss: fc.bigInt({ min: 0n, max: 0xffffn }),
      rflags: fc.bigInt({ min: 0n, max: 0x3fffffn }).map((f) => f | 2n),
    })
    .map(({ regs, ...fixed }) => {
      const frame = {} as InterruptFrame;
      INTERRUPT_FRAME_FIELDS.forEach((name, i) => {
        frame[name] = regs[i];
      });
      return { ...frame, ...fixed };
    });

export const stopRecord = (): fc.Arbitrary<StopRecord> =>
  fc.record({
    frame: interruptFrame(),
    instruction: bytes(15, 15),
    cr0: u64(),
    cr2: u64(),
    cr3: u64(),
    cr4: u64(),
    callStackSize: fc.integer({ min: 0, max: 0xffff }),
  });

const text = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', minLength: 1, maxLength }).filter((s) => !s.includes('\0'));
const plain = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'grapheme-ascii', maxLength }).filter((s) => !/["\\\0]/.test(s));

const stopKinds: StopKind[] = ['breakpoint', 'gpf', 'ud', 'pf', 'exception', 'breakIn'];

export const kernelMessage = (): fc.Arbitrary<KernelMessage> =>
  fc.oneof(
    text(MAX_TRACE_LENGTH / 4).map((t): KernelMessage => ({ kind: 'trace', text: t })),
    fc
      .record({
        imageBase: u64(),
        entryPoint: u64(),
        processors: fc.integer({ min: 1, max: 256 }),
        memory: u64(),
        vendor: plain(12),
        features: fc.subarray([...ALL_FEATURES]),
      })
      .map((f): KernelMessage => ({ kind: 'connectionInfo', info: parseKernelInfo(buildConnectionInfoBody(f)) })),
    fc.record({ stopKind: fc.constantFrom(...stopKinds), record: stopRecord() }).map((s): KernelMessage => ({ kind: 'stop', ...s })),
    fc
      .record({ record: stopRecord(), slot: fc.integer({ min: 0, max: 3 }), dr6: u64() })
      .map((s): KernelMessage => ({ kind: 'stop', stopKind: 'hwBreakpoint', ...s })),
    fc.array(canonical(), { minLength: 1, maxLength: 40 }).map((addresses): KernelMessage => ({ kind: 'callstack', addresses })),
    fc
      .record({ cond: plain(40), file: plain(40), line: fc.integer({ min: 0, max: 100000 }) })
      .map((a): KernelMessage => ({ kind: 'assert', ...a, raw: buildAssertBody(a.cond, a.file, a.line).toString('latin1') })),
    bytes(1, 300).map((data): KernelMessage => ({ kind: 'memory', data })),
    fc
      .record({ address: u64(), pml4e: u64(), pdpte: u64(), pde: u64(), pte: u64() })
      .map((p): KernelMessage => ({ kind: 'pageTable', ...p })),
    fc
      .record({ msr: u32(), lo: u32(), hi: u32() })
      .map((m): KernelMessage => ({ kind: 'msr', ...m, value: (BigInt(m.hi) << 32n) | BigInt(m.lo) })),
    fc
      .record({ leaf: u32(), subleaf: u32(), eax: u32(), ebx: u32(), ecx: u32(), edx: u32() })
      .map((c): KernelMessage => ({ kind: 'cpuid', ...c })),
    u32().map((status): KernelMessage => ({ kind: 'writeRegistersReply', status })),
    fc
      .record({ status: fc.integer({ min: 0, max: 3 }), data: bytes(0, 300) })
      .map((r): KernelMessage => ({ kind: 'safeReadReply', status: r.status, count: r.data.length, data: r.data })),
    fc.record({ status: fc.integer({ min: 0, max: 3 }), count: u32() }).map((r): KernelMessage => ({ kind: 'safeWriteReply', ...r })),
    u32().map((status): KernelMessage => ({ kind: 'hwBreakpointReply', status })),
    fc
      .record({
        changes: fc.array(fc.tuple(fc.constantFrom(...COMPACT_STOP_FIELDS), u64()), { maxLength: 30 }),
        instruction: bytes(15, 15),
        stackBelow: bytes(0, 64),
      })
      .map(({ changes, ...rest }): KernelMessage => ({ kind: 'compactStop', changed: Object.fromEntries(changes), ...rest })),
    fc
      .record({
        seg: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 6, maxLength: 6 }),
        wide: fc.array(u64(), { minLength: 9, maxLength: 9 }),
        fxsave: bytes(512, 512),
      })
      .map(({ seg, wide, fxsave }): KernelMessage => ({
        kind: 'context',
        context: {
          cs: seg[0], ds: seg[1], es: seg[2], fs: seg[3], gs: seg[4], ss: seg[5],
          fsBase: wide[0], gsBase: wide[1], cr8: wide[2],
          dr0: wide[3], dr1: wide[4], dr2: wide[5], dr3: wide[6], dr6: wide[7], dr7: wide[8],
          fxsave,
        },
      })),
  );

export const kernelRequest = (): fc.Arbitrary<KernelRequest> =>
  fc.oneof(
    fc.constantFrom<KernelRequest>(
      { kind: 'continue' },
      { kind: 'traceStep' },
      { kind: 'singleStep' },
      { kind: 'memoryMap' },
      { kind: 'hiveDump' },
      { kind: 'breakIn' },
      { kind: 'readContext' },
      { kind: 'reset' },
      { kind: 'traceStepCompact' },
    ),
    fc.record({ address: u64(), length: u32() }).map((r): KernelRequest => ({ kind: 'readMemory', ...r })),
    fc.record({ address: u64(), data: bytes(0, 200) }).map((r): KernelRequest => ({ kind: 'writeMemory', ...r })),
    u64().map((address): KernelRequest => ({ kind: 'traversePageTable', address })),
    u32().map((msr): KernelRequest => ({ kind: 'rdmsr', msr })),
    fc.record({ leaf: u32(), subleaf: u32() }).map((r): KernelRequest => ({ kind: 'cpuid', ...r })),
    fc
      .array(fc.record({ address: u64(), state: fc.constantFrom(0 as const, 1 as const, 2 as const) }), { maxLength: 20 })
      .map((entries): KernelRequest => ({ kind: 'updateBreakpoints', entries })),
    interruptFrame().map((frame): KernelRequest => ({ kind: 'writeRegisters', frame })),
    fc.record({ address: u64(), length: u32() }).map((r): KernelRequest => ({ kind: 'safeRead', ...r })),
    fc.record({ address: u64(), data: bytes(0, 200) }).map((r): KernelRequest => ({ kind: 'safeWrite', ...r })),
    fc
      .record({
        slot: fc.integer({ min: 0, max: 3 }),
        kind: fc.constantFrom(0 as const, 1 as const, 3 as const),
        length: fc.constantFrom(1, 2, 4, 8),
        enable: fc.boolean(),
        address: u64(),
      })
      .map((hw): KernelRequest => ({ kind: 'setHwBreakpoint', hw })),
    fc.record({ start: u64(), end: u64() }).map((r): KernelRequest => ({ kind: 'rangeStep', ...r })),
  );

/** Cuts a buffer at random points. */
export const splitPoints = (): fc.Arbitrary<number[]> => fc.array(fc.nat(), { maxLength: 20 });
export function splitAt(buf: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => (buf.length ? p % (buf.length + 1) : 0)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const c of cuts) {
    out.push(buf.subarray(start, c));
    start = c;
  }
  out.push(buf.subarray(start));
  return out;
}
