/**
 * C13 debug subsections, the part of a module stream after its symbols: line
 * tables (DEBUG_S_LINES), the file checksum table they refer to
 * (DEBUG_S_FILECHKSMS), inlinee source positions (DEBUG_S_INLINEELINES).
 * Other subsection kinds are kept raw.
 */
import { CvReader } from '../codeview/cv-reader';

export const DEBUG_S_IGNORE = 0x80000000;
export const DEBUG_S_SYMBOLS = 0xf1;
export const DEBUG_S_LINES = 0xf2;
export const DEBUG_S_STRINGTABLE = 0xf3;
export const DEBUG_S_FILECHKSMS = 0xf4;
export const DEBUG_S_FRAMEDATA = 0xf5;
export const DEBUG_S_INLINEELINES = 0xf6;
export const DEBUG_S_CROSSSCOPEIMPORTS = 0xf7;
export const DEBUG_S_CROSSSCOPEEXPORTS = 0xf8;

/** Line numbers MSVC uses to mark compiler-generated code with no source line. */
export const HIDDEN_LINE_NUMBERS: ReadonlySet<number> = new Set([0xfeefee, 0xf00f00]);

export const CV_LINES_HAVE_COLUMNS = 0x1;

export interface RawSubsection {
  kind: number;
  /** Offset of the subsection header in the module stream. */
  offset: number;
  data: Uint8Array;
}

export interface LineEntry {
  /** Code offset relative to the block's `relocOffset`. */
  offset: number;
  line: number;
  /** lineEnd - line, 0..127. */
  deltaLineEnd: number;
  isStatement: boolean;
  startColumn?: number;
  endColumn?: number;
}

export interface LineBlock {
  /** Offset of the file's entry in the module's checksum subsection. */
  fileChecksumOffset: number;
  lines: LineEntry[];
}

/** One DEBUG_S_LINES subsection: the lines of one contiguous code range (usually one function). */
export interface LinesSubsection {
  relocSegment: number;
  relocOffset: number;
  codeSize: number;
  flags: number;
  hasColumns: boolean;
  blocks: LineBlock[];
}

export const CHECKSUM_NONE = 0;
export const CHECKSUM_MD5 = 1;
export const CHECKSUM_SHA1 = 2;
export const CHECKSUM_SHA256 = 3;

export interface FileChecksum {
  /** Offset of this entry in the subsection: what line blocks and inlinee lines refer to. */
  entryOffset: number;
  /** Offset of the file name in '/names'. */
  fileNameOffset: number;
  kind: number;
  checksum: Uint8Array;
}

export interface InlineeSourceLine {
  /** LF_FUNC_ID / LF_MFUNC_ID in the IPI stream. */
  inlinee: number;
  fileChecksumOffset: number;
  sourceLine: number;
  extraFiles: number[];
}

export function readSubsections(r: CvReader): RawSubsection[] {
  const out: RawSubsection[] = [];
  while (!r.atEnd) {
    const offset = r.base + r.offset;
    const kind = r.u32();
    const length = r.u32();
    if (length > r.remaining) r.fail(`subsection 0x${kind.toString(16)} of ${length} bytes runs past the end (${r.remaining} left)`, r.offset - 4);
    out.push({ kind, offset, data: r.bytes(length) });
    r.align(4);
  }
  return out;
}

function reader(sub: RawSubsection, file: string, part: string, name: string): CvReader {
  return new CvReader(sub.data, file, `${part} ${name}`, 0, sub.offset + 8);
}

export function readLines(sub: RawSubsection, file: string, part: string): LinesSubsection {
  const r = reader(sub, file, part, 'DEBUG_S_LINES');
  const relocOffset = r.u32();
  const relocSegment = r.u16();
  const flags = r.u16();
  const codeSize = r.u32();
  const hasColumns = (flags & CV_LINES_HAVE_COLUMNS) !== 0;
  const blocks: LineBlock[] = [];
  while (!r.atEnd) {
    const at = r.offset;
    const fileChecksumOffset = r.u32();
    const numLines = r.u32();
    const blockSize = r.u32();
    const need = numLines * (hasColumns ? 12 : 8);
    if (need > r.remaining) r.fail(`${numLines} line entries need ${need} bytes, ${r.remaining} left`, at);
    if (blockSize < 12 + need) r.fail(`block size ${blockSize} smaller than its ${numLines} entries`, at);
    const lines: LineEntry[] = [];
    for (let i = 0; i < numLines; i++) {
      const offset = r.u32();
      const word = r.u32();
      lines.push({ offset, line: word & 0xffffff, deltaLineEnd: (word >>> 24) & 0x7f, isStatement: (word >>> 31) === 1 });
    }
    if (hasColumns) {
      for (const l of lines) {
        l.startColumn = r.u16();
        l.endColumn = r.u16();
      }
    }
    // The block size is authoritative (as in LLVM's reader): skip anything a
    // writer placed after the entries.
    const extra = at + blockSize - r.offset;
    if (extra > r.remaining) r.fail(`block size ${blockSize} runs past the end of the subsection`, at);
    r.skip(extra);
    blocks.push({ fileChecksumOffset, lines });
  }
  return { relocSegment, relocOffset, codeSize, flags, hasColumns, blocks };
}

/** Where one block's entries lie in its DEBUG_S_LINES data, found by `scanLines`. */
export interface LineBlockLayout {
  fileChecksumOffset: number;
  numLines: number;
  /** Offset in the subsection data of the first 8-byte entry. */
  entriesAt: number;
  /** Offset of the first 4-byte column entry; -1 without columns. */
  columnsAt: number;
}

