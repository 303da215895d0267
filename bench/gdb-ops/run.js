#!/usr/bin/env node
'use strict';
/**
 * Benchmark (issue 9): what gdb operations cost through josgdb, next to QEMU's
 * own gdbstub on the same VM, in the same run, for the three kinds of target the
 * goals name (see CONFIGS).
 *
 * Per configuration, one QEMU boots stub-uefi with its debug UART on a TCP socket
 * and its gdbstub on another loopback port. josgdb reaches the UART through a
 * counting proxy (proxy.js, a process of its own), which decodes the josx64
 * framing both ways: the bytes and requests of every workload, by message. Each
 * workload runs `--runs` times against josgdb and against QEMU's gdbstub,
 * alternating. Printed per workload: median and spread of the wall time for both
 * and their ratio; for josgdb the bytes and requests on the serial link, the
 * floor (the resume commands and the stop messages the kernel sends anyway), the
 * time the bytes take at 115200 and 38400 baud (10 bits a byte), and the bridge's
 * own CPU time per RSP packet. A 64 KiB dump through the proxy paced at 115200
 * baud gives the throughput on a real line. `--write-doc` writes it all to
 * docs/performance.md.
 *
 * Usage: npm run build && node bench/gdb-ops/run.js [--runs N] [--configs base,image,extensions]
 *        [--only stepi-500,...] [--stub DIR] [--write-doc]
 * (`make bench` runs it after the PDB load benchmark). Requires gdb, QEMU and
 * OVMF (make deps) and the stub (make stub). GDBOPS_LOG=FILE writes the bridge's
 * debug log there (what it sent the target, and any failed request);
 * GDBOPS_PACKETS=FILE its packet trace of both links, with times (which packets
 * gdb sends per operation, and how long each exchange takes).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const DRIVER = path.join(__dirname, 'driver.py');
const THROTTLE_BAUD = 115200;

const WORKLOADS = [
  ['connect', 'connect to the first prompt (josgdb: break-in, symbols over vFile)'],
  ['stepi-500', '500 stepi'],
  ['next-plain', 'next over an ordinary line (g_counter++)'],
  ['next-1000', 'next over a line of about 1,000 instructions (a loop on one line)'],
  ['next-calls', 'next over a line of calls (demo_a, demo_factorial(20), demo_frame)'],
  ['bt-6', 'bt at depth 6 (demo_leaf)'],
  ['bt-22', 'bt at depth 22 (demo_factorial, 20 deep)'],
  ['finish-deep', 'finish out of the deepest demo_factorial'],
  ['hits-100', '100 breakpoint hits with continue'],
  ['dump-64k', 'dump binary memory, 64 KiB'],
  ['dump-1m', 'dump binary memory, 1 MiB'],
];

/**
 * The three targets the goals name. `base`: an unmodified josx64 kernel (stub-uefi
 * in compatibility mode: its flaws, no extensions) and no image file, so josgdb
 * reads the image from target memory. `image`: the same kernel with the image
 * file at hand. `extensions`: stub-uefi's protocol extensions, with the image file.
 */
const CONFIGS = {
  base: { label: 'base protocol, no image file', compat: true, image: false },
  image: { label: 'base protocol, with the image file', compat: true, image: true },
  extensions: { label: 'stub-uefi extensions, with the image file', compat: false, image: true },
};

/** Messages that make up the floor of an operation: the resume commands and what the kernel sends for each stop anyway. */
const FLOOR_MESSAGES = new Set([
  'to target: Continue',
  'to target: TraceStep',
  'to target: TraceStepCompact',
  'to target: SingleStep',
  'to target: RangeStep',
  'to target: BreakIn',
  'from target: Breakpoint',
  'from target: BreakpointCallstack',
  'from target: GPF',
  'from target: UD',
  'from target: PF',
  'from target: Assert',
  'from target: BreakInStop',
  'from target: Exception',
  'from target: HwBreakpoint',
  'from target: CompactStop',
]);

