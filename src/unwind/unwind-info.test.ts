import fc from 'fast-check';
import { SymbolFormatError } from '../symbols/format-error';
import { fixtureImage, rvaOf, stubImage, type TestImage } from './testing/fixture-image';
import { readobjUnwind, type ReadobjUnwindInfo } from './testing/readobj-unwind';
import { ByteSpace, encodeUnwindInfo, type UnwindInfoSpec } from './testing/unwind-info-builder';
import { UnwindInfo, UnwindOperation, decodeUnwindChain, decodeUnwindInfo, epilogRanges, operationName, resolveIndirectEntry } from './unwind-info';

const EVERY_OPERATION: UnwindOperation[] = [
  { op: 'saveXmm128', codeOffset: 0x40, register: 'xmm15', offset: 0x100000, far: true },
  { op: 'saveXmm128', codeOffset: 0x38, register: 'xmm6', offset: 0x30, far: false },
  { op: 'saveNonvol', codeOffset: 0x30, register: 'r13', offset: 0x80000, far: true },
  { op: 'saveNonvol', codeOffset: 0x28, register: 'rdi', offset: 0x40, far: false },
  { op: 'setFpreg', codeOffset: 0x20 },
  { op: 'allocLarge', codeOffset: 0x1c, size: 0x110000, form: 'unscaled32' },
  { op: 'allocLarge', codeOffset: 0x10, size: 0x7fff8, form: 'scaled16' },
  { op: 'allocSmall', codeOffset: 0x08, size: 128 },
  { op: 'allocSmall', codeOffset: 0x06, size: 8 },
  { op: 'pushNonvol', codeOffset: 0x04, register: 'r15' },
  { op: 'pushNonvol', codeOffset: 0x02, register: 'rbp' },
  { op: 'pushMachframe', codeOffset: 0x00, errorCode: true },
];

function decode(spec: UnwindInfoSpec, rva = 0x2000): UnwindInfo {
  return decodeUnwindInfo(new ByteSpace().put(rva, encodeUnwindInfo(spec)).read, rva);
}

function formatError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SymbolFormatError);
    return (err as Error).message;
  }
  throw new Error('no error');
}

