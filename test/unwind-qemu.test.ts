/**
 * Exact backtraces at every instruction (issue 5), for stub-uefi built with
 * unwind tables (.pdata/.xdata) and without (josgdb derives the same rules from
 * the prologues): gdb's own `bt` (from the .debug_frame josgdb serves) and
 * josgdb's `monitor bt` must list the whole chain at each single stop while
 * stepping through main -> demo_a -> demo_b -> demo_c -> demo_leaf, the
 * variable-size frame of demo_frame, the recursion of demo_factorial, and after
 * each fault path. A hand-written assembly function without unwind data is
 * walked by the scan fallback, and `monitor bt` says so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import type { RunningBridge } from '../src/bridge/bridge';
import { launchQemu, type QemuInstance } from '../src/demo/qemu';
import { bridgeTo } from './support/bridge-harness';
import { runGdb } from './support/gdb';
import { STUB_DIR } from './support/stub';

/** The functions between the leaf and the task's entry, innermost first. */
const CHAIN = ['demo_leaf', 'demo_c', 'demo_b', 'demo_a', 'main', 'task_main'];

/** One stop of a stepping tour: what gdb's bt and josgdb's monitor bt printed there. */
interface TourStop {
  pc: string;
  gdbFrames: string[];
  gdbText: string;
  monitorFrames: { name: string; how: string }[];
  monitorText: string;
}

/**
 * A gdb Python script: stepi until the pc reaches `until` (an expression
 * evaluated once, at the start), printing bt and monitor bt at every stop
 * between markers the test splits on.
 */
function stepTourScript(until: string, maxSteps: number): string {
  return [
    'import gdb',
    `target = int(gdb.parse_and_eval("${until}")) & 0xffffffffffffffff`,
    'for step in range(' + maxSteps + '):',
    '    pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff',
    '    print("==STOP== 0x%x" % pc)',
    '    gdb.execute("bt")',
    '    print("==MONITOR==")',
    '    gdb.execute("monitor bt")',
    '    if pc == target:',
    '        print("==DONE==")',
    '        break',
    '    gdb.execute("stepi", to_string=True)',
    '',
  ].join('\n');
}

