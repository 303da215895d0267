import { Mnemonic } from 'iced-x86';
import { describeRule } from './frame-rule';
import { innermostRuntimeFunction } from './pe-unwind-image';
import { analyzeFunction, type FunctionAnalysis } from './prologue-analysis';
import { checkAgainstTruth, entryMachine } from './testing/explore-function';
import { fixtureImage, rvaOf, stubImage, type TestImage } from './testing/fixture-image';
import { registersOf } from './testing/truth';
import { Arbitrary, explore, memoryReader } from './testing/x86-sim';
import { applyFrameRule } from './apply-rule';
import { decodeUnwindChain } from './unwind-info';
import { frameRuleFromUnwindInfo } from './unwind-info-rule';
import { CodeDecoder } from './x86';

function codeOf(t: TestImage) {
  return (address: bigint, length: number): Uint8Array | undefined => {
    for (let n = length; n > 0; n--) {
      try {
        return t.image.readRva(Number(address), n);
      } catch {
        // shorter, near the end of the section
      }
    }
    return undefined;
  };
}

function analyze(t: TestImage, start: number, end: number): FunctionAnalysis {
  return analyzeFunction({ startRva: start, endRva: end, bytes: t.image.readRva(start, end - start) });
}

function pdataRule(t: TestImage) {
  const read = (rva: number, length: number): Uint8Array => t.image.readRva(rva, length);
  const tryRead = (rva: number, length: number): Uint8Array | undefined => codeOf(t)(BigInt(rva), length);
  return (rva: number) => {
    const fn = innermostRuntimeFunction(t.image.runtimeFunctions, rva);
    return fn ? frameRuleFromUnwindInfo(decodeUnwindChain(read, fn), rva, tryRead).rule : undefined;
  };
}

/** (length, mnemonic) of each instruction from the start: equal for the same code at another address. */
function shape(t: TestImage, start: number, size: number): string {
  const d = new CodeDecoder(t.image.readRva(start, size), BigInt(start));
  try {
    const out: string[] = [];
    for (let o = 0; o < size; ) {
      const ins = d.at(o);
      if (!ins) break;
      out.push(`${ins.length}:${ins.mnemonic}`);
      o += ins.length;
    }
    return out.join(' ');
  } finally {
    d.free();
  }
}

