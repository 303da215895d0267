#!/usr/bin/env node
/**
 * `npm run reliability` / `make reliability`: runs the reliability suites
 * (test/reliability: RSP fuzz, security, fault scenarios against stub-uefi in
 * QEMU, soak) one file at a time (at most one QEMU), and prints one table of
 * their figures. `--soak` makes the soak full size (10,000 stepi, 1,000
 * breakpoint hits); without it the soak runs its short CI form. Other arguments
 * go to jest. Exit status: jest's.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'fs';
import os from 'os';
import path from 'path';
import { fileURLToPath } from 'url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const soak = args.includes('--soak');
const jestArgs = args.filter((a) => a !== '--soak');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'josgdb-reliability-'));
const out = path.join(tmp, 'figures.jsonl');
const env = { ...process.env, JOSGDB_RELIABILITY_OUT: out };
if (soak) {
  env.JOSGDB_SOAK_STEPS ??= '10000';
  env.JOSGDB_SOAK_HITS ??= '1000';
}

// the security suite runs the built CLI
if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
  console.error('dist/cli/main.js is missing: run "npm run build" first');
  process.exit(2);
}

const started = Date.now();
const jest = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', '--selectProjects=e2e', '--testPathPattern', 'test/reliability/', ...jestArgs],
  { cwd: root, env, stdio: 'inherit' },
);
const seconds = ((Date.now() - started) / 1000).toFixed(0);

const rows = existsSync(out)
  ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  : [];
rmSync(tmp, { recursive: true, force: true });

const fmt = (v) => (v === undefined ? '-' : String(v));
const mb = (v) => (v === undefined ? '-' : `${v} MB`);
const header = ['suite', 'scenarios', 'faults', 'packets', 'checks', 'failures', 'RSS before', 'RSS after', 'fds before/after', 'notes'];
const table = rows.map((r) => [
  r.suite, fmt(r.scenarios), fmt(r.faults), fmt(r.packets), fmt(r.checks), fmt(r.failures),
  mb(r.rssBeforeMb), mb(r.rssAfterMb), r.fdsBefore === undefined ? '-' : `${r.fdsBefore}/${r.fdsAfter}`, r.notes ?? '',
]);
const sum = (k) => rows.reduce((a, r) => a + (r[k] ?? 0), 0);
table.push(['total', ...['scenarios', 'faults', 'packets', 'checks', 'failures'].map((k) => String(sum(k))), '', '', '', `${seconds} s`]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
console.log('\njosgdb reliability' + (soak ? ' (with the full soak)' : ''));
console.log(line(header));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const r of table) console.log(line(r));
if (jest.status !== 0) console.log(`\njest failed (exit ${jest.status}): see above`);
process.exit(jest.status ?? 1);
