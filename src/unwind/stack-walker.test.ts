import { codeLookup, type CodeLookup, type UnwindImage } from './code-lookup';
import { interruptEntriesFromStubs } from './interrupt-entries';
import { walkStack, type StackWalk } from './stack-walker';
import { codeAt, fixtureImage, rvaOf, stubImage, unwindImage } from './testing/fixture-image';
import { CodeDecoder } from './x86';
import { registersOf } from './testing/truth';
import { Arbitrary, Machine, memoryReader, newMachine, readMemory, run, writeMemory } from './testing/x86-sim';

const fixture = fixtureImage();
const BASE = fixture.image.imageBase;
const at = (name: string): bigint => BASE + BigInt(rvaOf(fixture, name));
const code = (address: bigint, length: number): Uint8Array | undefined => {
  for (let n = length; n > 0; n--) {
    try {
      return fixture.image.readRva(Number(address - BASE), n);
    } catch {
      // shorter, near the end of the section
    }
  }
  return undefined;
};
const readCode = (rva: number, length: number): Uint8Array | undefined => code(BASE + BigInt(rva), length);

/** No PDB procedures in an assembly image: the unwind data and the interrupt entries are all there is. */
function lookup(): CodeLookup {
  const stubs: number[] = [];
  stubs[0] = rvaOf(fixture, 'fx_isr_0');
  stubs[14] = rvaOf(fixture, 'fx_isr_14');
  return codeLookup([unwindImage(fixture, BASE, { functions: [], interruptEntries: interruptEntriesFromStubs(readCode, stubs) })]);
}

const FIRMWARE = 0xffff8000dead0000n;
const STACK_TOP = 0x7ffe0000n;

/** Calls `entry` with the return address `returnTo` and runs to the int3. */
function runFrom(entry: string, returnTo: bigint, values: Arbitrary, interrupt?: { at: string; vector: string; errorCode?: bigint }): { stop: Machine; start: Machine } {
  const m = newMachine(values, STACK_TOP - 8n, at(entry));
  writeMemory(m, m.gpr.rsp, returnTo, 8);
  const start: Machine = { ...m, gpr: { ...m.gpr }, xmm: { ...m.xmm }, memory: new Map(m.memory) };
  const stop = run({
    code,
    machine: m,
    values,
    ...(interrupt ? { interrupt: { at: at(interrupt.at), handler: at(interrupt.vector), ...(interrupt.errorCode !== undefined ? { errorCode: interrupt.errorCode } : {}) } } : {}),
  });
  return { stop, start };
}

function names(walk: StackWalk): string[] {
  // Labels inside functions (fx_victim_interrupted, fx_pushes_epilog1) are not functions.
  const byStart = new Map<number, string>(fixture.index.publicFunctions.filter((f) => !/_(interrupted|epilog\d)$/.test(f.name)).map((f) => [f.rva, f.name]));
  return walk.frames.map((f) => {
    const pc = f.pcIsReturnAddress ? f.pc - 1n : f.pc;
    const rva = Number(pc - BASE);
    const starts = [...byStart.keys()].filter((s) => s <= rva).sort((a, b) => b - a);
    return pc >= BASE && pc < BASE + BigInt(fixture.image.sizeOfImage) ? byStart.get(starts[0]!)! : `0x${f.pc.toString(16)}`;
  });
}

