/**
 * A bridge that goes away while the kernel stays connected: restarted with
 * --attach it picks the session up without a handshake (josx64 answers `josx`
 * once per boot), in a stop or while running; a dropped target link is reopened
 * and the session goes on; a kernel that rebooted meanwhile is handshaken again.
 * Real sockets, the josx64 test double, and real gdb where gdb is the client.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { ALL_FEATURES, FakeKernel, sym } from './support/fake-kernel';
import { bridgeTo } from './support/bridge-harness';
import { gdbInstalled, runGdb } from './support/gdb';
import type { RunningBridge } from '../src/bridge/bridge';

const hex = (v: bigint) => '0x' + v.toString(16);

describe('bridge restart and target link recovery', () => {
  let dir: string;
  let stateFile: string;
  const cleanup: Array<() => Promise<unknown> | void> = [];

  beforeAll(() => {
    expect(gdbInstalled()).toBe(true);
    dir = mkdtempSync(path.join(tmpdir(), 'josgdb-restart-'));
  });
  beforeEach(() => {
    stateFile = path.join(dir, `state-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const handshakes = (kernel: FakeKernel) => kernel.events.filter((e) => e.kind === 'handshake').length;
  const track = <T extends { close(): Promise<unknown> }>(x: T): T => {
    cleanup.push(() => x.close());
    return x;
  };
  /** A bridge that vanishes without releasing anything, like a killed process. */
  const crash = (bridge: RunningBridge) => bridge.close();

  it.each([
    ['a fixed kernel', false],
    ['josx64 flaws on', true],
  ])('attaches to a kernel stopped at a breakpoint without a handshake, and detaches clean (%s)', async (_name, compat) => {
    const kernel = track(await FakeKernel.listen({ compat }));
    const target = `tcp:127.0.0.1:${kernel.port}`;
    const first = await bridgeTo(target, { stateFile });
    await first.session.waitForStop();
    const funcB = sym('func_b');
    await first.session.insertBreakpoint(0, funcB, 1);
    const hit = await first.session.resume({ kind: 'continue' });
    expect(hit.stop.kind === 'breakpoint' && hit.stop.record.frame.rip).toBe(funcB);
    expect(kernel.breakpointList().some((b) => b.address === funcB && b.active)).toBe(true);
    await crash(first);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).state).toBe('stopped');

    const second = track(await bridgeTo(target, { stateFile, attach: true }));
    const stop = await second.session.waitForStop();
    expect(stop.stop.kind === 'breakpoint' && stop.stop.record.frame.rip).toBe(funcB);
    const { output } = await runGdb(second.port, ['info registers rip', `x/4xb ${hex(funcB)}`, 'stepi', 'info registers rip', 'detach']);
    expect(output).toMatch(new RegExp(`rip\\s+${hex(funcB)}`));
    // the kernel still has func_b armed (the first bridge never released it): gdb must see the original bytes
    const original = kernel.originalCode();
    const at = Number(funcB - original.address);
    const expected = [...original.bytes.subarray(at, at + 4)].map((b) => '0x' + b.toString(16).padStart(2, '0'));
    const xLine = output.split('\n').find((l) => l.startsWith(hex(funcB)));
    expect(xLine?.split(/\s+/).slice(1)).toEqual(expected);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    await second.server.whenDisconnected();
    expect(handshakes(kernel)).toBe(1);
    expect(kernel.strayBreakpointBytes()).toEqual([]);
    expect(kernel.breakpointList().filter((b) => b.active)).toEqual([]);
  });

  it('attaches to a running kernel and can break in', async () => {
    const kernel = track(await FakeKernel.listen({ features: [...ALL_FEATURES] }));
    const target = `tcp:127.0.0.1:${kernel.port}`;
    const first = await bridgeTo(target, { stateFile });
    await first.session.waitForStop();
    void first.session.resume({ kind: 'continue' }).catch(() => undefined);
    // The resume starts with a step off main; crash only once the final Continue went out.
    const continued = () => kernel.events.some((e) => e.kind === 'resume' && /continue/i.test(e.detail));
    while (!continued()) await kernel.waitFor('resume', continued);
    await crash(first);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).state).toBe('running');

    const second = track(await bridgeTo(target, { stateFile, attach: true }));
    expect(second.session.status).toBe('running');
    expect(await second.session.interrupt()).toBe(true);
    const stop = await second.session.waitForStop();
    expect(stop.stop.kind).toBe('breakIn');
    expect(handshakes(kernel)).toBe(1);
  });

  it('handshakes when the saved kernel has rebooted (it does not answer as a stopped kernel)', async () => {
    const old = track(await FakeKernel.listen({}));
    const first = await bridgeTo(`tcp:127.0.0.1:${old.port}`, { stateFile });
    await first.session.waitForStop();
    await crash(first);
    // The "same" machine after a reboot: a kernel waiting for its handshake on the same link.
    const rebooted = track(await FakeKernel.listen({}));
    const target = `tcp:127.0.0.1:${rebooted.port}`;
    const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
    writeFileSync(stateFile, JSON.stringify({ ...saved, target }));
    const bridge = track(await bridgeTo(target, { stateFile, attach: true }));
    const stop = await bridge.session.waitForStop();
    expect(stop.stop.kind === 'breakpoint' && stop.stop.record.frame.rip).toBe(sym('main'));
    expect(handshakes(rebooted)).toBe(1);
  });

  it('refuses --attach without a saved session, naming the file', async () => {
    const kernel = track(await FakeKernel.listen({}));
    await expect(bridgeTo(`tcp:127.0.0.1:${kernel.port}`, { stateFile, attach: true })).rejects.toThrow(
      new RegExp(`no saved session at ${stateFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });

  it('reopens a dropped target link, tells gdb, and the session goes on', async () => {
    const kernel = track(await FakeKernel.listen({}));
    const bridge = track(await bridgeTo(`tcp:127.0.0.1:${kernel.port}`));
    await bridge.session.waitForStop();
    const traces: string[] = [];
    bridge.session.onTraceText((t) => traces.push(t));
    kernel.dropConnection();
    await kernel.waitFor('connect', () => false, 5000);
    // the session kept its stop; the link is back without a handshake
    await new Promise((r) => setTimeout(r, 100));
    expect(bridge.client.state).toBe('stopped');
    expect(traces.join('\n')).toMatch(/target link .* dropped[\s\S]*target link restored/);
    const leaf = sym('leaf');
    const { output } = await runGdb(bridge.port, ['info registers rip', `break *${hex(leaf)}`, 'continue', 'info registers rip', 'detach']);
    expect(output).toMatch(new RegExp(`rip\\s+${hex(sym('main'))}`));
    expect(output).toMatch(new RegExp(`Breakpoint 1, 0x0*${leaf.toString(16)}`));
    expect(handshakes(kernel)).toBe(1);
    await bridge.server.whenDisconnected();
    expect(kernel.strayBreakpointBytes()).toEqual([]);
  });
});
