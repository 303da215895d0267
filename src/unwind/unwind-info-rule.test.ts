import { applyFrameRule } from './apply-rule';
import { describeRule } from './frame-rule';
import { innermostRuntimeFunction } from './pe-unwind-image';
import { analyzeFunction } from './prologue-analysis';
import { Entry, checkAgainstTruth } from './testing/explore-function';
import { fixtureImage, rvaOf, unwindImage } from './testing/fixture-image';
import { ByteSpace, encodeUnwindInfo } from './testing/unwind-info-builder';
import { decodeUnwindChain } from './unwind-info';
import { frameRuleFromUnwindInfo } from './unwind-info-rule';
import { UnwindError } from './unwind-error';

const fixture = fixtureImage();
const code = (address: bigint, length: number): Uint8Array | undefined => {
  const rva = Number(address);
  for (let n = length; n > 0; n--) {
    try {
      return fixture.image.readRva(rva, n);
    } catch {
      // shorter, near the end of the section
    }
  }
  return undefined;
};
const read = (rva: number, length: number): Uint8Array => fixture.image.readRva(rva, length);
const tryRead = (rva: number, length: number): Uint8Array | undefined => code(BigInt(rva), length);

/** Unwind info as RtlVirtualUnwind would use it for an address: the innermost covering entry. */
function unwindInfoRuleAt(rva: number) {
  const fn = innermostRuntimeFunction(fixture.image.runtimeFunctions, rva);
  if (!fn) return undefined;
  return frameRuleFromUnwindInfo(decodeUnwindChain(read, fn), rva, tryRead).rule;
}

const ENTRIES: Record<string, Entry> = {
  fx_trap: { kind: 'interrupt', errorCode: true },
  fx_trap_noerror: { kind: 'interrupt', errorCode: false },
};

/** Each fixture function with unwind data: its bounds (the outermost entry for a chained function). */
function fixtureFunctions(): { name: string; start: number; end: number }[] {
  const names = ['fx_pushes', 'fx_frame', 'fx_big', 'fx_medium', 'fx_trap', 'fx_trap_noerror', 'fx_chained', 'fx_handler', 'fx_switch', 'fx_outer', 'fx_middle', 'fx_inner', 'fx_irq_outer', 'fx_victim', 'fx_isr_handler'];
  return names.map((name) => {
    const start = rvaOf(fixture, name);
    const fn = fixture.image.runtimeFunctions.find((f) => f.beginRva === start);
    if (!fn) throw new Error(`${name} has no .pdata entry`);
    return { name, start, end: fn.endRva };
  });
}

