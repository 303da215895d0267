/**
 * .debug_line: one DWARF 4 line-number program per compile unit. The header
 * carries the include directories and the file table; each address sequence
 * starts with DW_LNE_set_address and ends with DW_LNE_end_sequence at its end
 * address; rows are encoded with special opcodes where they fit.
 *
 * Addresses are given as RVAs plus one `addressBase` (the load base), so the
 * per-row work is plain number arithmetic.
 *
 * A row that only repeats the file, line and flags of the row before it is
 * left out, so the two become one address range. CodeView gives a loop on one
 * source line (`for (...) x += i;`) a row for its body and one for its
 * increment; as two rows, gdb's `next` range-steps each of them on its own,
 * one round trip to the target per row per iteration instead of one per line.
 */
import { JosgdbError } from '../common/errors';
import { DW_LNE, DW_LNS } from './constants';
import type { SectionWriter } from './section-writer';
import { absoluteAddress } from './absolute-address';

export const LINE_VERSION = 4;
const MIN_INSTRUCTION_LENGTH = 1;
const MAX_OPS_PER_INSTRUCTION = 1;
const DEFAULT_IS_STMT = true;
const LINE_BASE = -5;
const LINE_RANGE = 14;
const OPCODE_BASE = 13;
/** Operand counts of standard opcodes 1..12. */
const STANDARD_OPCODE_LENGTHS = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
/** Address advance of DW_LNS_const_add_pc (that of special opcode 255). */
const CONST_ADD_PC = Math.floor((255 - OPCODE_BASE) / LINE_RANGE);

export interface LineFile {
  /** Base name (or a path relative to the directory). */
  name: string;
  /** 0 = the compile directory, 1.. = `directories[index - 1]`. */
  dirIndex: number;
}

export interface LineRowInput {
  rva: number;
  /** A file reference, mapped to a DWARF file number through `fileNumbers`. */
  file: number;
  line: number;
  isStatement: boolean;
  /** Where a breakpoint on the function should go (DW_LNS_set_prologue_end; gdb 13 honours it). */
  prologueEnd?: boolean;
}

export interface LineSequenceInput {
  startRva: number;
  /** First address after the sequence. */
  endRva: number;
  rows: readonly LineRowInput[];
}

export interface LineProgramInput {
  /** Used in error messages. */
  what: string;
  /** Added to every RVA. */
  addressBase: bigint;
  /** include_directories, numbered from 1. */
  directories: readonly string[];
  /** file_names, numbered from 1. */
  files: readonly LineFile[];
  /** `fileNumbers[row.file]` is the row's 1-based DWARF file number. */
  fileNumbers: ArrayLike<number>;
  sequences: readonly LineSequenceInput[];
}

function bad(what: string, message: string): never {
  throw new JosgdbError('BAD_ARGUMENT', `.debug_line (${what}): ${message}`);
}

function writeHeader(w: SectionWriter, p: LineProgramInput): void {
  w.u8(MIN_INSTRUCTION_LENGTH)
    .u8(MAX_OPS_PER_INSTRUCTION)
    .u8(DEFAULT_IS_STMT ? 1 : 0)
    .u8(LINE_BASE & 0xff)
    .u8(LINE_RANGE)
    .u8(OPCODE_BASE);
  for (const n of STANDARD_OPCODE_LENGTHS) w.u8(n);
  for (const d of p.directories) {
    if (d === '') bad(p.what, 'an include directory is empty');
    w.cstring(d);
  }
  w.u8(0);
  for (const f of p.files) {
    if (f.name === '') bad(p.what, 'a file name is empty');
    if (f.dirIndex < 0 || f.dirIndex > p.directories.length) bad(p.what, `file ${f.name} has directory index ${f.dirIndex}`);
    w.cstring(f.name).uleb(f.dirIndex).uleb(0).uleb(0); // no modification time or length
  }
  w.u8(0);
}

