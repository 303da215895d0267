/**
 * A newcomer's first minutes, as the README tells them: a fresh `git clone` of
 * this repository's HEAD (so no node_modules, no dist/, no built stub: nothing
 * of the working tree's build outputs), then the commands of the README's "Two
 * commands" section run exactly as written, in the clone. `make test` is left
 * out: it is the whole suite, this test included. `make demo` must install the
 * npm packages, build josgdb and the stub, boot the stub in QEMU and run the
 * gdb tour, and its output must hold the transcript at the top of the README,
 * line by line.
 *
 * The commands and the transcript are read from the clone's README, so the test
 * follows the README (and breaks when the README says something that no longer
 * works). It checks what is committed: uncommitted edits are not in the clone.
 *
 * Slow: about 30 s with a warm npm cache (npm ci, tsc, the stub's four builds,
 * QEMU booting OVMF); a cold cache downloads the packages. The timeout allows
 * for that. The machine must have what `make deps` installs (as the README
 * says, it needs root to install what is missing).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const COMMAND_TIMEOUT_MS = 12 * 60_000;
/** Not run: it is the whole test suite, this file included. */
const NOT_RUN = ['make test'];

let work: string;
let clone: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'josgdb-walkthrough-'));
  clone = path.join(work, 'josgdb');
  const res = spawnSync('git', ['clone', '--quiet', ROOT, clone], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`git clone failed: ${res.stderr}`);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The lines of a section (from its `## ` heading to the next), by heading text. */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Indented code lines of the section, without their `# comment`. */
export function readmeCommands(markdown: string): string[] {
  return section(markdown, 'Two commands')
    .filter((l) => /^ {4}\S/.test(l))
    .map((l) => l.replace(/\s+#.*$/, '').trim());
}

/** The transcript under the first `$ gdb ...` line: the lines gdb printed. */
export function readmeTranscript(markdown: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^ {4}\$ gdb /.test(l));
  if (start < 0) throw new Error('README.md has no "    $ gdb ..." transcript');
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('    ')) break;
    out.push(line.slice(4));
  }
  return out;
}

/**
 * A transcript line as a pattern: gdb's value history numbers ($1) depend on
 * what ran before, and addresses on the firmware build, so both may differ.
 */
function linePattern(line: string): RegExp {
  const escaped = line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/0x[0-9a-f]+/g, '0x[0-9a-f]+').replace(/\\\$\d+/g, '\\$\\d+')}$`, 'm');
}

/** The environment of a new shell: none of the npm and jest variables of this test run. */
function newcomerEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$|JEST_|JOSGDB_)/i.test(k)));
}

function runInClone(command: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd: clone, env: newcomerEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // A hung step (QEMU that never boots) is killed with everything it started.
    const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), COMMAND_TIMEOUT_MS - 10_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

test('the README is read: commands and a transcript', () => {
  const readme = readFileSync(path.join(clone, 'README.md'), 'utf8');
  expect(readmeCommands(readme)).toContain('make demo');
  expect(readmeTranscript(readme).length).toBeGreaterThan(5);
  // The clone starts from nothing built.
  for (const built of ['node_modules', 'dist', path.join('stub-uefi', 'build')]) expect(existsSync(path.join(clone, built))).toBe(false);
});

test(
  "the README's commands, run as written in a fresh clone, build everything and show the README's transcript",
  async () => {
    const readme = readFileSync(path.join(clone, 'README.md'), 'utf8');
    const transcript = readmeTranscript(readme);
    const outputs: string[] = [];
    for (const command of readmeCommands(readme).filter((c) => !NOT_RUN.includes(c))) {
      const started = Date.now();
      const { status, output } = await runInClone(command);
      outputs.push(output);
      if (status !== 0) throw new Error(`"${command}" exited with ${status} after ${Date.now() - started} ms:\n${output.slice(-4000)}`);
    }
    const all = outputs.join('\n');
    // Built in the clone, from the clone's own packages.
    expect(existsSync(path.join(clone, 'node_modules', '.package-lock.json'))).toBe(true);
    expect(existsSync(path.join(clone, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(path.join(clone, 'stub-uefi', 'build', 'BOOTX64.EFI'))).toBe(true);
    const missing = transcript.filter((line) => !linePattern(line).test(all));
    expect(missing).toEqual([]);
    expect(all).toContain('josgdb demo: every step did what the tour expects.');
  },
  COMMAND_TIMEOUT_MS * 2,
);
