/**
 * The two ways IDEs drive josgdb, end to end against stub-uefi in QEMU:
 * - gdb's machine interface (`gdb --interpreter=mi3`), the commands VS Code's
 *   C/C++ extension (cppdbg), CLion and Emacs GUD send;
 * - the Debug Adapter Protocol through lldb-vscode, which VS Code's lldb-vscode
 *   extension and Emacs dap-mode start, attaching with `gdb-remote`.
 * Each session ends with a detach, after which the addresses it used hold the
 * image's bytes again.
 *
 * Variables: gdb gets no types from josgdb yet (the symbol file has none), so
 * `-stack-list-variables` succeeds with no variables and `-var-create` of a
 * global has no type; lldb reads the PDB itself but finds no locals in this
 * build. Both requests are checked to succeed, not for values.
 */
import { readFileSync } from 'fs';
import path from 'path';
import { DapClient } from './support/dap-client';
import { GdbMi, miString, type MiValue } from './support/gdb-mi';
import { lldbEnv, lldbVscodePath } from './support/lldb';
import { STUB_DIR } from './support/stub';
import { stopWithin, useStubVm } from './support/stub-vm';

const WORKLOAD = path.join(STUB_DIR, 'src', 'workload.c');

function lineOf(text: string): number {
  const index = readFileSync(WORKLOAD, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (index < 0) throw new Error(`workload.c has no line with ${text}`);
  return index + 1;
}

const vm = useStubVm({ compat: false, symbols: true });

/** With no debugger attached: stop the target and check the addresses hold the image's bytes (no 0xCC left). */
async function expectImageBytes(addresses: bigint[], length = 8): Promise<void> {
  expect(await vm.bridge.session.interrupt()).toBe(true);
  await stopWithin(vm.bridge.session.waitForStop());
  for (const a of addresses) expect((await vm.bridge.session.readMemory(a, length)).toString('hex')).toBe(vm.original(a, length).toString('hex'));
}

describe('gdb/MI as VS Code cppdbg drives it (stub-uefi in QEMU)', () => {
  it('remote target, breakpoints by function and line, continue, stack frames, variables, var objects, next, interrupt, detach', async () => {
    const counterLine = lineOf('g_counter++;');
    const callLine = lineOf('g_last_result = demo_a(g_counter)');
    // cppdbg's own setup, then `miDebuggerServerAddress` becomes -target-select remote
    const gdb = await GdbMi.connect(vm.bridge.port);
    try {
      await gdb.run('-enable-pretty-printing');
      await gdb.run('-interpreter-exec console "set print object on"');
      const bp = await gdb.run('-break-insert -f demo_c');
      expect(miString(bp.results.bkpt, 'func')).toBe('demo_c');
      expect(await gdb.run('-exec-continue')).toMatchObject({ cls: 'running' });
      const hit = await gdb.nextStop();
      expect(miString(hit.results, 'reason')).toBe('breakpoint-hit');
      expect(miString(hit.results.frame, 'func')).toBe('demo_c');
      expect(miString(hit.results.frame, 'line')).toBe(String(lineOf('NOINLINE uint64_t demo_c')));
      expect(miString(hit.results.frame, 'fullname')).toBe(WORKLOAD);

      const depth = Number(miString((await gdb.run('-stack-info-depth')).results, 'depth'));
      expect(depth).toBeGreaterThanOrEqual(2);
      const frames = (await gdb.run(`-stack-list-frames 0 ${depth}`)).results.stack as MiValue[];
      // the whole chain, by name and line (gdb unwinds with the .debug_frame josgdb serves)
      expect(frames.slice(0, 4).map((f) => `${miString(f, 'func')}:${miString(f, 'line')}`)).toEqual([
        `demo_c:${lineOf('NOINLINE uint64_t demo_c')}`,
        `demo_b:${lineOf('NOINLINE uint64_t demo_b')}`,
        `demo_a:${lineOf('NOINLINE uint64_t demo_a')}`,
        `main:${callLine}`,
      ]);
      // demo_c's argument is g_counter + 3 (main -> demo_a(g_counter) -> demo_b(v + 1) -> demo_c(v + 2)); g_counter read as raw bytes
      const raw = (await gdb.run('-data-read-memory-bytes &g_counter 8')).results.memory as MiValue[];
      const counterValue = Buffer.from(miString(raw[0], 'contents'), 'hex').readBigUInt64LE();
      const variables = (await gdb.run('-stack-list-variables --simple-values')).results.variables as MiValue[];
      const v = variables.find((x) => miString(x, 'name') === 'v');
      expect(v && miString(v, 'arg')).toBe('1');
      expect(v && miString(v, 'value')).toBe(String(counterValue + 3n));
      const pc = await gdb.run('-var-create - * "$pc"');
      expect(miString(pc.results, 'value')).toMatch(/^0x[0-9a-f]+ <demo_c>$/);
      const counter = await gdb.run('-var-create - * "g_counter"');
      expect(miString(counter.results, 'name')).toMatch(/^var\d+$/);
      await gdb.run(`-var-delete ${miString(counter.results, 'name')}`);

      await gdb.run('-break-delete');
      await gdb.run(`-break-insert -f workload.c:${counterLine}`);
      await gdb.run('-exec-continue');
      const atLine = await gdb.nextStop();
      expect(miString(atLine.results.frame, 'line')).toBe(String(counterLine));
      await gdb.run('-exec-next');
      const next = await gdb.nextStop();
      expect(miString(next.results, 'reason')).toBe('end-stepping-range');
      expect(`${miString(next.results.frame, 'func')}:${miString(next.results.frame, 'line')}`).toBe(`main:${callLine}`);
      // over a line of calls: demo_a, demo_factorial and demo_frame run and return
      await gdb.run('-exec-next');
      const overCalls = await gdb.nextStop();
      expect(`${miString(overCalls.results.frame, 'func')}:${miString(overCalls.results.frame, 'line')}`).toBe(`main:${callLine + 1}`);

      await gdb.run('-break-delete');
      await gdb.run('-exec-continue');
      await new Promise((r) => setTimeout(r, 500));
      await gdb.run('-exec-interrupt');
      const interrupted = await gdb.nextStop();
      expect(miString(interrupted.results, 'reason')).toBe('signal-received');
      expect(miString(interrupted.results, 'signal-name')).toBe('SIGINT');
      // wherever the kernel was: perhaps in noinfo.S, which has no line table
      expect(miString(interrupted.results.frame, 'addr')).toMatch(/^0x[0-9a-f]+$/);

      const detach = await gdb.run('-target-detach');
      expect(detach.cls).toBe('done');
      expect(gdb.transcript).toContain('[Inferior 1 (Remote target) detached]');
    } finally {
      await gdb.close();
    }
    // main's loop holds the line breakpoint: its whole body, not just its start
    await expectImageBytes([vm.at('demo_c'), vm.at('main')], 0x100);
  });
});

describe('DAP through lldb-vscode, as VS Code or Emacs dap-mode drive it (stub-uefi in QEMU)', () => {
  it('attach with gdb-remote, function and source breakpoints, stackTrace, scopes and variables, stepIn, next, pause, disconnect', async () => {
    const dap = DapClient.start(lldbVscodePath(), { env: lldbEnv() });
    try {
      const init = await dap.request('initialize', {
        clientID: 'josgdb-test',
        adapterID: 'lldb-vscode',
        linesStartAt1: true,
        columnsStartAt1: true,
        pathFormat: 'path',
      });
      expect(init.body.supportsConfigurationDoneRequest).toBe(true);
      const attached = dap.request('attach', { attachCommands: [`gdb-remote 127.0.0.1:${vm.bridge.port}`] });
      await dap.event('initialized');
      // the stop josgdb finds the kernel in
      const entry = await dap.event('stopped');
      const threadId: number = entry.body.threadId;
      const fn = await dap.request('setFunctionBreakpoints', { breakpoints: [{ name: 'demo_c' }] });
      expect(fn.body.breakpoints[0]).toMatchObject({ verified: true, line: lineOf('NOINLINE uint64_t demo_c'), source: { path: WORKLOAD } });
      await dap.request('configurationDone');
      await attached;

      const hit = await dap.event('stopped');
      expect(hit.body).toMatchObject({ reason: 'breakpoint', threadId });
      const trace = await dap.request('stackTrace', { threadId, startFrame: 0, levels: 20 });
      const frames = trace.body.stackFrames as { id: number; name: string; line: number; source?: { path: string } }[];
      // lldb unwinds with the image's .pdata: the whole chain, each with its source line
      expect(frames.slice(0, 4).map((f) => `${f.name}:${f.line}`)).toEqual([
        `demo_c:${lineOf('NOINLINE uint64_t demo_c')}`,
        `demo_b:${lineOf('NOINLINE uint64_t demo_b')}`,
        `demo_a:${lineOf('NOINLINE uint64_t demo_a')}`,
        `main:${lineOf('g_last_result = demo_a(g_counter)')}`,
      ]);
      expect(frames[0]!.source?.path).toBe(WORKLOAD);

      const scopes = (await dap.request('scopes', { frameId: frames[0]!.id })).body.scopes as { name: string; variablesReference: number }[];
      expect(scopes.map((s) => s.name)).toEqual(expect.arrayContaining(['Locals', 'Registers']));
      for (const s of scopes) await dap.request('variables', { variablesReference: s.variablesReference });
      // the registers scope: lldb's register sets, the general one with rip at demo_c
      const registers = scopes.find((s) => s.name === 'Registers')!;
      const sets = (await dap.request('variables', { variablesReference: registers.variablesReference })).body.variables as { name: string; variablesReference: number }[];
      const general = sets.find((s) => /general/i.test(s.name))!;
      const regs = (await dap.request('variables', { variablesReference: general.variablesReference })).body.variables as { name: string; value: string }[];
      // lldb shows a code address with its symbol: "0x…1de15760 BOOTX64.EFI`demo_c at workload.c:26"
      const rip = regs.find((r) => r.name === 'rip')!.value;
      expect(BigInt(rip.split(' ')[0]!)).toBe(vm.at('demo_c'));
      expect(rip).toContain('`demo_c at workload.c');

      await dap.request('setFunctionBreakpoints', { breakpoints: [] });
      await dap.request('stepIn', { threadId });
      expect((await dap.event('stopped')).body.reason).toBe('step');
      const inLeaf = (await dap.request('stackTrace', { threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
      expect(`${inLeaf.name}:${inLeaf.line}`).toBe(`demo_leaf:${lineOf('NOINLINE uint64_t demo_leaf')}`);
      await dap.request('next', { threadId });
      expect((await dap.event('stopped')).body.reason).toBe('step');
      const back = (await dap.request('stackTrace', { threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
      expect(back.name).toBe('demo_c');

      // a source breakpoint, as a click in the editor's gutter sets it
      const counterLine = lineOf('g_counter++;');
      const src = await dap.request('setBreakpoints', { source: { path: WORKLOAD }, breakpoints: [{ line: counterLine }] });
      expect(src.body.breakpoints[0]).toMatchObject({ verified: true, line: counterLine });
      await dap.request('continue', { threadId });
      expect((await dap.event('stopped')).body.reason).toBe('breakpoint');
      const atLine = (await dap.request('stackTrace', { threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
      expect(`${atLine.name}:${atLine.line}`).toBe(`main:${counterLine}`);
      await dap.request('setBreakpoints', { source: { path: WORKLOAD }, breakpoints: [] });

      await dap.request('continue', { threadId });
      await new Promise((r) => setTimeout(r, 500));
      await dap.request('pause', { threadId });
      // lldb-vscode 14 names a SIGINT stop "exception"
      const paused = await dap.event('stopped');
      expect(paused.body.threadId).toBe(threadId);
      const pausedFrames = (await dap.request('stackTrace', { threadId, startFrame: 0, levels: 5 })).body.stackFrames as { name: string; source?: { path: string } }[];
      // wherever the kernel was: in noinfo.S (no unwind data, no line table) lldb
      // sees one nameless frame, elsewhere frames in workload.c
      expect(pausedFrames.length).toBeGreaterThanOrEqual(1);
      if (pausedFrames[0]!.source?.path !== undefined) expect(pausedFrames[0]!.source.path).toBe(WORKLOAD);

      await dap.request('disconnect', { terminateDebuggee: false });
    } finally {
      await dap.close();
    }
    await stopWithin(vm.bridge.server.whenDisconnected());
    await expectImageBytes([vm.at('demo_c'), vm.at('demo_leaf'), vm.at('main')], 0x100);
  });
});