describe('unwind info applied at every instruction, against the simulated truth', () => {
  it.each(fixtureFunctions().map((f) => [f.name, f] as const))('%s: unwind codes (with epilog detection) and prologue analysis both give the caller back', async (name, fn) => {
    const entry = ENTRIES[name] ?? { kind: 'call' };
    const analysis = analyzeFunction({
      startRva: fn.start,
      endRva: fn.end,
      bytes: read(fn.start, fn.end - fn.start),
      entry: entry.kind === 'call' ? { kind: 'call' } : { kind: 'interrupt', rspToAnchor: entry.errorCode ? 8 : 0 },
    });
    const result = await checkAgainstTruth({
      code,
      start: BigInt(fn.start),
      end: BigInt(fn.end),
      entry,
      // A handler gives back the callee-saved registers; the volatile ones are the handler's to save.
      ...(entry.kind === 'interrupt' ? { registers: ['rbx', 'rbp', 'rdi', 'rsi', 'r12', 'r13', 'r14', 'r15'] } : {}),
      sources: {
        'unwind-info': (a) => unwindInfoRuleAt(Number(a)),
        'prologue-analysis': (a) => analysis.ruleAt(Number(a)),
      },
    });
    expect(result.mismatches).toEqual([]);
    expect(result.samples).toBeGreaterThanOrEqual(4);
  });

  it('recognises the epilogs by the x64 rules, and not a jump-table jump', () => {
    const epilog1 = rvaOf(fixture, 'fx_pushes_epilog1');
    const fn = innermostRuntimeFunction(fixture.image.runtimeFunctions, epilog1)!;
    const chain = decodeUnwindChain(read, fn);
    const via = (rva: number): string => frameRuleFromUnwindInfo(chain, rva, tryRead).via;
    expect(via(epilog1)).toBe('epilog-pattern'); // add rsp, 40; pop; pop; ret
    expect(via(rvaOf(fixture, 'fx_pushes_epilog2'))).toBe('epilog-pattern'); // ...; jmp fx_leaf (out of the function)
    expect(via(fn.beginRva + 2)).toBe('prologue');

    const sw = innermostRuntimeFunction(fixture.image.runtimeFunctions, rvaOf(fixture, 'fx_switch'))!;
    const bytes = read(sw.beginRva, sw.endRva - sw.beginRva);
    const jmp = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xe1); // jmp *%rcx
    expect(jmp).toBeGreaterThan(0);
    expect(frameRuleFromUnwindInfo(decodeUnwindChain(read, sw), sw.beginRva + jmp, tryRead).via).toBe('prologue');
  });

  it('uses version 2 epilog descriptors: a listed epilog whose tail jump stays inside the function', () => {
    // fx_pushes' code with a hand-written version 2 record: its second epilog ends
    // in a jump to fx_leaf, which this test pretends lies inside the function (the
    // entry is widened to start at fx_entry, before fx_leaf).
    const start = rvaOf(fixture, 'fx_pushes');
    const end = fixture.image.runtimeFunctions.find((f) => f.beginRva === start)!.endRva;
    const leaf = rvaOf(fixture, 'fx_leaf');
    const epilog2 = rvaOf(fixture, 'fx_pushes_epilog2');
    const afterAdd = epilog2 + 4; // add rsp, 40 is 4 bytes; the version 2 epilog starts at the first pop
    const v1 = decodeUnwindChain(read, { beginRva: start, endRva: end, unwindInfoRva: fixture.image.runtimeFunctions.find((f) => f.beginRva === start)!.unwindInfoRva }).infos[0]!;
    const record = encodeUnwindInfo({ version: 2, prologSize: v1.prologSize, operations: v1.operations, epilogs: { size: end - afterAdd, atEnd: true, offsets: [] } });
    const from = rvaOf(fixture, 'fx_entry');
    expect(from).toBeLessThan(leaf);
    const space = new ByteSpace().put(from, read(from, end - from)).put(0x9000, record);
    const widened = { beginRva: from, endRva: end, unwindInfoRva: 0x9000 };
    const chain = decodeUnwindChain(space.read, widened);
    expect(chain.infos[0]!.epilogs).toEqual({ size: end - afterAdd, atEnd: true, offsetsFromEnd: [] });
    const inListed = frameRuleFromUnwindInfo(chain, afterAdd, space.tryRead);
    expect(inListed.via).toBe('listed-epilog');
    expect(describeRule(inListed.rule)).toBe('call cfa=rsp+24 r12@-24 rbx@-16');
    // Without the version 2 record the same jump (now inside the function) is no epilog.
    const v1Record = encodeUnwindInfo({ version: 1, prologSize: v1.prologSize, operations: v1.operations });
    const plain = new ByteSpace().put(from, read(from, end - from)).put(0x9000, v1Record);
    expect(frameRuleFromUnwindInfo(decodeUnwindChain(plain.read, widened), afterAdd, plain.tryRead).via).toBe('prologue');
  });

  it('applies a chained part: its own operations by offset, the parent\'s in full', () => {
    const start = rvaOf(fixture, 'fx_chained');
    const parent = fixture.image.runtimeFunctions.find((f) => f.beginRva === start)!;
    const parts = fixture.image.runtimeFunctions.filter((f) => f.beginRva >= start && f.beginRva < parent.endRva);
    expect(parts).toHaveLength(2);
    const part = innermostRuntimeFunction(fixture.image.runtimeFunctions, parts[1]!.beginRva)!;
    expect(part).toEqual(parts[1]);
    const chain = decodeUnwindChain(read, part);
    expect(chain.infos).toHaveLength(2);
    expect(describeRule(frameRuleFromUnwindInfo(chain, part.beginRva, tryRead).rule)).toBe('call cfa=rsp+48 rbx@-16');
    expect(describeRule(frameRuleFromUnwindInfo(chain, part.beginRva + 1, tryRead).rule)).toBe('call cfa=rsp+56 rbx@-16 rsi@-56');
  });

  it('refuses an operation after PUSH_MACHFRAME, and addresses outside the function', () => {
    const space = new ByteSpace().put(
      0x9000,
      encodeUnwindInfo({ prologSize: 2, operations: [{ op: 'pushMachframe', codeOffset: 1, errorCode: false }, { op: 'pushNonvol', codeOffset: 0, register: 'rbx' }] }),
    );
    const chain = decodeUnwindChain(space.read, { beginRva: 0x1000, endRva: 0x1010, unwindInfoRva: 0x9000 });
    expect(() => frameRuleFromUnwindInfo(chain, 0x1002, () => undefined)).toThrow(UnwindError);
    expect(() => frameRuleFromUnwindInfo(chain, 0x1002, () => undefined)).toThrow(/must be the last/);
    expect(() => frameRuleFromUnwindInfo(chain, 0x1011, () => undefined)).toThrow(/outside the function/);
  });

  it('takes the frame register from the record: SET_FPREG with an offset, and saves relative to the establisher frame', async () => {
    const start = rvaOf(fixture, 'fx_frame');
    const image = unwindImage(fixture, 0n);
    const lookup = image.ruleAt(start + 0x20, { returnAddress: false });
    expect(lookup.found && lookup.method).toBe('unwind-info');
    if (!lookup.found) return;
    // after the prologue rbp = rsp + 0x20 and CFA = rsp + 0x48 + 16 + 8 = rbp + 64; the establisher frame
    // is rbp - 0x20 = CFA - 96, so rdi (at +0x40) is at CFA - 32 and xmm6 (at +0x30) at CFA - 48
    expect(describeRule(lookup.rule)).toBe('call cfa=rbp+64 rbp@-16 rdi@-32 rsi@-24 xmm6@-48');
    const regs = { rbp: 0x1000n, rsp: 0x800n };
    const memory = new Map<bigint, bigint>([[0x1000n + 64n - 8n, 0xabcn]]);
    const readMemory = async (address: bigint, length: number): Promise<Buffer> => {
      const out = Buffer.alloc(length);
      for (let i = 0; i < length; i += 8) out.writeBigUInt64LE(memory.get(address + BigInt(i)) ?? BigInt(i + 1), i);
      return out;
    };
    const caller = await applyFrameRule(lookup.rule, regs, readMemory);
    expect(caller.anchor).toBe(0x1040n);
    expect(caller.registers.rip).toBe(0xabcn);
    expect(caller.registers.rsp).toBe(0x1040n);
  });
});
