/**
 * The ELF symbol table (.symtab + .strtab): every function (compile-unit and
 * public-only) as STT_FUNC and every data symbol as STT_OBJECT, at load base +
 * RVA, with its size and binding (external -> STB_GLOBAL, else STB_LOCAL), in
 * the section that contains it. gdb's minimal symbols come from here, which is
 * how public-only functions and data get names without DWARF.
 */
import type { DebugModel } from '../symbols/debug-model';
import { SHN_ABS } from './elf-writer';
import { SectionWriter } from './section-writer';
import { StringTable } from './string-table';
import { rangeHolding } from '../common/sorted';

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const SYM_SIZE = 24;

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: number;
  type: number;
  binding: number;
  /** Section header index, or SHN_ABS. */
  shndx: number;
}

export interface EncodedSymbolTable {
  symtab: Buffer;
  strtab: Buffer;
  /** Index of the first non-local symbol (the .symtab sh_info). */
  firstNonLocal: number;
}

function compareSymbols(a: ElfSymbol, b: ElfSymbol): number {
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.type - b.type;
}

/** Encodes symbols: the null symbol, the locals, then the rest (ELF requires locals first), each group by address. */
export function encodeSymbolTable(symbols: readonly ElfSymbol[]): EncodedSymbolTable {
  const locals = symbols.filter((s) => s.binding === STB_LOCAL).sort(compareSymbols);
  const others = symbols.filter((s) => s.binding !== STB_LOCAL).sort(compareSymbols);
  const strtab = new StringTable('.strtab', true);
  const w = new SectionWriter('.symtab', (symbols.length + 1) * SYM_SIZE);
  w.zeros(SYM_SIZE); // index 0: the undefined symbol
  for (const s of [...locals, ...others]) {
    w.u32(strtab.add(s.name))
      .u8((s.binding << 4) | (s.type & 0xf))
      .u8(0) // STV_DEFAULT
      .u16(s.shndx)
      .u64(s.value)
      .u64(s.size);
  }
  return { symtab: w.finish(), strtab: strtab.finish(), firstNonLocal: 1 + locals.length };
}

export interface PlacedSection {
  rva: number;
  size: number;
  /** Its ELF section header index. */
  index: number;
}

/** Finds the section holding an RVA (binary search over the sections in address order); SHN_ABS when none does. */
export function sectionLocator(sections: readonly PlacedSection[]): (rva: number) => number {
  const sorted = sections.filter((s) => s.size > 0).sort((a, b) => a.rva - b.rva);
  return (rva) => rangeHolding(sorted, rva, (s) => s.rva, (s) => s.rva + s.size)?.index ?? SHN_ABS;
}

/** The model's functions and data as ELF symbols. */
export function modelSymbols(model: DebugModel, loadBase: bigint, sectionOf: (rva: number) => number): ElfSymbol[] {
  const out: ElfSymbol[] = [];
  const add = (name: string, rva: number, size: number, external: boolean, type: number): void => {
    out.push({
      name,
      value: loadBase + BigInt(rva),
      size,
      type,
      binding: external ? STB_GLOBAL : STB_LOCAL,
      shndx: sectionOf(rva),
    });
  };
  for (const cu of model.compileUnits) {
    for (const fn of cu.functions) add(fn.name, fn.rva, fn.size, fn.external, STT_FUNC);
  }
  for (const fn of model.publicFunctions) add(fn.name, fn.rva, fn.size, fn.external, STT_FUNC);
  for (const d of model.dataSymbols) add(d.name, d.rva, d.size, d.external, STT_OBJECT);
  return out;
}
