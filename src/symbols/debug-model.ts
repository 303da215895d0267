/**
 * What the gdb-facing symbol file is made from: a neutral description of the
 * image's code and data, with every address an RVA. The PDB side (src/symbols)
 * produces it; the ELF/DWARF writer (src/dwarf) consumes it and adds the load
 * base. Keeping this seam format-free means neither side knows the other's
 * format, and each is tested on its own.
 */
import type { ModelFrameFunction } from './debug-model-frames';
import type { ModelFunctionScope, ModelTypeInfo, ModelTypeRef } from './debug-model-types';

export interface DebugModel {
  /** Image name shown to users, e.g. 'BOOTX64.EFI'. */
  imageName: string;
  /** Size of the loaded image in bytes (PE SizeOfImage). */
  imageSize: number;
  sections: ModelSection[];
  compileUnits: ModelCompileUnit[];
  /** Functions known only from publics (no module symbols): assembly, stripped objects. */
  publicFunctions: ModelFunction[];
  dataSymbols: ModelDataSymbol[];
  /** Call-frame information per function, when the unwinder has derived it. */
  frames?: ModelFrameFunction[];
  /** Types from the PDB's TPI stream, when translated. */
  types?: ModelTypeInfo;
}

export interface ModelSection {
  /** PE section name, e.g. '.text'. */
  name: string;
  rva: number;
  size: number;
  executable: boolean;
  writable: boolean;
}

export interface ModelCompileUnit {
  /** Primary source or object name of the module, e.g. 'src/workload.c'. */
  name: string;
  /** Directory the compile ran in, when the PDB records it (S_BUILDINFO / LF_BUILDINFO). */
  compDir?: string;
  producer?: string;
  language: 'c' | 'c++' | 'asm' | 'other';
  /** Source file paths as the PDB records them; indices into this list are used below. */
  files: string[];
  functions: ModelFunction[];
  /** Contiguous address ranges with their line rows; rows sorted by rva within a sequence. */
  lineSequences: ModelLineSequence[];
}

export interface ModelFunction {
  name: string;
  rva: number;
  /** Code size in bytes; 0 when unknown (publics without a matching procedure). */
  size: number;
  /** Index into the compile unit's `files`, when known. */
  declFile?: number;
  declLine?: number;
  /** Visible outside its module (S_GPROC32 vs S_LPROC32). */
  external: boolean;
  /** The function's type (return and parameter types), when translated. */
  type?: ModelTypeRef;
  /** Parameters, locals and lexical blocks, when translated. */
  scope?: ModelFunctionScope;
}

export interface ModelLineSequence {
  startRva: number;
  /** First address after the sequence. */
  endRva: number;
  rows: ModelLineRow[];
}

export interface ModelLineRow {
  rva: number;
  file: number;
  line: number;
  isStatement: boolean;
  /** The end of the function's prologue: where `break FUNCTION` should stop. */
  prologueEnd?: boolean;
}

export interface ModelDataSymbol {
  name: string;
  rva: number;
  /** Size in bytes; 0 when unknown. */
  size: number;
  external: boolean;
  /** The variable's type, when translated. */
  type?: ModelTypeRef;
  /**
   * The compile unit that declares it (an index into `compileUnits`): two
   * modules' statics of one name each stay visible from their own code. Data
   * without a unit goes to the unit that holds the shared types.
   */
  compileUnit?: number;
}
