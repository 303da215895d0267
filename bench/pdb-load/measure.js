'use strict';
/**
 * One measurement, in a process of its own so that its peak RSS is the
 * loader's alone. Prints one JSON line on stdout.
 *
 *   node measure.js load IMAGE PDB   loadSymbols + debugElf: what `josgdb symbols` does
 *   node measure.js warm IMAGE PDB   the load three times in one process, the third timed (code optimized by then)
 *   node measure.js symbols IMAGE PDB the same for the ELF issue 4 defines (symbols, units,
 *                                    subprograms, lines): no types, variables or frames
 *   node measure.js phases IMAGE PDB the same steps one by one, timed, with RSS and heap at each end
 *                                    (for finding hot spots; with --expose-gc also the live heap)
 *   node measure.js idle             the baseline: node with the same modules loaded, doing nothing
 *
 * Requires the compiled code in dist/ (npm run build).
 */
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.join(__dirname, '..', '..', 'dist');
const BASE = 0x7e00000n;

const now = () => Number(process.hrtime.bigint()) / 1e6;
const maxRssBytes = () => process.resourceUsage().maxRSS * 1024;

async function main() {
  const [mode, image, pdb] = process.argv.slice(2);
  const loader = require(path.join(DIST, 'symbols', 'loader'));
  const pdbLib = require(path.join(DIST, 'symbols', 'pdb'));
  const dwarf = require(path.join(DIST, 'dwarf'));

  if (mode === 'idle') {
    process.stdout.write(`${JSON.stringify({ maxRss: maxRssBytes() })}\n`);
    return;
  }
  if (mode === 'load') {
    const cpu0 = process.cpuUsage();
    const t0 = now();
    const loaded = await loader.loadSymbols({ image, pdb, cache: false });
    const elf = loaded.debugElf(BASE);
    const ms = now() - t0;
    // CPU time of every thread (GC and JIT helpers too): less noisy than wall time on a shared machine.
    const cpu = process.cpuUsage(cpu0);
    const userMs = cpu.user / 1000;
    const systemMs = cpu.system / 1000;
    const types = loaded.model.types ? loaded.model.types.types.length : 0;
    if (loaded.modelSource !== 'pdb' || loaded.warnings.length > 0) throw new Error(`the PDB was not used: ${loaded.warnings.join('; ')}`);
    const stats = loader.modelStats(loaded.model);
    process.stdout.write(`${JSON.stringify({ ms, userMs, systemMs, maxRss: maxRssBytes(), elfBytes: elf.length, stats: { ...stats, types } })}\n`);
    return;
  }
  if (mode === 'warm') {
    // The same load three times in one process, the third timed: how much of
    // a first load is V8 compiling and optimizing josgdb's own code (the
    // second load is still partly unoptimized).
    const once = async () => {
      const t0 = now();
      const loaded = await loader.loadSymbols({ image, pdb, cache: false });
      loaded.debugElf(BASE);
      return now() - t0;
    };
    const first = await once();
    await once();
    const third = await once();
    process.stdout.write(`${JSON.stringify({ first, ms: third })}\n`);
    return;
  }
  if (mode === 'symbols') {
    // The ELF as issue 4 defines it: symbols, compile units with their
    // subprograms, and line tables; no types, variables (issue 6) or
    // .debug_frame (issue 5). The same steps loadSymbols takes for those parts.
    const pe = require(path.join(DIST, 'symbols', 'pe'));
    const t0 = now();
    const peImage = pe.parsePeImage(fs.readFileSync(image), { layout: 'file' });
    const file = pdbLib.openPdb(fs.readFileSync(pdb));
    const collected = pdbLib.collectPdbSymbols(file);
    const index = new pdbLib.SymbolIndex(collected);
    const types = loader.typeInfoCallbacks(file, (e) => {
      throw e;
    });
    const model = pdbLib.buildDebugModelFrom(file, collected, { imageName: 'bench.efi', imageSize: peImage.sizeOfImage, ...types });
    const elf = dwarf.writeDebugElf(model, { loadBase: BASE, entryRva: peImage.entryPointRva });
    const ms = now() - t0;
    void index;
    process.stdout.write(`${JSON.stringify({ ms, maxRss: maxRssBytes(), elfBytes: elf.length })}\n`);
    return;
  }
  if (mode === 'phases') {
    const phases = {};
    let t = now();
    // Memory at each phase's end: RSS and the V8 heap as they are, and, when
    // run with --expose-gc, the heap after a full collection (what is live).
    // The collection costs time, so the times of such a run are not comparable.
    const memory = {};
    const lap = (name) => {
      const n = now();
      phases[name] = n - t;
      const m = process.memoryUsage();
      memory[name] = { rss: m.rss, maxRss: maxRssBytes(), heapUsed: m.heapUsed, external: m.external };
      if (global.gc) {
        global.gc();
        const live = process.memoryUsage();
        memory[name].liveHeap = live.heapUsed;
        memory[name].liveExternal = live.external;
      }
      t = now();
    };
    const pe = require(path.join(DIST, 'symbols', 'pe'));
    const imageBytes = fs.readFileSync(image);
    const peImage = pe.parsePeImage(imageBytes, { layout: 'file' });
    lap('read+parse PE');
    const bytes = fs.readFileSync(pdb);
    lap('read PDB file');
    const file = pdbLib.openPdb(bytes);
    void file.dbi;
    lap('open PDB (MSF, info, DBI)');
    const collected = pdbLib.collectPdbSymbols(file);
    lap('collect symbols (modules, publics, globals)');
    const index = new pdbLib.SymbolIndex(collected);
    lap('symbol index');
    const types = loader.typeInfoCallbacks(file, (e) => {
      throw e;
    });
    const model = pdbLib.buildDebugModelFrom(file, collected, { imageName: 'bench.efi', imageSize: peImage.sizeOfImage, ...types });
    lap('debug model (+ TPI sizes, IPI build info)');
    pdbLib.attachVariables(file, model);
    pdbLib.addPrologueEndRows(model);
    lap('types and variables');
    const unwind = require(path.join(DIST, 'unwind'));
    const functions = loader.procedureBounds(index, peImage);
    model.frames = unwind.buildFrameFunctions(unwind.createUnwindImage({ name: 'bench.efi', base: BASE, image: peImage, functions }).unwindImage);
    lap('unwind rules (.pdata or prologue analysis)');
    const elf = dwarf.writeDebugElf(model, { loadBase: BASE, entryRva: peImage.entryPointRva });
    lap('write ELF/DWARF');
    void index;
    process.stdout.write(`${JSON.stringify({ phases, memory, maxRss: maxRssBytes(), elfBytes: elf.length })}\n`);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
