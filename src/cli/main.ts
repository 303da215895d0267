#!/usr/bin/env node
/**
 * The josgdb command line. Each command lives in its own module; this file only
 * wires them into yargs, adds the values from the environment and the config
 * file (settings.ts), and turns a user error into one readable line and an
 * exit code (no stack trace for things the user can fix).
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { errorMessage, isJosgdbError, JosgdbError } from '../common/errors';

import { demoCommand, demoOptions } from './demo-command';
import { doctorCommand, doctorOptions } from './doctor-command';
import { replayCommand, replayOptions } from './replay-command';
import { serveCommand, serveOptions } from './serve-command';
import { symbolsCommand, symbolsOptions } from './symbols-command';
import { EXIT_CODE_SUMMARY, ExitCode, exitCodeFor } from './exit-codes';
import { CONFIG_FILE_NAMES } from './config-file';
import { envVarName, type OptionTable } from './option-values';
import { resolveSettings, withSourceOf, type CommandOptions } from './settings';
import { withSettingsHelp, type BuiltCommand } from './settings-help';

/** A command with its options: yargs gets the command, settings.ts the option names. */
interface Registered extends CommandOptions {
  register(y: Argv): Argv;
}

function registered<A>(command: BuiltCommand<A>, options: OptionTable): Registered {
  const name = String(command.command).split(' ')[0]!;
  return { name, options, register: (y) => y.command(withSettingsHelp(command, name, options)) };
}

const COMMANDS: readonly Registered[] = [
  registered(serveCommand, serveOptions),
  registered(demoCommand, demoOptions),
  registered(symbolsCommand, symbolsOptions),
  registered(replayCommand, replayOptions),
  registered(doctorCommand, doctorOptions),
];

/** "Missing required argument: target" also says where else the value can come from. */
function withSettingsHint(message: string): string {
  const missing = /^Missing required arguments?: (.*)$/.exec(message);
  if (!missing) return message;
  const options = missing[1]!.split(',').map((o) => o.trim());
  return `${message} (give --${options[0]} on the command line, as ${options.map(envVarName).join(', ')} in the environment, or in ${CONFIG_FILE_NAMES[0]})`;
}

export async function main(argv: string[]): Promise<void> {
  const args = hideBin(argv);
  const settings = resolveSettings({ argv: args, env: process.env, cwd: process.cwd(), commands: COMMANDS });
  for (const notice of settings.notices) process.stderr.write(`josgdb: ${notice}\n`);
  const withCommands = COMMANDS.reduce(
    (y, command) => command.register(y),
    yargs(args)
      .scriptName('josgdb')
      .usage('$0 <command> [options]\n\nLets gdb, lldb and IDE debuggers drive a josx64 UEFI kernel over its serial debugger protocol.'),
  );
  try {
    await withCommands
      .option('config', {
        type: 'string',
        global: true,
        describe: `a JSON file of option values (default: ${CONFIG_FILE_NAMES.join(' or ')} in the current directory; also JOSGDB_CONFIG)`,
      })
      // Not yargs' .env('JOSGDB'): with strict parsing any JOSGDB_* variable in
      // the environment (a test's own, a user's) became an unknown option and
      // every command refused to run. settings.ts reads only the known names.
      .config(settings.values)
      .demandCommand(1, `name a command: ${COMMANDS.map((c) => c.name).join(', ')} (josgdb --help lists them)`)
      .strict()
      .completion('completion', 'print a bash/zsh completion script: josgdb completion >> ~/.bashrc')
      .example('$0 doctor', 'check the host first')
      .example('$0 serve --target tcp:127.0.0.1:5555 --image build/BOOTX64.EFI', 'bridge a VM to gdb, with symbols')
      .example('$0 completion >> ~/.bashrc', 'tab completion of commands and options')
      .epilogue(
        'Every option can also be set as JOSGDB_<OPTION> in the environment or in josgdb.json (docs/configuration.md). ' +
          `${EXIT_CODE_SUMMARY} docs/troubleshooting.md lists every error message and what to do about it.`,
      )
      .help()
      .alias('h', 'help')
      .version()
      .fail((msg, err, y) => {
        if (err) throw err;
        process.stderr.write(`${y.help()}\n\njosgdb: ${withSourceOf(withSettingsHint(msg), settings.sources)}\n`);
        process.exit(ExitCode.USAGE);
      })
      .parseAsync();
  } catch (err) {
    // A bad value from the environment or the config file: say where it was set.
    if (isJosgdbError(err, 'BAD_ARGUMENT')) throw new JosgdbError('BAD_ARGUMENT', withSourceOf(err.message, settings.sources));
    throw err;
  }
}

/**
 * The line printed for an error that ends the command. JosgdbErrors and the
 * operating system's errors (ENOENT, EACCES: they name the file) are the
 * user's to fix and print as they are; anything else is josgdb's own fault,
 * and says so, with the way to get the stack trace for a report.
 */
export function failureLine(err: unknown): string {
  const systemError = err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
  if (isJosgdbError(err) || systemError) return `josgdb: ${errorMessage(err)}`;
  return `josgdb: ${errorMessage(err)} (an internal error in josgdb: JOSGDB_DEBUG=1 prints where it happened; please report it)`;
}

if (require.main === module) {
  main(process.argv).catch((err: unknown) => {
    process.stderr.write(`${failureLine(err)}\n`);
    if (!isJosgdbError(err) && process.env.JOSGDB_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(exitCodeFor(err));
  });
}
