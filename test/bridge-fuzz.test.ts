/**
 * 10,000 random and mutated RSP packets through the whole bridge (RSP framing,
 * handlers, session, josx64 client) to the josx64 test double over real
 * sockets. Every packet must get a well-formed reply (framing, checksum, an
 * error reply as `Exx` or `E.text`), nothing may hang (a resume that does not
 * stop on its own is interrupted like gdb's Ctrl-C), the bridge must keep
 * answering `?`, and after the final detach no breakpoint byte may remain in
 * target memory. Packets that end the machine (`k`, `vKill`, `R`) are left to
 * their own tests: a reset target needs a reboot, which would end the run.
 */
import fc from 'fast-check';
import { ALL_FEATURES, FakeKernel, sym } from './support/fake-kernel';
import { bridgeTo } from './support/bridge-harness';
import { RawRspClient } from './support/raw-rsp';
import { runGdb } from './support/gdb';
import type { RunningBridge } from '../src/bridge/bridge';
import { parseCommand } from '../src/rsp/commands';
import { mutatePacket, packetMutation } from '../src/rsp/testing/packet-mutation';

const RESUMES = new Set(['continue', 'step', 'continueWithSignal', 'stepWithSignal', 'vCont']);
function isResume(payload: Buffer): boolean {
  try {
    return RESUMES.has(parseCommand(payload).kind);
  } catch {
    return false;
  }
}

const hex = (v: bigint) => v.toString(16);
const TOTAL = Number(process.env.JOSGDB_FUZZ_PACKETS ?? 10_000);

function corpus(): string[] {
  const main = sym('main');
  const funcB = sym('func_b');
  const leaf = sym('leaf');
  const counter = sym('g_counter');
  return [
    'qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386;vContSupported+',
    'qXfer:features:read:target.xml:0,ffb', 'qXfer:features:read:target.xml:400,200', 'qXfer:features:read:nope.xml:0,10',
    '?', 'g', 'p10', 'p0', 'p39', 'p63', 'p99', 'P0=0100000000000000', 'G' + '00'.repeat(100),
    `m${hex(main)},10`, `m${hex(leaf)},40`, `m${hex(counter)},8`, 'm0,10', 'm7f0000000000,8', 'm8000000000000000,4',
    `m${hex(main)},100000`, `x${hex(main)},20`, `M${hex(counter)},8:0100000000000000`, `X${hex(counter)},1:a`,
    `Z0,${hex(funcB)},1`, `z0,${hex(funcB)},1`, `Z0,${hex(leaf)},1`, `z0,${hex(leaf)},1`,
    `Z1,${hex(funcB)},1`, `z1,${hex(funcB)},1`, `Z2,${hex(counter)},8`, `z2,${hex(counter)},8`,
    `Z3,${hex(counter)},4`, `z3,${hex(counter)},4`, `Z4,${hex(counter)},2`, `z4,${hex(counter)},2`,
    's', 'c', `vCont;s:1`, 'vCont;c', `vCont;r${hex(leaf)},${hex(leaf + 4n)}:1`, 'vCont?', 'vCont;t',
    'Hg0', 'Hc-1', 'Hg1', 'T1', 'T2', 'qC', 'qfThreadInfo', 'qsThreadInfo', 'qAttached', 'qAttached:1', 'qOffsets',
    'qSymbol::', 'qSymbol:10:6d61696e', 'vMustReplyEmpty', 'qTStatus', 'qHostInfo', 'qProcessInfo',
    'qRegisterInfo0', 'qRegisterInfo3d', 'qMemoryRegionInfo:1000', 'QThreadSuffixSupported', 'QListThreadsInStopReply',
    'jThreadsInfo', 'QStartNoAckMode', 'qRcmd,68656c70', 'qRcmd,696e666f', 'qRcmd,72656773', 'qRcmd,6370756964203020',
    'qRcmd,72646d7372203078633030303030383020', `qRcmd,${Buffer.from(`pt 0x${hex(main)}`).toString('hex')}`,
    'qRcmd,627265616b706f696e7473', 'qRcmd,6c6f67206465627567', 'qRcmd,6e6f7065', 'qThreadExtraInfo,1',
    'D', 'D;1', 'vFile:setfs:0', 'vFile:open:6a,0,0', 'qXfer:exec-file:read::0,100', 'qGetTLSAddr:1,0,0', '',
  ];
}

const ENDS_THE_MACHINE = /^(k|vKill|R|vRun)/;

const mutation = packetMutation(16);

const WELL_FORMED_ERROR = /^E([0-9a-fA-F]{2}|\..*)$/s;

