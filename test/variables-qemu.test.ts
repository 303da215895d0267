/**
 * Source-level variables through gdb (issue 6): the stub in QEMU, built with
 * -O1 (the default build) and with -O0, symbols from its PDB translated by
 * josgdb into DWARF. At breakpoints in the demo workload, `info args`,
 * `info locals`, `print` of each global, `print *ptr`, `print s.field`,
 * `ptype`, `set var` (checked in memory), `display` and `watch` by name must
 * show what the C source computes there. The expected values come from the
 * source's arithmetic applied to g_counter, which the test reads as raw memory
 * (`x/1dg`, no types involved).
 */
import { readFileSync } from 'fs';
import path from 'path';
import type { RunningBridge } from '../src/bridge/bridge';
import { launchQemu, type QemuInstance } from '../src/demo/qemu';
import { bridgeTo } from './support/bridge-harness';
import { runGdb } from './support/gdb';
import { STUB_DIR } from './support/stub';


/** The values the workload's globals are initialised with, read from its source. */
function workloadInitialisers(): { table: bigint[]; message: string; pointY: bigint; pointName: string } {
  const source = readFileSync(path.join(STUB_DIR, 'src', 'workload.c'), 'utf8');
  const table = /g_table\[8\] = \{([^}]*)\}/.exec(source)![1]!.split(',').map((n) => BigInt(n.trim()));
  const message = /g_message\[\] = "([^"]*)"/.exec(source)![1]!;
  const point = /struct demo_point g_point = \{(-?\d+), (-?\d+), "([^"]*)"\}/.exec(source)!;
  return { table, message, pointY: BigInt(point[2]!), pointName: point[3]! };
}

/** gdb's `x/1dg &NAME` line: `0x...:\tVALUE` (or `0x... <NAME>:\tVALUE`). */
function rawValue(output: string, marker: string): bigint {
  const at = output.indexOf(marker);
  if (at < 0) throw new Error(`no ${marker} in gdb's output:\n${output}`);
  const m = /0x[0-9a-f]+(?: <[^>]+>)?:\s+(-?\d+)/.exec(output.slice(at));
  if (!m) throw new Error(`no x value after ${marker}:\n${output}`);
  return BigInt(m[1]!);
}

/** gdb's reply to one command, between echo markers. */
function section(output: string, name: string): string {
  const start = output.indexOf(`<<${name}>>`);
  const end = output.indexOf(`<</${name}>>`);
  if (start < 0 || end < 0) throw new Error(`no section ${name} in gdb's output:\n${output}`);
  return output.slice(start + name.length + 4, end).trim();
}

/** Commands wrapped in echo markers so each reply can be picked out. */
const marked = (name: string, ...commands: string[]): string[] => [`echo <<${name}>>\\n`, ...commands, `echo <</${name}>>\\n`];

/** A value gdb printed that must equal `expected`, or be `<optimized out>` where the build allows it. */
function expectValue(text: string, expected: RegExp, optimizedOutAllowed: boolean): void {
  if (optimizedOutAllowed && /<optimized out>/.test(text)) return;
  expect(text).toMatch(expected);
}

const VARIANTS = [
  { name: '-O1', dir: 'build', optimized: true },
  { name: '-O0', dir: path.join('build', 'O0'), optimized: false },
] as const;

