/**
 * Each location record form on its own, with the meaning CodeView gives it
 * (cvinfo.h, LLVM's CodeViewDebug): ranges minus gaps, the frame pointer
 * S_FRAMEPROC picks for locals and for parameters, subfields laid out as
 * pieces, and every case where the honest answer is "unavailable".
 * DWARF register numbers are the psABI's: 0 rax, 1 rdx, 2 rcx, 3 rbx,
 * 6 rbp, 7 rsp, 8 r8, 17 xmm0.
 */
import type { ModelVariableLocation } from '../debug-model-types';
import { CV_AMD64_RBP, CV_AMD64_RSP, cvRegister, cvRegisterName, dwarfRegisterOf } from './cv-registers';
import { S } from './symbol-kinds';
import type { AddressGap, BpRelSymbol, LocalSymbol, RegisterSymbol, RegRelSymbol } from './symbol-records';
import { localVariableLocation, registerVariableLocation, type DefRangeSymbol, type LocationContext } from './variable-locations';

// CodeView register numbers (cvconst.h CV_AMD64_*).
const EAX = 17;
const ECX = 18;
const EDX = 19;
const AH = 5;
const RAX = 328;
const RCX = 330;
const R8D = 360;
const XMM0 = 154;

const base = (kind: number) => ({ recordOffset: 0, recordSize: 0, kindValue: kind });
const range = (offset: number, length: number) => ({ segment: 1, offset, length });

const local = (isParam = false, isOptimizedOut = false): LocalSymbol => ({
  ...base(S.S_LOCAL),
  kind: 'S_LOCAL',
  typeIndex: 0x74,
  flags: 0,
  isParam,
  isOptimizedOut,
  name: 'v',
});
const inRegister = (register: number, offset: number, length: number, gaps: AddressGap[] = []): DefRangeSymbol => ({
  ...base(S.S_DEFRANGE_REGISTER),
  kind: 'S_DEFRANGE_REGISTER',
  register,
  mayHaveNoName: false,
  range: range(offset, length),
  gaps,
});
const framePointerRelative = (offset: number, at: number, length: number): DefRangeSymbol => ({
  ...base(S.S_DEFRANGE_FRAMEPOINTER_REL),
  kind: 'S_DEFRANGE_FRAMEPOINTER_REL',
  offset,
  range: range(at, length),
  gaps: [],
});
const subfield = (register: number, offsetInParent: number, at: number, length: number): DefRangeSymbol => ({
  ...base(S.S_DEFRANGE_SUBFIELD_REGISTER),
  kind: 'S_DEFRANGE_SUBFIELD_REGISTER',
  register,
  mayHaveNoName: true,
  offsetInParent,
  range: range(at, length),
  gaps: [],
});
const registerRelative = (baseRegister: number, basePointerOffset: number, at: number, length: number, offsetInParent?: number): DefRangeSymbol => ({
  ...base(S.S_DEFRANGE_REGISTER_REL),
  kind: 'S_DEFRANGE_REGISTER_REL',
  baseRegister,
  spilledUdtMember: offsetInParent !== undefined,
  offsetInParent: offsetInParent ?? 0,
  basePointerOffset,
  range: range(at, length),
  gaps: [],
});
const fullScope = (offset: number): DefRangeSymbol => ({
  ...base(S.S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE),
  kind: 'S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE',
  offset,
});

// Section 1 starts at RVA 0x1000; the function is [0x1000, 0x1100).
const context = (overrides: Partial<LocationContext> = {}): LocationContext => ({
  rvaOf: (segment, offset) => (segment === 1 ? 0x1000 + offset : undefined),
  frame: { local: CV_AMD64_RSP, param: CV_AMD64_RBP },
  scope: { startRva: 0x1000, endRva: 0x1100 },
  frameValid: undefined,
  byteSize: 4,
  ...overrides,
});

const reg = (register: number) => ({ kind: 'register' as const, register });
const mem = (baseRegister: number, offset: number) => ({ kind: 'memory' as const, base: baseRegister, offset });
const ranges = (...r: [number, number, unknown][]): ModelVariableLocation =>
  ({ kind: 'ranges', ranges: r.map(([startRva, endRva, location]) => ({ startRva, endRva, location })) }) as ModelVariableLocation;

