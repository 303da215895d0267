/**
 * Call-frame information in the DebugModel: for each function, how to find the
 * caller's frame at every address of its code. The unwinder (src/unwind)
 * produces it from .pdata/.xdata or from prologue analysis; the DWARF writer
 * turns it into .debug_frame. Format-free like the rest of the model: neither
 * side knows the other's encoding.
 */

/** A DWARF x86-64 register number (0 rax, 6 rbp, 7 rsp, 16 return address). */
export type DwarfRegister = number;

/** Where the caller's value of a register is: at CFA + cfaOffset (cfaOffset is negative). */
export interface ModelSavedRegister {
  register: DwarfRegister;
  cfaOffset: number;
}

/**
 * The rule from `rva` up to the next row (or the end of the function): the CFA
 * (the caller's rsp just before its CALL, i.e. the address above the return
 * address) is register + offset, and the return address is at CFA - 8.
 */
export interface ModelFrameRow {
  rva: number;
  cfaRegister: DwarfRegister;
  cfaOffset: number;
  saved: ModelSavedRegister[];
}

export interface ModelFrameFunction {
  startRva: number;
  /** First RVA after the function. */
  endRva: number;
  /** Rows sorted by rva; the first row's rva is startRva. */
  rows: ModelFrameRow[];
  /** How the rows were derived, for people reading `monitor bt` or a dump. */
  source: 'unwind-info' | 'prologue-analysis';
}
