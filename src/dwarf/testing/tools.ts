/**
 * The writer's oracles: llvm-dwarfdump, readelf, gdb and lldb run on a written
 * file, and parsers for the parts of their output the tests compare with the
 * model. Tools are found on PATH (override with JOSGDB_LLVM_DWARFDUMP,
 * JOSGDB_READELF, JOSGDB_GDB, JOSGDB_LLDB) and run with a minimal environment
 * so no user init file or locale changes their output.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';

export const DWARFDUMP = process.env.JOSGDB_LLVM_DWARFDUMP ?? 'llvm-dwarfdump';
export const READELF = process.env.JOSGDB_READELF ?? 'readelf';
export const GDB = process.env.JOSGDB_GDB ?? 'gdb';
export const LLDB = process.env.JOSGDB_LLDB ?? 'lldb';

export interface ToolRun {
  /** stdout and stderr interleaved as the tool wrote them. */
  output: string;
  status: number | null;
}

/** Runs `tool args...` with stderr folded into stdout (through sh, so the order is kept). */
export function runTool(tool: string, args: readonly string[], timeoutMs = 120_000): ToolRun {
  const res = spawnSync('sh', ['-c', 'exec "$0" "$@" 2>&1', tool, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), LANG: 'C', LC_ALL: 'C' },
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: timeoutMs,
  });
  if (res.error) throw res.error;
  return { output: res.stdout, status: res.status };
}

export function toolAvailable(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0" >/dev/null', tool]).status === 0;
}

// --- llvm-dwarfdump --debug-info ------------------------------------------

export interface DumpedDie {
  offset: number;
  tag: string;
  /** 0 for the unit DIE. */
  depth: number;
  /** Attribute name -> the text between the outer parentheses (several lines joined by '\n'). */
  attrs: Map<string, string>;
}

export interface DumpedUnit {
  offset: number;
  version: number;
  dies: DumpedDie[];
}

