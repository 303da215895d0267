/**
 * Checks of the programs a josgdb session needs on the host: the debuggers,
 * QEMU and its firmware, and the toolchain that builds an image with a PDB.
 * Each check runs the program itself (`--version`) rather than only looking
 * for it on PATH, so a broken install shows up here and not mid-session.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../common/errors';
import { findOvmf, OVMF_SEARCH_DIRS } from '../demo/qemu';
import type { CheckResult } from './check-result';

/** gdb 13 is what the RSP features josgdb relies on were tested with (Debian 12). */
const MIN_GDB_MAJOR = 13;
const VERSION_TIMEOUT_MS = 10_000;

interface VersionRun {
  /** First line of the program's --version output, trimmed. */
  firstLine: string;
}

/** Runs `program --version`; `error` says why when it cannot be started or fails. */
function runVersion(program: string, args: string[] = ['--version']): VersionRun | { error: string } {
  const res = spawnSync(program, args, { encoding: 'utf8', timeout: VERSION_TIMEOUT_MS });
  if (res.error) {
    const code = (res.error as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? 'not found' : errorMessage(res.error) };
  }
  if (res.status !== 0) return { error: `"${program} ${args.join(' ')}" failed (exit ${res.status ?? res.signal})` };
  const output = `${res.stdout}${res.stderr}`;
  return { firstLine: output.split('\n')[0]?.trim() ?? '' };
}

/** The full path of a program named without a directory, as the shell would find it. */
function onPath(program: string): string | undefined {
  if (program.includes('/')) return existsSync(program) ? program : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)" -> "7.2.22": the number
 * after "version", else the last one ("GNU gdb (Debian 13.1-3) 13.1" -> "13.1").
 */
export function versionFrom(line: string): string | undefined {
  const afterWord = /version (\d+\.\d+(?:\.\d+)?)/i.exec(line);
  if (afterWord) return afterWord[1];
  const all = [...line.matchAll(/\d+\.\d+(?:\.\d+)?/g)];
  return all.length ? all[all.length - 1]![0] : undefined;
}

export function checkGdb(gdb: string): CheckResult {
  const run = runVersion(gdb);
  if ('error' in run) {
    return { name: 'gdb', status: 'problem', detail: `${gdb}: ${run.error}`, fix: 'install it: apt-get install gdb (or point at one with --gdb PATH)' };
  }
  const version = versionFrom(run.firstLine);
  const major = version ? Number(version.split('.')[0]) : NaN;
  if (!(major >= MIN_GDB_MAJOR)) {
    return {
      name: 'gdb',
      status: 'problem',
      detail: `${gdb} is "${run.firstLine}"; gdb ${MIN_GDB_MAJOR} or newer is expected`,
      fix: 'install a newer one: apt-get install gdb (Debian 12 has 13.1), or build it from source',
    };
  }
  return { name: 'gdb', status: 'ok', detail: `gdb ${version} (${onPath(gdb) ?? gdb})` };
}

/**
 * lldb's Python package, next to the LLVM the binary belongs to
 * (.../llvm-N/bin/lldb -> .../llvm-N/lib/python3.X/dist-packages). Debian's
 * lldb 14 looks elsewhere (`lldb -P` names a directory that does not exist).
 */
function lldbPythonPackage(lldbBinary: string): string | undefined {
  let llvmLib: string;
  try {
    llvmLib = path.resolve(path.dirname(realpathSync(lldbBinary)), '..', 'lib');
    for (const entry of readdirSync(llvmLib).filter((e) => e.startsWith('python3')).sort().reverse()) {
      for (const packages of ['dist-packages', 'site-packages']) {
        const dir = path.join(llvmLib, entry, packages);
        if (existsSync(path.join(dir, 'lldb', 'embedded_interpreter.py'))) return dir;
      }
    }
  } catch {
    // no LLVM tree next to the binary
  }
  return undefined;
}

/** lldb is optional (gdb alone is enough), so its absence is a note, not a problem. */
export function checkLldb(lldb: string): CheckResult {
  const run = runVersion(lldb);
  if ('error' in run) {
    return { name: 'lldb', status: 'note', detail: `${lldb}: ${run.error} (optional: only needed to debug with lldb)`, fix: 'apt-get install lldb python3-lldb' };
  }
  const version = versionFrom(run.firstLine) ?? run.firstLine;
  const binary = onPath(lldb);
  const where = binary ? lldbPythonPackage(binary) : undefined;
  const looksIn = runVersion(lldb, ['-P']);
  const looksInDir = 'error' in looksIn ? undefined : looksIn.firstLine;
  if (where && looksInDir !== where && !(looksInDir && existsSync(path.join(looksInDir, 'lldb', 'embedded_interpreter.py')))) {
    return {
      name: 'lldb',
      status: 'ok',
      detail: `lldb ${version}; it looks for its Python package in the wrong place, which only \`script\` needs: for that, set PYTHONPATH=${where}`,
    };
  }
  if (!where && !(looksInDir && existsSync(path.join(looksInDir, 'lldb')))) {
    return { name: 'lldb', status: 'ok', detail: `lldb ${version}; its Python package was not found (only \`script\` needs it: apt-get install python3-lldb)` };
  }
  return { name: 'lldb', status: 'ok', detail: `lldb ${version}` };
}

export function checkQemu(qemu: string): CheckResult {
  const run = runVersion(qemu);
  if ('error' in run) {
    return {
      name: 'qemu',
      status: 'problem',
      detail: `${qemu}: ${run.error}`,
      fix: 'install it: apt-get install qemu-system-x86 (or point at one with --qemu PATH; not needed for a real machine over a serial cable)',
    };
  }
  return { name: 'qemu', status: 'ok', detail: `QEMU ${versionFrom(run.firstLine) ?? run.firstLine} (${onPath(qemu) ?? qemu})` };
}

/** `ovmf`: a firmware file given by hand (--ovmf), else where Debian and Fedora install it. */
export function checkOvmf(ovmf: string | undefined): CheckResult {
  const fix = 'install it: apt-get install ovmf (or point at OVMF_CODE.fd with --ovmf PATH)';
  if (ovmf !== undefined) {
    return existsSync(ovmf)
      ? { name: 'ovmf', status: 'ok', detail: `OVMF firmware ${ovmf}` }
      : { name: 'ovmf', status: 'problem', detail: `OVMF firmware ${ovmf} does not exist`, fix };
  }
  try {
    const { code } = findOvmf();
    return { name: 'ovmf', status: 'ok', detail: `OVMF firmware ${code}` };
  } catch {
    return { name: 'ovmf', status: 'problem', detail: `OVMF firmware not found (looked in ${OVMF_SEARCH_DIRS})`, fix };
  }
}

/** A program that builds the image (clang, lld-link) or inspects PDBs (llvm-pdbutil, optional). */
export interface BuildTool {
  /** 'clang': the check's name, whatever path the program is given by. */
  name: string;
  /** The Debian package that installs it. */
  debianPackage: string;
  /** What it is needed for, shown in the report. */
  role: string;
  optional: boolean;
}

export function checkBuildTool(program: string, tool: BuildTool): CheckResult {
  const { name, debianPackage, role, optional } = tool;
  const run = runVersion(program);
  if ('error' in run) {
    return {
      name,
      status: optional ? 'note' : 'problem',
      detail: `${program}: ${run.error} (${role}${optional ? '; optional' : ''})`,
      fix: `install it: apt-get install ${debianPackage}`,
    };
  }
  return { name, status: 'ok', detail: `${run.firstLine} (${role})` };
}
