/**
 * The target reboots while its link is down (fast, against the josx64 test
 * double): a kernel last seen stopped that no longer answers is a new boot, so
 * the bridge forgets the old boot's breakpoints, handshakes once with the new
 * one, tells gdb, and the new boot's first stop is the session's; a kernel that
 * did not reboot is attached to without a handshake.
 */
import net from 'net';
import { bridgeTo } from '../support/bridge-harness';
import pino from 'pino';
import { FakeKernel, sym } from '../support/fake-kernel';
import { IMAGE_BASE } from '../support/fake-kernel/program';
import { runGdb } from '../support/gdb';
import { report, Tally } from './support/figures';
import { LinkProxy } from './support/link-proxy';

const tally = new Tally();
afterAll(() => report({ suite: 'reboot (josx64 double)', scenarios: tally.scenarios, faults: tally.faults, packets: 0, checks: tally.checks, failures: tally.failures }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const handshakes = (k: FakeKernel) => k.events.filter((e) => e.kind === 'handshake').length;

/** One scenario against a josx64 double that does not reboot, reached through the cutting proxy, and the bridge in front. */
async function withDoubleBehindProxy(run: (setup: { kernel: FakeKernel; proxy: LinkProxy; bridge: Awaited<ReturnType<typeof bridgeTo>> }) => Promise<void>): Promise<void> {
  await tally.scenario(async () => {
    const kernel = await FakeKernel.listen({});
    const proxy = await LinkProxy.start(kernel.port);
    const bridge = await bridgeTo(proxy.spec);
    try {
      await bridge.session.waitForStop();
      await run({ kernel, proxy, bridge });
    } finally {
      await bridge.close();
      await proxy.close();
      await kernel.close();
    }
  });
}

it.each([false, true])('a reboot while the link is down is found, and the old boot forgotten (josx64 flaws %s)', async (compat) => {
  await tally.scenario(async () => {
    const old = await FakeKernel.listen({ compat });
    const proxy = await LinkProxy.start(old.port);
    const bridge = await bridgeTo(proxy.spec);
    const rebooted = await FakeKernel.listen({ compat });
    try {
      await bridge.session.waitForStop();
      const traces: string[] = [];
      bridge.session.onTraceText((t) => traces.push(t));
      await bridge.session.insertBreakpoint(0, sym('func_b'), 1);
      const hit = await bridge.session.resume({ kind: 'continue' });
      tally.check(hit.stop.kind === 'breakpoint' && hit.stop.record.frame.rip === sym('func_b'), 'stopped at func_b in the old boot');
      // the machine reboots while the link is down
      proxy.setUpstream(rebooted.port);
      proxy.cut();
      tally.faults++;
      for (let i = 0; i < 200 && handshakes(rebooted) === 0; i++) await sleep(50);
      const stop = await bridge.session.waitForStop();
      tally.check(handshakes(rebooted) === 1, `one handshake with the new boot (${handshakes(rebooted)})`);
      tally.check(stop.stop.kind === 'breakpoint' && stop.stop.record.frame.rip === sym('main'), 'the new boot stops at main');
      tally.check(bridge.session.breakpoints.list().length === 0, 'no breakpoint of the old boot is carried over');
      tally.check(/target rebooted/.test(traces.join('\n')), `gdb is told: ${traces.join(' | ')}`);
      const { output } = await runGdb(bridge.port, ['info registers rip', `break *0x${sym('leaf').toString(16)}`, 'continue', 'detach']);
      tally.check(new RegExp(`rip\\s+0x0*${sym('main').toString(16)}`).test(output), `gdb sees main:\n${output}`);
      tally.check(/Breakpoint 1, 0x0*[0-9a-f]+/.test(output), `a breakpoint in the new boot is hit:\n${output}`);
      await bridge.server.whenDisconnected();
      tally.check(rebooted.strayBreakpointBytes().length === 0, 'no 0xCC left in the new boot');
    } finally {
      await bridge.close();
      await proxy.close();
      await old.close();
      await rebooted.close();
    }
  });
});

it('a new boot that loaded the image elsewhere is reported: gdb\'s symbols are for the old base', async () => {
  await tally.scenario(async () => {
    const old = await FakeKernel.listen({});
    const proxy = await LinkProxy.start(old.port);
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
    const bridge = await bridgeTo(proxy.spec, { log });
    const moved = IMAGE_BASE + 0x200000n;
    const rebooted = await FakeKernel.listen({ reportedImageBase: moved });
    try {
      await bridge.session.waitForStop();
      proxy.setUpstream(rebooted.port);
      proxy.cut();
      tally.faults++;
      for (let i = 0; i < 200 && !warnings.some((w) => /new boot loaded/.test(w)); i++) await sleep(50);
      tally.check(
        warnings.some(
          (w) =>
            w ===
            `the new boot loaded the image at 0x${moved.toString(16)}, not at 0x${IMAGE_BASE.toString(16)} as before: ` +
              'symbols and addresses in gdb are for the old base; restart josgdb and gdb for this boot',
        ),
        `warned: ${warnings.join(' | ')}`,
      );
    } finally {
      await bridge.close();
      await proxy.close();
      await old.close();
      await rebooted.close();
    }
  });
});

it('a link drop without a reboot keeps the session (the probe is answered, no handshake)', async () =>
  withDoubleBehindProxy(async ({ kernel, proxy, bridge }) => {
    await bridge.session.insertBreakpoint(0, sym('func_b'), 1);
    proxy.cut();
    tally.faults++;
    await sleep(100);
    for (let i = 0; i < 100 && bridge.client.state !== 'stopped'; i++) await sleep(50);
    await sleep(500);
    tally.check(handshakes(kernel) === 1, `no second handshake (${handshakes(kernel)})`);
    tally.check(bridge.session.breakpoints.list().length === 1, 'the session kept its breakpoint');
    const hit = await bridge.session.resume({ kind: 'continue' });
    tally.check(hit.stop.kind === 'breakpoint' && hit.stop.record.frame.rip === sym('func_b'), 'the breakpoint is hit after the drop');
  }));

it('the tail of a reply cut by the drop is discarded after the reconnect, not taken for a new boot', async () =>
  withDoubleBehindProxy(async ({ kernel, proxy, bridge }) => {
    // what arrives first on the new connection: a ReadTargetMemory reply header announcing 4 KiB and part of its body
    const tail = Buffer.alloc(8 + 100, 0x90);
    tail.writeUInt32LE(0x804, 0);
    tail.writeUInt32LE(0x1000, 4);
    proxy.onNextConnect = tail;
    proxy.cut();
    tally.faults++;
    for (let i = 0; i < 100 && bridge.client.state !== 'stopped'; i++) await sleep(50);
    await sleep(300);
    tally.check(handshakes(kernel) === 1, `no handshake into the live kernel (${handshakes(kernel)})`);
    tally.check(bridge.client.state === 'stopped', `the session goes on (${bridge.client.state})`);
    const words = await bridge.session.readMemory(sym('main'), 4);
    tally.check(words.length === 4, 'a read after the reconnect works');
    const hit = await bridge.session.resume({ kind: 'step' });
    tally.check(hit.stop.kind === 'breakpoint', 'a step after the reconnect stops');
  }));

/** A local port nothing listens on: the proxy's upstream while the "cable" is out. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

it('gdb continuing while the link is down gets a failure it can go on from, and continues once the link is back', async () =>
  withDoubleBehindProxy(async ({ kernel, proxy, bridge }) => {
    // the link goes down and stays down for 2 s: every reconnect attempt until then fails
    proxy.setUpstream(await deadPort());
    proxy.cut();
    tally.faults++;
    await sleep(100);
    const back = setTimeout(() => proxy.setUpstream(kernel.port), 2000);
    try {
      const { output } = await runGdb(bridge.port, [
        'continue',
        'info registers rip',
        // the bridge reconnects within its back-off (at most 5 s after the link came back)
        'shell sleep 8',
        `break *0x${sym('func_b').toString(16)}`,
        'continue',
        'info registers rip',
        'detach',
      ]);
      tally.check(/Remote failure reply: E05/.test(output), `gdb is told the continue failed:\n${output}`);
      tally.check(/josgdb: .*(closed|cannot send)/.test(output), `with josgdb's reason:\n${output}`);
      tally.check(!/exited|terminated|no longer exists/i.test(output), `gdb's process view did not end:\n${output}`);
      tally.check(/Breakpoint 1, 0x0*[0-9a-f]+/.test(output), `the second continue hits the breakpoint:\n${output}`);
      tally.check(new RegExp(`rip\\s+0x0*${sym('func_b').toString(16)}`).test(output), `gdb sees func_b:\n${output}`);
      tally.check(handshakes(kernel) === 1, `the live kernel was not handshaken again (${handshakes(kernel)})`);
      await bridge.server.whenDisconnected();
      tally.check(kernel.strayBreakpointBytes().length === 0, 'no 0xCC left after the detach');
    } finally {
      clearTimeout(back);
    }
  }));
