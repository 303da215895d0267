/** Runs the real gdb in batch mode against a bridge and returns what it printed. */
import { existsSync } from 'fs';
import { runGdbBatch, type GdbBatchRun } from '../../src/demo/gdb-batch';

export const GDB = process.env.JOSGDB_GDB ?? '/usr/bin/gdb';

export function gdbInstalled(): boolean {
  return existsSync(GDB);
}

export type GdbRun = GdbBatchRun;

export async function runGdb(port: number, commands: string[], timeoutMs = 90_000): Promise<GdbRun> {
  const run = await runGdbBatch(port, commands, { gdb: GDB, timeoutMs });
  if (process.env.JOSGDB_SHOW_GDB) process.stderr.write(run.output);
  return run;
}
