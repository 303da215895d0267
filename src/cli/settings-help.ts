/**
 * What `--help` says about the environment and the config file, per command,
 * and the check that a number option got a number (yargs turns `--baud fast`
 * into NaN and carries on).
 */
import type { Arguments, Argv, CommandModule } from 'yargs';
import { JosgdbError } from '../common/errors';
import { CONFIG_FILE_NAMES } from './config-file';
import { EXIT_CODE_SUMMARY } from './exit-codes';
import { envVarName, type OptionTable } from './option-values';

export function settingsEpilogue(command: string, options: OptionTable): string {
  const names = Object.keys(options);
  return (
    `Every option can also be set in the environment (${names.map(envVarName).join(', ')}) ` +
    `or in a config file: ${CONFIG_FILE_NAMES.join(' or ')} in the current directory, or --config FILE, ` +
    `e.g. {"${command}": {"${names[0] ?? 'log-level'}": ...}}. The command line wins over the environment, the environment over the file. ` +
    `${EXIT_CODE_SUMMARY} ` +
    'docs/configuration.md and docs/troubleshooting.md say more.'
  );
}

/** Throws for the first number option whose value is not a number. */
export function checkNumbers(argv: Arguments, options: OptionTable): true {
  for (const [option, spec] of Object.entries(options)) {
    const value = argv[option];
    if (spec.type === 'number' && value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) {
      throw new JosgdbError('BAD_ARGUMENT', `--${option} takes a number, e.g. --${option} ${String(spec.default ?? 10)}`);
    }
  }
  return true;
}

/** A command whose builder is a function (all of josgdb's are), so it can be extended. */
export type BuiltCommand<A> = Omit<CommandModule<object, A>, 'builder'> & { builder: (y: Argv) => Argv<A> };

/** The command with the settings epilogue in its --help and the number check. */
export function withSettingsHelp<A>(command: BuiltCommand<A>, name: string, options: OptionTable): CommandModule<object, A> {
  return {
    ...command,
    builder: (y) =>
      command
        .builder(y)
        .epilogue(settingsEpilogue(name, options))
        .check((argv) => checkNumbers(argv, options)),
  };
}
