/**
 * Test oracle: runs LLVM's llvm-pdbutil on a PDB and parses its text dump into
 * plain records, so tests can compare our readers with LLVM's field by field.
 * Only the fields the tests compare are extracted; the parser is strict about
 * the lines it recognises so a format change fails loudly rather than
 * silently comparing nothing.
 */
import { execFileSync } from 'node:child_process';

export function pdbutil(args: string[]): string {
  return execFileSync('llvm-pdbutil', args, { encoding: 'utf8', maxBuffer: 256 << 20 });
}

/** Splits a dump into its titled sections ('Summary', 'Streams', 'Public Symbols', ...). */
export function dumpSections(text: string): Map<string, string[]> {
  const lines = text.split('\n');
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const next = lines[i + 1];
    if (next !== undefined && /^=+$/.test(next) && lines[i]!.trim() !== '') {
      current = [];
      out.set(lines[i]!.trim(), current);
      i++;
      continue;
    }
    current?.push(lines[i]!);
  }
  return out;
}

export function section(sections: Map<string, string[]>, title: string): string[] {
  const s = sections.get(title);
  if (!s) throw new Error(`llvm-pdbutil output has no '${title}' section (has: ${[...sections.keys()].join(', ')})`);
  return s;
}

export interface PdbutilSummary {
  blockSize: number;
  numBlocks: number;
  numStreams: number;
  signature: number;
  age: number;
  guid: string;
}

export function parseSummary(lines: string[]): PdbutilSummary {
  const field = (name: string): string => {
    const line = lines.find((l) => l.trim().startsWith(`${name}:`));
    if (!line) throw new Error(`summary lacks ${name}`);
    return line.slice(line.indexOf(':') + 1).trim();
  };
  return {
    blockSize: Number(field('Block Size')),
    numBlocks: Number(field('Number of blocks')),
    numStreams: Number(field('Number of streams')),
    signature: Number(field('Signature')),
    age: Number(field('Age')),
    guid: field('GUID').replace(/[{}]/g, ''),
  };
}

export interface PdbutilStream {
  index: number;
  size: number;
  description: string;
  blocks?: number[];
}

export function parseStreams(lines: string[]): PdbutilStream[] {
  const out: PdbutilStream[] = [];
  for (const l of lines) {
    const m = /^\s*Stream\s+(\d+) \(\s*(\d+) bytes\): \[(.*)\]\s*$/.exec(l);
    if (m) {
      out.push({ index: Number(m[1]), size: Number(m[2]), description: m[3]! });
      continue;
    }
    const b = /^\s*Blocks: \[(.*)\]\s*$/.exec(l);
    if (b && out.length > 0) {
      out[out.length - 1]!.blocks = b[1]!.trim() === '' ? [] : b[1]!.split(',').map((x) => Number(x.trim()));
    }
  }
  return out;
}

export function parseStringTable(lines: string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const l of lines) {
    const m = /^\s*(\d+) \| '(.*)'\s*$/.exec(l);
    if (m) out.set(Number(m[1]), m[2]!);
  }
  return out;
}

export interface PdbutilModule {
  index: number;
  name: string;
  obj: string;
  debugStream: number;
  fileCount: number;
  pdbFileName: string;
  srcFileName: string;
  contribution?: PdbutilContribution;
}

export interface PdbutilContribution {
  section: number;
  offset: number;
  size: number;
  module: number;
  dataCrc: number;
  relocCrc: number;
  /** Characteristics flag names, e.g. IMAGE_SCN_CNT_CODE. */
  flags: string[];
}

const CONTRIB = /SC\[[^\]]*\]\s*\| mod = (\d+), (\d+):(\d+), size = (-?\d+), data crc = (\d+), reloc crc = (\d+)/;

function parseContribution(m: RegExpExecArray, flagLines: string[]): PdbutilContribution {
  return {
    module: Number(m[1]),
    section: Number(m[2]),
    offset: Number(m[3]),
    size: Number(m[4]),
    dataCrc: Number(m[5]),
    relocCrc: Number(m[6]),
    flags: flagLines
      .join(' ')
      .split('|')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== 'none'),
  };
}

/** Lines after `i` up to the next line matching `stop`. */
function continuation(lines: string[], i: number, stop: RegExp): string[] {
  const out: string[] = [];
  for (let k = i + 1; k < lines.length && !stop.test(lines[k]!) && lines[k]!.trim() !== ''; k++) out.push(lines[k]!);
  return out;
}