describe.each(VARIANTS)('variables through gdb, stub built $name', ({ dir, optimized }) => {
  const efi = path.join(STUB_DIR, dir, 'BOOTX64.EFI');
  const pdb = path.join(STUB_DIR, dir, 'BOOTX64.pdb');
  const init = workloadInitialisers();
  let qemu: QemuInstance;
  let bridge: RunningBridge;

  beforeAll(async () => {
    qemu = await launchQemu({ efi });
    bridge = await bridgeTo(qemu.targetSpec, { symbols: { image: efi, pdb } });
    await bridge.session.waitForStop();
  });

  afterAll(async () => {
    await bridge?.close();
    await qemu?.stop();
  });

  it('arguments and locals equal what the source computes', async () => {
    const { output } = await runGdb(bridge.port, [
      'break demo_b',
      'continue',
      ...marked('counter', 'x/1dg &g_counter'),
      ...marked('args', 'info args'),
      ...marked('print-v', 'print v'),
      ...marked('print-expr', 'print v + 2'),
      'delete',
      'break demo_point_sum',
      'continue',
      ...marked('point-x', 'x/1dw &g_point'),
      'next',
      ...marked('locals', 'info locals'),
      'delete',
      'detach',
    ]);
    const c = rawValue(section(output, 'counter'), '');
    const v = c + 1n;
    // At -O1 a value may live in a register that is reused; gdb must then say so, never print a stale value.
    expectValue(section(output, 'args'), new RegExp(`^v = ${v}$`, 'm'), optimized);
    expectValue(section(output, 'print-v'), new RegExp(`= ${v}$`, 'm'), optimized);
    expectValue(section(output, 'print-expr'), new RegExp(`= ${v + 2n}$`, 'm'), optimized);
    // demo_point_sum: int sum = (p->x + p->y) * scale, with p = &g_point and scale = 2
    const x = rawValue(section(output, 'point-x'), '');
    expectValue(section(output, 'locals'), new RegExp(`^sum = ${(x + init.pointY) * 2n}$`, 'm'), optimized);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
  });

  it('globals, a pointer argument, struct fields and ptype', async () => {
    const { output } = await runGdb(bridge.port, [
      'break demo_point_sum',
      'continue',
      ...marked('counter', 'x/1dg &g_counter'),
      ...marked('point-x', 'x/1dw &g_point'),
      ...marked('args', 'info args'),
      ...marked('deref', 'print *p'),
      ...marked('field', 'print g_point.y'),
      ...marked('name', 'print p->name'),
      ...marked('table', 'print g_table'),
      ...marked('message', 'print g_message'),
      ...marked('print-counter', 'print g_counter'),
      ...marked('ptype', 'ptype struct demo_point'),
      ...marked('ptype-ptr', 'ptype g_point_ptr'),
      'delete',
      'detach',
    ]);
    const c = rawValue(section(output, 'counter'), '');
    const x = rawValue(section(output, 'point-x'), '');
    expect(section(output, 'print-counter')).toMatch(new RegExp(`= ${c}$`));
    expectValue(section(output, 'args'), /^p = 0x[0-9a-f]+ <g_point>$/m, optimized);
    expectValue(section(output, 'args'), /^scale = 2$/m, optimized);
    expectValue(section(output, 'deref'), new RegExp(`= \\{x = ${x}, y = ${init.pointY}, name = 0x[0-9a-f]+ "${init.pointName}"\\}`), optimized);
    expectValue(section(output, 'name'), new RegExp(`= 0x[0-9a-f]+ "${init.pointName}"`), optimized);
    expect(section(output, 'field')).toMatch(new RegExp(`= ${init.pointY}$`));
    expect(section(output, 'table')).toMatch(new RegExp(`= \\{${init.table.join(', ')}\\}`));
    expect(section(output, 'message')).toMatch(new RegExp(`= "${init.message}"`));
    expect(section(output, 'ptype')).toMatch(/type = struct demo_point \{\s+int x;\s+int y;\s+const char \*name;\s+\}/);
    expect(section(output, 'ptype-ptr')).toMatch(/type = struct demo_point \{[\s\S]*\} \*/);
  });

  it('set var writes the variable in target memory; display and watch by name follow it', async () => {
    const { output } = await runGdb(bridge.port, [
      'break demo_a',
      'continue',
      'delete',
      'set var g_counter = 5',
      ...marked('after-set', 'x/1dg &g_counter'),
      'display g_counter',
      'watch g_counter',
      'continue',
      ...marked('after-watch', 'x/1dg &g_counter'),
      'delete',
      'undisplay',
      'detach',
    ]);
    expect(rawValue(section(output, 'after-set'), '')).toBe(5n);
    expect(output).toMatch(/watchpoint \d+: g_counter\s+Old value = 5\s+New value = 6/);
    expect(rawValue(section(output, 'after-watch'), '')).toBe(6n);
    // the display shows at the watchpoint's stop
    expect(output).toMatch(/^1: g_counter = 6$/m);
  });
});
