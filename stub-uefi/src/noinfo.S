/* A hand-written function with no unwind data (no .seh_* directives, so no .pdata
 * entry even in the -funwind-tables build, and only a public symbol in the PDB):
 * a backtrace through it needs the stack scan. AT&T syntax, Win64 ABI.
 *
 * uint64_t demo_noinfo(uint64_t v) (rcx) -> demo_noinfo_callee(v + 1) + v
 *
 * Frame: two pushes and a 72-byte area (32 bytes of shadow space for the callee
 * and 40 of locals), which keeps rsp 16-byte aligned at the call. The area is
 * cleared first so that no stale return address of an earlier call lingers
 * below the real one for the scan to pick up. */
    .text
    .balign 16
    .globl demo_noinfo
demo_noinfo:
    pushq %rbx
    pushq %rsi
    subq $72, %rsp
    movq %rcx, %rbx                /* v, kept across the call */
    xorl %eax, %eax
    movl $9, %esi                  /* 9 qwords: the whole 72-byte area */
1:  movq %rax, -8(%rsp,%rsi,8)
    decl %esi
    jnz 1b
    movq %rbx, 32(%rsp)            /* a local: v */
    leaq 1(%rbx), %rcx
    call demo_noinfo_callee
    addq 32(%rsp), %rax
    addq $72, %rsp
    popq %rsi
    popq %rbx
    ret