describe('walking the stack of a simulated run', () => {
  it('through unwind info, a function without any (found by scanning), up to a return into firmware', async () => {
    const values = new Arbitrary(1n);
    const { stop, start } = runFrom('fx_outer', FIRMWARE, values);
    expect(stop.rip).toBe(at('fx_inner') + BigInt(fixture.image.readRva(rvaOf(fixture, 'fx_inner'), 32).indexOf(0xcc)));
    const walk = await walkStack({ registers: registersOf(stop), readMemory: memoryReader(stop), code: lookup() });
    expect(names(walk)).toEqual(['fx_inner', 'fx_noinfo', 'fx_middle', 'fx_outer', `0x${FIRMWARE.toString(16)}`]);
    expect(walk.frames.map((f) => f.foundBy)).toEqual(['stop', 'unwind-info', 'scan', 'unwind-info', 'unwind-info']);
    expect(walk.end).toBe('outside-image');
    // the registers each frame really had
    const [, noinfo, middle, outer, firmware] = walk.frames;
    expect(noinfo!.registers.rbx).toBe(0x1111n); // restored from fx_inner's save
    expect(noinfo!.registers.r12).toBe(0x4444n); // untouched by fx_inner
    expect(middle!.registers).toEqual({ rip: middle!.pc, rsp: middle!.rsp }); // a scanned frame knows no more
    expect(outer!.registers.rsi).toBe(start.gpr.rsi); // fx_middle saved fx_outer's rsi and rdi
    expect(outer!.registers.rdi).toBe(start.gpr.rdi);
    expect(outer!.registers.rbx).toBeUndefined(); // lost at the scanned frame
    expect(firmware!.rsp).toBe(STACK_TOP);
    expect(firmware!.registers.rbx).toBe(start.gpr.rbx);
    expect(walk.frames.map((f) => f.pcIsReturnAddress)).toEqual([false, true, true, true, true]);
  });

  it('through an interrupt: the common entry\'s machine frame leads to the interrupted instruction, with every register', async () => {
    for (const [vector, errorCode] of [['fx_isr_14', 0x2n], ['fx_isr_0', undefined]] as const) {
      const values = new Arbitrary(2n);
      const m = newMachine(values, STACK_TOP - 8n, at('fx_irq_outer'));
      writeMemory(m, m.gpr.rsp, 0n, 8); // a task entry's fake return address: the end of the chain
      // The registers when the CPU entered the vector stub are the interrupted code's (rsp aside: it is in the frame).
      let interrupted: Machine['gpr'] | undefined;
      const stop = run({
        code: (a, n) => {
          if (a === at(vector) && !interrupted) {
            interrupted = { ...m.gpr };
            interrupted.rsp = readMemory(m, m.gpr.rsp + (errorCode === undefined ? 24n : 32n), 8)!;
          }
          return code(a, n);
        },
        machine: m,
        values,
        interrupt: { at: at('fx_victim_interrupted'), handler: at(vector), ...(errorCode !== undefined ? { errorCode } : {}) },
      });
      const walk = await walkStack({ registers: registersOf(stop), readMemory: memoryReader(stop), code: lookup() });
      expect(names(walk)).toEqual(['fx_isr_handler', 'fx_isr_common', 'fx_victim', 'fx_irq_outer']);
      expect(walk.frames.map((f) => f.foundBy)).toEqual(['stop', 'unwind-info', 'machine-frame', 'unwind-info']);
      expect(walk.end).toBe('end-of-chain');
      const victim = walk.frames[2]!;
      expect(victim.pc).toBe(at('fx_victim_interrupted'));
      expect(victim.pcIsReturnAddress).toBe(false);
      for (const r of ['rax', 'rcx', 'rdx', 'rbx', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rsp'] as const) {
        expect([r, victim.registers[r]]).toEqual([r, interrupted![r]]);
      }
      expect(victim.registers.rbx).toBe(0x8888n);
      expect(walk.frames[3]!.registers.r14).toBe(0x7777n);
    }
  });

  it('uses the kernel\'s candidates when the stack cannot be read, and says the frame has no known rsp', async () => {
    const values = new Arbitrary(3n);
    const { stop } = runFrom('fx_outer', FIRMWARE, values);
    const memory = memoryReader(stop);
    // Stack memory readable only where fx_inner saved rbx and its return address (what exact unwinding needs).
    const inner = stop.gpr.rsp;
    const readMemory = async (address: bigint, length: number): Promise<Buffer> => {
      if (address >= inner && address + BigInt(length) <= inner + 48n) return memory(address, length);
      throw new Error('unreadable');
    };
    // What the kernel's scan would list: every code address on the stack, a few not return addresses.
    const full = await walkStack({ registers: registersOf(stop), readMemory: memory, code: lookup() });
    const returnAddresses = full.frames.slice(1).map((f) => f.pc);
    // (The kernel lists values in its own code only: not the firmware's return address.)
    const candidates = [at('fx_inner') + 5n, returnAddresses[0]!, at('fx_outer'), ...returnAddresses.slice(1, -1)];
    const walk = await walkStack({ registers: registersOf(stop), readMemory, code: lookup(), callstackCandidates: candidates });
    expect(names(walk)).toEqual(['fx_inner', 'fx_noinfo', 'fx_middle', 'fx_outer']);
    expect(walk.frames.map((f) => f.foundBy)).toEqual(['stop', 'unwind-info', 'scan', 'scan']);
    expect(walk.frames.map((f) => f.rsp === undefined)).toEqual([false, false, true, true]);
    expect(walk.end).toBe('no-caller-found');
  });

  it('ends cleanly: at maxFrames, at an rsp that does not grow, at unreadable memory, and when no caller can be found', async () => {
    const values = new Arbitrary(4n);
    const { stop } = runFrom('fx_outer', FIRMWARE, values);
    const base = { registers: registersOf(stop), readMemory: memoryReader(stop), code: lookup() };
    const two = await walkStack({ ...base, maxFrames: 2 });
    expect([two.frames.length, two.end]).toEqual([2, 'max-frames']);

    const unreadable = await walkStack({ ...base, readMemory: () => Promise.reject(new Error('bus error')) });
    expect([unreadable.frames.length, unreadable.end]).toEqual([1, 'unreadable-memory']);
    expect(unreadable.detail).toMatch(/bus error/);

    // A code lookup whose only rule says "the caller's rsp is this rsp": a loop the walk must not follow.
    const image = (base.code.imageAt(stop.rip) as UnwindImage);
    const looping: CodeLookup = {
      imageAt: (a) =>
        a === stop.rip || a === stop.rip - 1n
          ? { ...image, ruleAt: () => ({ found: true, rule: { kind: 'call', anchor: { register: 'rsp', offset: 0 }, saved: [] }, method: 'prologue-analysis' }), functionAt: image.functionAt.bind(image), isCode: image.isCode.bind(image), readCode: image.readCode.bind(image) }
          : image,
    };
    const m = { ...stop, memory: new Map(stop.memory) };
    const intoNoinfo = (await walkStack(base)).frames[1]!.pc; // a real return address, after fx_noinfo's call
    writeMemory(m, stop.gpr.rsp - 8n, intoNoinfo, 8);
    const loop = await walkStack({ ...base, readMemory: memoryReader(m), code: looping });
    expect(loop.end).toBe('rsp-not-increasing');

    const nothing = await walkStack({ registers: { rip: 0x1234n, rsp: 0x5000n }, readMemory: async (_a, n) => Buffer.alloc(n), code: lookup(), maxScanBytes: 64 });
    expect([nothing.frames.length, nothing.end]).toEqual([1, 'no-caller-found']);
  });
});

describe.each(['unwind', 'nounwind'] as const)('stub-uefi built %s: from demo_noinfo_callee through the assembly function without unwind data', (variant) => {
  const stub = stubImage(variant);
  const base = 0x6000000n;
  const image = unwindImage(stub, base);
  const stubCode = codeAt(stub, base);
  const rva = (name: string): number => rvaOf(stub, name);

  /** The return address of the first call in `fn` that `isTarget` accepts. */
  function returnAddressIn(fn: string, isTarget: (call: { target?: bigint }) => boolean): bigint {
    const p = stub.index.procedures.find((q) => q.name === fn)!;
    const d = new CodeDecoder(stub.image.readRva(p.rva, p.size), base + BigInt(p.rva));
    try {
      for (let o = 0; o < p.size; ) {
        const ins = d.at(o)!;
        if (ins.flow.kind === 'call' && isTarget(ins.flow)) return base + BigInt(p.rva + o + ins.length);
        o += ins.length;
      }
    } finally {
      d.free();
    }
    throw new Error(`no such call in ${fn}`);
  }

  it('finds main by scanning, then unwinds main exactly into task_main', async () => {
    const values = new Arbitrary(5n);
    const intoMain = returnAddressIn('main', (c) => c.target === base + BigInt(rva('demo_noinfo')));
    const intoTask = returnAddressIn('task_main', (c) => c.target === undefined);
    // main's frame as its own rule describes it at that call: task_main's return address and main's saved registers.
    const mainRule = image.ruleAt(Number(intoMain - base), { returnAddress: true });
    if (!mainRule.found) throw new Error(mainRule.reason);
    expect(mainRule.rule.anchor.register).toBe('rsp');
    const mainRsp = 0x7ff00000n;
    const cfa = mainRsp + BigInt(mainRule.rule.anchor.offset);
    const m = newMachine(values, mainRsp - 8n, base + BigInt(rva('demo_noinfo')));
    writeMemory(m, cfa - 8n, intoTask, 8);
    const savedByMain = new Map<string, bigint>();
    for (const slot of mainRule.rule.saved) {
      const v = values.next();
      savedByMain.set(slot.register, v);
      writeMemory(m, cfa + BigInt(slot.offset), v, 8);
    }
    writeMemory(m, m.gpr.rsp, intoMain, 8);
    const stop = run({ code: stubCode, machine: m, values, stopAt: base + BigInt(rva('demo_noinfo_callee')) });

    const walk = await walkStack({ registers: registersOf(stop), readMemory: memoryReader(stop), code: codeLookup([image]) });
    const name = (pc: bigint, isReturn: boolean): string | undefined => stub.index.functionAt(Number((isReturn ? pc - 1n : pc) - base))?.function.name;
    expect(walk.frames.slice(0, 4).map((f) => name(f.pc, f.pcIsReturnAddress))).toEqual(['demo_noinfo_callee', 'demo_noinfo', 'main', 'task_main']);
    expect(walk.frames.slice(0, 4).map((f) => f.foundBy)).toEqual(['stop', 'leaf', 'scan', variant === 'unwind' ? 'unwind-info' : 'prologue-analysis']);
    expect(walk.frames[2]!.pc).toBe(intoMain);
    expect(walk.frames[2]!.rsp).toBe(mainRsp);
    const task = walk.frames[3]!;
    expect(task.rsp).toBe(cfa);
    for (const [r, v] of savedByMain) expect([r, task.registers[r as keyof typeof task.registers]]).toEqual([r, v]);
  });
});