function writeSequence(w: SectionWriter, p: LineProgramInput, seq: LineSequenceInput, index: number): void {
  const rows = seq.rows;
  const where = `sequence ${index} [0x${seq.startRva.toString(16)}, 0x${seq.endRva.toString(16)})`;
  if (!(seq.endRva > seq.startRva)) bad(p.what, `${where} is empty or reversed`);
  const fileCount = p.files.length;

  let address = rows[0].rva; // the sequence starts at its first row
  let file = 1;
  let line = 1;
  let isStmt = DEFAULT_IS_STMT;
  let previousRva = address; // the model's previous row, appended or not
  let appendedPrologueEnd = false; // whether the last appended row carries prologue_end

  w.u8(0).uleb(9).u8(DW_LNE.set_address).u64(absoluteAddress(p.addressBase, address));

  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!Number.isInteger(row.rva) || row.rva < previousRva || row.rva >= seq.endRva || (i === 0 && row.rva < seq.startRva)) {
      bad(p.what, `${where}: row ${i} at 0x${row.rva.toString(16)} is out of order or outside the sequence`);
    }
    previousRva = row.rva;
    const rowFile = p.fileNumbers[row.file];
    if (rowFile === undefined || rowFile < 1 || rowFile > fileCount) bad(p.what, `${where}: row ${i} names unknown file ${row.file}`);
    if (!Number.isInteger(row.line) || row.line < 0) bad(p.what, `${where}: row ${i} has line ${row.line}`);

    const prologueEnd = row.prologueEnd === true;
    // The same line again with no flag the appended row lacks: it only extends that row's range.
    if (i > 0 && rowFile === file && row.line === line && row.isStatement === isStmt && (!prologueEnd || appendedPrologueEnd)) continue;
    appendedPrologueEnd = prologueEnd;

    if (rowFile !== file) {
      w.u8(DW_LNS.set_file).uleb(rowFile);
      file = rowFile;
    }
    if (row.isStatement !== isStmt) {
      w.u8(DW_LNS.negate_stmt);
      isStmt = row.isStatement;
    }

    if (prologueEnd) w.u8(DW_LNS.set_prologue_end); // applies to the row appended next

    const addressDelta = row.rva - address;
    let lineDelta = row.line - line;
    if (lineDelta < LINE_BASE || lineDelta >= LINE_BASE + LINE_RANGE) {
      w.u8(DW_LNS.advance_line).sleb(lineDelta);
      lineDelta = 0;
    }
    let opcode = lineDelta - LINE_BASE + LINE_RANGE * addressDelta + OPCODE_BASE;
    if (opcode > 255) {
      const afterConstAdd = opcode - LINE_RANGE * CONST_ADD_PC;
      if (addressDelta >= CONST_ADD_PC && afterConstAdd <= 255) {
        w.u8(DW_LNS.const_add_pc);
        opcode = afterConstAdd;
      } else {
        w.u8(DW_LNS.advance_pc).uleb(addressDelta);
        opcode = lineDelta - LINE_BASE + OPCODE_BASE;
      }
    }
    w.u8(opcode); // special opcode: advance address and line, append a row
    address = row.rva;
    line = row.line;
  }

  const tail = seq.endRva - address;
  if (tail > 0) w.u8(DW_LNS.advance_pc).uleb(tail);
  w.u8(0).uleb(1).u8(DW_LNE.end_sequence);
}

/**
 * Appends one line-number program to .debug_line and returns its offset (the
 * compile unit's DW_AT_stmt_list). Sequences without rows are left out.
 */
export function writeLineProgram(w: SectionWriter, p: LineProgramInput): number {
  const start = w.offset;
  const length = w.beginUnitLength();
  w.u16(LINE_VERSION);
  const headerLengthAt = w.offset;
  w.u32(0);
  writeHeader(w, p);
  w.patchU32(headerLengthAt, w.offset - (headerLengthAt + 4));
  p.sequences.forEach((seq, i) => {
    if (seq.rows.length > 0) writeSequence(w, p, seq, i);
  });
  w.endUnitLength(length);
  return start;
}
