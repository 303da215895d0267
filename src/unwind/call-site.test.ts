import { callEndingAt } from './call-site';
import { codeLookup } from './code-lookup';
import { scanForCaller, returnSite, callTargetsFunctionOf } from './stack-scan';
import { assembledImage, rvaOf, unwindImage, type TestImage } from './testing/fixture-image';

/** Every near CALL form, each followed by a label at its return address; then code that is not a call. */
const CALLS = `
    .text
    .globl cs_entry
cs_entry:
    ret
    .p2align 4
    .globl cs_caller
cs_caller:
    call cs_entry
    .globl cs_ret_direct
cs_ret_direct:
    callq *%rax
    .globl cs_ret_reg
cs_ret_reg:
    callq *%r11
    .globl cs_ret_rex_reg
cs_ret_rex_reg:
    callq *(%rax)
    .globl cs_ret_mem
cs_ret_mem:
    callq *(%rsp)
    .globl cs_ret_sib
cs_ret_sib:
    callq *8(%rsp)
    .globl cs_ret_disp8
cs_ret_disp8:
    callq *0x100(%rsp)
    .globl cs_ret_disp32
cs_ret_disp32:
    callq *cs_pointer(%rip)
    .globl cs_ret_rip
cs_ret_rip:
    callq *16(%r12)
    .globl cs_ret_rex_disp8
cs_ret_rex_disp8:
    callq *0x1000(,%rax,8)
    .globl cs_ret_index_only
cs_ret_index_only:
    callq *(%r13,%r14,4)
    .globl cs_ret_rex_sib
cs_ret_rex_sib:
    callq *%fs:8(%rax)
    .globl cs_ret_segment
cs_ret_segment:
    jmp cs_entry
    .globl cs_after_jmp
cs_after_jmp:
    movabsq $0x1122334455ff6677, %rax
    .globl cs_after_movabs
cs_after_movabs:
    nop
    pushq %rbx
    .globl cs_after_push
cs_after_push:
    ret
    .globl cs_after_ret
cs_after_ret:
    .byte 0xe8
    .long 0x3fff0000
    .globl cs_after_stray_e8
cs_after_stray_e8:
    nop
    .p2align 4
    .globl cs_other
cs_other:
    call cs_caller
    .globl cs_ret_to_caller
cs_ret_to_caller:
    call cs_entry
    .globl cs_ret_to_entry
cs_ret_to_entry:
    ret
    .data
    .p2align 3
    .globl cs_pointer
cs_pointer:
    .quad cs_entry
`;

const image: TestImage = assembledImage(CALLS, 'cs_entry');
const BASE = 0x40000000n;
const at = (name: string): bigint => BASE + BigInt(rvaOf(image, name));
const before = (address: bigint, n = 9): Uint8Array => image.image.readRva(Number(address - BASE) - n, n);

describe('recognising the CALL before a return address', () => {
  const forms: [string, string, number, 'direct' | 'indirect'][] = [
    ['cs_ret_direct', 'E8 rel32', 5, 'direct'],
    ['cs_ret_reg', 'FF /2 register', 2, 'indirect'],
    ['cs_ret_rex_reg', 'REX FF /2 register', 3, 'indirect'],
    ['cs_ret_mem', 'FF /2 [reg]', 2, 'indirect'],
    ['cs_ret_sib', 'FF /2 [rsp] (SIB)', 3, 'indirect'],
    ['cs_ret_disp8', 'FF /2 [rsp+disp8]', 4, 'indirect'],
    ['cs_ret_disp32', 'FF /2 [rsp+disp32]', 7, 'indirect'],
    ['cs_ret_rip', 'FF /2 [rip+disp32]', 6, 'indirect'],
    ['cs_ret_rex_disp8', 'REX FF /2 [r12+disp8]', 5, 'indirect'],
    ['cs_ret_index_only', 'FF /2 [index*8+disp32]', 7, 'indirect'],
    ['cs_ret_rex_sib', 'REX FF /2 [r13+r14*4+0]', 5, 'indirect'],
    ['cs_ret_segment', 'fs: FF /2 [rax+disp8]', 4, 'indirect'],
  ];

  it.each(forms)('%s: %s', (label, _form, length, kind) => {
    const ret = at(label);
    const site = callEndingAt(before(ret), ret);
    expect(site).toMatchObject({ address: ret - BigInt(length), length, kind });
    if (kind === 'direct') expect(site!.target).toBe(at('cs_entry'));
  });

  it('the lengths above are the real instruction lengths', () => {
    const labels = forms.map(([l]) => at(l));
    const starts = [at('cs_caller'), ...labels.slice(0, -1)];
    expect(labels.map((l, i) => Number(l - starts[i]!))).toEqual(forms.map(([, , n]) => n));
  });

  it.each([
    ['cs_after_jmp', 'a jmp rel32'],
    ['cs_after_movabs', 'an immediate with a call opcode byte in it'],
    ['cs_after_push', 'a push'],
    ['cs_after_ret', 'a ret'],
  ])('refuses a value after %s (%s)', (label) => {
    const ret = at(label);
    expect(callEndingAt(before(ret), ret)).toBeUndefined();
  });

  it('refuses a value in the middle of a call instruction', () => {
    const mid = at('cs_ret_direct') - 2n;
    expect(callEndingAt(before(mid), mid)).toBeUndefined();
  });
});

