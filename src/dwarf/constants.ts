/**
 * The DWARF numbers this writer uses (DWARF 4, with a few DWARF 5 values that
 * DWARF 4 consumers accept). Only what is emitted or is about to be emitted is
 * listed; add constants here, not as literals at the use site.
 */

export const DW_TAG = {
  array_type: 0x01,
  class_type: 0x02,
  enumeration_type: 0x04,
  formal_parameter: 0x05,
  lexical_block: 0x0b,
  member: 0x0d,
  pointer_type: 0x0f,
  reference_type: 0x10,
  compile_unit: 0x11,
  structure_type: 0x13,
  subroutine_type: 0x15,
  typedef: 0x16,
  union_type: 0x17,
  unspecified_parameters: 0x18,
  inheritance: 0x1c,
  ptr_to_member_type: 0x1f,
  subrange_type: 0x21,
  base_type: 0x24,
  const_type: 0x26,
  enumerator: 0x28,
  subprogram: 0x2e,
  variable: 0x34,
  volatile_type: 0x35,
  restrict_type: 0x37,
  namespace: 0x39,
  unspecified_type: 0x3b,
  rvalue_reference_type: 0x42,
} as const;

export const DW_AT = {
  sibling: 0x01,
  location: 0x02,
  name: 0x03,
  byte_size: 0x0b,
  bit_size: 0x0d,
  stmt_list: 0x10,
  low_pc: 0x11,
  high_pc: 0x12,
  language: 0x13,
  comp_dir: 0x1b,
  const_value: 0x1c,
  containing_type: 0x1d,
  upper_bound: 0x2f,
  producer: 0x25,
  prototyped: 0x27,
  accessibility: 0x32,
  artificial: 0x34,
  count: 0x37,
  data_member_location: 0x38,
  decl_file: 0x3a,
  decl_line: 0x3b,
  declaration: 0x3c,
  encoding: 0x3e,
  external: 0x3f,
  frame_base: 0x40,
  specification: 0x47,
  type: 0x49,
  virtuality: 0x4c,
  vtable_elem_location: 0x4d,
  ranges: 0x55,
  object_pointer: 0x64,
  data_bit_offset: 0x6b,
  linkage_name: 0x6e,
} as const;

export const DW_FORM = {
  addr: 0x01,
  block2: 0x03,
  block4: 0x04,
  data2: 0x05,
  data4: 0x06,
  data8: 0x07,
  string: 0x08,
  block: 0x09,
  block1: 0x0a,
  data1: 0x0b,
  flag: 0x0c,
  sdata: 0x0d,
  strp: 0x0e,
  udata: 0x0f,
  ref_addr: 0x10,
  ref1: 0x11,
  ref2: 0x12,
  ref4: 0x13,
  ref8: 0x14,
  ref_udata: 0x15,
  indirect: 0x16,
  sec_offset: 0x17,
  exprloc: 0x18,
  flag_present: 0x19,
} as const;

export const DW_CHILDREN_no = 0x00;
export const DW_CHILDREN_yes = 0x01;

export const DW_LANG = {
  C89: 0x0001,
  C: 0x0002,
  C_plus_plus: 0x0004,
  C99: 0x000c,
  Mips_Assembler: 0x8001,
} as const;

/** Standard line-number opcodes. */
export const DW_LNS = {
  copy: 0x01,
  advance_pc: 0x02,
  advance_line: 0x03,
  set_file: 0x04,
  set_column: 0x05,
  negate_stmt: 0x06,
  set_basic_block: 0x07,
  const_add_pc: 0x08,
  fixed_advance_pc: 0x09,
  set_prologue_end: 0x0a,
  set_epilogue_begin: 0x0b,
  set_isa: 0x0c,
} as const;

/** Extended line-number opcodes (introduced by a 0 byte and a ULEB length). */
export const DW_LNE = {
  end_sequence: 0x01,
  set_address: 0x02,
  define_file: 0x03,
  set_discriminator: 0x04,
} as const;

export const DW_OP = {
  addr: 0x03,
  deref: 0x06,
  const8u: 0x0e,
  const1u: 0x08,
  const1s: 0x09,
  constu: 0x10,
  consts: 0x11,
  plus_uconst: 0x23,
  reg0: 0x50,
  breg0: 0x70,
  regx: 0x90,
  fbreg: 0x91,
  bregx: 0x92,
  piece: 0x93,
  form_tls_address: 0x9b,
  call_frame_cfa: 0x9c,
  stack_value: 0x9f,
} as const;

export const DW_ATE = {
  address: 0x01,
  boolean: 0x02,
  complex_float: 0x03,
  float: 0x04,
  signed: 0x05,
  signed_char: 0x06,
  unsigned: 0x07,
  unsigned_char: 0x08,
  UTF: 0x10,
} as const;

export const DW_ACCESS = {
  public: 1,
  protected: 2,
  private: 3,
} as const;

export const DW_VIRTUALITY = {
  virtual: 1,
  pure_virtual: 2,
} as const;
