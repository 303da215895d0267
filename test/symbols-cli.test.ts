/**
 * `josgdb symbols` as a user runs it: the built CLI on stub-uefi's image, its
 * summary line and exit codes, and the file it writes loaded into real gdb with
 * no target, by the command the summary names.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode } from '../src/cli/exit-codes';
import { buildSymbolFixture } from './support/symbol-fixtures';
import { CLI, STUB_IMAGE, STUB_PDB, ensureBuiltCli } from './support/built-cli';

let work: string;
let cache: string;

beforeAll(() => {
  ensureBuiltCli('symbols-command.js');
  work = mkdtempSync(path.join(tmpdir(), 'josgdb-symbols-cli-'));
  cache = path.join(work, 'xdg-cache');
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function josgdb(...args: string[]): Run {
  return josgdbWithEnv({}, ...args);
}

function josgdbWithEnv(extraEnv: Record<string, string>, ...args: string[]): Run {
  const res = spawnSync(process.execPath, [CLI, 'symbols', ...args], {
    // The cache goes to the test's directory, never the user's.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, XDG_CACHE_HOME: cache, ...extraEnv },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function gdb(...commands: string[]): string {
  const res = spawnSync('gdb', ['-nx', '-batch', ...commands.flatMap((c) => ['-ex', c])], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, LANG: 'C', LC_ALL: 'C' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return res.stdout + res.stderr;
}

/** demo_leaf's RVA, from LLVM's own tools. */
function demoLeafRva(): number {
  const sections = [...execFileSync('llvm-readobj', ['--sections', STUB_IMAGE], { encoding: 'utf8' }).matchAll(/VirtualAddress: (0x[0-9A-F]+)/gi)];
  const pub = /`demo_leaf`\s+flags = [^,]+, addr = (\d+):(\d+)/.exec(execFileSync('llvm-pdbutil', ['dump', '--publics', STUB_PDB], { encoding: 'utf8' }))!;
  return Number(sections[Number(pub[1]) - 1]![1]) + Number(pub[2]);
}