describe('prologue analysis of hand-written functions', () => {
  const fixture = fixtureImage();
  const withUnwindData = fixture.image.runtimeFunctions.filter((f) => !fixture.image.runtimeFunctions.some((p) => p !== f && f.beginRva > p.beginRva && f.beginRva < p.endRva));

  it('derives the operations the assembler wrote for every function with unwind data (ops, code offsets, prolog size, frame register)', () => {
    expect(withUnwindData.length).toBeGreaterThanOrEqual(14);
    const read = (rva: number, length: number): Uint8Array => fixture.image.readRva(rva, length);
    for (const fn of withUnwindData) {
      const info = decodeUnwindChain(read, fn).infos[0]!;
      const machine = info.operations.find((op) => op.op === 'pushMachframe');
      const analysis = analyzeFunction({
        startRva: fn.beginRva,
        endRva: fn.endRva,
        bytes: read(fn.beginRva, fn.endRva - fn.beginRva),
        ...(machine && machine.op === 'pushMachframe' ? { entry: { kind: 'interrupt' as const, rspToAnchor: machine.errorCode ? 8 : 0 } } : {}),
      });
      expect({ at: fn.beginRva, ...analysis.prologue }).toEqual({
        at: fn.beginRva,
        operations: info.operations,
        prologSize: info.prologSize,
        frameRegister: info.frameRegister,
        frameOffset: info.frameOffset,
      });
    }
  });

  it('a function without unwind data, from its entry: every instruction against the truth', async () => {
    const start = rvaOf(fixture, 'fx_noinfo');
    const end = rvaOf(fixture, 'fx_inner');
    const analysis = analyze(fixture, start, end);
    expect(describeRule(analysis.ruleAt(start + 3)!)).toBe('call cfa=rsp+16 r12@-16');
    const result = await checkAgainstTruth({ code: codeOf(fixture), start: BigInt(start), end: BigInt(end), entry: { kind: 'call' }, sources: { analysis: (a) => analysis.ruleAt(Number(a)) } });
    expect(result.mismatches).toEqual([]);
    expect(result.samples).toBe(7);
  });

  it('reaches jump-table cases: a ud2 from inline assembly and a case that never returns', () => {
    const start = rvaOf(fixture, 'fx_switch');
    const fn = fixture.image.runtimeFunctions.find((f) => f.beginRva === start)!;
    const analysis = analyze(fixture, fn.beginRva, fn.endRva);
    const bytes = fixture.image.readRva(start, fn.endRva - start);
    const ud2 = bytes.findIndex((b, i) => b === 0x0f && bytes[i + 1] === 0x0b);
    const hlt = bytes.indexOf(0xf4);
    expect(ud2).toBeGreaterThan(0);
    expect(hlt).toBeGreaterThan(0);
    const atUd2 = analysis.instructions.find((i) => i.rva === start + ud2)!;
    const atHlt = analysis.instructions.find((i) => i.rva === start + hlt)!;
    expect(atUd2.via).toBe('backward');
    expect(atHlt.via).toBe('jump-table');
    for (const i of [atUd2, atHlt]) expect(describeRule(i.rule!)).toBe('call cfa=rsp+48 rsi@-16');
  });

  it('keeps several epilogs and a tail jump apart, each with its own rule', () => {
    const start = rvaOf(fixture, 'fx_pushes');
    const fn = fixture.image.runtimeFunctions.find((f) => f.beginRva === start)!;
    const analysis = analyze(fixture, fn.beginRva, fn.endRva);
    const rule = (rva: number): string => describeRule(analysis.ruleAt(rva)!);
    for (const label of ['fx_pushes_epilog1', 'fx_pushes_epilog2']) {
      const e = rvaOf(fixture, label);
      expect([rule(e), rule(e + 4), rule(e + 6), rule(e + 7)]).toEqual([
        'call cfa=rsp+64 r12@-24 rbx@-16',
        'call cfa=rsp+24 r12@-24 rbx@-16',
        'call cfa=rsp+16 rbx@-16',
        'call cfa=rsp+8',
      ]);
    }
    // the instruction after the first epilog's ret is back in the body
    expect(rule(rvaOf(fixture, 'fx_pushes_epilog1') + 8)).toBe('call cfa=rsp+64 r12@-24 rbx@-16');
  });
});

describe.each(['nounwind', 'unwind'] as const)('prologue analysis of stub-uefi built %s', (variant) => {
  const stub = stubImage(variant);
  const code = codeOf(stub);

  it('gives the caller back at every reachable instruction of every function (simulated truth)', async () => {
    let samples = 0;
    const pdataMismatches: { address: bigint; previous: Mnemonic | undefined }[] = [];
    const fromPdata = pdataRule(stub);
    for (const p of stub.index.procedures) {
      const analysis = analyze(stub, p.rva, p.rva + p.size);
      const sources: Record<string, (a: bigint) => ReturnType<FunctionAnalysis['ruleAt']>> = { analysis: (a) => analysis.ruleAt(Number(a)) };
      const hasPdata = innermostRuntimeFunction(stub.image.runtimeFunctions, p.rva) !== undefined;
      if (hasPdata) sources['unwind-info'] = (a) => fromPdata(Number(a));
      const result = await checkAgainstTruth({ code, start: BigInt(p.rva), end: BigInt(p.rva + p.size), entry: { kind: 'call' }, sources });
      samples += result.samples;
      expect(result.mismatches.filter((m) => m.source === 'analysis').map((m) => `${p.name} ${m.problem}`)).toEqual([]);
      for (const m of result.mismatches.filter((x) => x.source === 'unwind-info')) {
        const previous = analysis.instructions.findIndex((i) => BigInt(i.rva) === m.address) - 1;
        const prev = analysis.instructions[previous];
        pdataMismatches.push({ address: m.address, previous: prev ? new CodeDecoder(stub.image.readRva(prev.rva, prev.length), 0n).at(0)?.mnemonic : undefined });
      }
    }
    expect(samples).toBeGreaterThan(2500);
    // Unwind codes describe the prologue only: inline assembly that pushes in the body
    // (pushfq; pop) is the one place they are wrong, and the analysis is right.
    for (const m of pdataMismatches) expect([Mnemonic.Pushfq, Mnemonic.Push]).toContain(m.previous);
  });

  it('lists the leaf functions as never touching rsp', () => {
    const leaf = stub.index.procedures.find((p) => p.name === 'demo_leaf')!;
    const analysis = analyze(stub, leaf.rva, leaf.rva + leaf.size);
    expect(analysis.instructions.every((i) => i.rule && describeRule(i.rule) === 'call cfa=rsp+8')).toBe(true);
    expect(analysis.prologue.operations).toEqual([]);
  });
});

