/* Hand-written x64 functions for the unwinder's tests (AT&T syntax, Microsoft
 * x64 ABI), built into a PE by the tests with clang and lld-link. The .seh_*
 * directives make the assembler write .pdata/.xdata for every unwind operation
 * the format has; the same code without them is what prologue analysis reads.
 * Labels named fx_*_epilog mark where an epilog starts (for version 2 records
 * the tests write by hand). Functions without .seh_proc have no unwind data. */
    .text

    .globl fx_entry
fx_entry:
    ret

/* A leaf: no unwind data, never touches rsp. */
    .p2align 4
    .globl fx_leaf
fx_leaf:
    movq %rcx, %rax
    ret

/* Pushes and a small allocation; two epilogs, the second a tail jump. */
    .p2align 4
    .globl fx_pushes
    .seh_proc fx_pushes
fx_pushes:
    pushq %rbx
    .seh_pushreg %rbx
    pushq %r12
    .seh_pushreg %r12
    subq $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    movq %rcx, %rbx
    movq %rdx, %r12
    testq %rcx, %rcx
    je 1f
    call fx_leaf
    xorq %rbx, %rax
    .globl fx_pushes_epilog1
fx_pushes_epilog1:
    addq $40, %rsp
    popq %r12
    popq %rbx
    ret
1:  xorl %eax, %eax
    .globl fx_pushes_epilog2
fx_pushes_epilog2:
    addq $40, %rsp
    popq %r12
    popq %rbx
    jmp fx_leaf
    .seh_endproc

/* A frame register at an offset, a variable-size allocation (alloca), an xmm
 * and a register saved by mov, and the lea-rsp epilog. */
    .p2align 4
    .globl fx_frame
    .seh_proc fx_frame
fx_frame:
    pushq %rbp
    .seh_pushreg %rbp
    pushq %rsi
    .seh_pushreg %rsi
    subq $0x48, %rsp
    .seh_stackalloc 0x48
    leaq 0x20(%rsp), %rbp
    .seh_setframe %rbp, 0x20
    movaps %xmm6, 0x30(%rsp)
    .seh_savexmm %xmm6, 0x30
    movq %rdi, 0x40(%rsp)
    .seh_savereg %rdi, 0x40
    .seh_endprologue
    movq %rcx, %rsi
    leaq 15(%rcx), %rax
    andq $-16, %rax
    subq %rax, %rsp
    movq %rsp, %rcx
    call fx_leaf
    xorps %xmm6, %xmm6
    xorl %edi, %edi
    movaps 0x10(%rbp), %xmm6
    movq 0x20(%rbp), %rdi
    leaq 0x28(%rbp), %rsp
    popq %rsi
    popq %rbp
    ret
    .seh_endproc

/* Allocations in every size class: ALLOC_LARGE with a 32-bit size, and saves
 * far enough up to need SAVE_NONVOL_FAR and SAVE_XMM128_FAR. */
    .p2align 4
    .globl fx_big
    .seh_proc fx_big
fx_big:
    pushq %r15
    .seh_pushreg %r15
    subq $0x110000, %rsp
    .seh_stackalloc 0x110000
    movq %rbx, 0x80000(%rsp)
    .seh_savereg %rbx, 0x80000
    movaps %xmm7, 0x100000(%rsp)
    .seh_savexmm %xmm7, 0x100000
    movq %r13, 0x18(%rsp)
    .seh_savereg %r13, 0x18
    .seh_endprologue
    xorl %ebx, %ebx
    xorl %r13d, %r13d
    xorl %r15d, %r15d
    xorps %xmm7, %xmm7
    call fx_leaf
    movq 0x80000(%rsp), %rbx
    movaps 0x100000(%rsp), %xmm7
    movq 0x18(%rsp), %r13
    addq $0x110000, %rsp
    popq %r15
    ret
    .seh_endproc

/* ALLOC_LARGE with a 16-bit size, and clang's `push rax` as an 8-byte allocation. */
    .p2align 4
    .globl fx_medium
    .seh_proc fx_medium
fx_medium:
    pushq %rdi
    .seh_pushreg %rdi
    pushq %rax
    .seh_stackalloc 8
    subq $0x2000, %rsp
    .seh_stackalloc 0x2000
    .seh_endprologue
    xorl %edi, %edi
    call fx_leaf
    addq $0x2008, %rsp
    popq %rdi
    ret
    .seh_endproc

/* An interrupt handler with unwind data: the CPU pushed a machine frame with an error code. */
    .p2align 4
    .globl fx_trap
    .seh_proc fx_trap
fx_trap:
    .seh_pushframe @code
    pushq %rbp
    .seh_pushreg %rbp
    movq %rsp, %rbp
    .seh_setframe %rbp, 0
    subq $0x30, %rsp
    .seh_stackalloc 0x30
    .seh_endprologue
    andq $-64, %rsp
    xorl %eax, %eax
    movq %rbp, %rsp
    popq %rbp
    addq $8, %rsp
    iretq
    .seh_endproc

/* The same without an error code. */
    .p2align 4
    .globl fx_trap_noerror
    .seh_proc fx_trap_noerror
fx_trap_noerror:
    .seh_pushframe
    pushq %rbx
    .seh_pushreg %rbx
    .seh_endprologue
    xorl %ebx, %ebx
    popq %rbx
    iretq
    .seh_endproc

/* A function in two parts: the second's unwind info chains to the first's. */
    .p2align 4
    .globl fx_chained
    .seh_proc fx_chained
