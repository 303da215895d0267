/**
 * A minimal x86-64 ELF core file (one thread's registers and some memory), so
 * real gdb can be asked for a backtrace of a simulated stop with the symbol
 * file josgdb writes: the check that gdb reads our .debug_frame the way we mean it.
 */
import type { Machine } from './x86-sim';

export interface CoreRegion {
  address: bigint;
  bytes: Uint8Array;
}

const PT_LOAD = 1;
const PT_NOTE = 4;
const NT_PRSTATUS = 1;
const PRSTATUS_SIZE = 336;
const PR_REG_OFFSET = 112;

/** The stack bytes the machine wrote, as one region (gaps read as `fill`). */
export function stackRegion(m: Machine, from: bigint, to: bigint, fill = 0xee): CoreRegion {
  const bytes = new Uint8Array(Number(to - from)).fill(fill);
  for (const [a, b] of m.memory) if (a >= from && a < to) bytes[Number(a - from)] = b;
  return { address: from, bytes };
}

export function writeCore(m: Machine, regions: CoreRegion[]): Buffer {
  const desc = Buffer.alloc(PRSTATUS_SIZE);
  desc.writeUInt16LE(5, 12); // pr_cursig: SIGTRAP
  desc.writeUInt32LE(1, 32); // pr_pid
  const g = m.gpr;
  // struct user_regs_struct
  const regs = [g.r15, g.r14, g.r13, g.r12, g.rbp, g.rbx, g.r11, g.r10, g.r9, g.r8, g.rax, g.rcx, g.rdx, g.rsi, g.rdi, 0n, m.rip, 0x33n, m.rflags, g.rsp, 0x2bn, 0n, 0n, 0n, 0n, 0n, 0n];
  regs.forEach((v, i) => desc.writeBigUInt64LE(v, PR_REG_OFFSET + i * 8));
  const note = Buffer.alloc(12 + 8 + PRSTATUS_SIZE);
  note.writeUInt32LE(5, 0);
  note.writeUInt32LE(PRSTATUS_SIZE, 4);
  note.writeUInt32LE(NT_PRSTATUS, 8);
  note.write('CORE', 12, 'latin1');
  desc.copy(note, 20);

  const phnum = 1 + regions.length;
  const header = Buffer.alloc(64);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  header.writeUInt16LE(4, 16); // ET_CORE
  header.writeUInt16LE(62, 18); // EM_X86_64
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(64n, 32); // e_phoff
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(56, 54);
  header.writeUInt16LE(phnum, 56);
  header.writeUInt16LE(64, 58);

  const phdrs = Buffer.alloc(56 * phnum);
  let offset = 64 + phdrs.length;
  const ph = (i: number, type: number, flags: number, fileOffset: number, vaddr: bigint, size: number): void => {
    const at = i * 56;
    phdrs.writeUInt32LE(type, at);
    phdrs.writeUInt32LE(flags, at + 4);
    phdrs.writeBigUInt64LE(BigInt(fileOffset), at + 8);
    phdrs.writeBigUInt64LE(vaddr, at + 16);
    phdrs.writeBigUInt64LE(BigInt(size), at + 32);
    phdrs.writeBigUInt64LE(BigInt(size), at + 40);
    phdrs.writeBigUInt64LE(1n, at + 48);
  };
  ph(0, PT_NOTE, 4, offset, 0n, note.length);
  offset += note.length;
  regions.forEach((r, i) => {
    ph(i + 1, PT_LOAD, 7, offset, r.address, r.bytes.length);
    offset += r.bytes.length;
  });
  return Buffer.concat([header, phdrs, note, ...regions.map((r) => Buffer.from(r.bytes))]);
}