describe('decoding hand-written UNWIND_INFO records', () => {
  it('reads a record byte by byte as the format describes it', () => {
    // version 1, prolog 6 bytes, 3 codes, no frame register:
    //   06 32 = ALLOC_SMALL (2) with OpInfo 3 at offset 6 -> 32 bytes
    //   02 70 = PUSH_NONVOL (0) rdi (7) at offset 2;  01 60 = PUSH_NONVOL rsi (6) at offset 1;  00 00 padding
    const bytes = Uint8Array.from([0x01, 0x06, 0x03, 0x00, 0x06, 0x32, 0x02, 0x70, 0x01, 0x60, 0x00, 0x00]);
    const info = decodeUnwindInfo(new ByteSpace().put(0x100, bytes).read, 0x100);
    expect(info).toMatchObject({ version: 1, flags: 0, prologSize: 6, frameRegister: undefined, frameOffset: 0, byteLength: 12 });
    expect(info.operations).toEqual([
      { op: 'allocSmall', codeOffset: 6, size: 32 },
      { op: 'pushNonvol', codeOffset: 2, register: 'rdi' },
      { op: 'pushNonvol', codeOffset: 1, register: 'rsi' },
    ]);
    // frame register rbp (5) at offset 2*16; SET_FPREG (3) at 4; ALLOC_LARGE (1) OpInfo 0: 0x0200 * 8
    const framed = Uint8Array.from([0x01, 0x0b, 0x03, 0x25, 0x0b, 0x01, 0x00, 0x02, 0x04, 0x03, 0x00, 0x00]);
    expect(decodeUnwindInfo(new ByteSpace().put(0, framed).read, 0)).toMatchObject({
      frameRegister: 'rbp',
      frameOffset: 32,
      operations: [
        { op: 'allocLarge', codeOffset: 11, size: 0x1000, form: 'scaled16' },
        { op: 'setFpreg', codeOffset: 4 },
      ],
    });
  });

  it('decodes every operation, in both versions, as written', () => {
    for (const version of [1, 2] as const) {
      const info = decode({ version, prologSize: 0x40, frameRegister: 'rbp', frameOffset: 0xf0, operations: EVERY_OPERATION });
      expect(info.version).toBe(version);
      expect(info.operations).toEqual(EVERY_OPERATION);
      expect(info.frameRegister).toBe('rbp');
      expect(info.frameOffset).toBe(0xf0);
      expect(info.epilogs).toBeUndefined();
    }
    expect(EVERY_OPERATION.map(operationName)).toEqual([
      'SAVE_XMM128_FAR', 'SAVE_XMM128', 'SAVE_NONVOL_FAR', 'SAVE_NONVOL', 'SET_FPREG', 'ALLOC_LARGE',
      'ALLOC_LARGE', 'ALLOC_SMALL', 'ALLOC_SMALL', 'PUSH_NONVOL', 'PUSH_NONVOL', 'PUSH_MACHFRAME',
    ]);
  });

  it('reads version 2 epilog descriptors and places the epilogs from the end of the function', () => {
    const info = decode({
      version: 2,
      prologSize: 6,
      // size 5 (pops and ret), the last epilog at the end, two more 0x30 and 0x123 bytes from the end, one padding slot
      epilogs: { size: 5, atEnd: true, offsets: [0x30, 0x123, 0] },
      operations: [{ op: 'allocSmall', codeOffset: 6, size: 40 }, { op: 'pushNonvol', codeOffset: 2, register: 'rbx' }],
    });
    expect(info.epilogs).toEqual({ size: 5, atEnd: true, offsetsFromEnd: [0x30, 0x123] });
    expect(info.operations).toHaveLength(2);
    expect(epilogRanges(info, { beginRva: 0x1000, endRva: 0x1200, unwindInfoRva: 0x2000 })).toEqual([
      { startRva: 0x1200 - 0x123, endRva: 0x1200 - 0x123 + 5 },
      { startRva: 0x1200 - 0x30, endRva: 0x1200 - 0x30 + 5 },
      { startRva: 0x1200 - 5, endRva: 0x1200 },
    ]);
    const notAtEnd = decode({ version: 2, prologSize: 1, epilogs: { size: 2, atEnd: false, offsets: [0x10] }, operations: [] });
    expect(epilogRanges(notAtEnd, { beginRva: 0, endRva: 0x40, unwindInfoRva: 0 })).toEqual([{ startRva: 0x30, endRva: 0x32 }]);
  });

  it('skips handler data: the record ends at the handler RVA, the data follows', () => {
    for (const flags of [1, 2, 3]) {
      const info = decode({ flags, prologSize: 1, operations: [{ op: 'pushNonvol', codeOffset: 1, register: 'rbx' }], handlerRva: 0x1234, handlerData: [1, 2, 3, 4, 5] }, 0x3000);
      expect(info.handler).toEqual({ rva: 0x1234, dataRva: 0x3000 + 4 + 4 + 4, exception: (flags & 1) !== 0, termination: (flags & 2) !== 0 });
      expect(info.byteLength).toBe(12);
      expect(info.chainedTo).toBeUndefined();
    }
  });

  it('follows chained records to the parent, resolving indirect entries, and refuses cycles', () => {
    const space = new ByteSpace()
      .put(0x2000, encodeUnwindInfo({ prologSize: 5, operations: [{ op: 'allocSmall', codeOffset: 5, size: 32 }, { op: 'pushNonvol', codeOffset: 1, register: 'rbx' }] }))
      .put(0x2010, encodeUnwindInfo({ flags: 4, prologSize: 1, operations: [{ op: 'pushNonvol', codeOffset: 1, register: 'rsi' }], chainedTo: { beginRva: 0x1000, endRva: 0x1010, unwindInfoRva: 0x2000 } }))
      // a .pdata entry whose UnwindData has bit 0 set: the RVA of the primary RUNTIME_FUNCTION
      .put(0x2100, Uint8Array.from([0x30, 0x10, 0, 0, 0x40, 0x10, 0, 0, 0x10, 0x20, 0, 0]));
    const chain = decodeUnwindChain(space.read, { beginRva: 0x1030, endRva: 0x1040, unwindInfoRva: 0x2100 | 1 });
    expect(chain.infos.map((i) => i.rva)).toEqual([0x2010, 0x2000]);
    expect(chain.owners).toEqual([
      { beginRva: 0x1030, endRva: 0x1040, unwindInfoRva: 0x2010 },
      { beginRva: 0x1000, endRva: 0x1010, unwindInfoRva: 0x2000 },
    ]);
    expect(resolveIndirectEntry(space.read, { beginRva: 0x1030, endRva: 0x1040, unwindInfoRva: 0x2101 }).unwindInfoRva).toBe(0x2010);

    const loop = new ByteSpace()
      .put(0x2000, encodeUnwindInfo({ flags: 4, prologSize: 0, operations: [], chainedTo: { beginRva: 0x1010, endRva: 0x1020, unwindInfoRva: 0x2020 } }))
      .put(0x2020, encodeUnwindInfo({ flags: 4, prologSize: 0, operations: [], chainedTo: { beginRva: 0x1000, endRva: 0x1010, unwindInfoRva: 0x2000 } }));
    expect(formatError(() => decodeUnwindChain(loop.read, { beginRva: 0x1000, endRva: 0x1010, unwindInfoRva: 0x2000 }))).toMatch(/loops back/);
    const selfIndirect = new ByteSpace().put(0x2100, Uint8Array.from([0, 0x10, 0, 0, 0x10, 0x10, 0, 0, 0x01, 0x21, 0, 0]));
    expect(formatError(() => resolveIndirectEntry(selfIndirect.read, { beginRva: 0x1000, endRva: 0x1010, unwindInfoRva: 0x2101 }))).toMatch(/do not end/);
  });

  it.each<[string, UnwindInfoSpec | Uint8Array, RegExp]>([
    ['version 3', Uint8Array.from([0x03, 0, 0, 0]), /version 3/],
    ['version 0', Uint8Array.from([0x00, 0, 0, 0]), /version 0/],
    ['an unknown flag', Uint8Array.from([0x01 | (8 << 3), 0, 0, 0]), /unknown flags/],
    ['chain and handler together', { flags: 5, prologSize: 0, operations: [], chainedTo: { beginRva: 0, endRva: 1, unwindInfoRva: 0 } }, /cannot also name a handler/],
    ['opcode 7 (spare)', Uint8Array.from([0x01, 0, 2, 0, 0, 0x07, 0, 0]), /unknown unwind opcode 7/],
    ['opcode 11', Uint8Array.from([0x01, 0, 2, 0, 0, 0x0b, 0, 0]), /unknown unwind opcode 11/],
    ['opcode 6 in version 1', Uint8Array.from([0x01, 0, 2, 0, 4, 0x06, 0, 0]), /version 1 record/],
    ['SET_FPREG without a frame register', { prologSize: 4, operations: [{ op: 'setFpreg', codeOffset: 4 }] }, /names no frame register/],
    ['ALLOC_LARGE with OpInfo 2', Uint8Array.from([0x01, 4, 2, 0, 4, 0x21, 1, 0]), /OpInfo 2/],
    ['PUSH_MACHFRAME with OpInfo 2', Uint8Array.from([0x01, 0, 2, 0, 0, 0x2a, 0, 0]), /OpInfo 2/],
    ['an operand past the codes', { prologSize: 4, operations: [{ op: 'saveNonvol', codeOffset: 4, register: 'rbx', offset: 8, far: false }], codeCountOverride: 1 }, /operand slot/],
    ['a 32-bit operand past the codes', { prologSize: 4, operations: [{ op: 'allocLarge', codeOffset: 4, size: 0x100000, form: 'unscaled32' }], codeCountOverride: 2 }, /two operand slots/],
    ['an epilog code after prologue codes', Uint8Array.from([0x02, 1, 2, 0, 1, 0x00, 3, 0x16]), /after prologue operations/],
    ['an epilog size of 0', Uint8Array.from([0x02, 1, 2, 0, 0, 0x06, 0, 0]), /epilog size of 0/],
    ['an epilog past the end', { version: 2, prologSize: 1, epilogs: { size: 8, atEnd: false, offsets: [4] }, operations: [] }, /runs past the end/],
  ])('rejects %s with a SymbolFormatError', (_what, record, message) => {
    const bytes = record instanceof Uint8Array ? record : encodeUnwindInfo(record);
    expect(formatError(() => decodeUnwindInfo(new ByteSpace().put(0x500, bytes).read, 0x500))).toMatch(message);
  });

  it('names the record and the RVA when its bytes cannot be read', () => {
    const space = new ByteSpace().put(0x500, Uint8Array.from([0x01, 0, 4, 0, 1, 0]));
    expect(formatError(() => decodeUnwindInfo(space.read, 0x500))).toMatch(/UNWIND_INFO at RVA 0x500.*cannot read 8 bytes at RVA 0x504/);
    expect(formatError(() => decodeUnwindInfo(space.read, 0x900))).toMatch(/UNWIND_INFO at RVA 0x900/);
  });

  it('never fails on arbitrary bytes with anything but a SymbolFormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
        const space = new ByteSpace().put(0, bytes);
        let info: ReturnType<typeof decodeUnwindInfo>;
        try {
          info = decodeUnwindInfo(space.read, 0);
        } catch (err) {
          expect(err).toBeInstanceOf(SymbolFormatError);
          return;
        }
        // A record counts the padding after its codes (an odd code's slot, an
        // empty record's 4 bytes), which decoding need not read when nothing
        // (a handler, a chained entry) follows it.
        const read = info.handler || info.chainedTo ? info.byteLength : 4 + 2 * bytes[2]!;
        expect(read).toBeLessThanOrEqual(bytes.length);
        expect(info.byteLength).toBeGreaterThanOrEqual(read);
      }),
      // One code and no padding slot: 8 bytes long, 6 of them there to read.
      { numRuns: 3000, examples: [[Uint8Array.from([1, 0, 1, 0, 0, 0])]] },
    );
  });
});