describe('bridge fuzz: random and mutated RSP packets through the whole bridge', () => {
  let kernel: FakeKernel;
  let bridge: RunningBridge;

  beforeAll(async () => {
    kernel = await FakeKernel.listen({ features: [...ALL_FEATURES] });
    bridge = await bridgeTo(`tcp:127.0.0.1:${kernel.port}`);
    await bridge.session.waitForStop();
  });
  afterAll(async () => {
    await bridge?.close();
    await kernel?.close();
  });

  it(`answers ${TOTAL} packets well formed, never hangs, and leaves no breakpoint byte behind`, async () => {
    const seeds = corpus().map((s) => Buffer.from(s, 'latin1'));
    const packets = fc.sample(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...seeds) },
        { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([s, m]) => mutatePacket(s, m)) },
        { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
      ),
      { numRuns: TOTAL, seed: 0xb51d9e },
    );
    const start = bridge.session.currentStop!.stop;
    if (start.kind === 'assert') throw new Error('the fake kernel starts in an assert');
    const f = start.record.frame;
    const atMain = new Map<string, bigint>([
      ['rax', f.rax], ['rbx', f.rbx], ['rcx', f.rcx], ['rdx', f.rdx], ['rsi', f.rsi], ['rdi', f.rdi], ['rbp', f.rbp], ['rsp', f.rsp],
      ['r8', f.r8], ['r9', f.r9], ['r10', f.r10], ['r11', f.r11], ['r12', f.r12], ['r13', f.r13], ['r14', f.r14], ['r15', f.r15],
      ['rip', f.rip], ['eflags', f.rflags],
    ]);
    let client = await RawRspClient.connect(bridge.port);
    let sent = 0;
    let errors = 0;
    let interrupts = 0;
    let reconnects = 0;
    const recent: string[] = [];
    for (const payload of packets) {
      recent.push(JSON.stringify(payload.toString('latin1').slice(0, 40)));
      if (recent.length > 12) recent.shift();
      if (ENDS_THE_MACHINE.test(payload.toString('latin1'))) continue;
      if (client.closed) {
        await bridge.server.whenDisconnected();
        client = await RawRspClient.connect(bridge.port);
        reconnects++;
      }
      client.send(payload);
      sent++;
      const resume = isResume(payload);
      let reply = await client.reply(resume ? 300 : 20_000);
      if (!reply && resume && !client.closed) {
        // A resume that runs on: interrupt it like gdb's Ctrl-C.
        client.sendRaw('\x03');
        interrupts++;
        reply = await client.reply(5000);
      }
      if (!reply) {
        const what = JSON.stringify(payload.toString('latin1').slice(0, 60));
        if (client.closed) continue; // D (detach) closes after its reply
        throw new Error(`no reply to ${what}${resume ? ' within 5 s, even after an interrupt' : ' within 20 s'}`);
      }
      if (reply.payload.startsWith('E')) {
        errors++;
        if (!WELL_FORMED_ERROR.test(reply.payload)) throw new Error(`malformed error reply ${JSON.stringify(reply.payload)}`);
      }
      if (sent % 1000 === 0) {
        // the bridge still reports a stop (or runs) sanely
        client.send('?');
        const status = await client.reply(5000);
        if (!/^([TS][0-9a-f]{2}|W|X|OK|E)/.test(status?.payload ?? '')) {
          const kernelTail = kernel.events.slice(-25).map((e) => `${e.kind} ${e.detail}`);
          throw new Error(
            `'?' got ${JSON.stringify(status)} (session ${bridge.session.status}); last packets: ${recent.join(' ')}; the kernel's last events: ${kernelTail.join(' | ')}`,
          );
        }
      }
    }
    expect(sent).toBeGreaterThan(TOTAL * 0.95);
    expect(errors).toBeGreaterThan(0);
    process.stdout.write(`bridge fuzz: ${sent} packets, ${errors} error replies, ${interrupts} interrupts, ${reconnects} reconnects\n`);
    await client.close();
    await bridge.server.whenDisconnected();

    // The fuzz wrote registers and memory as any user may (G, P, M, X with random
    // values), so how the program fares afterwards depends on timing. Put the
    // program back as it was at main, through the bridge, before checking that
    // gdb still works: the check is about the bridge, not about a program the
    // fuzz broke.
    if (bridge.session.status === 'running') await bridge.session.interrupt();
    await bridge.session.waitForStop();
    const code = kernel.originalCode();
    await bridge.session.writeMemory(code.address, code.bytes);
    await bridge.session.writeRegisters(atMain);

    // gdb still works, and a detach leaves target memory clean
    const { output } = await runGdb(bridge.port, ['info registers rip', `break *0x${hex(sym('leaf'))}`, 'continue', 'detach']);
    expect(output).toMatch(/Breakpoint 1, 0x0*[0-9a-f]+/);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    await bridge.server.whenDisconnected();
    expect(kernel.strayBreakpointBytes()).toEqual([]);
    expect(kernel.breakpointList().filter((b) => b.active)).toEqual([]);
  }, 600_000);
});
