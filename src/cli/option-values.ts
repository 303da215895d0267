/**
 * An option's value from the environment or the config file, checked against
 * the option's yargs definition the way the command line is: a number must be
 * a number, a choice one of its choices. Each error names where the value came
 * from (JOSGDB_LOG_LEVEL, josgdb.json), since the user did not type it here.
 */
import path from 'node:path';
import type { Options } from 'yargs';
import { JosgdbError } from '../common/errors';

/** A command's options, as passed to yargs `.options()`. */
export type OptionTable = Readonly<Record<string, Options>>;

/** `log-level` -> `JOSGDB_LOG_LEVEL`. */
export function envVarName(option: string): string {
  return `JOSGDB_${option.toUpperCase().replace(/-/g, '_')}`;
}

type Kind = 'string' | 'number' | 'boolean' | 'array';

function kindOf(spec: Options): Kind {
  if (spec.array) return 'array';
  if (spec.type === 'number' || spec.type === 'boolean') return spec.type;
  return 'string';
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

function checkChoice(source: string, option: string, value: unknown, spec: Options): unknown {
  const choices = spec.choices as readonly unknown[] | undefined;
  if (choices && !choices.includes(value)) {
    throw new JosgdbError('BAD_ARGUMENT', `${source}: --${option} takes one of ${choices.join(', ')}, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** The typed value of JOSGDB_<OPTION>=text; a list (--symbol-path) is split on ':' like PATH. */
export function valueFromEnv(option: string, text: string, spec: Options): unknown {
  const source = `${envVarName(option)}=${text}`;
  switch (kindOf(spec)) {
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new JosgdbError('BAD_ARGUMENT', `${source}: --${option} takes a number`);
      return checkChoice(source, option, n, spec);
    }
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      throw new JosgdbError('BAD_ARGUMENT', `${source}: --${option} is on or off: use true or false (or 1 or 0)`);
    }
    case 'array':
      return text.split(path.delimiter).filter((part) => part !== '');
    case 'string':
      return checkChoice(source, option, text, spec);
  }
}

/** The value of `option` in the config file, checked; `where` is e.g. `josgdb.json: "serve"."listen"`. */
export function valueFromConfig(where: string, option: string, value: unknown, spec: Options): unknown {
  const wrongType = (expected: string) =>
    new JosgdbError('BAD_ARGUMENT', `${where}: --${option} takes ${expected}, not ${JSON.stringify(value)}`);
  switch (kindOf(spec)) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType('a number');
      return checkChoice(where, option, value, spec);
    case 'boolean':
      if (typeof value !== 'boolean') throw wrongType('true or false');
      return value;
    case 'array':
      if (typeof value === 'string') return [value];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw wrongType('a list of strings');
      return value;
    case 'string':
      if (typeof value !== 'string') throw wrongType('a string');
      return checkChoice(where, option, value, spec);
  }
}