fx_chained:
    pushq %rbx
    .seh_pushreg %rbx
    subq $32, %rsp
    .seh_stackalloc 32
    .seh_endprologue
    xorl %ebx, %ebx
    .seh_startchained
    pushq %rsi
    .seh_pushreg %rsi
    .seh_endprologue
    xorl %esi, %esi
    call fx_leaf
    popq %rsi
    .seh_endchained
    addq $32, %rsp
    popq %rbx
    ret
    .seh_endproc

/* Exception and termination handler flags, with handler data after the record. */
    .p2align 4
    .globl fx_handler
    .seh_proc fx_handler
fx_handler:
    .seh_handler fx_entry, @unwind, @except
    pushq %rbx
    .seh_pushreg %rbx
    .seh_endprologue
    xorl %ebx, %ebx
    popq %rbx
    ret
    .seh_handlerdata
    .long 0x12345678, 0x9abcdef0
    .text
    .seh_endproc

/* A switch through a jump table in the code: a case that traps (ud2, as inline
 * assembly leaves it) and one that never returns are reached only through the table. */
    .p2align 4
    .globl fx_switch
    .seh_proc fx_switch
fx_switch:
    pushq %rsi
    .seh_pushreg %rsi
    subq $32, %rsp
    .seh_stackalloc 32
    .seh_endprologue
    movl %ecx, %esi
    cmpl $2, %ecx
    ja 9f
    leaq 8f(%rip), %rax
    movslq (%rax,%rcx,4), %rcx
    addq %rax, %rcx
    jmpq *%rcx
0:  call fx_leaf
    jmp 9f
1:  ud2
    jmp 9f
2:  cli
3:  hlt
    jmp 3b
9:  addq $32, %rsp
    popq %rsi
    ret
    .p2align 2
8:  .long 0b-8b, 1b-8b, 2b-8b
    .seh_endproc

/* A call chain for the walker: outer -> middle -> noinfo (no unwind data) -> inner, which stops at an int3. */
    .p2align 4
    .globl fx_outer
    .seh_proc fx_outer
fx_outer:
    pushq %rbx
    .seh_pushreg %rbx
    subq $32, %rsp
    .seh_stackalloc 32
    .seh_endprologue
    movq $0x1111, %rbx
    call fx_middle
    addq $32, %rsp
    popq %rbx
    ret
    .seh_endproc

    .p2align 4
    .globl fx_middle
    .seh_proc fx_middle
fx_middle:
    pushq %rsi
    .seh_pushreg %rsi
    pushq %rdi
    .seh_pushreg %rdi
    subq $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    movq $0x2222, %rsi
    movq $0x3333, %rdi
    call fx_noinfo
    addq $40, %rsp
    popq %rdi
    popq %rsi
    ret
    .seh_endproc

    .p2align 4
    .globl fx_noinfo
fx_noinfo:
    pushq %r12
    subq $48, %rsp
    movq $0x4444, %r12
    call fx_inner
    addq $48, %rsp
    popq %r12
    ret

    .p2align 4
    .globl fx_inner
    .seh_proc fx_inner
fx_inner:
    pushq %rbx
    .seh_pushreg %rbx
    subq $32, %rsp
    .seh_stackalloc 32
    .seh_endprologue
    movq $0x5555, %rbx
    int3
    addq $32, %rsp
    popq %rbx
    ret
    .seh_endproc

/* An interrupt in the middle of fx_victim, entering through stub-style vector
 * stubs and a common entry without unwind data, into a handler that stops. */
    .p2align 4
    .globl fx_irq_outer
    .seh_proc fx_irq_outer
fx_irq_outer:
    pushq %r14
    .seh_pushreg %r14
    subq $32, %rsp
    .seh_stackalloc 32
    .seh_endprologue
    movq $0x7777, %r14
    call fx_victim
    addq $32, %rsp
    popq %r14
    ret
    .seh_endproc

    .p2align 4
    .globl fx_victim
    .seh_proc fx_victim
fx_victim:
    pushq %rbx
    .seh_pushreg %rbx
    subq $32, %rsp
    .seh_stackalloc 32
    .seh_endprologue
    movq $0x8888, %rbx
    .globl fx_victim_interrupted
fx_victim_interrupted:
    nop
    addq $32, %rsp
    popq %rbx
    ret
    .seh_endproc

    .p2align 4
    .globl fx_isr_0
fx_isr_0:
    pushq $0
    pushq $0
    jmp fx_isr_common
    .p2align 4
    .globl fx_isr_14
fx_isr_14:
    pushq $14
    jmp fx_isr_common
    .p2align 4
    .globl fx_isr_common
fx_isr_common:
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rbp
    pushq %rsi
    pushq %rdi
    cld
    movq %rsp, %rbp
    movq %rsp, %rcx
    subq $528, %rsp
    andq $-16, %rsp
    movq %rsp, %rbx
    subq $32, %rsp
    call fx_isr_handler
    movq %rbp, %rsp
    popq %rdi
    popq %rsi
    popq %rbp
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    addq $16, %rsp
    iretq

    .p2align 4
    .globl fx_isr_handler
    .seh_proc fx_isr_handler
fx_isr_handler:
    pushq %rbx
    .seh_pushreg %rbx
    subq $32, %rsp
    .seh_stackalloc 32
    .seh_endprologue
    movq $0x9999, %rbx
    int3
    addq $32, %rsp
    popq %rbx
    ret
    .seh_endproc

    .data
    .p2align 3
    .globl fx_vectors
fx_vectors:
    .quad fx_isr_0
    .quad fx_isr_14
