import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDebugElf } from '../dwarf';
import { buildDebugModel, openPdb } from '../symbols/pdb';
import { buildFrameFunctions } from './frame-cfi';
import { interruptEntriesFromStubs } from './interrupt-entries';
import { stackRegion, writeCore } from './testing/core-file';
import { entryMachine } from './testing/explore-function';
import { codeAt, fixtureImage, rvaOf, stubImage, unwindImage } from './testing/fixture-image';
import type { CallerTruth } from './testing/truth';
import { Arbitrary, explore, newMachine, readMemory, run, writeMemory } from './testing/x86-sim';

/**
 * Real gdb reading the .debug_frame josgdb writes: a simulated stop (an
 * interrupt in the middle of a function, handled through stub-style entry code
 * without unwind data) saved as a core file, and gdb's own `bt` over it.
 */
describe('gdb unwinds with the call-frame information', () => {
  const fixture = fixtureImage();
  const base = fixture.image.imageBase;
  const at = (name: string): bigint => base + BigInt(rvaOf(fixture, name));
  const code = (address: bigint, length: number): Uint8Array | undefined => {
    for (let n = length; n > 0; n--) {
      try {
        return fixture.image.readRva(Number(address - base), n);
      } catch {
        // shorter, near the end of the section
      }
    }
    return undefined;
  };
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'josgdb-gdb-cfi-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Interrupts fx_victim at `where`, runs to the handler's int3, and asks gdb for the backtrace over a core file. */
  function gdbBacktrace(where: string): { frames: string[]; values: bigint[]; interrupted: { rax: bigint; rsp: bigint } } {
    const values = new Arbitrary(7n);
    const top = 0x7ffe0000n;
    const m = newMachine(values, top - 8n, at('fx_irq_outer'));
    writeMemory(m, m.gpr.rsp, 0n, 8);
    // What the interrupted code had, seen when the CPU enters the vector stub (rsp is in the machine frame).
    let interrupted: { rax: bigint; rsp: bigint } | undefined;
    const stop = run({
      code: (a, n) => {
        if (a === at('fx_isr_14') && !interrupted) interrupted = { rax: m.gpr.rax, rsp: readMemory(m, m.gpr.rsp + 32n, 8)! };
        return code(a, n);
      },
      machine: m,
      values,
      interrupt: { at: at(where), handler: at('fx_isr_14'), errorCode: 0x10n },
    });

    const stubs: number[] = [];
    stubs[0] = rvaOf(fixture, 'fx_isr_0');
    stubs[14] = rvaOf(fixture, 'fx_isr_14');
    const readCode = (rva: number, length: number): Uint8Array | undefined => code(base + BigInt(rva), length);
    const image = unwindImage(fixture, base, { functions: [], interruptEntries: interruptEntriesFromStubs(readCode, stubs) });
    const { model } = buildDebugModel(openPdb(readFileSync(fixture.pdbPath)), { imageName: 'fixture.efi', imageSize: fixture.image.sizeOfImage });
    model.frames = buildFrameFunctions(image);
    const elf = join(dir, `${where}.debug`);
    writeFileSync(elf, writeDebugElf(model, { loadBase: base }));

    const text = fixture.image.sections.find((s) => s.name === '.text')!;
    const core = join(dir, `${where}.core`);
    writeFileSync(core, writeCore(stop, [stackRegion(stop, stop.gpr.rsp - 0x100n, top + 8n), { address: base + BigInt(text.virtualAddress), bytes: fixture.image.readRva(text.virtualAddress, text.virtualSize) }]));
    const out = execFileSync(
      'gdb',
      ['-batch', '-nx', '-ex', 'set auto-load off', '-ex', `file ${elf}`, '-ex', `core-file ${core}`, '-ex', 'echo ==BT==\\n', '-ex', 'bt', '-ex', 'frame 2', '-ex', 'p/x $rbx', '-ex', 'p/x $rax', '-ex', 'p/x $rsp', '-ex', 'frame 3', '-ex', 'p/x $r14'],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const bt = out.slice(out.indexOf('==BT=='));
    return {
      frames: [...bt.matchAll(/^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+)/gm)].slice(0, 4).map((x) => `${x[1]} ${x[2]}`),
      values: [...out.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((x) => BigInt(x[1]!)),
      interrupted: interrupted!,
    };
  }

  it('through a handler and the interrupt entry code (a signal frame for gdb) into the interrupted function, with the registers each frame had', () => {
    const { frames, values, interrupted } = gdbBacktrace('fx_victim_interrupted');
    expect(frames).toEqual(['0 fx_isr_handler', '1 <signal', '2 fx_victim_interrupted', '3 fx_irq_outer']);
    expect(values).toEqual([0x8888n, interrupted.rax, interrupted.rsp, 0x7777n]);
  });

  it('takes the interrupted pc as exact: an interrupt at a function\'s first instruction is in that function', () => {
    const { frames, values, interrupted } = gdbBacktrace('fx_victim');
    expect(frames).toEqual(['0 fx_isr_handler', '1 <signal', '2 fx_victim', '3 fx_irq_outer']);
    expect(values.slice(1)).toEqual([interrupted.rax, interrupted.rsp, 0x7777n]);
  });
});

describe.each(['unwind', 'nounwind'] as const)('gdb unwinds stub-uefi built %s at every instruction of the demo functions', (variant) => {
  const stub = stubImage(variant);
  const base = 0x6000000n;
  const NONVOLATILE = ['rbx', 'rbp', 'rsi', 'rdi', 'r12', 'r13', 'r14', 'r15'] as const;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'josgdb-gdb-cfi-stub-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('frame 1 is the caller, with its rsp and callee-saved registers, wherever frame 0 stopped', () => {
    const image = unwindImage(stub, base);
    const { model } = buildDebugModel(openPdb(readFileSync(stub.pdbPath)), { imageName: 'BOOTX64.EFI', imageSize: stub.image.sizeOfImage });
    model.frames = buildFrameFunctions(image);
    const elf = join(dir, 'stub.debug');
    writeFileSync(elf, writeDebugElf(model, { loadBase: base }));
    const text = stub.image.sections.find((s) => s.name === '.text')!;
    const textRegion = { address: base + BigInt(text.virtualAddress), bytes: stub.image.readRva(text.virtualAddress, text.virtualSize) };
    const code = codeAt(stub, base);

    const stops: { name: string; pc: bigint; truth: CallerTruth }[] = [];
    // gdb stops a backtrace at main unless told otherwise; here main is just another function.
    const args = ['-batch', '-nx', '-ex', 'set auto-load off', '-ex', 'set backtrace past-main on', '-ex', `file ${elf}`];
    for (const name of ['demo_leaf', 'demo_c', 'demo_b', 'demo_a', 'demo_factorial', 'demo_frame', 'demo_fault', 'main', 'task_main']) {
      const p = stub.index.procedures.find((q) => q.name === name)!;
      const values = new Arbitrary(BigInt(p.rva));
      const { machine, truth } = entryMachine(base + BigInt(p.rva), { kind: 'call' }, values);
      for (const sample of explore({ code, start: base + BigInt(p.rva), end: base + BigInt(p.rva + p.size), entry: machine, values })) {
        const core = join(dir, `${stops.length}.core`);
        writeFileSync(core, writeCore(sample.machine, [stackRegion(sample.machine, sample.machine.gpr.rsp - 0x40n, truth.rsp + 0x40n), textRegion]));
        args.push('-ex', `core-file ${core}`, '-ex', 'echo ==STOP==\\n', '-ex', 'up', '-ex', 'p/x $pc', '-ex', 'p/x $sp', ...NONVOLATILE.flatMap((r) => ['-ex', `p/x $${r}`]));
        stops.push({ name, pc: sample.address, truth });
      }
    }
    const out = execFileSync('gdb', args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = out.split('==STOP==').slice(1);
    expect(chunks).toHaveLength(stops.length);
    expect(stops.length).toBeGreaterThan(150);
    const wrong: string[] = [];
    chunks.forEach((chunk, i) => {
      const got = [...chunk.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((x) => BigInt(x[1]!));
      const { truth, name, pc } = stops[i]!;
      const want = [truth.rip, truth.rsp, ...NONVOLATILE.map((r) => truth.registers[r]!)];
      if (got.join() !== want.join()) wrong.push(`${name} at ${pc.toString(16)}: ${got.map((v) => v.toString(16)).join(' ')} != ${want.map((v) => v.toString(16)).join(' ')}`);
    });
    expect(wrong).toEqual([]);
  });
});