function parseTour(output: string): TourStop[] {
  return output
    .split('==STOP== ')
    .slice(1)
    .map((chunk) => {
      const [pcLine, ...rest] = chunk.split('\n');
      const body = rest.join('\n').split('==DONE==')[0]!;
      const [gdbText, monitorText = ''] = body.split('==MONITOR==');
      const gdbFrames = [...gdbText!.matchAll(/^#\d+\s+(?:0x[0-9a-f]+ in )?([A-Za-z_][\w:]*)/gm)].map((m) => m[1]!);
      const monitorFrames = [...monitorText.matchAll(/^#\d+\s+0x[0-9a-f]+\s+([\w:?]+)\S*.*\[([\w-]+)\]\s*$/gm)].map((m) => ({ name: m[1]!, how: m[2]! }));
      return { pc: pcLine!.trim(), gdbFrames, gdbText: gdbText!, monitorFrames, monitorText };
    });
}

/** The frames a stop must show: from the function it is in down to task_main. */
function expectChain(stop: TourStop, chain: readonly string[]): void {
  const where = `at ${stop.pc}:\n${stop.gdbText}\n${stop.monitorText}`;
  const innermost = stop.gdbFrames[0];
  const from = chain.indexOf(innermost ?? '');
  if (from < 0) throw new Error(`stopped outside the chain ${where}`);
  const expected = chain.slice(from);
  const gdbNames = stop.gdbFrames.slice(0, expected.length);
  const monitorNames = stop.monitorFrames.slice(0, expected.length).map((f) => f.name);
  if (gdbNames.join(' ') !== expected.join(' ')) throw new Error(`gdb bt lists ${gdbNames.join(' ')}, expected ${expected.join(' ')} ${where}`);
  if (monitorNames.join(' ') !== expected.join(' ')) throw new Error(`monitor bt lists ${monitorNames.join(' ')}, expected ${expected.join(' ')} ${where}`);
  // Exact frames are never found by scanning.
  const scanned = stop.monitorFrames.slice(0, expected.length).filter((f) => f.how === 'scan');
  if (scanned.length > 0) throw new Error(`monitor bt found ${scanned.map((f) => f.name).join(', ')} by scan ${where}`);
}

/** `count` copies of `name`, for a recursion. */
const repeat = (name: string, count: number): string[] => Array.from({ length: count }, () => name);

describe.each(['unwind', 'nounwind'] as const)('backtraces at every instruction, stub built %s', (variant) => {
  const efi = path.join(STUB_DIR, 'build', variant, 'BOOTX64.EFI');
  const pdb = path.join(STUB_DIR, 'build', variant, 'BOOTX64.pdb');
  let qemu: QemuInstance;
  let bridge: RunningBridge;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), `josgdb-unwind-${variant}-`));
    qemu = await launchQemu({ efi });
    bridge = await bridgeTo(qemu.targetSpec, { symbols: { image: efi, pdb, cacheDir: path.join(tmp, 'cache') } });
    await bridge.session.waitForStop();
  });

  afterAll(async () => {
    await bridge?.close();
    await qemu?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  let lastOutput = '';
  async function tour(setup: string[], until: string, maxSteps: number): Promise<TourStop[]> {
    const script = path.join(tmp, `tour-${Date.now()}.py`);
    writeFileSync(script, stepTourScript(until, maxSteps));
    // gdb stops a backtrace at main unless told otherwise; the task entry below it is part of the chain
    const { output } = await runGdb(bridge.port, ['set backtrace past-main on', ...setup, `source ${script}`, 'delete', 'detach'], 300_000);
    lastOutput = output;
    expect(output).toContain('==DONE==');
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    return parseTour(output);
  }

  it('the call chain main -> demo_a -> demo_b -> demo_c -> demo_leaf, at every instruction', async () => {
    // from demo_a's first instruction until it has returned into main
    const stops = await tour(['break *demo_a', 'continue'], '*(unsigned long *)$sp', 400);
    expect(stops.length).toBeGreaterThan(20);
    const seen = new Set<string>();
    for (const stop of stops) {
      expectChain(stop, CHAIN);
      seen.add(stop.gdbFrames[0]!);
    }
    expect([...seen].sort()).toEqual(['demo_a', 'demo_b', 'demo_c', 'demo_leaf', 'main']);
  });

  it('the variable-size frame of demo_frame, at every instruction', async () => {
    const stops = await tour(['break *demo_frame', 'continue'], '*(unsigned long *)$sp', 3000);
    for (const stop of stops) expectChain(stop, ['demo_frame', 'main', 'task_main']);
    expect(stops.filter((s) => s.gdbFrames[0] === 'demo_frame').length).toBeGreaterThan(10);
  });

  it('the recursion of demo_factorial at depth 20, at every instruction of the deepest calls', async () => {
    // The 20th entry is the deepest call; step until the 18th returns. The previous session left the
    // kernel running, and gdb's connection stops it anywhere, maybe inside a recursion: count the
    // entries from the outermost call (n = 20) on.
    const stops = await tour(
      ['break *demo_factorial if $rcx == 20', 'continue', 'delete', 'break *demo_factorial', 'ignore 2 18', 'continue'],
      '*(unsigned long *)($sp)',
      400,
    );
    const depthAtStart = stops[0]!.gdbFrames.filter((f) => f === 'demo_factorial').length;
    expect(depthAtStart).toBe(20);
    for (const stop of stops) {
      const depth = stop.gdbFrames.filter((f) => f === 'demo_factorial').length;
      expectChain(stop, [...repeat('demo_factorial', depth), 'main', 'task_main']);
    }
  });

  it('a hand-written function without unwind data is walked by the scan, and monitor bt says so', async () => {
    const { output } = await runGdb(bridge.port, ['break *demo_noinfo_callee', 'continue', 'monitor bt', 'delete', 'detach']);
    const frames = [...output.matchAll(/^#\d+\s+0x[0-9a-f]+\s+([\w:?]+)\S*.*\[([\w-]+)\]\s*$/gm)].map((m) => `${m[1]} ${m[2]}`);
    const exact = variant === 'unwind' ? 'unwind-info' : 'prologue-analysis';
    expect(frames[0]).toBe('demo_noinfo_callee stop');
    // demo_noinfo is reached by its callee's exact rule; main, above code without unwind data, only by scanning
    expect(frames[1]).toMatch(new RegExp(`^demo_noinfo (${exact}|leaf)$`));
    expect(frames[2]).toBe('main scan');
    expect(frames[3]).toBe(`task_main ${exact}`);
    expect(output).toMatch(/found by scanning the stack/);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
  });

  it.each([
    [1, 'SIGSEGV'],
    [2, 'SIGSEGV'],
    [3, 'SIGILL'],
    [5, 'SIGTRAP'],
    [6, 'SIGFPE'],
  ])('after fault path %i the backtrace starts at the faulting function', async (trigger, signal) => {
    const stops = await tour([`set {int}&g_trigger = ${trigger}`, 'continue'], '$pc', 1);
    expect(stops).toHaveLength(1);
    expect(stops[0]!.gdbText + stops[0]!.monitorText).not.toContain('Backtrace stopped: previous frame inner');
    expectChain(stops[0]!, ['demo_fault', 'main', 'task_main']);
    expect(lastOutput).toContain(signal);
  });
});
