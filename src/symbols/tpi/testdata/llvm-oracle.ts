/**
 * Test support for the type decoder: builds the PDBs it is checked against
 * and reads LLVM's view of them (llvm-pdbutil dump, pdb2yaml, export), so
 * every expectation in the tests comes from LLVM, not from this decoder.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..', '..', '..');
const TESTDATA = __dirname;

// The flags of test/support/symbol-fixtures.ts, so this fixture is built the same way.
const COMPILE_CXX = [
  '--driver-mode=g++', '-target', 'x86_64-unknown-windows', '-ffreestanding', '-fno-stack-protector',
  '-mno-red-zone', '-fno-builtin', '-mno-stack-arg-probe', '-gcodeview', '-g', '-O1', '-funwind-tables',
  '-fno-exceptions', '-fno-rtti',
];
const LINK = ['/subsystem:efi_application', '/entry:kinds_entry', '/nodefaultlib', '/debug', '/dynamicbase'];

function cacheDir(inputs: string[], flags: unknown): string {
  const hash = createHash('sha256');
  for (const input of inputs) hash.update(input).update(readFileSync(input));
  hash.update(JSON.stringify(flags));
  return join(tmpdir(), 'josgdb-tpi-fixtures', hash.digest('hex').slice(0, 16));
}

/** Runs `build` in a private directory renamed into place, so parallel workers never see half a build. */
function cachedBuild(dir: string, output: string, build: (work: string) => void): string {
  const result = join(dir, output);
  if (existsSync(result)) return result;
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  build(work);
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}

/** testdata/kinds.cpp built with clang and lld-link into an EFI image; returns the PDB path. */
export function buildKindsPdb(): string {
  const source = join(TESTDATA, 'kinds.cpp');
  return cachedBuild(cacheDir([source], [COMPILE_CXX, LINK]), 'kinds.pdb', (work) => {
    const object = join(work, 'kinds.obj');
    execFileSync('clang', [...COMPILE_CXX, '-c', source, '-o', object], { stdio: 'pipe' });
    execFileSync('lld-link', [...LINK, `/pdb:${join(work, 'kinds.pdb')}`, `/out:${join(work, 'kinds.efi')}`, object], {
      stdio: 'pipe',
    });
  });
}

/** testdata/synthetic.yaml turned into a PDB by llvm-pdbutil yaml2pdb: the kinds clang never writes. */
export function buildSyntheticPdb(): string {
  const source = join(TESTDATA, 'synthetic.yaml');
  return cachedBuild(cacheDir([source], 'yaml2pdb'), 'synthetic.pdb', (work) => {
    execFileSync('llvm-pdbutil', ['yaml2pdb', `--pdb=${join(work, 'synthetic.pdb')}`, source], { stdio: 'pipe' });
  });
}

/** The stub kernel's PDB, built with its Makefile if it is missing. */
export function stubPdb(): string {
  const pdb = join(REPO, 'stub-uefi', 'build', 'BOOTX64.pdb');
  if (!existsSync(pdb)) execFileSync('make', ['-C', join(REPO, 'stub-uefi')], { stdio: 'pipe' });
  return pdb;
}

function pdbutil(args: string[]): string {
  return execFileSync('llvm-pdbutil', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
}

/** The bytes of one MSF stream, as llvm-pdbutil export writes them. */
export function exportStream(pdb: string, stream: number): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'josgdb-tpi-export-'));
  try {
    const out = join(dir, `stream-${stream}.bin`);
    pdbutil(['export', `--stream=${stream}`, `--out=${out}`, pdb]);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface DumpRecord {
  index: number;
  kind: string;
  /** The record size llvm-pdbutil prints: length field included. */
  size: number;
  /** '0x10ACA', '(not present)', or undefined without extras. */
  hash?: string;
  /** Text after the closing bracket of the header line. */
  head: string;
  /** The following lines, trimmed, with LLVM's wrapped option lists joined back. */
  lines: string[];
}

export interface DumpSection {
  count: number;
  records: DumpRecord[];
  extras: {
    version: number;
    hashStreamIndex: number;
    auxHashStreamIndex: number;
    hashKeySize: number;
    numHashBuckets: number;
    indexOffsets: { index: number; offset: number }[];
    adjusterCount: number;
  };
}

const RECORD_HEAD = /^\s*0x([0-9A-F]+) \| (\S+(?: \(0x[0-9a-fA-F]+\))?) \[size = (\d+)(?:, hash = ([^\]]+))?\](.*)$/;

function parseSection(text: string): DumpSection {
  const lines = text.split('\n');
  const count = Number(/Showing (\d+) records/.exec(text)?.[1] ?? 0);
  const records: DumpRecord[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*Header Version:/.test(line)) break;
    const head = RECORD_HEAD.exec(line);
    if (head) {
      records.push({
        index: parseInt(head[1]!, 16),
        kind: head[2]!,
        size: Number(head[3]),
        hash: head[4],
        head: head[5]!,
        lines: [],
      });
    } else if (records.length && line.trim() !== '') {
      const body = records[records.length - 1]!.lines;
      const trimmed = line.trim();
      // typesetItemList wraps long option lists after a trailing ' |'.
      if (body.length && body[body.length - 1]!.endsWith(' |')) body[body.length - 1] += ` ${trimmed}`;
      else body.push(trimmed);
    }
  }
  const rest = lines.slice(i).map((l) => l.trim());
  const num = (label: string): number => Number(rest.find((l) => l.startsWith(label))?.slice(label.length) ?? NaN);
  const indexOffsets: { index: number; offset: number }[] = [];
  for (const l of rest) {
    const m = /^TI: 0x([0-9A-F]+), Offset: (\d+)$/.exec(l);
    if (m) indexOffsets.push({ index: parseInt(m[1]!, 16), offset: Number(m[2]) });
  }
  const adjStart = rest.findIndex((l) => l === 'Hash Adjusters:');
  const adjusterCount = adjStart < 0 ? 0 : rest.slice(adjStart + 1).filter((l) => l !== '').length;
  return {
    count,
    records,
    extras: {
      version: num('Header Version: '),
      hashStreamIndex: num('Hash Stream Index: '),
      auxHashStreamIndex: num('Aux Hash Stream Index: '),
      hashKeySize: num('Hash Key Size: '),
      numHashBuckets: num('Num Hash Buckets: '),
      indexOffsets,
      adjusterCount,
    },
  };
}

