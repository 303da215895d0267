/**
 * Instruction decoding with iced-x86, for the few places the bridge must know an
 * instruction's length: only that many bytes of a stop record's `instruction[15]`
 * are real (the rest is leftover stack data).
 */
import { Decoder, DecoderOptions, Formatter, FormatterSyntax } from 'iced-x86';

/** The length of the instruction at the start of `bytes`, or 0 if it does not decode. */
export function decodeInstructionLength(bytes: Uint8Array, ip: bigint): number {
  if (bytes.length === 0) return 0;
  const decoder = new Decoder(64, bytes, DecoderOptions.None);
  try {
    decoder.ip = ip;
    const instruction = decoder.decode();
    try {
      return instruction.isInvalid ? 0 : instruction.length;
    } finally {
      instruction.free();
    }
  } finally {
    decoder.free();
  }
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
