/**
 * writeDebugElf: the symbol file gdb loads for the kernel image. An ELF64
 * x86-64 file that holds no code or data, only where they are and what they
 * mean:
 *
 * - one SHT_NOBITS section per image section at load base + RVA (alloc, plus
 *   exec/write as the PE section says), and one memory-only PT_LOAD for each;
 *   gdb reads the bytes from the target, never from this file;
 * - .symtab/.strtab with every function and data symbol;
 * - DWARF 4 (.debug_info, .debug_abbrev, .debug_str, .debug_line,
 *   .debug_aranges, .debug_ranges) from the compile units.
 *
 * The file is ET_EXEC, with the load base baked into every address. An ET_DYN
 * exec file is position-independent to gdb: it looks for a displacement to
 * apply (from the target's auxv entry point against e_entry), and lldb treats
 * ET_DYN images as slidable; a remote kernel stub has no auxv, so the outcome
 * would depend on what the stub happens to answer. ET_EXEC addresses are
 * absolute by definition: gdb and lldb use sh_addr/p_vaddr as they are when the
 * file is loaded as the executable, with no relocation step.
 *
 * DWARF 4 rather than 5: gdb 13 and lldb 14 read both, but version 4 (line
 * table v4, .debug_ranges, DW_FORM_strp) is what both have read the longest and
 * needs no .debug_str_offsets/.debug_addr/.debug_line_str plumbing.
 */
import { JosgdbError } from '../common/errors';
import type { DebugModel } from '../symbols/debug-model';
import { buildDwarfSections } from './dwarf-sections';
import {
  EM_X86_64,
  ET_EXEC,
  PF_R,
  PF_W,
  PF_X,
  PT_LOAD,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHF_WRITE,
  SHT_NOBITS,
  SHT_PROGBITS,
  SHT_STRTAB,
  SHT_SYMTAB,
  writeElf64,
  type ElfSection,
  type ElfSegment,
} from './elf-writer';
import type { SourcePathStyle } from './paths';
import { encodeSymbolTable, modelSymbols, sectionLocator, SYM_SIZE, type PlacedSection } from './symtab';

export interface WriteDebugElfOptions {
  /** Address the image is loaded at; added to every RVA of the model. */
  loadBase: bigint;
  /** RVA of the entry point, for e_entry; 0 (no entry) when absent. */
  entryRva?: number;
  /** DW_AT_producer for compile units whose model gives none; default 'josgdb'. */
  defaultProducer?: string;
  /** How source paths are written; default 'forward-slashes' (see paths.ts). */
  pathStyle?: SourcePathStyle;
}

const U64_LIMIT = 1n << 64n;
/** Names this writer emits itself; an image section with one of them is left out. */
const RESERVED_SECTION = /^\.(debug_|symtab$|strtab$|shstrtab$)/;

function bad(message: string): never {
  throw new JosgdbError('BAD_ARGUMENT', `writeDebugElf: ${message}`);
}

function checkRva(what: string, rva: number, size: number): number {
  if (!Number.isSafeInteger(rva) || rva < 0) bad(`${what}: RVA ${rva} is not a non-negative integer`);
  if (!Number.isSafeInteger(size) || size < 0) bad(`${what}: size ${size} is not a non-negative integer`);
  return rva + size;
}

/** Checks every RVA and size, and that load base + the highest end fits in 64 bits. */
function validate(model: DebugModel, loadBase: bigint): void {
  if (loadBase < 0n || loadBase >= U64_LIMIT) bad(`load base ${loadBase} is not a 64-bit address`);
  let end = checkRva('image', 0, model.imageSize);
  for (const s of model.sections) end = Math.max(end, checkRva(`section ${s.name}`, s.rva, s.size));
  for (const cu of model.compileUnits) {
    for (const fn of cu.functions) end = Math.max(end, checkRva(`function ${fn.name}`, fn.rva, fn.size));
    for (const seq of cu.lineSequences) {
      end = Math.max(end, checkRva(`line sequence in ${cu.name}`, seq.startRva, seq.endRva - seq.startRva));
    }
  }
  for (const fn of model.publicFunctions) end = Math.max(end, checkRva(`function ${fn.name}`, fn.rva, fn.size));
  for (const d of model.dataSymbols) end = Math.max(end, checkRva(`data ${d.name}`, d.rva, d.size));
  if (loadBase + BigInt(end) > U64_LIMIT) bad(`load base 0x${loadBase.toString(16)} + 0x${end.toString(16)} overflows 64 bits`);
}

/** The largest power of two up to a page that divides `address`. */
function naturalAlignment(address: bigint): bigint {
  let align = 1n;
  while (align < 0x1000n && address % (align * 2n) === 0n) align *= 2n;
  return align;
}

export function writeDebugElf(model: DebugModel, options: WriteDebugElfOptions): Buffer {
  const { loadBase } = options;
  validate(model, loadBase);

  const sections: ElfSection[] = [];
  const segments: ElfSegment[] = [];
  const placed: PlacedSection[] = [];
  for (const s of model.sections) {
    if (RESERVED_SECTION.test(s.name)) continue;
    const addr = loadBase + BigInt(s.rva);
    let flags = SHF_ALLOC;
    if (s.executable) flags |= SHF_EXECINSTR;
    if (s.writable) flags |= SHF_WRITE;
    const align = naturalAlignment(addr);
    sections.push({ name: s.name, type: SHT_NOBITS, flags, addr, size: BigInt(s.size), addralign: Number(align) });
    placed.push({ rva: s.rva, size: s.size, index: sections.length });
    if (s.size > 0) {
      const pflags = PF_R | (s.executable ? PF_X : 0) | (s.writable ? PF_W : 0);
      segments.push({ type: PT_LOAD, flags: pflags, vaddr: addr, memsz: BigInt(s.size), align });
    }
  }
  segments.sort((a, b) => (a.vaddr < b.vaddr ? -1 : a.vaddr > b.vaddr ? 1 : 0)); // PT_LOADs ascend by address

  for (const d of buildDwarfSections(model, {
    loadBase,
    defaultProducer: options.defaultProducer ?? 'josgdb',
    pathStyle: options.pathStyle ?? 'forward-slashes',
  })) {
    sections.push({ name: d.name, type: SHT_PROGBITS, flags: 0n, addr: 0n, data: d.data, addralign: 1 });
  }

  const symbols = encodeSymbolTable(modelSymbols(model, loadBase, sectionLocator(placed)));
  const symtabIndex = sections.length + 1;
  sections.push({
    name: '.symtab',
    type: SHT_SYMTAB,
    flags: 0n,
    addr: 0n,
    data: symbols.symtab,
    link: symtabIndex + 1, // .strtab, next
    info: symbols.firstNonLocal,
    addralign: 8,
    entsize: SYM_SIZE,
  });
  sections.push({ name: '.strtab', type: SHT_STRTAB, flags: 0n, addr: 0n, data: symbols.strtab, addralign: 1 });

  const entry = options.entryRva === undefined ? 0n : loadBase + BigInt(options.entryRva);
  return writeElf64({ type: ET_EXEC, machine: EM_X86_64, entry, sections, segments });
}
