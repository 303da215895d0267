/**
 * Call-frame information in the DebugModel: for each function, how to find the
 * caller's frame at every address of its code. The unwinder (src/unwind)
 * produces it from .pdata/.xdata or from prologue analysis; the DWARF writer
 * turns it into .debug_frame. Format-free like the rest of the model: neither
 * side knows the other's encoding.
 */

/** A DWARF x86-64 register number (0 rax, 6 rbp, 7 rsp, 16 return address, 17.. xmm0.., 49 rflags, 51 cs, 52 ss). */
export type DwarfRegister = number;

/**
 * The CFA: the caller's rsp (the address above the return address of a call).
 * Normally `register + offset`; for an interrupt frame the interrupted code's
 * rsp is a value the CPU saved, so the CFA is `*(register + offset)`.
 */
export interface ModelCfaRule {
  register: DwarfRegister;
  offset: number;
  deref: boolean;
}

/** Where a saved value lives: at CFA + cfaOffset, or at a register of this frame + offset (interrupt frames). */
export type ModelSlot = { cfaOffset: number } | { register: DwarfRegister; offset: number };

/** The caller's value of `register` is saved at `slot`. Register 16 is the return address. */
export interface ModelSavedRegister {
  register: DwarfRegister;
  slot: ModelSlot;
}

/**
 * The rule from `rva` up to the next row (or the end of the function). The
 * return address is at CFA - 8 unless `saved` lists register 16. A row without
 * `cfa` says the caller cannot be found there (the debugger stops unwinding).
 */
export interface ModelFrameRow {
  rva: number;
  cfa: ModelCfaRule | undefined;
  /** Sorted by register number. */
  saved: ModelSavedRegister[];
}

export interface ModelFrameFunction {
  startRva: number;
  /** First RVA after the function. */
  endRva: number;
  /** Rows sorted by rva; the first row's rva is startRva. */
  rows: ModelFrameRow[];
  /** How the rows were derived, for people reading `monitor bt` or a dump. */
  source: 'unwind-info' | 'prologue-analysis' | 'abi-leaf' | 'machine-frame';
  /**
   * The code is entered by an interrupt, not a call (its rows describe a
   * machine frame): its caller's pc is the interrupted instruction itself, not
   * a return address a debugger should look up at pc - 1.
   */
  interruptEntry?: boolean;
}
