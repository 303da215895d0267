#!/usr/bin/env node
'use strict';
/**
 * Benchmark (issues 4 and 6): loading a large PDB and writing the ELF for gdb,
 * types, variables and unwind rules included.
 *
 * Builds (once, cached) a generated program of 20,000 functions with clang and
 * lld-link, then measures in the same run:
 *   - ours: loadSymbols (PE + PDB: MSF, DBI, modules, publics, globals, TPI
 *     sizes, IPI build info, symbol index, debug model) and writing the
 *     ELF/DWARF file, in a child process per run, so its peak RSS is the
 *     loader's own; and an idle node with the same modules loaded, measured
 *     the same way, as the RSS baseline;
 *   - llvm-pdbutil dump --publics --symbols --il PDB > /dev/null, and
 *     llvm-pdbutil dump --types PDB > /dev/null.
 * Best of 3 for each time. Targets: no slower than llvm-pdbutil; peak memory
 * under 4x the PDB size.
 *
 * Usage: npm run build && node bench/pdb-load/run.js [--functions N] [--modules N] [--runs N] [--strict]
 * (`make bench` does both.) --strict exits with 1 when a target is missed.
 * Plain Node over the compiled dist/, so nothing beyond the build is needed.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { buildProgram } = require('./build');

const MEASURE = path.join(__dirname, 'measure.js');
const MIB = 1024 * 1024;

function parseArgs(argv) {
  const args = { functions: 20000, modules: 20, globalsPerModule: 120, seed: 1, runs: 3, strict: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--functions') args.functions = value();
    else if (a === '--modules') args.modules = value();
    else if (a === '--runs') args.runs = value();
    else if (a === '--strict') args.strict = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function child(mode, ...rest) {
  const res = spawnSync(process.execPath, [MEASURE, mode, ...rest], { encoding: 'utf8', maxBuffer: 16 * MIB });
  if (res.status !== 0) throw new Error(`measure.js ${mode} failed:\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop());
}

function timePdbutil(pdb, dumpArgs) {
  const devNull = fs.openSync('/dev/null', 'w');
  try {
    const t0 = process.hrtime.bigint();
    const res = spawnSync('llvm-pdbutil', ['dump', ...dumpArgs, pdb], { stdio: ['ignore', devNull, 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.status !== 0) throw new Error(`llvm-pdbutil failed: ${res.stderr}`);
    return ms;
  } finally {
    fs.closeSync(devNull);
  }
}

const mib = (bytes) => `${(bytes / MIB).toFixed(1)} MiB`;
const msText = (ms) => `${ms.toFixed(0)} ms`;

function table(rows) {
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'symbols', 'loader', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (or `make bench`)');
  }
  const params = { functions: args.functions, modules: args.modules, globalsPerModule: args.globalsPerModule, seed: args.seed };
  const built = await buildProgram(params, (m) => process.stderr.write(`pdb-load: ${m}\n`));
  const pdbSize = fs.statSync(built.pdb).size;
  process.stderr.write(`pdb-load: ${built.cached ? 'reusing' : `built in ${built.seconds.toFixed(0)} s:`} ${built.pdb}\n`);

  const ours = [];
  const symbolsOnly = [];
  const idle = [];
  const pdbutil = [];
  const pdbutilTypes = [];
  for (let i = 0; i < args.runs; i++) {
    ours.push(child('load', built.image, built.pdb));
    symbolsOnly.push(child('symbols', built.image, built.pdb));
    idle.push(child('idle'));
    pdbutil.push(timePdbutil(built.pdb, ['--publics', '--symbols', '--il']));
    pdbutilTypes.push(timePdbutil(built.pdb, ['--types']));
  }
  const { phases, memory } = child('phases', built.image, built.pdb);
  const warm = child('warm', built.image, built.pdb);

  const best = Math.min(...ours.map((r) => r.ms));
  const bestUser = Math.min(...ours.map((r) => r.userMs));
  const bestSystem = Math.min(...ours.map((r) => r.systemMs));
  const peak = Math.max(...ours.map((r) => r.maxRss));
  const baseline = Math.min(...idle.map((r) => r.maxRss));
  const above = peak - baseline;
  const llvm = Math.min(...pdbutil);
  const bestSymbols = Math.min(...symbolsOnly.map((r) => r.ms));
  const peakSymbols = Math.max(...symbolsOnly.map((r) => r.maxRss));
  const llvmTypes = Math.min(...pdbutilTypes);
  const stats = ours[0].stats;
  const timeOk = best <= llvm;
  const memOk = peak < 4 * pdbSize;
  const memAboveOk = above < 4 * pdbSize;

  process.stdout.write(
    [
      `PDB load benchmark: ${args.functions} functions in ${args.modules} modules (best of ${args.runs})`,
      table([
        ['PDB size', mib(pdbSize)],
        ['model', `${stats.functions} functions, ${stats.lines} line rows, ${stats.dataSymbols} data symbols, ${stats.compileUnits} compile units, ${stats.types} types`],
        ['ELF written', mib(ours[0].elfBytes)],
        ['josgdb load + ELF', msText(best)],
        ['josgdb load + ELF, third time in one process', `${msText(warm.ms)} (V8 has optimized josgdb's code by then; the first took ${msText(warm.first)})`],
        ['josgdb CPU time (all threads)', `${msText(bestUser)} user, ${msText(bestSystem)} system`],
        ['llvm-pdbutil dump --publics --symbols --il', msText(llvm)],
        ['llvm-pdbutil dump --types', msText(llvmTypes)],
        ['josgdb peak RSS', `${mib(peak)} (${(peak / pdbSize).toFixed(2)}x the PDB)`],
        ['symbols and lines only (no types, variables, frames)', `${msText(bestSymbols)}, ${mib(symbolsOnly[0].elfBytes)} ELF, peak RSS ${mib(peakSymbols)} (${mib(peakSymbols - baseline)} above the baseline)`],
        ['idle node baseline RSS', mib(baseline)],
        ['josgdb RSS above baseline', `${mib(above)} (${(above / pdbSize).toFixed(2)}x the PDB)`],
      ]),
      'phases (one run: ms; RSS, peak RSS and V8 heap used at its end):',
      table(
        Object.entries(phases).map(([k, v]) => {
          const m = memory[k];
          return [k, `${v.toFixed(0).padStart(5)}  ${mib(m.rss).padStart(10)} ${mib(m.maxRss).padStart(10)} ${mib(m.heapUsed).padStart(10)}`];
        }),
      ),
      'verdict:',
      table([
        ['time: no slower than llvm-pdbutil', `${timeOk ? 'PASS' : 'FAIL'} (${(best / llvm).toFixed(2)}x llvm-pdbutil --publics --symbols --il)`],
        ['time, symbols and lines only', `${bestSymbols <= llvm ? 'PASS' : 'FAIL'} (${(bestSymbols / llvm).toFixed(2)}x)`],
        ['memory: peak RSS under 4x the PDB', `${memOk ? 'PASS' : 'FAIL'} (${(peak / pdbSize).toFixed(2)}x)`],
        ['memory above the node baseline under 4x', `${memAboveOk ? 'PASS' : 'FAIL'} (${(above / pdbSize).toFixed(2)}x)`],
      ]),
      '',
    ].join('\n'),
  );
  if (args.strict && !(timeOk && memOk)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`pdb-load: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
