/** Runs the real gdb in batch mode against a bridge and returns what it printed. */
import { spawn } from 'child_process';
import { existsSync } from 'fs';

export const GDB = process.env.JOSGDB_GDB ?? '/usr/bin/gdb';

export function gdbInstalled(): boolean {
  return existsSync(GDB);
}

export interface GdbRun {
  output: string;
  code: number | null;
}

export function runGdb(port: number, commands: string[], timeoutMs = 90_000): Promise<GdbRun> {
  const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set confirm off', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  return new Promise((resolve, reject) => {
    const child = spawn(GDB, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gdb did not finish within ${timeoutMs} ms; output so far:\n${output}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (process.env.JOSGDB_SHOW_GDB) process.stderr.write(output);
      resolve({ output, code });
    });
  });
}
