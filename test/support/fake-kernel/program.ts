/**
 * The fake kernel's built-in image: a PE-ish header at IMAGE_BASE, real x86-64
 * machine code at IMAGE_BASE+0x1000 and globals at IMAGE_BASE+0x2000, assembled by a
 * tiny two-pass assembler so every label is an exported symbol.
 *
 *   efi_main:  sub rsp,0x28; call main                      (the entry point)
 *   main:      push rbp; mov rbp,rsp; sub rsp,0x20
 *   main_loop: call func_a; inc [g_counter]; mov rax,[g_trigger]; cmp rax,0; jne main_trigger; jmp main_loop
 *   main_trigger: mov [g_trigger],0; cmp/je to do_pf, do_gp, do_ud, do_assert, do_int3, do_de
 *   func_a:    push rbp; mov rbp,rsp; call func_b; pop rbp; ret
 *   func_b:    push rbx; mov rbx,3; b_loop: call leaf; add [g_sum],rax; sub rbx,1; cmp rbx,0; jne b_loop; pop rbx; ret
 *   leaf:      mov rax,1; nop; mov rcx,[g_watch]; ret
 *   kernel_assert (the interpreter turns arrival here into an Assert),
 *   serial_write / serial_read (the kernel's serial code, where an unmapped
 *   ReadTargetMemory / WriteTargetMemory faults).
 */
export const IMAGE_BASE = 0x140000000n;
export const CODE_BASE = IMAGE_BASE + 0x1000n;
export const DATA_BASE = IMAGE_BASE + 0x2000n;
export const IMAGE_SIZE = 0x3000;
export const STACK_BASE = 0x7867c000n;
export const STACK_TOP = 0x7867e000n;
/** A canonical, unmapped address (the one the real capture reads). */
export const UNMAPPED_ADDRESS = 0x7f0000000000n;
export const NON_CANONICAL_ADDRESS = 0x8000000000000000n;

const DATA_SYMBOLS = {
  g_counter: DATA_BASE + 0x00n,
  g_trigger: DATA_BASE + 0x08n,
  g_sum: DATA_BASE + 0x10n,
  g_watch: DATA_BASE + 0x18n,
};

/** g_trigger values: the fault path main takes on its next loop iteration. */
export const Trigger = { PF: 1, GP: 2, UD: 3, Assert: 4, Int3: 5, DivideError: 6 } as const;

type Emit = (label: (name: string) => bigint, at: bigint) => number[];

class Asm {
  readonly labels = new Map<string, bigint>();
  private readonly items: { at: bigint; size: number; emit: Emit }[] = [];
  constructor(private pc: bigint) {}

  label(name: string): this {
    this.labels.set(name, this.pc);
    return this;
  }
  private add(size: number, emit: Emit): this {
    this.items.push({ at: this.pc, size, emit });
    this.pc += BigInt(size);
    return this;
  }
  raw(...bytes: number[]): this {
    return this.add(bytes.length, () => bytes);
  }
  /** opcode + rel32 to a label (call E8, jmp E9, jcc 0F 8x). */
  rel32(op: number[], target: string): this {
    const size = op.length + 4;
    return this.add(size, (l, at) => [...op, ...le(l(target) - (at + BigInt(size)), 4)]);
  }
  rel8(op: number, target: string): this {
    return this.add(2, (l, at) => {
      const d = l(target) - (at + 2n);
      if (d < -128n || d > 127n) throw new Error(`rel8 to ${target} out of range`);
      return [op, Number(BigInt.asUintN(8, d))];
    });
  }
  /** op (ending in a modrm with mod=00 rm=101) + disp32 to a label + trailing immediate. */
  ripRel(op: number[], target: string, imm: number[] = []): this {
    const size = op.length + 4 + imm.length;
    return this.add(size, (l, at) => [...op, ...le(l(target) - (at + BigInt(size)), 4), ...imm]);
  }
  /** movabs r64 (rax..rdi), imm64. */
  movabs(reg: number, value: bigint): this {
    return this.raw(0x48, 0xb8 + reg, ...le(value, 8));
  }
  assemble(): Buffer {
    const lookup = (name: string): bigint => {
      const v = this.labels.get(name);
      if (v === undefined) throw new Error(`undefined label ${name}`);
      return v;
    };
    return Buffer.from(this.items.flatMap((it) => it.emit(lookup, it.at)));
  }
}

function le(v: bigint, n: number): number[] {
  const u = BigInt.asUintN(n * 8, v);
  return Array.from({ length: n }, (_, i) => Number((u >> BigInt(8 * i)) & 0xffn));
}