function parseArgs(argv) {
  const args = { runs: 3, writeDoc: false, only: undefined, configs: Object.keys(CONFIGS), stub: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--write-doc') args.writeDoc = true;
    else if (a === '--only') args.only = argv[++i].split(',');
    else if (a === '--configs') args.configs = argv[++i].split(',');
    else if (a === '--stub') args.stub = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs needs a positive integer');
  for (const c of args.configs) if (!CONFIGS[c]) throw new Error(`unknown configuration ${c} (${Object.keys(CONFIGS).join(', ')})`);
  return args;
}

/** Starts proxy.js in its own process, so that its CPU time is not counted as the bridge's. */
function startProxy(targetPort) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'proxy.js'), String(targetPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const { port, controlPort } = JSON.parse(out.slice(0, nl));
      resolve({ port, controlPort, close: () => child.kill() });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the counting proxy exited (${code})`)));
  });
}

function controlCommand(controlPort, line) {
  return new Promise((resolve, reject) => {
    const s = net.connect(controlPort, '127.0.0.1', () => s.write(`${line}\n`));
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

/** Counts the RSP packets gdb sends: every `$` starts one (a `$` inside a packet is escaped). */
function rspCounter() {
  const counter = {
    packets: 0,
    tap: {
      connected() {},
      closed() {},
      data(dir, bytes) {
        if (dir !== 'rx') return;
        for (const b of bytes) if (b === 0x24) counter.packets++;
      },
    },
  };
  return counter;
}

function lineOf(stubDir, text) {
  const lines = fs.readFileSync(path.join(stubDir, 'src', 'workload.c'), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`workload.c has no line with ${text}`);
  return i + 1;
}

function runGdb(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('gdb', ['-batch', '-nx', ...args], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
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
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) reject(new Error(`gdb printed no result for ${workload} (exit ${code ?? signal}):\n${out}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

/** The link figures of one run: totals and per message, the difference of the proxy's counters after and before. */
function linkFigures(result) {
  const { linkBefore: before, linkAfter: after } = result;
  const messages = {};
  for (const [name, a] of Object.entries(after.messages)) {
    const b = before.messages[name] ?? { count: 0, bytes: 0 };
    if (a.count > b.count) messages[name] = { count: a.count - b.count, bytes: a.bytes - b.bytes };
  }
  const floor = Object.entries(messages)
    .filter(([name]) => FLOOR_MESSAGES.has(name))
    .reduce((sum, [, m]) => sum + m.bytes, 0);
  return {
    hostToTarget: after.hostToTarget - before.hostToTarget,
    targetToHost: after.targetToHost - before.targetToHost,
    requests: after.requests - before.requests,
    messages,
    floor,
    framingLost: after.framingLost,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s) => `${(s * 1000).toFixed(s < 0.01 ? 2 : 0)} ms`;
const spread = (xs) => `${ms(Math.min(...xs))}..${ms(Math.max(...xs))}`;
const BYTE_SECONDS = (baud) => 10 / baud;

async function runConfiguration(name, args, modules, stub) {
  const config = CONFIGS[name];
  const { launchQemu, freePort } = modules.qemu;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-gdbops-'));
  const gdbPort = await freePort();
  process.stderr.write(`gdb-ops [${name}]: booting stub-uefi in QEMU${config.compat ? ' (josx64 compatibility mode)' : ''}...\n`);
  const qemu = await launchQemu({ efi: stub.efi, gdbPort, compat: config.compat });
  const proxy = await startProxy(qemu.serialPort);
  const rsp = rspCounter();
  let bridge;
  try {
    bridge = await modules.bridge.startBridge({
      target: `tcp:127.0.0.1:${proxy.port}`,
      listenHost: '127.0.0.1',
      listenPort: 0,
      log: process.env.GDBOPS_LOG ? modules.pino({ level: 'debug' }, modules.pino.destination(process.env.GDBOPS_LOG)) : modules.pino({ level: 'silent' }),
      handshakeTimeoutMs: 120_000,
      symbols: config.image ? { image: stub.efi, pdb: stub.pdb, cacheDir: path.join(tmp, 'cache') } : { pdb: stub.pdb, cacheDir: path.join(tmp, 'cache') },
      rspTap: rsp.tap,
      ...(process.env.GDBOPS_PACKETS ? { packetLogPath: process.env.GDBOPS_PACKETS } : {}),
    });
    await bridge.session.waitForStop();
    const base = bridge.session.target.info.imageBase;
    // QEMU's gdbstub serves no symbols: its gdb gets the same file josgdb would serve
    const symbols = await modules.loader.loadSymbols({ image: stub.efi, pdb: stub.pdb, cache: false, loadBase: base });
    const symbolFile = path.join(tmp, 'kernel.debug');
    fs.writeFileSync(symbolFile, symbols.debugElf(base));
    const common = {
      GDBOPS_COUNTER_LINE: String(lineOf(stub.dir, 'g_counter++;')),
      GDBOPS_CALL_LINE: String(lineOf(stub.dir, 'g_last_result = demo_a(g_counter)')),
      GDBOPS_SPIN_LINE: String(lineOf(stub.dir, 'g_spin += (uint64_t)i')),
      GDBOPS_LOW_RAM: '100000',
    };
    const josgdbEnv = { ...common, GDBOPS_TARGET: `127.0.0.1:${bridge.port}`, GDBOPS_CONTROL: String(proxy.controlPort) };
    const qemuEnv = { ...common, GDBOPS_TARGET: `127.0.0.1:${gdbPort}` };

    // A base-protocol kernel cannot be interrupted: a gdb that connects while it runs
    // waits for its next stop. So before each josgdb session the kernel is made to stop
    // by itself: QEMU's gdbstub sets g_trigger to 5, and the workload's next loop runs
    // the int3 in demo_fault, which the kernel reports to josgdb.
    const stopForNextSession = async () => {
      if (bridge.session.status !== 'running') return;
      const stopped = bridge.session.waitForStop();
      await runGdb(['-ex', `symbol-file ${symbolFile}`, '-ex', `target remote 127.0.0.1:${gdbPort}`, '-ex', 'set var g_trigger = 5', '-ex', 'detach']);
      await stopped;
    };

    // The first gdb session finds the kernel stopped at main; let it run, as every later session does.
    await runDriver('dump-64k', josgdbEnv, []);

    const rows = [];
    for (const [workload, label] of WORKLOADS) {
      if (args.only && !args.only.includes(workload)) continue;
      const ours = [];
      const theirs = [];
      let last;
      for (let i = 0; i < args.runs; i++) {
        if (config.compat) await stopForNextSession();
        const cpuBefore = process.cpuUsage();
        const packetsBefore = rsp.packets;
        const result = await runDriver(workload, josgdbEnv, []);
        const cpu = process.cpuUsage(cpuBefore);
        last = { link: linkFigures(result), cpuMicros: cpu.user + cpu.system, packets: rsp.packets - packetsBefore };
        ours.push(result.seconds);
        theirs.push((await runDriver(workload, qemuEnv, ['-ex', `symbol-file ${symbolFile}`])).seconds);
      }
      rows.push({ workload, label, ours, theirs, ...last });
      process.stderr.write(`gdb-ops [${name}]: ${workload} done\n`);
    }

    // The same 64 KiB dump through the proxy paced like a 115200-baud UART: the throughput on a real line.
    let throttled;
    if (!args.only || args.only.includes('dump-64k')) {
      if (config.compat) await stopForNextSession();
      await controlCommand(proxy.controlPort, `throttle ${THROTTLE_BAUD}`);
      const result = await runDriver('dump-64k-throttled', josgdbEnv, []);
      await controlCommand(proxy.controlPort, 'throttle 0');
      const link = linkFigures(result);
      throttled = { seconds: result.seconds, payload: 0x10000, link };
      process.stderr.write(`gdb-ops [${name}]: dump-64k at ${THROTTLE_BAUD} baud done\n`);
    }
    return { name, config, rows, throttled };
  } finally {
    await bridge?.close();
    proxy.close();
    await qemu.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(DIST, 'bridge', 'bridge.js'))) throw new Error('dist/ is missing: run npm run build first (or make bench)');
  const modules = {
    qemu: require(path.join(DIST, 'demo', 'qemu')),
    bridge: require(path.join(DIST, 'bridge', 'bridge')),
    loader: require(path.join(DIST, 'symbols', 'loader')),
    pino: require('pino'),
  };
  const paths = require(path.join(DIST, 'demo', 'stub-paths'));
  const stubDir = args.stub ? path.resolve(args.stub) : paths.STUB_DIR;
  const stub = { dir: stubDir, efi: path.join(stubDir, 'build', 'BOOTX64.EFI'), pdb: path.join(stubDir, 'build', 'BOOTX64.pdb') };

  const results = [];
  for (const name of args.configs) results.push(await runConfiguration(name, args, modules, stub));
  const text = formatReport(results, args.runs);
  process.stdout.write(text);
  if (args.writeDoc) writeDoc(text);
}

function formatReport(results, runs) {
  const parts = [formatGoals(results)];
  for (const r of results) {
    parts.push(`### ${r.config.label} (\`${r.name}\`)\n\n${formatTable(r.rows)}`);
    if (r.throttled) parts.push(formatThrottled(r.throttled));
    parts.push(formatMessages(r.rows));
  }
  parts.push(`(${runs} runs each, alternating; link figures and CPU time from the last josgdb run)\n`);
  return parts.join('\n');
}

function formatTable(rows) {
  const header =
    '| workload | josgdb median (spread) | QEMU gdbstub median (spread) | ratio | link bytes (to target / from target) | floor | requests | at 115200 baud | at 38400 baud | RSP packets | bridge CPU per packet |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|\n';
  const body = rows
    .map((r) => {
      const ratio = median(r.ours) / median(r.theirs);
      const bytes = r.link.hostToTarget + r.link.targetToHost;
      const perPacket = r.packets > 0 ? `${Math.round(r.cpuMicros / r.packets)} us` : '-';
      return (
        `| ${r.label} | ${ms(median(r.ours))} (${spread(r.ours)}) | ${ms(median(r.theirs))} (${spread(r.theirs)}) | ${ratio.toFixed(1)}x | ` +
        `${bytes} (${r.link.hostToTarget} / ${r.link.targetToHost}) | ${r.link.floor} | ${r.link.requests} | ` +
        `${ms(bytes * BYTE_SECONDS(115200))} | ${ms(bytes * BYTE_SECONDS(38400))} | ${r.packets} | ${perPacket} |`
      );
    })
    .join('\n');
  return `${header}${body}\n`;
}

function formatThrottled(t) {
  const rawRate = THROTTLE_BAUD / 10;
  const rate = t.payload / t.seconds;
  return (
    `64 KiB dump through the proxy paced at ${THROTTLE_BAUD} baud: ${ms(t.seconds)}, ${Math.round(rate)} bytes/s of memory, ` +
    `${((rate / rawRate) * 100).toFixed(1)}% of the line's raw ${rawRate} bytes/s (${t.link.hostToTarget + t.link.targetToHost} bytes on the link).\n`
  );
}

/** Which messages each workload's link bytes were (to see where bytes above the floor go). */
function formatMessages(rows) {
  const lines = rows.map((r) => {
    const entries = Object.entries(r.link.messages)
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([name, m]) => `${name} ${m.count}x ${m.bytes} B`);
    return `- ${r.workload}: ${entries.join(', ') || 'nothing'}${r.link.framingLost ? ' (framing lost: figures incomplete)' : ''}`;
  });
  return `<details><summary>link messages per workload</summary>\n\n${lines.join('\n')}\n\n</details>\n`;
}

