/**
 * `llvm-readobj --unwind` (LLVM 14) as typed records: the oracle the decoder
 * is compared with. Addresses are printed absolute; they come back as RVAs.
 */
import { execFileSync } from 'node:child_process';

export interface ReadobjUnwindInfo {
  version: number;
  flags: number;
  prologSize: number;
  /** 'RBP', or undefined for '-'. */
  frameRegister: string | undefined;
  /** As printed: the scaled field (bytes / 16). */
  frameOffsetField: number | undefined;
  codeCount: number;
  /** Each code line after '0xNN: ', with its code offset. */
  codes: { offset: number; text: string }[];
  handlerRva?: number;
  chained?: { beginRva: number; endRva: number; unwindInfoRva: number };
}

export interface ReadobjRuntimeFunction {
  beginRva: number;
  endRva: number;
  unwindInfoRva: number;
  info: ReadobjUnwindInfo;
}

function field(block: string, name: string): string {
  const m = new RegExp(`^\\s*${name}: (.*)$`, 'm').exec(block);
  if (!m) throw new Error(`llvm-readobj --unwind: no ${name} in\n${block.slice(0, 300)}`);
  return m[1]!.trim();
}

export function readobjUnwind(path: string, imageBase: bigint): ReadobjRuntimeFunction[] {
  const text = execFileSync('llvm-readobj', ['--unwind', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const rva = (s: string): number => Number(BigInt(/\((0x[0-9A-Fa-f]+)\)/.exec(s)![1]!) - imageBase);
  return text
    .split(/^ {2}RuntimeFunction \{$/m)
    .slice(1)
    .map((block) => {
      const chainedText = /Chained \{([\s\S]*?)\}/.exec(block)?.[1];
      const main = chainedText ? block.replace(chainedText, '') : block;
      const frameRegister = field(main, 'FrameRegister');
      const frameOffset = field(main, 'FrameOffset');
      const codes = [...(/UnwindCodes \[([\s\S]*?)\]/.exec(main)?.[1] ?? '').matchAll(/^\s*0x([0-9A-F]+): (.*)$/gm)].map((m) => ({
        offset: parseInt(m[1]!, 16),
        text: m[2]!.trim(),
      }));
      const handler = /^\s*Handler: (.*)$/m.exec(main)?.[1];
      const info: ReadobjUnwindInfo = {
        version: Number(field(main, 'Version')),
        flags: Number(/Flags \[ \((0x[0-9A-F]+)\)/.exec(main)![1]),
        prologSize: Number(field(main, 'PrologSize')),
        frameRegister: frameRegister === '-' ? undefined : frameRegister.split(' ')[0],
        frameOffsetField: frameOffset === '-' ? undefined : Number(frameOffset),
        codeCount: Number(field(main, 'UnwindCodeCount')),
        codes,
        ...(handler ? { handlerRva: rva(handler) } : {}),
        ...(chainedText
          ? { chained: { beginRva: rva(field(chainedText, 'StartAddress')), endRva: rva(field(chainedText, 'EndAddress')), unwindInfoRva: rva(field(chainedText, 'UnwindInfoAddress')) } }
          : {}),
      };
      return {
        beginRva: rva(field(main, 'StartAddress')),
        endRva: rva(field(main, 'EndAddress')),
        unwindInfoRva: rva(field(main, 'UnwindInfoAddress')),
        info,
      };
    });
}
