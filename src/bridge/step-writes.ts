/**
 * The memory one instruction writes, from its bytes and the registers before it
 * ran. After a single step this is all the debuggee itself can have changed, so the
 * stack bytes of the last stop that it did not write can answer gdb's next read
 * (gdb reads the stack around rsp after every stepi: see TargetMemory.newStop).
 *
 * Anything this cannot bound exactly is `unknown`: string instructions (their
 * length is in rcx), fs/gs-relative addresses (the segment bases are not in the
 * stop record), vector gathers and scatters, and instructions that trap or switch
 * context.
 */
import { Decoder, DecoderOptions, FlowControl, InstructionInfoFactory, MemorySizeExt, OpAccess, Register, RegisterExt } from 'iced-x86';
import type { MappedRange } from './memory';

export type StepWrites = { ranges: MappedRange[] } | 'unknown';

const WRITES: ReadonlySet<OpAccess> = new Set([OpAccess.Write, OpAccess.CondWrite, OpAccess.ReadWrite, OpAccess.ReadCondWrite]);
const U64 = (1n << 64n) - 1n;

/** `registerValue` takes a lower-case 64-bit register name (rax ... r15) and gives its value before the step. */
export function memoryWrittenBy(bytes: Uint8Array, rip: bigint, registerValue: (name: string) => bigint | undefined): StepWrites {
  if (bytes.length === 0) return 'unknown';
  const decoder = new Decoder(64, bytes, DecoderOptions.None);
  const factory = new InstructionInfoFactory();
  try {
    decoder.ip = rip;
    const instruction = decoder.decode();
    try {
      if (instruction.isInvalid || instruction.isStringInstruction) return 'unknown';
      const flow = instruction.flowControl;
      if (flow === FlowControl.Interrupt || flow === FlowControl.Exception || flow === FlowControl.XbeginXabortXend) return 'unknown';
      const info = factory.info(instruction);
      try {
        const ranges: MappedRange[] = [];
        for (const used of info.usedMemory()) {
          try {
            if (!WRITES.has(used.access)) continue;
            if (used.segment === Register.FS || used.segment === Register.GS) return 'unknown';
            const size = MemorySizeExt.size(used.memorySize);
            if (size <= 0 || used.index !== Register.None && RegisterExt.isVectorRegister(used.index)) return 'unknown';
            const base = valueOf(used.base, registerValue);
            const index = valueOf(used.index, registerValue);
            if (base === undefined || index === undefined) return 'unknown';
            const address = (base + index * BigInt(used.scale) + used.displacement) & U64;
            ranges.push({ address, length: size });
          } finally {
            used.free();
          }
        }
        return { ranges };
      } finally {
        info.free();
      }
    } finally {
      instruction.free();
    }
  } finally {
    factory.free();
    decoder.free();
  }
}

/** A register's value as an address part: 0 for none, undefined when it is not a 64-bit general register we know. */
function valueOf(register: Register, registerValue: (name: string) => bigint | undefined): bigint | undefined {
  if (register === Register.None) return 0n;
  if (!RegisterExt.isGPR64(register)) return undefined;
  return registerValue(Register[register]!.toLowerCase());
}