/** One line per goal of the issue, with the figure that judges it. */
function formatGoals(results) {
  const row = (cfg, workload) => results.find((r) => r.name === cfg)?.rows.find((w) => w.workload === workload);
  const lines = [];
  for (const r of results) {
    const stepi = row(r.name, 'stepi-500');
    if (stepi) {
      const bytes = stepi.link.hostToTarget + stepi.link.targetToHost;
      const ratio = median(stepi.ours) / median(stepi.theirs);
      lines.push(
        `| stepi, ${r.config.label} | bytes within 25% of the floor; wall time within 2x of QEMU's gdbstub | ` +
          `${(bytes / 500).toFixed(0)} B per step, floor ${(stepi.link.floor / 500).toFixed(0)} B: ${((bytes / stepi.link.floor - 1) * 100).toFixed(0)}% above; ` +
          `${ratio.toFixed(1)}x QEMU |`,
      );
    }
    const next = row(r.name, 'next-1000');
    if (next) {
      lines.push(`| next over 1,000 instructions, ${r.config.label} | at most 3 round trips with range-step | ${next.link.requests} requests, ${next.link.hostToTarget + next.link.targetToHost} bytes |`);
    }
    const hits = row(r.name, 'hits-100');
    if (hits) {
      const updates = hits.link.messages['to target: UpdateBreakpoints'];
      lines.push(`| 100 breakpoint hits, ${r.config.label} | no UpdateBreakpoints after the first sync | ${updates ? `${updates.count} UpdateBreakpoints` : 'no UpdateBreakpoints'} |`);
    }
    const dump = row(r.name, 'dump-1m');
    if (dump) {
      lines.push(`| 1 MiB dump, ${r.config.label} | at least 50% of QEMU's gdbstub | ${((median(dump.theirs) / median(dump.ours)) * 100).toFixed(1)}% |`);
    }
    if (r.throttled) {
      const rate = r.throttled.payload / r.throttled.seconds;
      lines.push(`| 64 KiB dump at ${THROTTLE_BAUD} baud, ${r.config.label} | at least 90% of the line's raw byte rate | ${((rate / (THROTTLE_BAUD / 10)) * 100).toFixed(1)}% |`);
    }
  }
  return `| goal | target | measured |\n|---|---|---|\n${lines.join('\n')}\n`;
}

function writeDoc(text) {
  const cpu = os.cpus()[0];
  const doc = path.join(ROOT, 'docs', 'performance.md');
  const intro = fs.existsSync(doc) ? fs.readFileSync(doc, 'utf8').split('<!-- figures -->')[0] : '# Performance\n\n';
  fs.writeFileSync(
    doc,
    `${intro}<!-- figures -->\nLast run: ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} x ${cpu ? cpu.model.trim() : 'unknown CPU'}, ` +
      `Node ${process.version}, QEMU TCG (no KVM). Wall times are on loopback sockets with QEMU's emulated UART; the baud columns are what the ` +
      `counted serial bytes alone would take on a real line.\n\n${text}`,
  );
}

main().catch((e) => {
  process.stderr.write(`gdb-ops: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