const MOD_HEADER = /^\s*Mod (\d{4}) \| `(.*)`:\s*$/;

export function parseModules(lines: string[]): PdbutilModule[] {
  const out: PdbutilModule[] = [];
  lines.forEach((l, i) => {
    const h = MOD_HEADER.exec(l);
    if (h) {
      out.push({ index: Number(h[1]), name: h[2]!, obj: '', debugStream: -1, fileCount: -1, pdbFileName: '', srcFileName: '' });
      return;
    }
    const cur = out[out.length - 1];
    if (!cur) return;
    const sc = CONTRIB.exec(l);
    if (sc) cur.contribution = parseContribution(sc, continuation(lines, i, /SC\[|Obj:|Mod \d/));
    const obj = /^\s*Obj: `(.*)`:\s*$/.exec(l);
    if (obj) cur.obj = obj[1]!;
    const ds = /^\s*debug stream: (\d+), # files: (\d+), has ec info: (\w+)/.exec(l);
    if (ds) {
      cur.debugStream = Number(ds[1]);
      cur.fileCount = Number(ds[2]);
    }
    const ni = /^\s*pdb file ni: \d+ `(.*)`, src file ni: \d+ `(.*)`\s*$/.exec(l);
    if (ni) {
      cur.pdbFileName = ni[1]!;
      cur.srcFileName = ni[2]!;
    }
  });
  return out;
}

export function parseSectionContributions(lines: string[]): PdbutilContribution[] {
  const out: PdbutilContribution[] = [];
  lines.forEach((l, i) => {
    const m = CONTRIB.exec(l);
    if (m) out.push(parseContribution(m, continuation(lines, i, /SC\[/)));
  });
  return out;
}

export interface PdbutilFile {
  path: string;
  checksumKind?: string;
  checksum?: string;
}

/** 'Files' section: module index -> its files. */
export function parseFiles(lines: string[]): Map<number, PdbutilFile[]> {
  const out = new Map<number, PdbutilFile[]>();
  let cur: PdbutilFile[] | undefined;
  for (const l of lines) {
    const h = MOD_HEADER.exec(l);
    if (h) {
      cur = [];
      out.set(Number(h[1]), cur);
      continue;
    }
    const f = /^\s*- (?:\(([\w-]+): ([0-9A-F]*)\) )?(.*)$/.exec(l);
    if (f && cur) cur.push({ path: f[3]!, ...(f[1] ? { checksumKind: f[1], checksum: f[2]! } : {}) });
  }
  return out;
}

export interface PdbutilRecord {
  offset: number;
  kind: string;
  size: number;
  /** The backquoted name on the header line, when there is one. */
  name?: string;
  /** Text after the size (and name) on the header line. */
  rest: string;
  /** Detail lines, trimmed and joined with ' | '. */
  details: string;
}

const RECORD = /^\s*(\d+) \| (S_[A-Z0-9_]+|\S+) \[size = (\d+)\](.*)$/;

/** Symbol records of one dump section, grouped by module (-1 when the section has no module headers). */
export function parseRecords(lines: string[]): Map<number, PdbutilRecord[]> {
  const out = new Map<number, PdbutilRecord[]>();
  let mod = -1;
  let cur: PdbutilRecord | undefined;
  for (const l of lines) {
    const h = MOD_HEADER.exec(l);
    if (h) {
      mod = Number(h[1]);
      out.set(mod, []);
      cur = undefined;
      continue;
    }
    const r = RECORD.exec(l);
    if (r) {
      let rest = r[4]!.trim();
      let name: string | undefined;
      const n = /^`(.*?)`(.*)$/.exec(rest);
      if (n) {
        name = n[1]!;
        rest = n[2]!.trim();
      }
      cur = { offset: Number(r[1]), kind: r[2]!, size: Number(r[3]), ...(name !== undefined ? { name } : {}), rest, details: '' };
      const list = out.get(mod) ?? [];
      out.set(mod, list);
      list.push(cur);
      continue;
    }
    if (cur && l.trim() !== '' && !/^\s*Records\s*$/.test(l)) {
      cur.details = cur.details === '' ? l.trim() : `${cur.details} | ${l.trim()}`;
    }
  }
  return out;
}

export interface PdbutilLineBlock {
  file: string;
  segment: number;
  start: number;
  end: number;
  entries: { line: number; offset: number; isStatement: boolean }[];
}

/** 'Lines' section (-l): module index -> line blocks. */
export function parseLines(lines: string[]): Map<number, PdbutilLineBlock[]> {
  const out = new Map<number, PdbutilLineBlock[]>();
  let mod: PdbutilLineBlock[] | undefined;
  let file = '';
  let block: PdbutilLineBlock | undefined;
  for (const l of lines) {
    const h = MOD_HEADER.exec(l);
    if (h) {
      mod = [];
      out.set(Number(h[1]), mod);
      block = undefined;
      continue;
    }
    const range = /^\s*(\d{4}):([0-9A-F]{8})-([0-9A-F]{8}), line\/(?:column\/)?addr entries = (\d+)/.exec(l);
    if (range && mod) {
      block = { file, segment: Number(range[1]), start: parseInt(range[2]!, 16), end: parseInt(range[3]!, 16), entries: [] };
      mod.push(block);
      continue;
    }
    const entries = [...l.matchAll(/(\d+) ([0-9A-F]{8})( !)?/g)];
    if (block && entries.length > 0 && /^\s+\d+ [0-9A-F]{8}/.test(l)) {
      for (const e of entries) block.entries.push({ line: Number(e[1]), offset: parseInt(e[2]!, 16), isStatement: e[3] === undefined });
      continue;
    }
    if (mod && l.trim() !== '' && !range) {
      file = l.trim().replace(/ \((?:[\w-]+: [0-9A-F]*|no checksum)\)$/, '');
      block = undefined;
    }
  }
  return out;
}

export interface PdbutilInlineeLine {
  inlinee: number;
  line: number;
  file: string;
  extraFiles: string[];
}

export function parseInlineeLines(lines: string[]): Map<number, PdbutilInlineeLine[]> {
  const out = new Map<number, PdbutilInlineeLine[]>();
  let cur: PdbutilInlineeLine[] | undefined;
  for (const l of lines) {
    const h = MOD_HEADER.exec(l);
    if (h) {
      cur = [];
      out.set(Number(h[1]), cur);
      continue;
    }
    const m = /^\s*0x([0-9A-F]+) \|\s+(\d+) \| (.*?)(?: \((?:[\w-]+: [0-9A-F]*|no checksum)\))?\s*$/.exec(l);
    if (m && cur) {
      cur.push({ inlinee: parseInt(m[1]!, 16), line: Number(m[2]), file: m[3]!, extraFiles: [] });
      continue;
    }
    const extra = /^\s{12,}(\S.*?)(?: \((?:[\w-]+: [0-9A-F]*|no checksum)\))?\s*$/.exec(l);
    const last = cur?.[cur.length - 1];
    if (extra && last) last.extraFiles.push(extra[1]!);
  }
  return out;
}

export interface PdbutilSectionHeader {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  characteristics: number;
}

export function parseSectionHeaders(lines: string[]): PdbutilSectionHeader[] {
  const out: PdbutilSectionHeader[] = [];
  let cur: Partial<PdbutilSectionHeader> | undefined;
  for (const l of lines) {
    if (/SECTION HEADER #\d+/.test(l)) {
      cur = {};
      out.push(cur as PdbutilSectionHeader);
      continue;
    }
    if (!cur) continue;
    const m = /^\s*(\S+) (name|virtual size|virtual address|flags)\s*$/.exec(l);
    if (!m) continue;
    if (m[2] === 'name') cur.name = m[1]!;
    else if (m[2] === 'virtual size') cur.virtualSize = parseInt(m[1]!, 16);
    else if (m[2] === 'virtual address') cur.virtualAddress = parseInt(m[1]!, 16);
    else cur.characteristics = parseInt(m[1]!, 16);
  }
  return out;
}

export interface PdbutilSectionMapEntry {
  ovl: number;
  group: number;
  frame: number;
  name: number;
  className: number;
  offset: number;
  size: number;
}

export function parseSectionMap(lines: string[]): PdbutilSectionMapEntry[] {
  const text = lines.join('\n');
  return [
    ...text.matchAll(
      /Section \d+ \| ovl = (\d+), group = (\d+), frame = (\d+), name = (\d+)\s+class = (\d+), offset = (\d+), size = (\d+)/g,
    ),
  ].map((m) => ({
    ovl: Number(m[1]),
    group: Number(m[2]),
    frame: Number(m[3]),
    name: Number(m[4]),
    className: Number(m[5]),
    offset: Number(m[6]),
    size: Number(m[7]),
  }));
}