/** A decoded operation as llvm-readobj prints it. */
function readobjText(op: UnwindOperation, info: UnwindInfo): string {
  const hex = (n: number): string => `0x${n.toString(16).toUpperCase()}`;
  switch (op.op) {
    case 'pushNonvol':
      return `PUSH_NONVOL reg=${op.register.toUpperCase()}`;
    case 'allocLarge':
    case 'allocSmall':
      return `${operationName(op)} size=${op.size}`;
    case 'setFpreg':
      return `SET_FPREG reg=${info.frameRegister!.toUpperCase()}, offset=${hex(info.frameOffset)}`;
    case 'saveNonvol':
    case 'saveXmm128':
      return `${operationName(op)} reg=${op.register.toUpperCase()}, offset=${hex(op.offset)}`;
    case 'pushMachframe':
      return `PUSH_MACHFRAME errcode=${op.errorCode ? 'yes' : 'no'}`;
  }
}

function slotCount(info: UnwindInfo): number {
  const epilogs = info.epilogs ? 1 + info.epilogs.offsetsFromEnd.length : 0;
  return epilogs + info.operations.reduce((n, op) => n + (op.op === 'allocLarge' ? (op.form === 'scaled16' ? 2 : 3) : op.op === 'saveNonvol' || op.op === 'saveXmm128' ? (op.far ? 3 : 2) : 1), 0);
}