describe('S_LOCAL with S_DEFRANGE_*', () => {
  test('S_DEFRANGE_REGISTER: the register over the range, minus the gaps', () => {
    const location = localVariableLocation(local(), [inRegister(ECX, 0x10, 0x20, [{ gapStartOffset: 4, length: 2 }])], context());
    expect(location).toEqual(ranges([0x1010, 0x1014, reg(2)], [0x1016, 0x1030, reg(2)]));
  });

  test('consecutive ranges in different registers stay apart, equal neighbours join', () => {
    const location = localVariableLocation(
      local(),
      [inRegister(EDX, 0x00, 0x0c), inRegister(R8D, 0x0c, 0x1a), inRegister(R8D, 0x26, 0x02), inRegister(EDX, 0x30, 0x03)],
      context(),
    );
    expect(location).toEqual(ranges([0x1000, 0x100c, reg(1)], [0x100c, 0x1028, reg(8)], [0x1030, 0x1033, reg(1)]));
  });

  test('S_DEFRANGE_FRAMEPOINTER_REL: locals from the local frame pointer, parameters from the parameter one', () => {
    expect(localVariableLocation(local(false), [framePointerRelative(16, 0x08, 0x10)], context())).toEqual(
      ranges([0x1008, 0x1018, mem(7, 16)]),
    );
    expect(localVariableLocation(local(true), [framePointerRelative(16, 0x08, 0x10)], context())).toEqual(
      ranges([0x1008, 0x1018, mem(6, 16)]),
    );
  });

  test('S_DEFRANGE_FRAMEPOINTER_REL without a frame pointer (S_FRAMEPROC says none) is unavailable', () => {
    const location = localVariableLocation(local(), [framePointerRelative(8, 0, 4)], context({ frame: { local: undefined, param: undefined } }));
    expect(location).toEqual({ kind: 'optimized-out' });
  });

  test('S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE: the whole scope, or where the frame is set up', () => {
    expect(localVariableLocation(local(), [fullScope(-8)], context())).toEqual({ kind: 'fixed', location: mem(7, -8) });
    const framed = context({ frameValid: { startRva: 0x1004, endRva: 0x10f0 } });
    expect(localVariableLocation(local(), [fullScope(-8)], framed)).toEqual(ranges([0x1004, 0x10f0, mem(7, -8)]));
  });

  test('S_DEFRANGE_REGISTER_REL: memory at a base register, whole or as a spilled member', () => {
    expect(localVariableLocation(local(), [registerRelative(RSP_CV, 40, 0, 0x19)], context())).toEqual(ranges([0x1000, 0x1019, mem(7, 40)]));
    const pair = context({ byteSize: 8 });
    expect(localVariableLocation(local(), [registerRelative(RSP_CV, 40, 0, 0x10, 4)], pair)).toEqual(
      ranges([0x1000, 0x1010, { kind: 'pieces', pieces: [{ byteSize: 4, value: undefined }, { byteSize: 4, value: mem(7, 40) }] }]),
    );
  });

  test('S_DEFRANGE_SUBFIELD_REGISTER: a struct in two registers is two pieces, each only where it is live', () => {
    // make_point at -O1: p.x in ECX then EAX, p.y in EDX.
    const location = localVariableLocation(
      local(),
      [subfield(ECX, 0, 0x00, 0x0a), subfield(EDX, 4, 0x00, 0x0e), subfield(EAX, 0, 0x0a, 0x07)],
      context({ byteSize: 8 }),
    );
    const piece = (byteSize: number, value?: unknown) => ({ byteSize, value });
    expect(location).toEqual(
      ranges(
        [0x1000, 0x100a, { kind: 'pieces', pieces: [piece(4, reg(2)), piece(4, reg(1))] }],
        [0x100a, 0x100e, { kind: 'pieces', pieces: [piece(4, reg(0)), piece(4, reg(1))] }],
        // p.y is no longer anywhere: the trailing unavailable piece is left off, as LLVM's own DWARF does.
        [0x100e, 0x1011, { kind: 'pieces', pieces: [piece(4, reg(0))] }],
      ),
    );
  });

  test('a register narrower than the variable gives only the bytes it holds', () => {
    const location = localVariableLocation(local(), [inRegister(ECX, 0, 4)], context({ byteSize: 8 }));
    expect(location).toEqual(ranges([0x1000, 0x1004, { kind: 'pieces', pieces: [{ byteSize: 4, value: reg(2) }, { byteSize: 4, value: undefined }] }]));
  });

  test('one place over the whole scope is a fixed location, no list', () => {
    expect(localVariableLocation(local(), [inRegister(RCX, 0, 0x100)], context({ byteSize: 8 }))).toEqual({ kind: 'fixed', location: reg(2) });
  });

  test('wider registers are fine: a float in XMM0', () => {
    expect(localVariableLocation(local(), [inRegister(XMM0, 0, 4)], context())).toEqual(ranges([0x1000, 0x1004, reg(17)]));
  });

  test('never a wrong value: optimized-out flag, no ranges, AH, records that disagree', () => {
    expect(localVariableLocation(local(false, true), [inRegister(ECX, 0, 4)], context())).toEqual({ kind: 'optimized-out' });
    expect(localVariableLocation(local(), [], context())).toEqual({ kind: 'optimized-out' });
    // AH is bits 8..15 of RAX, which no DWARF register number names.
    expect(localVariableLocation(local(), [inRegister(AH, 0, 4)], context({ byteSize: 1 }))).toEqual({ kind: 'optimized-out' });
    // Two records claim [0x1004, 0x1008) for different registers: there the variable is unavailable.
    expect(localVariableLocation(local(), [inRegister(ECX, 0, 8), inRegister(EDX, 4, 8)], context())).toEqual(
      ranges([0x1000, 0x1004, reg(2)], [0x1008, 0x100c, reg(1)]),
    );
    // A range in a section the image does not have is dropped.
    const elsewhere = { ...inRegister(ECX, 0, 4), range: { segment: 9, offset: 0, length: 4 } } as DefRangeSymbol;
    expect(localVariableLocation(local(), [elsewhere], context())).toEqual({ kind: 'optimized-out' });
  });
});

