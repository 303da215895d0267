/**
 * Option values from the environment (JOSGDB_<OPTION>) and the config file
 * (josgdb.json, .josgdbrc, --config FILE), run as a user runs them: the built
 * CLI in its own process, in a scratch directory, with a controlled
 * environment. `josgdb doctor` shows which value won, since each of its
 * program options appears in its report ("problem gdb: /nonexistent/...").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode } from '../src/cli/exit-codes';
import { CLI, STUB_IMAGE, STUB_PDB, ensureBuiltCli } from './support/built-cli';

let work: string;
let dir: string;
let caseNumber = 0;

beforeAll(() => {
  ensureBuiltCli('settings.js');
  work = mkdtempSync(path.join(tmpdir(), 'josgdb-config-'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

// Each test gets its own current directory, so a config file of one never leaks into another.
beforeEach(() => {
  dir = path.join(work, `case-${++caseNumber}`);
  mkdirSync(dir);
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function josgdb(args: string[], env: Record<string, string> = {}, cwd = dir): Run {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** doctor with every program it would run pointed at a missing path, unless `args` or the settings say otherwise. */
function doctor(args: string[], env: Record<string, string> = {}, cwd = dir): Run {
  return josgdb(['doctor', ...args], env, cwd);
}

/** The path doctor reports for a program check: "problem gdb: /nonexistent/x: not found" -> "/nonexistent/x". */
function checkedPath(run: Run, name: string): string {
  const m = new RegExp(`^\\w+\\s+${name}: (\\S+?):? `, 'm').exec(run.stdout);
  if (!m) throw new Error(`no "${name}" line in:\n${run.stdout}${run.stderr}`);
  return m[1]!;
}

