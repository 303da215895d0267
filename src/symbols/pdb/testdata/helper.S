/* PDB reader fixture: assembly without debug info, so its functions are
 * known only from publics (the PDB gives no size; the index infers one). */
  .text
  .globl asm_helper
asm_helper:
  mov %ecx, %eax
  add $1, %eax
  ret
  .globl asm_other
asm_other:
  xor %eax, %eax
  ret
