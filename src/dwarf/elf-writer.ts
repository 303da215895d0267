/**
 * The ELF64 little-endian container: header, program headers, section contents
 * and section headers, laid out as
 *
 *   [ELF header][program headers][section contents, each aligned][section headers]
 *
 * It knows nothing about DWARF or the model: callers give it sections (bytes,
 * or SHT_NOBITS with an address and a size) and segments. `.shstrtab` is added
 * last by the writer itself.
 */
import { JosgdbError } from '../common/errors';
import { SectionWriter } from './section-writer';
import { StringTable } from './string-table';

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_X86_64 = 62;

export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;

export const SHF_WRITE = 0x1n;
export const SHF_ALLOC = 0x2n;
export const SHF_EXECINSTR = 0x4n;

export const PT_LOAD = 1;
export const PF_X = 0x1;
export const PF_W = 0x2;
export const PF_R = 0x4;

export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
/** Section and segment counts beyond these need ELF extended numbering, which nothing here needs. */
const MAX_SECTIONS = 0xff00;

export interface ElfSection {
  name: string;
  type: number;
  flags: bigint;
  /** Address when loaded (SHF_ALLOC sections), else 0. */
  addr: bigint;
  /** Contents; absent for SHT_NOBITS. */
  data?: Buffer;
  /** Size in memory, for SHT_NOBITS (others use data.length). */
  size?: bigint;
  /** Section index (sh_link), e.g. a symbol table's string table. */
  link?: number;
  info?: number;
  addralign: number;
  entsize?: number;
}

/** A memory-only segment (p_filesz 0, p_offset 0, p_paddr = p_vaddr). */
export interface ElfSegment {
  type: number;
  flags: number;
  vaddr: bigint;
  memsz: bigint;
  /** Must divide `vaddr` (so p_offset 0 is congruent to it). */
  align: bigint;
}

export interface ElfImage {
  type: number;
  machine: number;
  entry: bigint;
  /** In section-header order; indices start at 1 (0 is the null section). */
  sections: ElfSection[];
  segments: ElfSegment[];
}

function alignUp(n: number, alignment: number): number {
  return alignment <= 1 ? n : Math.ceil(n / alignment) * alignment;
}

export function writeElf64(image: ElfImage): Buffer {
  const shstrtab = new StringTable('.shstrtab', true);
  const sections = [...image.sections];
  const nameOffsets = sections.map((s) => shstrtab.add(s.name));
  const shstrName = shstrtab.add('.shstrtab');
  sections.push({ name: '.shstrtab', type: SHT_STRTAB, flags: 0n, addr: 0n, data: shstrtab.finish(), addralign: 1 });
  nameOffsets.push(shstrName);
  const shnum = sections.length + 1;
  if (shnum >= MAX_SECTIONS) throw new JosgdbError('BAD_ARGUMENT', `ELF: ${shnum} sections is too many`);
  if (image.segments.length >= 0xffff) throw new JosgdbError('BAD_ARGUMENT', `ELF: too many segments`);

  // Layout.
  const phoff = EHDR_SIZE;
  let pos = phoff + image.segments.length * PHDR_SIZE;
  const offsets: number[] = [];
  for (const s of sections) {
    if (s.type === SHT_NOBITS) {
      offsets.push(pos); // occupies no file bytes
      continue;
    }
    pos = alignUp(pos, s.addralign);
    offsets.push(pos);
    pos += s.data?.length ?? 0;
  }
  const shoff = alignUp(pos, 8);
  const total = shoff + shnum * SHDR_SIZE;

  const w = new SectionWriter('ELF', total);
  // ELF header.
  w.bytes(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // magic
  w.u8(2); // ELFCLASS64
  w.u8(1); // ELFDATA2LSB
  w.u8(1); // EV_CURRENT
  w.u8(0); // ELFOSABI_NONE
  w.u8(0); // ABI version
  w.zeros(7);
  w.u16(image.type).u16(image.machine).u32(1);
  w.u64(image.entry).u64(image.segments.length > 0 ? phoff : 0).u64(shoff);
  w.u32(0); // e_flags
  w.u16(EHDR_SIZE).u16(PHDR_SIZE).u16(image.segments.length).u16(SHDR_SIZE).u16(shnum).u16(shnum - 1);

  // Program headers: memory only (p_filesz 0); p_offset 0 is congruent to
  // p_vaddr modulo p_align because callers pick an alignment dividing p_vaddr.
  for (const seg of image.segments) {
    w.u32(seg.type).u32(seg.flags);
    w.u64(0).u64(seg.vaddr).u64(seg.vaddr); // p_offset, p_vaddr, p_paddr (= vaddr: no overlays)
    w.u64(0).u64(seg.memsz).u64(seg.align);
  }

  // Section contents.
  sections.forEach((s, i) => {
    if (s.type === SHT_NOBITS || !s.data) return;
    w.zeros(offsets[i] - w.offset);
    w.bytes(s.data);
  });
  w.zeros(shoff - w.offset);

  // Section headers: the null section, then the sections.
  w.zeros(SHDR_SIZE);
  sections.forEach((s, i) => {
    const size = s.type === SHT_NOBITS ? (s.size ?? 0n) : BigInt(s.data?.length ?? 0);
    w.u32(nameOffsets[i]).u32(s.type).u64(s.flags).u64(s.addr).u64(offsets[i]).u64(size);
    w.u32(s.link ?? 0).u32(s.info ?? 0).u64(s.addralign).u64(s.entsize ?? 0);
  });
  return w.finish();
}