describe('josgdb symbols', () => {
  it('writes the symbol file, prints a one-line summary naming the gdb command, and gdb reads it', () => {
    const out = path.join(work, 'stub.debug');
    const run = josgdb('--image', STUB_IMAGE, '--base', '0x7E00000', '-o', out);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(ExitCode.OK);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const m = /^BOOTX64\.EFI at 0x7e00000: (\d+) functions, (\d+) line rows, (\d+) data symbols \(from PDB (.+)\) -> (.+); in gdb: symbol-file (.+)$/.exec(lines[0]!);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(20);
    expect(Number(m![2])).toBeGreaterThan(100);
    expect(Number(m![3])).toBeGreaterThan(5);
    expect(m![4]).toBe(STUB_PDB);
    expect(m![5]).toBe(out);
    expect(m![6]).toBe(out);
    expect(readFileSync(out).subarray(0, 4).toString('latin1')).toBe('\x7fELF');

    const addr = `0x${(0x7e00000 + demoLeafRva() + 4).toString(16)}`;
    // The command the summary names, and `file`, both take the absolute addresses as they are.
    for (const load of [`symbol-file ${out}`, `file ${out}`]) {
      const text = gdb(load, `info line *${addr}`, `info symbol ${addr}`, 'break demo_factorial');
      expect(text).toMatch(/Line 25 of "[^"]*workload\.c" starts at address 0x[0-9a-f]+ <demo_leaf>/);
      expect(text).toContain('demo_leaf + 4 in section .text');
      expect(text).toMatch(/Breakpoint 1 at 0x[0-9a-f]+: file [^,]*workload\.c, line \d+\./);
    }
    // A matching PDB found for the first time is copied into the cache.
    expect(existsSync(path.join(cache, 'josgdb', 'pdb', 'BOOTX64.pdb'))).toBe(true);
  });

  it('finds the PDB through --symbol-path when it is not where the image says', () => {
    const dir = path.join(work, 'lonely');
    const symbols = path.join(work, 'symbols');
    for (const d of [dir, symbols]) execFileSync('mkdir', ['-p', d]);
    const image = path.join(dir, 'BOOTX64.EFI');
    // Same GUID and age, but the recorded PDB path leads nowhere.
    const bytes = readFileSync(STUB_IMAGE);
    const at = bytes.indexOf(Buffer.from(`${STUB_PDB}\0`));
    expect(at).toBeGreaterThan(0);
    bytes.write('/nowhere/', at, 'latin1');
    writeFileSync(image, bytes);
    copyFileSync(STUB_PDB, path.join(symbols, 'BOOTX64.pdb'));
    const out = path.join(work, 'lonely.debug');
    const run = josgdb('--image', image, '--symbol-path', symbols, '--no-cache', '--base', '0x100000000', '-o', out);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(ExitCode.OK);
    expect(run.stdout).toContain(`(from PDB ${path.join(symbols, 'BOOTX64.pdb')})`);
  });

  it('a mismatching --pdb: warnings on stderr, a symbol file from the image alone, exit 0', () => {
    const fixture = buildSymbolFixture();
    const out = path.join(work, 'mismatch.debug');
    const run = josgdb('--image', STUB_IMAGE, '--pdb', fixture.pdb, '--no-cache', '--base', '0x7E00000', '-o', out);
    expect(run.status).toBe(ExitCode.OK);
    expect(run.stderr).toContain(`josgdb: warning: PDB ${fixture.pdb} does not match the image ${STUB_IMAGE}`);
    expect(run.stderr).toContain('rebuild or pass the matching --pdb');
    expect(run.stdout).toContain('0 functions, 0 line rows, 0 data symbols (from the image alone, no PDB)');
    expect(gdb(`symbol-file ${out}`, 'info functions demo_')).not.toContain('demo_leaf');
  });

  it('a truncated PDB: a warning, not a crash', () => {
    const pdb = path.join(work, 'truncated.pdb');
    writeFileSync(pdb, readFileSync(STUB_PDB).subarray(0, 10000));
    const run = josgdb('--image', STUB_IMAGE, '--pdb', pdb, '--no-cache', '--base', '0x7E00000', '-o', path.join(work, 't.debug'));
    expect(run.status).toBe(ExitCode.OK);
    expect(run.stderr).toContain(`josgdb: warning: ${pdb} is not a readable PDB`);
  });

  it('JOSGDB_* variables in the environment are not read as options', () => {
    const out = path.join(work, 'env.debug');
    const r = josgdbWithEnv({ JOSGDB_TEST_LOG: 'info', JOSGDB_SOMETHING: '1' }, '--image', STUB_IMAGE, '--pdb', STUB_PDB, '--base', '0x7e00000', '-o', out);
    expect(r.stderr).not.toMatch(/Unknown argument/);
    expect(r.status).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('usage errors exit with the usage code and one line', () => {
    const missing = josgdb('--image', path.join(work, 'nope.efi'), '--base', '0x7E00000', '-o', path.join(work, 'x.debug'));
    expect(missing.status).toBe(ExitCode.USAGE);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringContaining('cannot read the image')]);

    const unaligned = josgdb('--image', STUB_IMAGE, '--base', '0x7E00010', '-o', path.join(work, 'x.debug'));
    expect(unaligned.status).toBe(ExitCode.USAGE);
    expect(unaligned.stderr).toContain('page-aligned');

    const garbage = josgdb('--image', STUB_IMAGE, '--base', 'main', '-o', path.join(work, 'x.debug'));
    expect(garbage.status).toBe(ExitCode.USAGE);

    const noOutput = josgdb('--image', STUB_IMAGE, '--base', '0x7E00000');
    expect(noOutput.status).toBe(ExitCode.USAGE);
    expect(noOutput.stderr).toContain('output');
  });

  it('an image that is not a PE file fails with a message naming it', () => {
    const run = josgdb('--image', STUB_PDB, '--base', '0x7E00000', '-o', path.join(work, 'x.debug'));
    expect(run.status).toBe(ExitCode.FAILURE);
    expect(run.stderr).toContain(`${STUB_PDB} is not a usable PE image`);
  });
});
