/**
 * Runs the real gdb in batch mode against a bridge and returns what it printed:
 * the demo's tour and the end-to-end tests both drive gdb this way.
 */
import { spawn } from 'child_process';
import { JosgdbError } from '../common/errors';

export interface GdbBatchOptions {
  /** The gdb executable (default `gdb` from PATH). */
  gdb?: string;
  /** Print each command as `(gdb) command` before its output, for a readable transcript. */
  echo?: boolean;
  /** gdb is killed after this long and the run fails with what it printed so far. */
  timeoutMs?: number;
}

export interface GdbBatchRun {
  output: string;
  code: number | null;
}

export function runGdbBatch(port: number, commands: string[], options: GdbBatchOptions = {}): Promise<GdbBatchRun> {
  const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set confirm off', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) {
    if (options.echo) args.push('-ex', `echo (gdb) ${c.replace(/\\/g, '\\\\')}\\n`);
    args.push('-ex', c);
  }
  const timeoutMs = options.timeoutMs ?? 90_000;
  return new Promise((resolve, reject) => {
    const child = spawn(options.gdb ?? 'gdb', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new JosgdbError('TIMEOUT', `gdb did not finish within ${timeoutMs} ms; output so far:\n${output}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new JosgdbError('BAD_ARGUMENT', `cannot run gdb: ${err.message} (install the Debian package "gdb")`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    });
  });
}