function writeConfig(name: string, value: unknown, where = dir): string {
  const file = path.join(where, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

test('the command line wins over the environment, the environment over the config file, the file over the default', () => {
  writeConfig('josgdb.json', {
    gdb: '/nonexistent/config-gdb',
    lldb: '/nonexistent/config-lldb',
    qemu: '/nonexistent/config-qemu',
    // A command's own section wins over the top-level keys.
    doctor: { clang: '/nonexistent/section-clang' },
    clang: '/nonexistent/top-level-clang',
  });
  const run = doctor(['--qemu', '/nonexistent/cli-qemu'], { JOSGDB_LLDB: '/nonexistent/env-lldb', JOSGDB_QEMU: '/nonexistent/env-qemu' });
  expect(checkedPath(run, 'gdb')).toBe('/nonexistent/config-gdb');
  expect(checkedPath(run, 'lldb')).toBe('/nonexistent/env-lldb');
  expect(checkedPath(run, 'qemu')).toBe('/nonexistent/cli-qemu');
  expect(checkedPath(run, 'clang')).toBe('/nonexistent/section-clang');
  // Nothing set it: the default, found on PATH.
  expect(run.stdout).toMatch(/^ok\s+lld-link: /m);
  expect(run.status).toBe(ExitCode.FAILURE);
});

test('.josgdbrc is read too; --config and JOSGDB_CONFIG name a file elsewhere; parent directories are not searched', () => {
  writeConfig('.josgdbrc', { gdb: '/nonexistent/rc-gdb' });
  expect(checkedPath(doctor([]), 'gdb')).toBe('/nonexistent/rc-gdb');

  const elsewhere = writeConfig('team.json', { gdb: '/nonexistent/team-gdb' }, work);
  expect(checkedPath(doctor(['--config', elsewhere]), 'gdb')).toBe('/nonexistent/team-gdb');
  expect(checkedPath(doctor([], { JOSGDB_CONFIG: elsewhere }), 'gdb')).toBe('/nonexistent/team-gdb');

  const child = path.join(dir, 'child');
  mkdirSync(child);
  expect(checkedPath(doctor([], {}, child), 'gdb')).not.toBe('/nonexistent/rc-gdb');
});

test('a config file that is not valid JSON is an error naming the file, the line and the column', () => {
  const file = writeConfig('josgdb.json', '{\n  "gdb": "/usr/bin/gdb",\n  "lldb": "lldb",\n}\n');
  const run = doctor([]);
  expect(run.status).toBe(ExitCode.USAGE);
  expect(run.stderr).toContain(`the config file ${file} is not valid JSON at line 4, column 1`);
  expect(run.stdout).toBe('');
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
});

test('an unknown key is an error naming the file and the key, with the likely intended one', () => {
  const file = writeConfig('josgdb.json', { taget: 'tcp:127.0.0.1:5555' });
  const run = doctor([]);
  expect(run.status).toBe(ExitCode.USAGE);
  expect(run.stderr).toContain(`${file}: unknown key "taget" (did you mean "target"?)`);

  writeConfig('josgdb.json', { serve: { 'log-levl': 'debug' } });
  const inSection = doctor([]);
  expect(inSection.status).toBe(ExitCode.USAGE);
  expect(inSection.stderr).toContain('unknown key "serve"."log-levl": josgdb serve has no --log-levl (did you mean "log-level"?)');
});

test('a config value of the wrong type is an error naming the file and the key', () => {
  const file = writeConfig('josgdb.json', { doctor: { 'target-timeout': 'soon' } });
  const run = doctor([]);
  expect(run.status).toBe(ExitCode.USAGE);
  expect(run.stderr).toContain(`${file}: "doctor"."target-timeout": --target-timeout takes a number, not "soon"`);
});

test('an environment variable with a bad value is an error naming the variable', () => {
  const number = doctor([], { JOSGDB_TARGET_TIMEOUT: 'soon' });
  expect(number.status).toBe(ExitCode.USAGE);
  expect(number.stderr).toContain('JOSGDB_TARGET_TIMEOUT=soon: --target-timeout takes a number');

  const choice = josgdb(['symbols', '--image', 'x.efi', '--base', '0x1000', '-o', 'x.debug'], { JOSGDB_LOG_LEVEL: 'loud' });
  expect(choice.status).toBe(ExitCode.USAGE);
  expect(choice.stderr).toContain('JOSGDB_LOG_LEVEL=loud: --log-level takes one of fatal, error, warn, info, debug, trace, silent');
});

test("a value from the environment goes through the command's own checks, and the error says where it was set", () => {
  const run = josgdb(['serve', '--target', 'tcp:127.0.0.1:1'], { JOSGDB_LISTEN: 'nowhere' });
  expect(run.status).toBe(ExitCode.USAGE);
  expect(run.stderr).toContain('--listen "nowhere": expected HOST:PORT');
  expect(run.stderr).toContain('--listen was set by JOSGDB_LISTEN');
});

test('unrelated JOSGDB_* variables are ignored', () => {
  const run = doctor(['--gdb', '/nonexistent/cli-gdb'], { JOSGDB_SOAK_STEPS: '10', JOSGDB_NOT_AN_OPTION: 'x' });
  expect(run.stderr).toBe('');
  expect(checkedPath(run, 'gdb')).toBe('/nonexistent/cli-gdb');
});

test('a JOSGDB_* variable a letter or two from a setting is named, with the one meant, and still ignored', () => {
  const run = doctor([], { JOSGDB_LLBD: '/nonexistent/env-lldb', JOSGDB_SOAK_STEPS: '10' });
  expect(run.stderr).toBe('josgdb: JOSGDB_LLBD is not a josgdb setting and is ignored (did you mean "JOSGDB_LLDB"?)\n');
  expect(checkedPath(run, 'lldb')).not.toBe('/nonexistent/env-lldb');
});

test('a required option can come from the config file, and the command runs with it', () => {
  writeConfig('josgdb.json', { symbols: { image: STUB_IMAGE, pdb: STUB_PDB, base: '0x6000000', output: 'stub.debug' } });
  const run = josgdb(['symbols']);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(ExitCode.OK);
  expect(run.stdout).toContain('at 0x6000000');
  expect(existsSync(path.join(dir, 'stub.debug'))).toBe(true);
});

test('a top-level "pdb" meant for serve does not stop doctor: its report says the PDB needs --image to be checked', () => {
  // serve takes --pdb alone (it reads the image from target memory), so such a file is a normal one.
  writeConfig('josgdb.json', { listen: '127.0.0.1:1234', pdb: 'build/kernel.pdb' });
  const run = doctor([]);
  expect(run.stderr).toBe('');
  expect(run.stdout).toMatch(/^note\s+pdb: build\/kernel\.pdb is not checked: .*no --image is given\n\s+fix: add --image FILE/m);
  // The report ran to its end (yargs' "Implications failed" stopped it with a usage error before).
  expect(run.stdout).toMatch(/^(all checks passed|\d+ problems? found)$/m);
  expect(run.status).not.toBe(ExitCode.USAGE);
});

test('a missing required option says every place it can be given', () => {
  const run = josgdb(['serve']);
  expect(run.status).toBe(ExitCode.USAGE);
  expect(run.stderr).toContain('Missing required argument: target (give --target on the command line, as JOSGDB_TARGET in the environment, or in josgdb.json)');
});

test('--help works whatever the config file holds, and says where else options come from', () => {
  writeConfig('josgdb.json', '{ not json');
  const run = josgdb(['serve', '--help']);
  expect(run.status).toBe(ExitCode.OK);
  expect(run.stdout.replace(/\s+/g, ' ')).toContain('JOSGDB_TARGET, JOSGDB_LISTEN');
  expect(run.stdout).toContain('josgdb.json or .josgdbrc');
});

test('josgdb completion prints a bash completion script, and the completions it asks for list the options', () => {
  const script = josgdb(['completion']);
  expect(script.status).toBe(ExitCode.OK);
  expect(script.stdout).toContain('complete -o bashdefault -o default -F _josgdb_yargs_completions josgdb');
  // What the script runs on <TAB>, with a broken config file in the directory.
  writeConfig('josgdb.json', '{ not json');
  const commands = josgdb(['--get-yargs-completions', 'se']);
  expect(commands.stdout.split('\n')).toEqual(expect.arrayContaining(['serve', 'symbols', 'doctor']));
  const options = josgdb(['--get-yargs-completions', 'serve', '--']);
  expect(options.stdout.split('\n')).toEqual(expect.arrayContaining(['--target', '--image', '--config']));
});