function expectMatchesReadobj(t: TestImage): number {
  const oracle = readobjUnwind(t.path, t.image.imageBase);
  expect(t.image.runtimeFunctions.length).toBe(oracle.length);
  const read = (rva: number, length: number): Uint8Array => t.image.readRva(rva, length);
  oracle.forEach((o, i) => {
    const fn = t.image.runtimeFunctions[i]!;
    expect({ beginRva: fn.beginRva, endRva: fn.endRva, unwindInfoRva: fn.unwindInfoRva }).toEqual({ beginRva: o.beginRva, endRva: o.endRva, unwindInfoRva: o.unwindInfoRva });
    const info = decodeUnwindChain(read, fn).infos[0]!;
    const ours: ReadobjUnwindInfo = {
      version: info.version,
      flags: info.flags,
      prologSize: info.prologSize,
      frameRegister: info.frameRegister?.toUpperCase(),
      frameOffsetField: info.frameRegister ? info.frameOffset / 16 : undefined,
      codeCount: slotCount(info),
      codes: info.operations.map((op) => ({ offset: op.codeOffset, text: readobjText(op, info) })),
      ...(info.handler ? { handlerRva: info.handler.rva } : {}),
      ...(info.chainedTo ? { chained: info.chainedTo } : {}),
    };
    expect(ours).toEqual(o.info);
  });
  return oracle.length;
}