function buildCode(): { code: Buffer; labels: Map<string, bigint> } {
  const a = new Asm(CODE_BASE);
  for (const [name, at] of Object.entries(DATA_SYMBOLS)) a.labels.set(name, at);
  const jmpLoop = (): Asm => a.rel32([0xe9], 'main_loop');
  a.label('efi_main').raw(0x48, 0x83, 0xec, 0x28).rel32([0xe8], 'main').raw(0x0f, 0x0b);
  a.label('main').raw(0x55).raw(0x48, 0x89, 0xe5).raw(0x48, 0x83, 0xec, 0x20);
  a.label('main_loop').rel32([0xe8], 'func_a');
  a.label('main_count').ripRel([0x48, 0xff, 0x05], 'g_counter');
  a.label('main_check').ripRel([0x48, 0x8b, 0x05], 'g_trigger');
  a.raw(0x48, 0x83, 0xf8, 0x00).rel8(0x75, 'main_trigger').rel8(0xeb, 'main_loop');
  a.label('main_trigger').ripRel([0x48, 0xc7, 0x05], 'g_trigger', [0, 0, 0, 0]);
  const paths: [number, string][] = [
    [Trigger.PF, 'do_pf'], [Trigger.GP, 'do_gp'], [Trigger.UD, 'do_ud'],
    [Trigger.Assert, 'do_assert'], [Trigger.Int3, 'do_int3'], [Trigger.DivideError, 'do_de'],
  ];
  for (const [n, target] of paths) a.raw(0x48, 0x83, 0xf8, n).rel32([0x0f, 0x84], target);
  jmpLoop();
  a.label('do_pf').movabs(0, UNMAPPED_ADDRESS).label('pf_load').raw(0x48, 0x8b, 0x00);
  jmpLoop();
  a.label('do_gp').movabs(0, NON_CANONICAL_ADDRESS).label('gp_load').raw(0x48, 0x8b, 0x00);
  jmpLoop();
  a.label('do_ud').label('ud_insn').raw(0x0f, 0x0b);
  jmpLoop();
  a.label('do_assert').rel32([0xe8], 'kernel_assert');
  jmpLoop();
  a.label('do_int3').label('int3_insn').raw(0xcc);
  jmpLoop();
  a.label('do_de').raw(0x31, 0xd2).raw(0x31, 0xc9).raw(0x48, 0xc7, 0xc0, 7, 0, 0, 0);
  a.label('div_insn').raw(0x48, 0xf7, 0xf1);
  jmpLoop();
  a.label('func_a').raw(0x55).raw(0x48, 0x89, 0xe5).label('func_a_call').rel32([0xe8], 'func_b');
  a.raw(0x5d).raw(0xc3);
  a.label('func_b').raw(0x53).raw(0x48, 0xc7, 0xc3, 3, 0, 0, 0);
  a.label('b_loop').rel32([0xe8], 'leaf').label('b_add').ripRel([0x48, 0x01, 0x05], 'g_sum');
  a.raw(0x48, 0x83, 0xeb, 0x01).raw(0x48, 0x83, 0xfb, 0x00).rel8(0x75, 'b_loop').raw(0x5b).raw(0xc3);
  a.label('leaf').raw(0x48, 0xc7, 0xc0, 1, 0, 0, 0).label('leaf_nop').raw(0x90);
  a.label('leaf_read').ripRel([0x48, 0x8b, 0x0d], 'g_watch').label('leaf_ret').raw(0xc3);
  a.label('kernel_assert').raw(0x0f, 0x0b);
  a.label('serial_write').raw(0x45, 0x8a, 0x19).raw(0xc3); // mov r11b, [r9]
  a.label('serial_read').raw(0x45, 0x88, 0x19).raw(0xc3); // mov [r9], r11b
  a.label('code_end');
  return { code: a.assemble(), labels: a.labels };
}

/** A minimal PE32+ header: MZ, e_lfanew, COFF, optional header, .text and .data. */
function buildHeader(entryRva: number, codeSize: number): Buffer {
  const h = Buffer.alloc(0x400);
  h.write('MZ', 0, 'latin1');
  h.writeUInt16LE(0x78, 2);
  h.writeUInt16LE(1, 4);
  h.writeUInt16LE(4, 8);
  h.writeUInt16LE(0x40, 0x18);
  h.writeUInt32LE(0x78, 0x3c);
  const pe = 0x78;
  h.write('PE\0\0', pe, 'latin1');
  const coff = pe + 4;
  h.writeUInt16LE(0x8664, coff); // machine
  h.writeUInt16LE(2, coff + 2); // sections
  h.writeUInt16LE(0xf0, coff + 16); // size of optional header
  h.writeUInt16LE(0x22, coff + 18); // executable, large address aware
  const opt = coff + 20;
  h.writeUInt16LE(0x20b, opt);
  h.writeUInt32LE(codeSize, opt + 4);
  h.writeUInt32LE(entryRva, opt + 16);
  h.writeUInt32LE(0x1000, opt + 20); // base of code
  h.writeBigUInt64LE(IMAGE_BASE, opt + 24);
  h.writeUInt32LE(0x1000, opt + 32); // section alignment
  h.writeUInt32LE(0x200, opt + 36); // file alignment
  h.writeUInt32LE(IMAGE_SIZE, opt + 56);
  h.writeUInt32LE(0x400, opt + 60); // size of headers
  h.writeUInt16LE(10, opt + 68); // subsystem: EFI application
  h.writeUInt32LE(16, opt + 108); // number of data directories
  const sections: [string, number, number, number][] = [
    ['.text', 0x1000, codeSize, 0x60000020],
    ['.data', 0x2000, 0x20, 0xc0000040],
  ];
  sections.forEach(([name, rva, size, flags], i) => {
    const s = opt + 0xf0 + i * 40;
    h.write(name, s, 'latin1');
    h.writeUInt32LE(size, s + 8);
    h.writeUInt32LE(rva, s + 12);
    h.writeUInt32LE(0x200, s + 16);
    h.writeUInt32LE(0x400 + i * 0x200, s + 20);
    h.writeUInt32LE(flags, s + 36);
  });
  return h;
}

const built = buildCode();

export const SYMBOLS = Object.freeze(Object.fromEntries(built.labels)) as Readonly<Record<string, bigint>>;
export const CODE = built.code;
export const CODE_END = CODE_BASE + BigInt(CODE.length);
export const DATA_SIZE = 0x20;
export const HEADER = buildHeader(Number(SYMBOLS.efi_main - IMAGE_BASE), CODE.length);

/** Look up a symbol, failing loudly on a typo. */
export function sym(name: string): bigint {
  const v = SYMBOLS[name];
  if (v === undefined) throw new Error(`fake kernel has no symbol ${name}`);
  return v;
}
