/** Where option values come from besides the command line: the rules, without processes (test/cli-config.test.ts runs the CLI). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isJosgdbError } from '../common/errors';
import { envVarName, valueFromEnv } from './option-values';
import { resolveSettings, scanCommandLine, withSourceOf, type CommandOptions } from './settings';

const commands: CommandOptions[] = [
  {
    name: 'serve',
    options: {
      target: { type: 'string' },
      'log-level': { choices: ['info', 'debug'] },
      'handshake-timeout': { type: 'number' },
      reconnect: { type: 'boolean' },
      'symbol-path': { type: 'string', array: true },
    },
  },
  { name: 'symbols', options: { base: { type: 'string' }, 'log-level': { choices: ['warn', 'debug'] } } },
];

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'josgdb-settings-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}) => resolveSettings({ argv, env, cwd: dir, commands });

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isJosgdbError(e, 'BAD_ARGUMENT')) return e.message;
    throw e;
  }
  throw new Error('expected an error');
}

test('the command and --config are found however they are written, and --help skips the settings', () => {
  expect(scanCommandLine(['--config', 'a.json', 'serve', '--target', 'x'])).toEqual({ command: 'serve', config: 'a.json', help: false });
  expect(scanCommandLine(['serve', '--config=b.json'])).toEqual({ command: 'serve', config: 'b.json', help: false });
  expect(scanCommandLine(['serve', '--help']).help).toBe(true);
  writeFileSync(path.join(dir, 'josgdb.json'), '{ broken');
  expect(resolve(['serve', '--help']).values).toEqual({});
});

test('environment values are typed like the option, and only the invoked command reads its own', () => {
  const s = resolve(['serve'], {
    JOSGDB_HANDSHAKE_TIMEOUT: '30',
    JOSGDB_RECONNECT: 'off',
    JOSGDB_SYMBOL_PATH: `/a${path.delimiter}/b`,
    JOSGDB_BASE: '0x1000', // an option of symbols, not serve
    JOSGDB_UNRELATED: 'x',
  });
  expect(s.values).toEqual({ 'handshake-timeout': 30, reconnect: false, 'symbol-path': ['/a', '/b'] });
  expect(s.sources.get('reconnect')).toBe('JOSGDB_RECONNECT');
  expect(envVarName('lld-link')).toBe('JOSGDB_LLD_LINK');
});

test('bad environment values name the variable', () => {
  expect(errorOf(() => resolve(['serve'], { JOSGDB_HANDSHAKE_TIMEOUT: '' }))).toBe('JOSGDB_HANDSHAKE_TIMEOUT=: --handshake-timeout takes a number');
  expect(errorOf(() => resolve(['serve'], { JOSGDB_RECONNECT: 'maybe' }))).toMatch(/^JOSGDB_RECONNECT=maybe: --reconnect is on or off/);
  expect(errorOf(() => valueFromEnv('log-level', 'loud', { choices: ['info'] }))).toContain('takes one of info, not "loud"');
});

test('the config file: sections win over the top level, the environment over both, other sections are checked but not used', () => {
  writeFileSync(
    path.join(dir, 'josgdb.json'),
    JSON.stringify({ target: 'tcp:a:1', 'log-level': 'debug', serve: { target: 'tcp:b:2' }, symbols: { base: '0x2000' } }),
  );
  const s = resolve(['serve'], { JOSGDB_LOG_LEVEL: 'info' });
  expect(s.values).toEqual({ target: 'tcp:b:2', 'log-level': 'info' });
  expect(s.sources.get('target')).toBe(path.join(dir, 'josgdb.json'));
  expect(s.sources.get('log-level')).toBe('JOSGDB_LOG_LEVEL');
  // A top-level value must suit every command that has the option: "debug" is a log level of both.
  writeFileSync(path.join(dir, 'josgdb.json'), JSON.stringify({ 'log-level': 'info' }));
  expect(errorOf(() => resolve(['serve']))).toContain('"log-level": --log-level takes one of warn, debug, not "info"');
});

test('config file errors name the file, and the line and column of a JSON error', () => {
  const file = path.join(dir, 'josgdb.json');
  writeFileSync(file, '{\n  "target": "x"\n');
  expect(errorOf(() => resolve(['serve']))).toMatch(new RegExp(`^the config file ${file} is not valid JSON at line 3, column 1: Expected`));
  writeFileSync(file, '');
  expect(errorOf(() => resolve(['serve']))).toBe(`the config file ${file} is not valid JSON at line 1, column 1 (the end of the file): Unexpected end of JSON input`);
  writeFileSync(file, '[1]');
  expect(errorOf(() => resolve(['serve']))).toContain('must hold a JSON object');
  writeFileSync(file, JSON.stringify({ serve: 'debug' }));
  expect(errorOf(() => resolve(['serve']))).toContain(`${file}: "serve" must be an object of serve options`);
  writeFileSync(path.join(dir, '.josgdbrc'), '{}');
  expect(errorOf(() => resolve(['serve']))).toContain('both josgdb.json and .josgdbrc are in');
});

test('an error about an option set elsewhere says where it was set, and only then', () => {
  const sources = new Map([['listen', 'JOSGDB_LISTEN']]);
  expect(withSourceOf('--listen "x": expected HOST:PORT', sources)).toBe('--listen "x": expected HOST:PORT (--listen was set by JOSGDB_LISTEN)');
  expect(withSourceOf('--listen-other is fine', sources)).toBe('--listen-other is fine');
  expect(withSourceOf('--target "x" is bad', sources)).toBe('--target "x" is bad');
});