describe('decoding clang-built images, llvm-readobj --unwind as the oracle', () => {
  it('the hand-written fixture: every operation, chained info and handler data', () => {
    const t = fixtureImage();
    expect(expectMatchesReadobj(t)).toBeGreaterThanOrEqual(14);
    const names = new Set(t.image.runtimeFunctions.flatMap((fn) => decodeUnwindChain((r, l) => t.image.readRva(r, l), fn).infos[0]!.operations.map(operationName)));
    expect([...names].sort()).toEqual(['ALLOC_LARGE', 'ALLOC_SMALL', 'PUSH_MACHFRAME', 'PUSH_NONVOL', 'SAVE_NONVOL', 'SAVE_NONVOL_FAR', 'SAVE_XMM128', 'SAVE_XMM128_FAR', 'SET_FPREG']);
  });

  it('stub-uefi built with unwind tables: every function, and none for the assembly function demo_noinfo', () => {
    const stub = stubImage('unwind');
    expect(expectMatchesReadobj(stub)).toBeGreaterThan(20);
    const noinfo = rvaOf(stub, 'demo_noinfo');
    const oracle = readobjUnwind(stub.path, stub.image.imageBase);
    expect(oracle.some((f) => noinfo >= f.beginRva && noinfo < f.endRva)).toBe(false);
    expect(oracle.some((f) => f.beginRva === rvaOf(stub, 'demo_noinfo_callee'))).toBe(false); // a leaf
    expect(oracle.some((f) => f.beginRva === rvaOf(stub, 'main'))).toBe(true);
  });

  it('decodes the same from the image as loaded in memory', () => {
    const t = fixtureImage();
    const loaded = new Uint8Array(t.image.sizeOfImage);
    loaded.set(t.image.readRva(0, t.image.headers.optional.sizeOfHeaders));
    for (const s of t.image.sections) loaded.set(t.image.readRva(s.virtualAddress, s.virtualSize), s.virtualAddress);
    const fromMemory = (rva: number, length: number): Uint8Array => {
      if (rva + length > loaded.length) throw new Error('past the image');
      return loaded.subarray(rva, rva + length);
    };
    for (const fn of t.image.runtimeFunctions) {
      expect(decodeUnwindChain(fromMemory, fn)).toEqual(decodeUnwindChain((r, l) => t.image.readRva(r, l), fn));
    }
  });
});
