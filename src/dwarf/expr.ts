/**
 * DWARF expressions (DW_AT_frame_base, DW_AT_location, location lists): a
 * small builder producing the operation bytes for DW_FORM_exprloc.
 */
import { DW_OP } from './constants';
import { SectionWriter } from './section-writer';

export class DwarfExpr {
  private readonly w = new SectionWriter('DWARF expression', 16);

  /** DW_OP_call_frame_cfa: the canonical frame address from the CFI. */
  callFrameCfa(): this {
    this.w.u8(DW_OP.call_frame_cfa);
    return this;
  }

  /** DW_OP_addr: a fixed address. */
  addr(address: bigint): this {
    this.w.u8(DW_OP.addr).u64(address);
    return this;
  }

  /** DW_OP_fbreg: frame base plus `offset`. */
  fbreg(offset: number): this {
    this.w.u8(DW_OP.fbreg).sleb(offset);
    return this;
  }

  /** DW_OP_breg<n> / DW_OP_bregx: DWARF register `reg` plus `offset`. */
  breg(reg: number, offset: number): this {
    if (reg < 32) this.w.u8(DW_OP.breg0 + reg).sleb(offset);
    else this.w.u8(DW_OP.bregx).uleb(reg).sleb(offset);
    return this;
  }

  /** DW_OP_reg<n> / DW_OP_regx: the value lives in DWARF register `reg`. */
  reg(reg: number): this {
    if (reg < 32) this.w.u8(DW_OP.reg0 + reg);
    else this.w.u8(DW_OP.regx).uleb(reg);
    return this;
  }

  plusUconst(v: number): this {
    this.w.u8(DW_OP.plus_uconst).uleb(v);
    return this;
  }

  deref(): this {
    this.w.u8(DW_OP.deref);
    return this;
  }

  bytes(): Buffer {
    return this.w.finish();
  }
}

/** The frame base every function gets: the CFA, so gdb needs no frame-pointer guess. */
export const FRAME_BASE_CFA: Uint8Array = new DwarfExpr().callFrameCfa().bytes();