/** `llvm-pdbutil dump --types --ids --type-extras --id-extras`, parsed per record. */
export function llvmDump(pdb: string): { tpi: DumpSection; ipi: DumpSection } {
  const text = pdbutil(['dump', '--types', '--ids', '--type-extras', '--id-extras', pdb]);
  const ipiAt = text.indexOf('Types (IPI Stream)');
  return { tpi: parseSection(text.slice(0, ipiAt)), ipi: parseSection(text.slice(ipiAt)) };
}

export type Yaml = string | Yaml[] | { [key: string]: Yaml };
export type YamlMap = { [key: string]: Yaml };

interface Line {
  indent: number;
  text: string;
}

function scalar(text: string): Yaml {
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((item) => scalar(item.trim()));
  }
  if (text.startsWith("'")) return text.slice(1, -1).replace(/''/g, "'");
  if (text.startsWith('"')) return JSON.parse(text) as string;
  return text;
}

const KEY = /^([A-Za-z_][\w]*):(?: +(.*))?$/;

/**
 * Just enough YAML for pdb2yaml's output: block maps and sequences by
 * indentation, flow sequences of scalars, plain and quoted scalars.
 */
export function parseYaml(text: string): Yaml {
  const lines: Line[] = text
    .split('\n')
    .filter((l) => l.trim() !== '' && l.trim() !== '---' && l.trim() !== '...')
    .map((l) => ({ indent: l.length - l.trimStart().length, text: l.trim() }));
  let pos = 0;

  const block = (indent: number): Yaml => (lines[pos]!.text.startsWith('-') ? sequence(indent) : map(indent));

  const valueAfterKey = (indent: number, rest: string | undefined): Yaml => {
    if (rest !== undefined && rest.startsWith('[')) {
      // Long flow sequences continue on the following lines.
      let text = rest;
      while (!text.endsWith(']') && pos < lines.length) text += ` ${lines[pos++]!.text}`;
      return scalar(text);
    }
    if (rest !== undefined && rest !== '') return scalar(rest);
    const next = lines[pos];
    if (next && next.indent > indent) return block(next.indent);
    if (next && next.indent === indent && next.text.startsWith('- ')) return sequence(indent);
    return '';
  };

  function map(indent: number): YamlMap {
    const result: YamlMap = {};
    while (pos < lines.length && lines[pos]!.indent === indent && !lines[pos]!.text.startsWith('- ')) {
      const m = KEY.exec(lines[pos]!.text);
      if (!m) throw new Error(`unexpected YAML line: ${lines[pos]!.text}`);
      pos++;
      result[m[1]!] = valueAfterKey(indent, m[2]);
    }
    return result;
  }

  function sequence(indent: number): Yaml[] {
    const result: Yaml[] = [];
    while (pos < lines.length && lines[pos]!.indent === indent && lines[pos]!.text.startsWith('-')) {
      const item = lines[pos]!.text.slice(1).trimStart();
      if (item === '') {
        pos++;
        result.push(block(lines[pos]!.indent));
      } else if (KEY.test(item)) {
        // "- Key: value" opens a map whose keys line up two columns in.
        lines[pos] = { indent: indent + 2, text: item };
        result.push(map(indent + 2));
      } else {
        pos++;
        result.push(scalar(item));
      }
    }
    return result;
  }

  return block(lines[0]!.indent);
}

/** `llvm-pdbutil pdb2yaml --tpi-stream --ipi-stream`: one YAML map per record. */
export function llvmYaml(pdb: string): { tpi: YamlMap[]; ipi: YamlMap[] } {
  const doc = parseYaml(pdbutil(['pdb2yaml', '--tpi-stream', '--ipi-stream', pdb])) as YamlMap;
  const records = (stream: Yaml | undefined): YamlMap[] =>
    stream === undefined ? [] : (((stream as YamlMap)['Records'] ?? []) as YamlMap[]);
  return { tpi: records(doc['TpiStream']), ipi: records(doc['IpiStream']) };
}

export interface GlobalVariable {
  name: string;
  type: number;
  /** The type as llvm-pdbutil names it: the text in parentheses, cut to 32 characters plus '...'. */
  typeName: string;
}

/**
 * Data symbols (S_GDATA32, S_LDATA32) of the globals stream and the module
 * streams, first occurrence per name, with their types.
 */
export function llvmGlobals(pdb: string): GlobalVariable[] {
  const text = pdbutil(['dump', '--globals', '--symbols', pdb]);
  const result: GlobalVariable[] = [];
  const seen = new Set<string>();
  const re = /S_[GL]DATA32 \[size = \d+\] `([^`]*)`\n\s*type = 0x([0-9A-F]+) \((.*)\), addr =/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    result.push({ name: m[1]!, type: parseInt(m[2]!, 16), typeName: m[3]! });
  }
  return result;
}
