/**
 * The ELF/DWARF writer: a DebugModel (src/symbols/debug-model.ts) in, the
 * symbol file gdb and lldb load out. Layers, bottom up: LEB128 and section
 * buffers with fixups; abbreviations, DIEs, expressions, line programs and
 * range lists (DWARF encoding); the model translation (debug-info,
 * dwarf-sections, symtab); the ELF container (elf-writer); writeDebugElf.
 */
export { writeDebugElf, type WriteDebugElfOptions } from './write-debug-elf';
export { buildDwarfSections, compileUnitRanges, type DwarfBuildOptions, type NamedSection } from './dwarf-sections';
export { normalizeSourcePath, splitSourcePath, type SourcePathStyle, type SplitPath } from './paths';
export { encodeUleb, encodeSleb, decodeUleb, decodeSleb, writeUleb, writeSleb } from './leb128';
export { SectionWriter, Label } from './section-writer';
export { StringTable } from './string-table';
export { AbbrevTable, type AttrSpec } from './abbrev';
export { Die, writeUnit, DWARF_VERSION, type UnitContext } from './die';
export { DwarfExpr, FRAME_BASE_CFA } from './expr';
export { writeLineProgram, type LineProgramInput, type LineSequenceInput, type LineRowInput } from './debug-line';
export { mergeRanges, writeRangeList, writeArangesSet, type RvaRange } from './address-ranges';
export { writeElf64, type ElfImage, type ElfSection, type ElfSegment } from './elf-writer';