export function parseDebugInfo(text: string): DumpedUnit[] {
  const units: DumpedUnit[] = [];
  let die: DumpedDie | undefined;
  let lastAttr: string | undefined;
  for (const line of text.split('\n')) {
    const unit = /^0x([0-9a-f]+): Compile Unit: .*version = 0x([0-9a-f]+)/.exec(line);
    if (unit) {
      units.push({ offset: parseInt(unit[1], 16), version: parseInt(unit[2], 16), dies: [] });
      die = undefined;
      continue;
    }
    const tag = /^0x([0-9a-f]+):( +)(DW_TAG_\w+|NULL)/.exec(line);
    if (tag) {
      if (tag[3] === 'NULL') {
        die = undefined;
        continue;
      }
      die = { offset: parseInt(tag[1], 16), tag: tag[3], depth: (tag[2].length - 1) / 2, attrs: new Map() };
      units[units.length - 1].dies.push(die);
      continue;
    }
    if (!die) continue;
    const attr = /^\s+(DW_AT_\w+)\s+\((.*)$/.exec(line);
    if (attr) {
      lastAttr = attr[1];
      die.attrs.set(attr[1], attr[2].replace(/\)$/, ''));
      continue;
    }
    if (lastAttr && /^\s+\[0x/.test(line)) {
      // continuation of a multi-line value (DW_AT_ranges)
      die.attrs.set(lastAttr, `${die.attrs.get(lastAttr)}\n${line.trim().replace(/\)\)$/, ')')}`);
    }
  }
  return units;
}

/** A quoted attribute value ("kmain") without its quotes. */
export function unquote(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^"(.*)"$/.exec(value);
  return m ? m[1] : value;
}

/** The [begin, end) pairs of a DW_AT_ranges value. */
export function parseRanges(value: string): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  for (const m of value.matchAll(/\[0x([0-9a-f]+), 0x([0-9a-f]+)\)/g)) out.push([BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`)]);
  return out;
}

// --- llvm-dwarfdump --debug-line ------------------------------------------

export interface DumpedRow {
  address: bigint;
  line: number;
  file: number;
  isStmt: boolean;
  prologueEnd: boolean;
  endSequence: boolean;
}

export interface DumpedLineTable {
  offset: number;
  version: number;
  /** include_directories[1..]: index 0 of this array is directory 1. */
  dirs: string[];
  files: Array<{ name: string; dirIndex: number }>;
  rows: DumpedRow[];
}

export function parseDebugLine(text: string): DumpedLineTable[] {
  const tables: DumpedLineTable[] = [];
  let t: DumpedLineTable | undefined;
  for (const line of text.split('\n')) {
    const start = /^debug_line\[0x([0-9a-f]+)\]/.exec(line);
    if (start) {
      t = { offset: parseInt(start[1], 16), version: 0, dirs: [], files: [], rows: [] };
      tables.push(t);
      continue;
    }
    if (!t) continue;
    let m = /^\s+version: (\d+)/.exec(line);
    if (m) {
      t.version = Number(m[1]);
      continue;
    }
    m = /^include_directories\[\s*(\d+)\] = "(.*)"$/.exec(line);
    if (m) {
      t.dirs[Number(m[1]) - 1] = m[2];
      continue;
    }
    if (/^file_names\[\s*\d+\]:/.test(line)) {
      t.files.push({ name: '', dirIndex: 0 });
      continue;
    }
    m = /^\s+name: "(.*)"$/.exec(line);
    if (m && t.files.length > 0) {
      t.files[t.files.length - 1].name = m[1];
      continue;
    }
    m = /^\s+dir_index: (\d+)$/.exec(line);
    if (m && t.files.length > 0) {
      t.files[t.files.length - 1].dirIndex = Number(m[1]);
      continue;
    }
    m = /^0x([0-9a-f]{16})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*(.*)$/.exec(line);
    if (m) {
      const flags = m[7].split(/\s+/);
      t.rows.push({
        address: BigInt(`0x${m[1]}`),
        line: Number(m[2]),
        file: Number(m[4]),
        isStmt: flags.includes('is_stmt'),
        prologueEnd: flags.includes('prologue_end'),
        endSequence: flags.includes('end_sequence'),
      });
    }
  }
  return tables;
}

/** The path of DWARF file `number` (1-based) of a table, directory joined with '/'. */
export function tableFilePath(table: DumpedLineTable, number: number): string {
  const f = table.files[number - 1];
  if (!f) throw new Error(`line table 0x${table.offset.toString(16)} has no file ${number}`);
  if (f.dirIndex === 0) return f.name;
  const dir = table.dirs[f.dirIndex - 1];
  return /[/\\]$/.test(dir) ? dir + f.name : `${dir}/${f.name}`;
}

// --- readelf ----------------------------------------------------------------

export interface ReadelfSymbol {
  value: bigint;
  size: bigint;
  type: string;
  bind: string;
  ndx: string;
  name: string;
}

export function parseReadelfSymbols(text: string): ReadelfSymbol[] {
  const out: ReadelfSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+: ([0-9a-f]{16})\s+(0x[0-9a-f]+|\d+)\s+(\w+)\s+(\w+)\s+\w+\s+(\w+)\s?(.*)$/.exec(line);
    if (m) {
      out.push({ value: BigInt(`0x${m[1]}`), size: BigInt(m[2]), type: m[3], bind: m[4], ndx: m[5], name: m[6] });
    }
  }
  return out;
}

export interface ReadelfSection {
  index: number;
  name: string;
  type: string;
  address: bigint;
  size: bigint;
  flags: string;
}

export function parseReadelfSections(text: string): ReadelfSection[] {
  const out: ReadelfSection[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\[\s*(\d+)\] (.*)$/.exec(line);
    if (!m) continue;
    const fields = m[2].trim().split(/\s+/);
    if (fields.length < 9 || fields[0] === 'NULL') continue; // [ 0] has no name
    const hasFlags = fields.length === 10;
    out.push({
      index: Number(m[1]),
      name: fields[0],
      type: fields[1],
      address: BigInt(`0x${fields[2]}`),
      size: BigInt(`0x${fields[4]}`),
      flags: hasFlags ? fields[6] : '',
    });
  }
  return out;
}

export interface ReadelfSegment {
  type: string;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
  flags: string;
  /** Section names from the section-to-segment mapping. */
  sections: string[];
}

export function parseReadelfSegments(text: string): ReadelfSegment[] {
  const out: ReadelfSegment[] = [];
  const lines = text.split('\n');
  for (const line of lines) {
    const m = /^\s+(\w+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) ([RWE ]{3}) 0x([0-9a-f]+)$/.exec(line);
    if (m) {
      out.push({
        type: m[1],
        offset: BigInt(`0x${m[2]}`),
        vaddr: BigInt(`0x${m[3]}`),
        paddr: BigInt(`0x${m[4]}`),
        filesz: BigInt(`0x${m[5]}`),
        memsz: BigInt(`0x${m[6]}`),
        flags: m[7].replace(/ /g, ''),
        sections: [],
      });
    }
  }
  const mapAt = lines.findIndex((l) => /Section to Segment mapping/.test(l));
  if (mapAt >= 0) {
    for (const line of lines.slice(mapAt + 2)) {
      const m = /^\s+(\d+)\s+(.*)$/.exec(line);
      if (!m) break;
      const seg = out[Number(m[1])];
      if (seg) seg.sections = m[2].trim().split(/\s+/).filter((s) => s !== '');
    }
  }
  return out;
}

// --- gdb and lldb -----------------------------------------------------------

/** Runs gdb on `file` in batch mode; returns each command's output, in order. */
export function gdbBatch(file: string, commands: readonly string[]): string[] {
  const args = ['-nx', '-batch', '-ex', 'set pagination off', '-ex', 'set width 0', '-ex', 'set confirm off'];
  commands.forEach((c, i) => args.push('-ex', `echo <<<${i}>>>\\n`, '-ex', c));
  args.push(file);
  const { output } = runTool(GDB, args);
  return splitMarked(output, commands.length, (i) => `<<<${i}>>>\n`);
}

/** Runs lldb on `file` in batch mode; returns each command's output, in order (split at lldb's echoed prompts). */
export function lldbBatch(file: string, commands: readonly string[]): string[] {
  const args = ['-x', '-b'];
  for (const c of commands) args.push('-o', c);
  args.push('--', file);
  const { output } = runTool(LLDB, args);
  const out: string[] = [];
  let pos = 0;
  for (const c of commands) {
    const prompt = `(lldb) ${c}\n`;
    const at = output.indexOf(prompt, pos);
    if (at < 0) throw new Error(`lldb output lacks command ${c}:\n${output}`);
    const from = at + prompt.length;
    const next = output.indexOf('(lldb) ', from);
    out.push(output.slice(from, next < 0 ? output.length : next));
    pos = from;
  }
  return out;
}

function splitMarked(output: string, count: number, marker: (i: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = output.indexOf(marker(i));
    if (at < 0) throw new Error(`tool output lacks marker ${i}:\n${output}`);
    const from = at + marker(i).length;
    const next = i + 1 < count ? output.indexOf(marker(i + 1), from) : output.length;
    out.push(output.slice(from, next < 0 ? output.length : next));
  }
  return out;
}