/** A DEBUG_S_LINES subsection checked like `readLines`, with its entries left in place. */
export interface LinesLayout {
  relocSegment: number;
  relocOffset: number;
  codeSize: number;
  flags: number;
  hasColumns: boolean;
  data: Uint8Array;
  blocks: LineBlockLayout[];
  /** Entries in all blocks. */
  lineCount: number;
}

/**
 * Checks a DEBUG_S_LINES subsection exactly as `readLines` does (the same
 * errors at the same offsets) but decodes no entries: a reader that needs
 * them once, or only some, reads them from the bytes at the offsets recorded.
 */
export function scanLines(sub: RawSubsection, file: string, part: string): LinesLayout {
  const r = reader(sub, file, part, 'DEBUG_S_LINES');
  const relocOffset = r.u32();
  const relocSegment = r.u16();
  const flags = r.u16();
  const codeSize = r.u32();
  const hasColumns = (flags & CV_LINES_HAVE_COLUMNS) !== 0;
  const blocks: LineBlockLayout[] = [];
  let lineCount = 0;
  while (!r.atEnd) {
    const at = r.offset;
    const fileChecksumOffset = r.u32();
    const numLines = r.u32();
    const blockSize = r.u32();
    const need = numLines * (hasColumns ? 12 : 8);
    if (need > r.remaining) r.fail(`${numLines} line entries need ${need} bytes, ${r.remaining} left`, at);
    if (blockSize < 12 + need) r.fail(`block size ${blockSize} smaller than its ${numLines} entries`, at);
    const entriesAt = r.offset;
    r.skip(numLines * 8);
    const columnsAt = hasColumns ? r.offset : -1;
    if (hasColumns) r.skip(numLines * 4);
    const extra = at + blockSize - r.offset;
    if (extra > r.remaining) r.fail(`block size ${blockSize} runs past the end of the subsection`, at);
    r.skip(extra);
    blocks.push({ fileChecksumOffset, numLines, entriesAt, columnsAt });
    lineCount += numLines;
  }
  return { relocSegment, relocOffset, codeSize, flags, hasColumns, data: sub.data, blocks, lineCount };
}

const u32At = (d: Uint8Array, at: number): number => (d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24)) >>> 0;

/**
 * `scanLines` for the subsection whose data is `data[start, start + length)`
 * (its header at `subOffset`), reading the bytes in place: no reader, no
 * view per subsection. Offsets in the result are offsets in `data`. Anything
 * malformed is handed to `scanLines`, which raises the error it always has.
 */
export function scanLinesIn(data: Uint8Array, start: number, length: number, subOffset: number, file: string, part: string): LinesLayout {
  const end = start + length;
  const checked = (): LinesLayout => scanLines({ kind: DEBUG_S_LINES, offset: subOffset, data: data.subarray(start, end) }, file, part);
  if (length < 12) return checked();
  const relocOffset = u32At(data, start);
  const relocSegment = data[start + 4]! | (data[start + 5]! << 8);
  const flags = data[start + 6]! | (data[start + 7]! << 8);
  const codeSize = u32At(data, start + 8);
  const hasColumns = (flags & CV_LINES_HAVE_COLUMNS) !== 0;
  const blocks: LineBlockLayout[] = [];
  let lineCount = 0;
  let at = start + 12;
  while (at < end) {
    if (end - at < 12) return checked();
    const fileChecksumOffset = u32At(data, at);
    const numLines = u32At(data, at + 4);
    const blockSize = u32At(data, at + 8);
    const need = numLines * (hasColumns ? 12 : 8);
    if (need > end - at - 12 || blockSize < 12 + need || blockSize > end - at) return checked();
    const entriesAt = at + 12;
    blocks.push({ fileChecksumOffset, numLines, entriesAt, columnsAt: hasColumns ? entriesAt + numLines * 8 : -1 });
    lineCount += numLines;
    at += blockSize;
  }
  return { relocSegment, relocOffset, codeSize, flags, hasColumns, data, blocks, lineCount };
}

export function readFileChecksums(sub: RawSubsection, file: string, part: string): FileChecksum[] {
  const r = reader(sub, file, part, 'DEBUG_S_FILECHKSMS');
  const out: FileChecksum[] = [];
  while (!r.atEnd) {
    const entryOffset = r.offset;
    const fileNameOffset = r.u32();
    const size = r.u8();
    const kind = r.u8();
    out.push({ entryOffset, fileNameOffset, kind, checksum: r.bytes(size) });
    r.align(4);
  }
  return out;
}

export function readInlineeLines(sub: RawSubsection, file: string, part: string): InlineeSourceLine[] {
  const r = reader(sub, file, part, 'DEBUG_S_INLINEELINES');
  const signature = r.u32();
  if (signature !== 0 && signature !== 1) r.fail(`unknown inlinee lines signature ${signature}`, 0);
  const out: InlineeSourceLine[] = [];
  while (!r.atEnd) {
    const inlinee = r.u32();
    const fileChecksumOffset = r.u32();
    const sourceLine = r.u32();
    const extraFiles: number[] = [];
    if (signature === 1) {
      const at = r.offset;
      const n = r.u32();
      if (n > r.remaining / 4) r.fail(`${n} extra files run past the end`, at);
      for (let i = 0; i < n; i++) extraFiles.push(r.u32());
    }
    out.push({ inlinee, fileChecksumOffset, sourceLine, extraFiles });
  }
  return out;
}