describe('return addresses in image code, and the scan', () => {
  const unwind = unwindImage(image, BASE, {
    functions: [
      { startRva: rvaOf(image, 'cs_entry'), endRva: rvaOf(image, 'cs_entry') + 1, name: 'cs_entry' },
      { startRva: rvaOf(image, 'cs_caller'), endRva: rvaOf(image, 'cs_other'), name: 'cs_caller' },
      { startRva: rvaOf(image, 'cs_other'), endRva: rvaOf(image, 'cs_ret_to_entry') + 1, name: 'cs_other' },
    ],
  });
  const code = codeLookup([unwind]);

  it('accepts only values in executable image code', () => {
    expect(returnSite(code, at('cs_ret_direct'))?.kind).toBe('direct');
    expect(returnSite(code, at('cs_pointer'))).toBeUndefined(); // .data
    expect(returnSite(code, 0x1234n)).toBeUndefined(); // no image
    expect(returnSite(code, at('cs_after_push'))).toBeUndefined();
    // bytes that read as E8 rel32, but the "callee" is no code anywhere
    const stray = at('cs_after_stray_e8');
    expect(callEndingAt(before(stray), stray)?.kind).toBe('direct');
    expect(returnSite(code, stray)).toBeUndefined();
  });

  it('checks that a direct call targets the function the walk is in', () => {
    const toCaller = returnSite(code, at('cs_ret_to_caller'))!; // call cs_caller
    const toEntry = returnSite(code, at('cs_ret_to_entry'))!; // call cs_entry
    const pcInCaller = at('cs_ret_reg');
    expect(callTargetsFunctionOf(code, toCaller, pcInCaller)).toBe(true);
    expect(callTargetsFunctionOf(code, toEntry, pcInCaller)).toBe(false);
    expect(callTargetsFunctionOf(code, returnSite(code, at('cs_ret_reg'))!, pcInCaller)).toBe(true); // indirect: cannot tell
  });

  /** A stack: slots from `base` up, with the given values. */
  function stack(base: bigint, values: bigint[]) {
    const data = Buffer.alloc(values.length * 8);
    values.forEach((v, i) => data.writeBigUInt64LE(v, i * 8));
    return async (address: bigint, length: number): Promise<Buffer> => {
      if (address < base || address + BigInt(length) > base + BigInt(data.length) + 4096n) throw new Error('unmapped');
      const out = Buffer.alloc(length);
      const from = Number(address - base);
      data.copy(out, 0, Math.min(from, data.length), Math.min(from + length, data.length));
      return out;
    };
  }

  it('skips data and a stale return address into another function, and finds the consistent one', async () => {
    const pc = at('cs_ret_reg'); // somewhere in cs_caller
    const readMemory = stack(0x9000n, [0n, at('cs_pointer'), at('cs_after_push'), at('cs_ret_to_entry'), 42n, at('cs_ret_to_caller'), 7n]);
    const hit = await scanForCaller({ from: 0x9000n, pc, readMemory, code, maxBytes: 256 });
    expect(hit).toMatchObject({ slot: 0x9000n + 40n, returnAddress: at('cs_ret_to_caller'), consistent: true });
  });

  it('takes the first plausible one when none targets the function, and stops at the scan limit', async () => {
    const pc = at('cs_ret_reg');
    const readMemory = stack(0x9000n, [1n, 2n, at('cs_ret_to_entry'), 3n]);
    expect(await scanForCaller({ from: 0x9000n, pc, readMemory, code, maxBytes: 256 })).toMatchObject({ slot: 0x9010n, consistent: false });
    expect(await scanForCaller({ from: 0x9000n, pc, readMemory, code, maxBytes: 16 })).toBeUndefined();
  });

  it('uses the kernel\'s candidates: only those values, and the list alone when the stack cannot be read', async () => {
    const pc = at('cs_ret_reg');
    const readMemory = stack(0x9000n, [at('cs_ret_to_entry'), at('cs_ret_to_caller')]);
    const listed = await scanForCaller({ from: 0x9000n, pc, readMemory, code, maxBytes: 256, candidates: [at('cs_ret_to_entry')] });
    expect(listed).toMatchObject({ slot: 0x9000n, consistent: false });
    const unreadable = async (): Promise<Buffer> => {
      throw new Error('no');
    };
    const fromList = await scanForCaller({ from: 0x9000n, pc, readMemory: unreadable, code, maxBytes: 256, candidates: [0x55n, at('cs_ret_to_entry'), at('cs_ret_to_caller')] });
    expect(fromList).toMatchObject({ slot: undefined, returnAddress: at('cs_ret_to_caller'), candidateIndex: 2 });
    expect(await scanForCaller({ from: 0x9000n, pc, readMemory: unreadable, code, maxBytes: 256 })).toBeUndefined();
  });
});
