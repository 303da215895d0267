#!/usr/bin/env node
'use strict';
/**
 * Benchmark (issue 9): what gdb operations cost through josgdb, next to QEMU's
 * own gdbstub on the same VM, in the same run.
 *
 * One QEMU boots stub-uefi with its debug UART on a TCP socket and its gdbstub
 * on another loopback port. josgdb reaches the UART through a counting proxy,
 * which counts the bytes each way and the requests (host-to-target bursts) of
 * every workload, read by the gdb driver before and after the timed part. Each
 * workload runs `--runs` times against josgdb and against QEMU's gdbstub,
 * alternating. Printed per workload: median and spread of the wall time for
 * both and their ratio; for josgdb the bytes and requests on the serial link
 * and the time those bytes take at 115200 and 38400 baud (10 bits a byte).
 * `--write-doc` also writes the table to docs/performance.md.
 *
 * Usage: npm run build && node bench/gdb-ops/run.js [--runs N] [--write-doc]
 * (`make bench` runs it after the PDB load benchmark). Requires gdb, QEMU and
 * OVMF (make deps) and the stub (make stub).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const DRIVER = path.join(__dirname, 'driver.py');

const WORKLOADS = [
  ['connect', 'connect to the first prompt (josgdb: break-in, symbols over vFile)'],
  ['stepi-500', '500 stepi'],
  ['next-plain', 'next over an ordinary line (g_counter++)'],
  ['next-calls', 'next over a line of calls (demo_a, demo_factorial(20), demo_frame)'],
  ['bt-6', 'bt at depth 6 (demo_leaf)'],
  ['bt-22', 'bt at depth 22 (demo_factorial, 20 deep)'],
  ['finish-deep', 'finish out of the deepest demo_factorial'],
  ['hits-100', '100 breakpoint hits with continue'],
  ['dump-64k', 'dump binary memory, 64 KiB'],
  ['dump-1m', 'dump binary memory, 1 MiB'],
];

function parseArgs(argv) {
  const args = { runs: 3, writeDoc: false, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--write-doc') args.writeDoc = true;
    else if (a === '--only') args.only = argv[++i].split(',');
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs needs a positive integer');
  return args;
}

/** A TCP proxy to the UART that counts bytes and request bursts; a control port hands out the counters as JSON. */
async function countingProxy(targetPort) {
  const counters = { hostToTarget: 0, targetToHost: 0, requests: 0 };
  let lastDirection = 'target';
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    client.on('data', (d) => {
      counters.hostToTarget += d.length;
      if (lastDirection !== 'host') counters.requests++;
      lastDirection = 'host';
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      counters.targetToHost += d.length;
      lastDirection = 'target';
      client.write(d);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  const control = net.createServer((s) => s.end(JSON.stringify(counters)));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  await new Promise((r) => control.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    controlPort: control.address().port,
    close() {
      server.close();
      control.close();
    },
  };
}

function lineOf(text) {
  const lines = fs.readFileSync(path.join(ROOT, 'stub-uefi', 'src', 'workload.c'), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`workload.c has no line with ${text}`);
  return i + 1;
}

function runDriver(workload, env, extraArgs) {
  return new Promise((resolve, reject) => {
    const child = spawn('gdb', ['-batch', '-nx', ...extraArgs, '-x', DRIVER], {
      env: { ...process.env, ...env, GDBOPS_WORKLOAD: workload },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) reject(new Error(`gdb printed no result for ${workload}:\n${out}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s) => `${(s * 1000).toFixed(s < 0.01 ? 2 : 0)} ms`;
const spread = (xs) => `${ms(Math.min(...xs))}..${ms(Math.max(...xs))}`;
const BYTE_SECONDS = (baud) => 10 / baud;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(DIST, 'bridge', 'bridge.js'))) throw new Error('dist/ is missing: run npm run build first (or make bench)');
  const { launchQemu, freePort } = require(path.join(DIST, 'demo', 'qemu'));
  const { startBridge } = require(path.join(DIST, 'bridge', 'bridge'));
  const { loadSymbols } = require(path.join(DIST, 'symbols', 'loader'));
  const { STUB_EFI, STUB_PDB } = require(path.join(DIST, 'demo', 'stub-paths'));
  const pino = require('pino');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-gdbops-'));
  const gdbPort = await freePort();
  process.stderr.write('gdb-ops: booting stub-uefi in QEMU...\n');
  const qemu = await launchQemu({ efi: STUB_EFI, gdbPort });
  const proxy = await countingProxy(qemu.serialPort);
  let bridge;
  try {
    bridge = await startBridge({
      target: `tcp:127.0.0.1:${proxy.port}`,
      listenHost: '127.0.0.1',
      listenPort: 0,
      log: pino({ level: 'silent' }),
      handshakeTimeoutMs: 120_000,
      symbols: { image: STUB_EFI, pdb: STUB_PDB, cacheDir: path.join(tmp, 'cache') },
    });
    await bridge.session.waitForStop();
    const base = bridge.session.target.info.imageBase;
    // QEMU's gdbstub serves no symbols: its gdb gets the same file josgdb would serve
    const symbols = await loadSymbols({ image: STUB_EFI, pdb: STUB_PDB, cache: false, loadBase: base });
    const symbolFile = path.join(tmp, 'kernel.debug');
    fs.writeFileSync(symbolFile, symbols.debugElf(base));
    const common = {
      GDBOPS_COUNTER_LINE: String(lineOf('g_counter++;')),
      GDBOPS_CALL_LINE: String(lineOf('g_last_result = demo_a(g_counter)')),
      GDBOPS_LOW_RAM: '100000',
    };
    const josgdbEnv = { ...common, GDBOPS_TARGET: `127.0.0.1:${bridge.port}`, GDBOPS_CONTROL: String(proxy.controlPort) };
    const qemuEnv = { ...common, GDBOPS_TARGET: `127.0.0.1:${gdbPort}` };

    // The first gdb session finds the kernel stopped at main; let it run, as every later session does.
    await runDriver('dump-64k', josgdbEnv, []);

    const rows = [];
    for (const [workload, label] of WORKLOADS) {
      if (args.only && !args.only.includes(workload)) continue;
      const ours = [];
      const theirs = [];
      for (let i = 0; i < args.runs; i++) {
        ours.push(await runDriver(workload, josgdbEnv, []));
        theirs.push(await runDriver(workload, qemuEnv, ['-ex', `symbol-file ${symbolFile}`]));
      }
      const link = ours[ours.length - 1].link;
      const bytes = link.hostToTarget + link.targetToHost;
      rows.push({
        workload,
        label,
        ours: ours.map((r) => r.seconds),
        theirs: theirs.map((r) => r.seconds),
        bytes,
        hostToTarget: link.hostToTarget,
        targetToHost: link.targetToHost,
        requests: link.requests,
      });
      process.stderr.write(`gdb-ops: ${workload} done\n`);
    }
    const table = formatTable(rows, args.runs);
    process.stdout.write(table);
    if (args.writeDoc) writeDoc(table);
  } finally {
    await bridge?.close();
    proxy.close();
    await qemu.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function formatTable(rows, runs) {
  const header =
    '| workload | josgdb median (spread) | QEMU gdbstub median (spread) | ratio | link bytes (to target / from target) | requests | at 115200 baud | at 38400 baud |\n' +
    '|---|---|---|---|---|---|---|---|\n';
  const body = rows
    .map((r) => {
      const ratio = median(r.ours) / median(r.theirs);
      return (
        `| ${r.label} | ${ms(median(r.ours))} (${spread(r.ours)}) | ${ms(median(r.theirs))} (${spread(r.theirs)}) | ${ratio.toFixed(1)}x | ` +
        `${r.bytes} (${r.hostToTarget} / ${r.targetToHost}) | ${r.requests} | ${ms(r.bytes * BYTE_SECONDS(115200))} | ${ms(r.bytes * BYTE_SECONDS(38400))} |`
      );
    })
    .join('\n');
  return `${header}${body}\n\n(${runs} runs each, alternating; link figures from the last josgdb run)\n`;
}

function writeDoc(table) {
  const cpu = os.cpus()[0];
  const doc = path.join(ROOT, 'docs', 'performance.md');
  const intro = fs.existsSync(doc) ? fs.readFileSync(doc, 'utf8').split('<!-- figures -->')[0] : '# Performance\n\n';
  fs.writeFileSync(
    doc,
    `${intro}<!-- figures -->\nLast run: ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} x ${cpu ? cpu.model.trim() : 'unknown CPU'}, ` +
      `Node ${process.version}, QEMU TCG (no KVM). Wall times are on loopback sockets with QEMU's emulated UART; the baud columns are what the ` +
      `counted serial bytes alone would take on a real line.\n\n${table}`,
  );
}

main().catch((e) => {
  process.stderr.write(`gdb-ops: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