const RSP_CV = CV_AMD64_RSP;

describe('range-less records', () => {
  const regrel: RegRelSymbol = { ...base(S.S_REGREL32), kind: 'S_REGREL32', offset: 0x28, typeIndex: 0x74, register: CV_AMD64_RSP, name: 'v' };
  const bprel: BpRelSymbol = { ...base(S.S_BPREL32), kind: 'S_BPREL32', offset: -4, typeIndex: 0x74, name: 'v' };
  const register: RegisterSymbol = { ...base(S.S_REGISTER), kind: 'S_REGISTER', typeIndex: 0x74, register: RAX, name: 'v' };

  test('hold in the whole scope when the procedure does not say where its frame is set up', () => {
    expect(registerVariableLocation(regrel, context())).toEqual({ kind: 'fixed', location: mem(7, 0x28) });
    expect(registerVariableLocation(bprel, context())).toEqual({ kind: 'fixed', location: mem(6, -4) });
    expect(registerVariableLocation(register, context())).toEqual({ kind: 'fixed', location: reg(0) });
  });

  test('hold only after the prologue and before the epilogue when it does', () => {
    const framed = context({ frameValid: { startRva: 0x1008, endRva: 0x10f1 } });
    expect(registerVariableLocation(regrel, framed)).toEqual(ranges([0x1008, 0x10f1, mem(7, 0x28)]));
  });
});

describe('the CodeView to DWARF register table', () => {
  test('sub-registers map to the register that holds them, with their width', () => {
    expect([EAX, ECX, EDX, RAX, RCX, R8D, XMM0].map((r) => [cvRegisterName(r), dwarfRegisterOf(r), cvRegister(r)?.byteSize])).toEqual([
      ['EAX', 0, 4],
      ['ECX', 2, 4],
      ['EDX', 1, 4],
      ['RAX', 0, 8],
      ['RCX', 2, 8],
      ['R8D', 8, 4],
      ['XMM0', 17, 16],
    ]);
    expect(dwarfRegisterOf(AH)).toBeUndefined();
    expect(dwarfRegisterOf(9999)).toBeUndefined();
  });
});
