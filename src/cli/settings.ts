/**
 * Option values that do not come from the command line: the environment
 * (JOSGDB_<OPTION>) and the config file (config-file.ts). Only the known
 * option names are read (an allow-list): an unrelated JOSGDB_* variable is
 * ignored, and an unknown key in the config file is an error naming the file
 * and the key. Precedence: command line > environment > config file > default;
 * yargs applies the command line and the defaults, this module the middle two.
 */
import { JosgdbError } from '../common/errors';
import { findConfigFile, readConfigFile } from './config-file';
import { envVarName, valueFromConfig, valueFromEnv, type OptionTable } from './option-values';

export interface CommandOptions {
  /** The command's name: `serve`. */
  name: string;
  options: OptionTable;
}

export interface Settings {
  /** The invoked command's option values from the environment and the config file (the environment wins). */
  values: Record<string, unknown>;
  /** Where each of those values came from: `JOSGDB_TARGET` or the config file's path. */
  sources: Map<string, string>;
  configFile: string | undefined;
  /** JOSGDB_* variables that look like a misspelt setting (read by nobody): one line each for the user. */
  notices: string[];
}

const NO_SETTINGS: Settings = { values: {}, sources: new Map(), configFile: undefined, notices: [] };

/** Variables josgdb reads that are not options. */
const OTHER_VARIABLES = ['JOSGDB_CONFIG', 'JOSGDB_DEBUG'];

/**
 * An unknown JOSGDB_* variable is ignored (tests and scripts set their own), but
 * one a letter or two from a real setting is almost surely a typo that would
 * otherwise fail silently: say so.
 */
function misspeltVariables(env: NodeJS.ProcessEnv, commands: readonly CommandOptions[]): string[] {
  const known = [...new Set([...commands.flatMap((c) => Object.keys(c.options).map(envVarName)), ...OTHER_VARIABLES])];
  const notices: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('JOSGDB_') || known.includes(name)) continue;
    const meant = closest(name, known);
    if (meant) notices.push(`${name} is not a josgdb setting and is ignored (did you mean "${meant}"?)`);
  }
  return notices;
}

/** The command named on the command line and the --config argument, found without yargs (it needs the values first). */
export function scanCommandLine(argv: readonly string[]): { command?: string; config?: string; help: boolean } {
  let command: string | undefined;
  let config: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--config') config = argv[++i];
    else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else if (['--help', '-h', '--version', '--get-yargs-completions'].includes(arg)) help = true;
    else if (!arg.startsWith('-') && command === undefined) command = arg;
  }
  return { ...(command !== undefined ? { command } : {}), ...(config !== undefined ? { config } : {}), help };
}

/** Edit distance, for "did you mean" on a misspelt key. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known name at most two edits from `key`, the nearest first. */
function closest(key: string, known: readonly string[]): string | undefined {
  const best = known.map((k) => ({ k, d: distance(key, k) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? best.k : undefined;
}

function didYouMean(key: string, known: readonly string[]): string {
  const best = closest(key, known);
  return best ? ` (did you mean "${best}"?)` : '';
}

/**
 * Checks the whole file (every command's keys, not only the invoked one's, so a
 * mistake shows up at once) and returns the values for `command`: its section
 * (`"serve": {...}`) over the top-level keys.
 */
function configValues(file: string, config: Record<string, unknown>, commands: readonly CommandOptions[], command: CommandOptions): Record<string, unknown> {
  const allOptions = [...new Set(commands.flatMap((c) => Object.keys(c.options)))].sort();
  const topLevel: Record<string, unknown> = {};
  const section: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const sectionOf = commands.find((c) => c.name === key);
    if (sectionOf) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new JosgdbError('BAD_ARGUMENT', `${file}: "${key}" must be an object of ${key} options, e.g. {"log-level": "debug"}`);
      }
      for (const [option, optionValue] of Object.entries(value as Record<string, unknown>)) {
        const spec = sectionOf.options[option];
        if (!spec) {
          const known = Object.keys(sectionOf.options);
          throw new JosgdbError(
            'BAD_ARGUMENT',
            `${file}: unknown key "${key}"."${option}": josgdb ${key} has no --${option}${didYouMean(option, known)}; its options are ${known.join(', ')}`,
          );
        }
        const checked = valueFromConfig(`${file}: "${key}"."${option}"`, option, optionValue, spec);
        if (sectionOf === command) section[option] = checked;
      }
      continue;
    }
    const having = commands.filter((c) => c.options[key] !== undefined);
    if (having.length === 0) {
      throw new JosgdbError(
        'BAD_ARGUMENT',
        `${file}: unknown key "${key}"${didYouMean(key, [...allOptions, ...commands.map((c) => c.name)])}: ` +
          `a key is an option name as on the command line (${allOptions.join(', ')}) or a command name (${commands.map((c) => c.name).join(', ')}) holding its options`,
      );
    }
    for (const c of having) {
      const checked = valueFromConfig(`${file}: "${key}"`, key, value, c.options[key]!);
      if (c === command) topLevel[key] = checked;
    }
  }
  return { ...topLevel, ...section };
}

/** The invoked command's values from JOSGDB_<OPTION> variables and the config file. */
export function resolveSettings(input: {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  commands: readonly CommandOptions[];
}): Settings {
  const scanned = scanCommandLine(input.argv);
  const command = input.commands.find((c) => c.name === scanned.command);
  // --help, --version and shell completion work whatever the config file holds; so do commands without options (completion).
  if (!command || scanned.help) return NO_SETTINGS;
  const notices = misspeltVariables(input.env, input.commands);
  const named = scanned.config ?? (input.env.JOSGDB_CONFIG || undefined);
  const configFile = findConfigFile(input.cwd, named);
  const values: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  if (configFile !== undefined) {
    for (const [option, value] of Object.entries(configValues(configFile, readConfigFile(configFile), input.commands, command))) {
      values[option] = value;
      sources.set(option, configFile);
    }
  }
  for (const [option, spec] of Object.entries(command.options)) {
    const name = envVarName(option);
    const text = input.env[name];
    if (text === undefined) continue;
    values[option] = valueFromEnv(option, text, spec);
    sources.set(option, name);
  }
  return { values, sources, configFile, notices };
}

/**
 * A command-line error about an option whose value came from the environment
 * or the config file says so: "--listen nowhere: expected HOST:PORT" alone
 * would send the user looking at a command line that has no --listen.
 */
export function withSourceOf(message: string, sources: ReadonlyMap<string, string>): string {
  const mentioned = [...sources].filter(([option]) => new RegExp(`--${option}(?![\\w-])`).test(message));
  if (mentioned.length === 0) return message;
  return `${message} (${mentioned.map(([option, source]) => `--${option} was set by ${source}`).join('; ')})`;
}
