#!/usr/bin/env node
/**
 * The josgdb command line. Each command lives in its own module; this file only
 * wires them into yargs and turns a user error into one readable line and an
 * exit code (no stack trace for things the user can fix).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { errorMessage, isJosgdbError } from '../common/errors';

import { demoCommand } from './demo-command';
import { doctorCommand } from './doctor-command';
import { replayCommand } from './replay-command';
import { serveCommand } from './serve-command';
import { symbolsCommand } from './symbols-command';
import { exitCodeFor } from './exit-codes';

export async function main(argv: string[]): Promise<void> {
  await yargs(hideBin(argv))
    .scriptName('josgdb')
    .usage('$0 <command> [options]\n\nLets gdb, lldb and IDE debuggers drive a josx64 UEFI kernel over its serial debugger protocol.')
    .command(serveCommand)
    .command(demoCommand)
    .command(symbolsCommand)
    .command(replayCommand)
    .command(doctorCommand)
    .demandCommand(1, 'name a command: serve, replay, demo, symbols or doctor (josgdb --help lists them)')
    // No .env('JOSGDB'): with strict parsing, any JOSGDB_* variable in the
    // environment (the tests' own, a user's) became an unknown option and
    // every command refused to run.
    .strict()
    .completion('completion', 'print a shell completion script')
    .help()
    .alias('h', 'help')
    .version()
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help()}\n\njosgdb: ${msg}\n`);
      process.exit(2);
    })
    .parseAsync();
}

if (require.main === module) {
  main(process.argv).catch((err: unknown) => {
    process.stderr.write(`josgdb: ${errorMessage(err)}\n`);
    if (!isJosgdbError(err) && process.env.JOSGDB_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(exitCodeFor(err));
  });
}
