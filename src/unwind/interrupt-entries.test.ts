import { describeRule } from './frame-rule';
import { ERROR_CODE_VECTORS, interruptEntriesFromStubs, vectorTableRvas } from './interrupt-entries';
import { analyzeFunction } from './prologue-analysis';
import { checkAgainstTruth } from './testing/explore-function';
import { fixtureImage, rvaOf, stubImage, type TestImage } from './testing/fixture-image';
import { UnwindError } from './unwind-error';

function readCode(t: TestImage) {
  return (rva: number, length: number): Uint8Array | undefined => {
    for (let n = length; n > 0; n--) {
      try {
        return t.image.readRva(rva, n);
      } catch {
        // shorter, near the end of the section
      }
    }
    return undefined;
  };
}

const ALL_GPRS_BUT_RSP = ['rax', 'rcx', 'rdx', 'rbx', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

describe("stub-uefi's interrupt entry (isr.S), found through its vector table", () => {
  for (const variant of ['unwind', 'nounwind'] as const) {
    it(`${variant} build: 256 vector stubs and the common entry, whose every instruction unwinds into the interrupted code`, async () => {
      const stub = stubImage(variant);
      const table = rvaOf(stub, 'isr_stub_table');
      const stubs = vectorTableRvas(stub.image.readRva(table, 256 * 8), stub.image.imageBase, stub.image.sizeOfImage);
      const entries = interruptEntriesFromStubs(readCode(stub), stubs);
      expect(entries).toHaveLength(257);
      const common = entries.find((e) => e.name === 'interrupt entry')!;
      // every stub leaves the vector number and an error code (the CPU's or its own zero) above the machine frame
      expect(common.entry).toEqual({ kind: 'interrupt', rspToAnchor: 16 });
      for (const [vector, rva] of stubs.entries()) {
        expect(entries.find((e) => e.startRva === rva)!.entry).toEqual({ kind: 'interrupt', rspToAnchor: ERROR_CODE_VECTORS.has(vector) ? 8 : 0 });
      }
      const analysis = analyzeFunction({ startRva: common.startRva, endRva: common.endRva, bytes: stub.image.readRva(common.startRva, common.endRva - common.startRva), entry: common.entry });
      expect(analysis.instructions.every((i) => i.rule !== undefined)).toBe(true);
      // After the pushes (r8 first, rdi last, each 8 bytes below the last, the first 24 below the
      // machine frame) and `mov %rsp, %rbp`, the stack is realigned: only rbp finds the frame.
      const order = ['r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rax', 'rbx', 'rcx', 'rdx', 'rbp', 'rsi', 'rdi'];
      const slots = order.map((r, i) => `${r}@-${24 + 8 * i}`).sort();
      const viaRbp = analysis.instructions.filter((i) => i.rule && i.rule.anchor.register === 'rbp');
      expect(viaRbp.length).toBeGreaterThan(3);
      for (const i of viaRbp) expect(describeRule(i.rule!)).toBe(`interrupt frame=rbp+${8 * order.length + 16} ${slots.join(' ')}`);
      const result = await checkAgainstTruth({
        code: (a, n) => readCode(stub)(Number(a), n),
        start: BigInt(common.startRva),
        end: BigInt(common.endRva),
        entry: { kind: 'interrupt', errorCode: true, pushed: 1 },
        registers: [...ALL_GPRS_BUT_RSP],
        sources: { analysis: (a) => analysis.ruleAt(Number(a)) },
      });
      expect(result.mismatches).toEqual([]);
      expect(result.samples).toBeGreaterThan(60);
    });
  }

  it('each vector stub unwinds too (with and without a CPU error code)', async () => {
    const fixture = fixtureImage();
    const stubs: number[] = [];
    stubs[0] = rvaOf(fixture, 'fx_isr_0');
    stubs[14] = rvaOf(fixture, 'fx_isr_14');
    const entries = interruptEntriesFromStubs(readCode(fixture), stubs);
    expect(entries.map((e) => [e.name, e.entry])).toEqual([
      ['interrupt stub 0', { kind: 'interrupt', rspToAnchor: 0 }],
      ['interrupt stub 14', { kind: 'interrupt', rspToAnchor: 8 }],
      ['interrupt entry', { kind: 'interrupt', rspToAnchor: 16 }],
    ]);
    for (const [i, e] of entries.slice(0, 2).entries()) {
      const analysis = analyzeFunction({ startRva: e.startRva, endRva: e.endRva, bytes: fixture.image.readRva(e.startRva, e.endRva - e.startRva), entry: e.entry });
      const result = await checkAgainstTruth({
        code: (a, n) => readCode(fixture)(Number(a), n),
        start: BigInt(e.startRva),
        end: BigInt(e.endRva),
        entry: { kind: 'interrupt', errorCode: i === 1 },
        registers: [...ALL_GPRS_BUT_RSP],
        sources: { analysis: (a) => analysis.ruleAt(Number(a)) },
      });
      expect(result.mismatches).toEqual([]);
      expect(result.samples).toBe(i === 0 ? 3 : 2);
    }
  });

  it('refuses stubs that disagree about the common entry, and table entries outside the image', () => {
    const fixture = fixtureImage();
    const stubs: number[] = [];
    // vector 0's stub pushes two qwords; as vector 8 (CPU error code) it would reach the common entry with 24
    stubs[0] = rvaOf(fixture, 'fx_isr_0');
    stubs[8] = rvaOf(fixture, 'fx_isr_0');
    expect(() => interruptEntriesFromStubs(readCode(fixture), stubs)).toThrow(UnwindError);
    const table = Buffer.alloc(16);
    table.writeBigUInt64LE(0x140001000n, 0);
    table.writeBigUInt64LE(0x10n, 8);
    expect(() => vectorTableRvas(table, 0x140000000n, 0x10000)).toThrow(/entry 1/);
    expect(vectorTableRvas(table.subarray(0, 8), 0x140000000n, 0x10000)).toEqual([0x1000]);
  });
});
