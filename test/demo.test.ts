/**
 * `josgdb demo` (what `make demo` runs), end to end as a user runs it: the
 * compiled CLI boots the stub in QEMU, serves its symbols and walks gdb through
 * the tour; it exits 0 only when every step showed what it should. Also in the
 * josx64 compatibility mode (no extensions: no hardware watchpoint step).
 */
import { spawn } from 'child_process';
import { existsSync } from 'fs';
import path from 'path';

const CLI = path.resolve(__dirname, '..', 'dist', 'cli', 'main.js');

function runDemo(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('josgdb demo', () => {
  beforeAll(() => {
    // `make test` builds dist/ before the tests; say what to do when it is missing
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (make test does)`);
  });

  it.each([[[]], [['--compat']]])('runs the tour %j and every step does what it should', async (args) => {
    const { code, output } = await runDemo(args as string[]);
    expect(output).toContain('josgdb demo: every step did what the tour expects.');
    expect(output).toMatch(/#4 .*main \(\) at .*workload\.c/);
    expect(code).toBe(0);
  });
});
