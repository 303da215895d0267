/**
 * Runs the real lldb against a bridge, the way a user would: batch mode, one
 * `-o` per command, after `gdb-remote`. Also finds lldb's Python package
 * (Debian's `lldb -P` names a directory that does not exist, so `script` and
 * lldb-vscode's Python would fail without PYTHONPATH) and the DAP server binary
 * (`lldb-vscode`, `lldb-vscode-14`, or `lldb-dap` from LLVM 18 on).
 */
import { spawn } from 'child_process';
import { existsSync, readdirSync, realpathSync } from 'fs';
import path from 'path';

/** The lldb binary; JOSGDB_LLDB overrides it. */
export const LLDB = process.env.JOSGDB_LLDB ?? 'lldb';

/** Absolute path of `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function required(name: string, what: string): string {
  const found = onPath(name);
  if (!found) throw new Error(`${what} (${name}) is not installed: run scripts/install-deps.sh`);
  return found;
}

/**
 * The directory holding lldb's `lldb` Python package, next to the LLVM the lldb
 * binary belongs to (…/llvm-N/bin/lldb -> …/llvm-N/lib/python3.X/dist-packages).
 * JOSGDB_LLDB_PYTHONPATH overrides it.
 */
export function lldbPythonPath(): string {
  if (process.env.JOSGDB_LLDB_PYTHONPATH) return process.env.JOSGDB_LLDB_PYTHONPATH;
  const llvmLib = path.resolve(path.dirname(realpathSync(required(LLDB, 'lldb'))), '..', 'lib');
  for (const entry of readdirSync(llvmLib).filter((e) => e.startsWith('python3')).sort().reverse()) {
    for (const packages of ['dist-packages', 'site-packages']) {
      const dir = path.join(llvmLib, entry, packages);
      if (existsSync(path.join(dir, 'lldb', 'embedded_interpreter.py'))) return dir;
    }
  }
  throw new Error(`lldb's Python package is not under ${llvmLib}: install python3-lldb (scripts/install-deps.sh)`);
}

/** The environment lldb and lldb-vscode run in: its Python package found. */
export function lldbEnv(): NodeJS.ProcessEnv {
  const pythonPath = lldbPythonPath();
  return { ...process.env, PYTHONPATH: process.env.PYTHONPATH ? `${pythonPath}:${process.env.PYTHONPATH}` : pythonPath };
}

/** The Debug Adapter Protocol server that comes with lldb; JOSGDB_LLDB_VSCODE overrides it. */
export function lldbVscodePath(): string {
  const names = process.env.JOSGDB_LLDB_VSCODE ? [process.env.JOSGDB_LLDB_VSCODE] : ['lldb-vscode', 'lldb-vscode-14', 'lldb-dap'];
  for (const name of names) {
    const found = onPath(name);
    if (found) return found;
  }
  // Debian installs the unversioned name only inside LLVM's own bin directory.
  const beside = path.join(path.dirname(realpathSync(required(LLDB, 'lldb'))), 'lldb-vscode');
  if (existsSync(beside)) return beside;
  throw new Error(`lldb's DAP server (${names.join(', ')}) is not installed: run scripts/install-deps.sh`);
}

export interface LldbRun {
  /** Everything lldb printed (stdout and stderr, in order). */
  output: string;
  code: number | null;
}

/**
 * `lldb --batch -o "gdb-remote 127.0.0.1:PORT" -o CMD...`. lldb stops at the
 * first command that fails and then kills the process (josgdb's `k`), so a
 * session that should end attached ends with `process detach` (in `onCrash`
 * too when it expects a fault).
 */
export function runLldb(
  port: number,
  commands: string[],
  options: { timeoutMs?: number; connect?: boolean; onCrash?: string[] } = {},
): Promise<LldbRun> {
  const all = ['settings set auto-confirm true', ...(options.connect === false ? [] : [`gdb-remote 127.0.0.1:${port}`]), ...commands];
  // A stop lldb takes for a crash (a signal or exception stop: every kernel fault)
  // ends the `-o` list; batch mode then runs the `-k` commands instead.
  const args = ['--no-lldbinit', '--batch', ...all.flatMap((c) => ['-o', c]), ...(options.onCrash ?? []).flatMap((c) => ['-k', c])];
  return new Promise((resolve, reject) => {
    const child = spawn(required(LLDB, 'lldb'), args, { env: lldbEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lldb did not finish within ${options.timeoutMs ?? 120_000} ms; it printed:\n${output}`));
    }, options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (process.env.JOSGDB_SHOW_GDB) process.stderr.write(output);
      resolve({ output, code });
    });
  });
}
