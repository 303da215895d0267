#!/usr/bin/env node
/**
 * `make recordings`: boots stub-uefi in QEMU once per session below, records the
 * session through `josgdb serve --record` (the same recorder, in-process) while
 * gdb runs the session's commands, and writes, per session:
 *
 *   NAME.josrec  the recording (docs/recording.md)
 *   NAME.gdb     the gdb commands, one per line
 *   NAME.out     what gdb printed
 *
 * test/replay-recordings.test.ts replays each to a new gdb, without QEMU, and
 * expects the same output and no divergence. Uses the built josgdb (dist/).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const pino = require('pino');

const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { startBridge } = dist('bridge/bridge');
const { openLink } = dist('link/open');
const { SessionRecorder } = dist('recording/session-recorder');
const { launchQemu } = dist('demo/qemu');
const { runGdbBatch } = dist('demo/gdb-batch');
const { STUB_EFI, STUB_PDB } = dist('demo/stub-paths');
const { stubPublicRvas } = dist('demo/stub-symbols');
const { josgdbVersion } = dist('cli/version');

/**
 * Each session starts at the stop at main; gdb gets no symbol file (the replay
 * needs no stub build), so breakpoints are absolute addresses from the stub's PDB
 * at the load base of the recorded boot.
 */
const SESSIONS = [
  {
    name: 'stub-step-and-memory',
    compat: false,
    commands: () => ['info registers rip rsp', 'x/8xb $pc', 'stepi', 'stepi', 'info registers rip', 'x/4xg $sp', 'detach'],
  },
  {
    name: 'stub-breakpoint-continue',
    compat: false,
    commands: (at) => [
      `break *${at('demo_leaf')}`,
      `break *${at('demo_b')}`,
      'continue',
      'info registers rip',
      'continue',
      `x/8xb ${at('demo_leaf')}`,
      'stepi',
      'stepi',
      'info registers rip',
      'delete',
      'detach',
    ],
  },
  {
    name: 'stub-compat-josx64',
    compat: true,
    commands: (at) => ['info registers rip', 'x/16xb $pc', `break *${at('demo_leaf')}`, 'continue', 'stepi', 'info registers rip', 'detach'],
  },
];
const rvas = stubPublicRvas(STUB_EFI, STUB_PDB);

async function record(session) {
  const qemu = await launchQemu({ efi: STUB_EFI, compat: session.compat });
  const file = path.join(__dirname, `${session.name}.josrec`);
  const recorder = new SessionRecorder(file, { target: 'tcp:127.0.0.1:PORT', listen: '127.0.0.1:0', compat: session.compat }, josgdbVersion(), (m) => {
    throw new Error(m);
  });
  let bridge;
  try {
    bridge = await startBridge({
      target: qemu.targetSpec,
      openTarget: async () => recorder.target(await openLink(qemu.targetSpec)),
      rspTap: recorder.rsp,
      listenHost: '127.0.0.1',
      listenPort: 0,
      log: pino({ level: process.env.JOSGDB_LOG ?? 'warn' }, pino.destination(2)),
      handshakeTimeoutMs: 120000,
      reconnect: false,
    });
    await bridge.session.waitForStop();
    const base = bridge.session.target.info.imageBase;
    const at = (name) => {
      const rva = rvas.get(name);
      if (rva === undefined) throw new Error(`no symbol ${name} in the stub's PDB`);
      return '0x' + (base + rva).toString(16);
    };
    const commands = session.commands(at);
    const run = await runGdbBatch(bridge.port, commands, { timeoutMs: 120000 });
    await bridge.server.whenDisconnected();
    fs.writeFileSync(path.join(__dirname, `${session.name}.gdb`), commands.join('\n') + '\n');
    fs.writeFileSync(path.join(__dirname, `${session.name}.out`), run.output);
  } finally {
    if (bridge) await bridge.close();
    await recorder.close();
    await qemu.stop();
  }
  process.stdout.write(`${path.relative(root, file)}: ${fs.statSync(file).size} bytes\n`);
}

(async () => {
  const only = process.argv.slice(2);
  for (const s of SESSIONS) if (only.length === 0 || only.includes(s.name)) await record(s);
})().catch((err) => {
  process.stderr.write(`regenerate: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
