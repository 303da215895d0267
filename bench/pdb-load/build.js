'use strict';
/**
 * Builds the generated program with clang and lld-link into a PE image and its
 * PDB, the way stub-uefi is built. The build lands in the temp directory under
 * a hash of the generator parameters, the generator's source and the flags, so
 * a second run reuses it and a change rebuilds.
 */
const { execFile } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { generateProgram } = require('./generate');

const run = promisify(execFile);

const CFLAGS = [
  '-target', 'x86_64-unknown-windows', '-ffreestanding', '-fno-stack-protector', '-mno-red-zone',
  '-fno-builtin', '-mno-stack-arg-probe', '-gcodeview', '-g', '-O1', '-funwind-tables', '-w',
];
const LDFLAGS = ['/subsystem:efi_application', '/entry:efi_main', '/nodefaultlib', '/debug', '/dynamicbase'];

function buildKey(params) {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ params, CFLAGS, LDFLAGS }));
  hash.update(fs.readFileSync(path.join(__dirname, 'generate.js')));
  return hash.digest('hex').slice(0, 16);
}

/** Runs `jobs` async tasks at most `limit` at a time. */
async function pool(tasks, limit) {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

/**
 * @returns {Promise<{ image: string, pdb: string, dir: string, cached: boolean, seconds: number }>}
 */
async function buildProgram(params, log = () => {}) {
  const dir = path.join(os.tmpdir(), 'josgdb-bench', `pdb-load-${buildKey(params)}`);
  const image = path.join(dir, 'bench.efi');
  const pdb = path.join(dir, 'bench.pdb');
  if (fs.existsSync(path.join(dir, 'done'))) return { image, pdb, dir, cached: true, seconds: 0 };

  const started = Date.now();
  const work = `${dir}.tmp-${process.pid}`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const { files } = generateProgram(params);
  for (const [name, text] of files) fs.writeFileSync(path.join(work, name), text);
  const sources = [...files.keys()].filter((f) => f.endsWith('.c'));
  log(`building ${params.functions} functions in ${sources.length} modules (cached afterwards in ${dir})`);
  const objects = sources.map((s) => path.join(work, s.replace(/\.c$/, '.obj')));
  const jobs = Math.max(1, Math.min(os.cpus().length, 4));
  await pool(
    sources.map((s, i) => () => run('clang', [...CFLAGS, '-c', path.join(work, s), '-o', objects[i]], { cwd: work, maxBuffer: 64 << 20 })),
    jobs,
  );
  await run('lld-link', [...LDFLAGS, `/pdb:${path.join(work, 'bench.pdb')}`, `/out:${path.join(work, 'bench.efi')}`, ...objects], {
    cwd: work,
    maxBuffer: 64 << 20,
  });
  fs.writeFileSync(path.join(work, 'done'), '');
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.renameSync(work, dir);
  } catch {
    fs.rmSync(work, { recursive: true, force: true }); // another run finished first with the same build
  }
  return { image, pdb, dir, cached: false, seconds: (Date.now() - started) / 1000 };
}

module.exports = { buildProgram };
