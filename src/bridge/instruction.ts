/**
 * Instruction decoding with iced-x86, for the few places the bridge must know an
 * instruction's length: only that many bytes of a stop record's `instruction[15]`
 * are real (the rest is leftover stack data).
 */
import { Decoder, DecoderOptions, FlowControl, Formatter, FormatterSyntax } from 'iced-x86';

/** The length of the instruction at the start of `bytes`, or 0 if it does not decode. */
export function decodeInstructionLength(bytes: Uint8Array, ip: bigint): number {
  return predictStep(bytes, ip)?.length ?? 0;
}

/** One line of AT&T disassembly, for log messages and monitor output. */
export function disassembleOne(bytes: Uint8Array, ip: bigint): string {
  const decoder = new Decoder(64, bytes, DecoderOptions.None);
  const formatter = new Formatter(FormatterSyntax.Gas);
  try {
    decoder.ip = ip;
    const instruction = decoder.decode();
    try {
      return instruction.isInvalid ? '(bad)' : formatter.format(instruction);
    } finally {
      instruction.free();
    }
  } finally {
    formatter.free();
    decoder.free();
  }
}

export interface DisassembledLine {
  address: bigint;
  bytes: Buffer;
  /** AT&T text, with the target's name appended for branches and calls when `nameOf` knows it. */
  text: string;
}

/**
 * Up to `count` instructions from `bytes` (which start at `ip`), stopping at the
 * first one that does not decode or runs past the bytes given. Branch and call
 * targets are named through `nameOf`, as `monitor disas` shows them.
 */
export function disassemble(
  bytes: Uint8Array,
  ip: bigint,
  count: number,
  nameOf: (address: bigint) => string | undefined = () => undefined,
): DisassembledLine[] {
  const decoder = new Decoder(64, bytes, DecoderOptions.None);
  const formatter = new Formatter(FormatterSyntax.Gas);
  formatter.uppercaseHex = false;
  formatter.branchLeadingZeros = false;
  const lines: DisassembledLine[] = [];
  try {
    decoder.ip = ip;
    while (lines.length < count && decoder.canDecode) {
      const at = decoder.ip;
      const instruction = decoder.decode();
      try {
        if (instruction.isInvalid) break;
        let text = formatter.format(instruction);
        const branches = instruction.isCallNear || instruction.isJmpShortOrNear || instruction.isJccShortOrNear;
        const name = branches ? nameOf(instruction.nearBranch64) : undefined;
        if (name) text += ` <${name}>`;
        const offset = Number(at - ip);
        lines.push({ address: at, bytes: Buffer.from(bytes.subarray(offset, offset + instruction.length)), text });
      } finally {
        instruction.free();
      }
    }
  } finally {
    formatter.free();
    decoder.free();
  }
  return lines;
}

/** What a single step of one instruction will do to rip, as far as its bytes tell. */
export interface StepPrediction {
  length: number;
  /** The instruction continues at the next one (no branch, call, return, interrupt or system instruction). */
  fallsThrough: boolean;
}

/** Decodes the instruction at `ip` for a single-step plan; undefined when the bytes do not decode. */
export function predictStep(bytes: Uint8Array, ip: bigint): StepPrediction | undefined {
  if (bytes.length === 0) return undefined;
  const decoder = new Decoder(64, bytes, DecoderOptions.None);
  try {
    decoder.ip = ip;
    const instruction = decoder.decode();
    try {
      if (instruction.isInvalid) return undefined;
      return { length: instruction.length, fallsThrough: instruction.flowControl === FlowControl.Next };
    } finally {
      instruction.free();
    }
  } finally {
    decoder.free();
  }
}