describe('stub-uefi without unwind tables against the build with them', () => {
  const withTables = stubImage('unwind');
  const without = stubImage('nounwind');
  const read = (rva: number, length: number): Uint8Array => withTables.image.readRva(rva, length);

  it('derives, for every function, the operations .pdata lists for it in the other build', () => {
    let compared = 0;
    for (const p of without.index.procedures) {
      const other = withTables.index.procedures.find((q) => q.name === p.name)!;
      const fn = withTables.image.runtimeFunctions.find((f) => f.beginRva === other.rva);
      const analysis = analyze(without, p.rva, p.rva + p.size);
      if (!fn) {
        // no .pdata entry: a leaf, and the analysis finds nothing to unwind
        expect({ name: p.name, ops: analysis.prologue.operations }).toEqual({ name: p.name, ops: [] });
        continue;
      }
      const info = decodeUnwindChain(read, fn).infos[0]!;
      expect({ name: p.name, ...analysis.prologue }).toEqual({ name: p.name, operations: info.operations, prologSize: info.prologSize, frameRegister: info.frameRegister, frameOffset: info.frameOffset });
      compared++;
    }
    expect(compared).toBe(withTables.image.runtimeFunctions.length);
  });

  it('where the code is the same, unwinds every instruction to the same caller as the other build\'s .pdata', async () => {
    const fromPdata = pdataRule(withTables);
    let identical = 0;
    let points = 0;
    const differences: string[] = [];
    for (const p of without.index.procedures) {
      const other = withTables.index.procedures.find((q) => q.name === p.name)!;
      if (other.size !== p.size || shape(without, p.rva, p.size) !== shape(withTables, other.rva, other.size)) continue;
      if (!withTables.image.runtimeFunctions.some((f) => f.beginRva === other.rva)) continue;
      identical++;
      const analysis = analyze(without, p.rva, p.rva + p.size);
      const values = new Arbitrary(BigInt(p.rva));
      const { machine } = entryMachine(BigInt(p.rva), { kind: 'call' }, values);
      for (const sample of explore({ code: codeOf(without), start: BigInt(p.rva), end: BigInt(p.rva + p.size), entry: machine, values })) {
        const offset = Number(sample.address) - p.rva;
        // The same machine state (the code is the same), unwound by each build's rule.
        const ours = await applyFrameRule(analysis.ruleAt(p.rva + offset)!, registersOf(sample.machine), memoryReader(sample.machine));
        const theirs = await applyFrameRule(fromPdata(other.rva + offset)!, registersOf(sample.machine), memoryReader(sample.machine));
        if (JSON.stringify(ours.registers, bigintText) !== JSON.stringify(theirs.registers, bigintText)) {
          const before = analysis.instructions[analysis.instructions.findIndex((i) => i.rva === p.rva + offset) - 1]!;
          const previous = new CodeDecoder(without.image.readRva(before.rva, before.length), 0n).at(0)?.mnemonic;
          differences.push(`${p.name}+${offset} after ${previous === Mnemonic.Pushfq ? 'pushfq' : previous === Mnemonic.Push ? 'push' : previous}`);
        }
        points++;
      }
    }
    expect(identical).toBeGreaterThan(15);
    expect(points).toBeGreaterThan(1000);
    // Only where inline assembly pushes in the body (see above) do the two differ.
    for (const d of differences) expect(d).toMatch(/ after push(fq)?$/);
  });
});

function bigintText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString(16) : value;
}
