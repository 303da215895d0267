/**
 * The optional config file: `josgdb.json` or `.josgdbrc` (both JSON) in the
 * current directory, or the file `--config FILE` (or JOSGDB_CONFIG) names.
 * Parent directories are not searched: a file picked up from a folder above
 * would silently change which target a command talks to.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage, JosgdbError } from '../common/errors';

export const CONFIG_FILE_NAMES = ['josgdb.json', '.josgdbrc'] as const;

/** The config file to read: the one named, else one of CONFIG_FILE_NAMES in `cwd`, else none. */
export function findConfigFile(cwd: string, named: string | undefined): string | undefined {
  if (named !== undefined) {
    const file = path.resolve(cwd, named);
    if (!existsSync(file)) throw new JosgdbError('BAD_ARGUMENT', `--config ${named}: no such file (a relative path is taken from the current directory, ${cwd})`);
    return file;
  }
  const present = CONFIG_FILE_NAMES.map((name) => path.join(cwd, name)).filter((file) => existsSync(file));
  if (present.length > 1) {
    throw new JosgdbError('BAD_ARGUMENT', `both ${CONFIG_FILE_NAMES.join(' and ')} are in ${cwd}: keep one (or pick one with --config FILE)`);
  }
  return present[0];
}

/** "line 3, column 5" for a character offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Where V8's JSON.parse message says the error is, as line and column, when it says. */
function jsonErrorPlace(text: string, message: string): string | undefined {
  const position = /at position (\d+)/.exec(message);
  if (position) return lineAndColumn(text, Number(position[1]));
  if (/Unexpected end of JSON input/.test(message)) return `${lineAndColumn(text, text.length)} (the end of the file)`;
  return undefined;
}

/** The file's JSON object; a file that is not one is an error naming the file and where it goes wrong. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new JosgdbError('BAD_ARGUMENT', `cannot read the config file ${file}: ${errorMessage(e)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = errorMessage(e).replace(/ in JSON at position \d+.*$/, '');
    const place = jsonErrorPlace(text, errorMessage(e));
    throw new JosgdbError('BAD_ARGUMENT', `the config file ${file} is not valid JSON${place ? ` at ${place}` : ''}: ${message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JosgdbError('BAD_ARGUMENT', `the config file ${file} must hold a JSON object, e.g. {"target": "tcp:127.0.0.1:5555"}`);
  }
  return value as Record<string, unknown>;
}
