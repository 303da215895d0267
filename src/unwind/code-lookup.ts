/**
 * What the stack walker needs to know about code, behind one interface so the
 * bridge can plug in the images it loaded (PE + PDB, or an image read from
 * target memory) and tests can plug in anything. Addresses handed to a
 * CodeLookup are absolute; an UnwindImage works in RVAs from its load base.
 */
import type { FrameRule } from './frame-rule';

export interface FunctionBounds {
  startRva: number;
  /** First RVA after the function. */
  endRva: number;
  name?: string;
  /**
   * Other functions of its compile unit have .pdata entries: when this one has
   * none, the x64 ABI makes it a leaf (it changes neither rsp nor a nonvolatile
   * register), so its rule is the entry rule throughout, with no prologue
   * analysis. A unit built without unwind tables leaves this unset.
   */
  unitHasUnwindInfo?: boolean;
}

/** How a frame's rule was obtained (and so how its caller was found). */
export type RuleMethod = 'unwind-info' | 'prologue-analysis' | 'leaf' | 'machine-frame';

export type RuleLookup =
  | { found: true; rule: FrameRule; method: RuleMethod; function?: FunctionBounds }
  | { found: false; reason: string; function?: FunctionBounds };

export interface RuleQuery {
  /**
   * The frame's rip is a return address: the function is the one holding
   * rip - 1 (the call may be its last instruction), the rule the one at rip.
   */
  returnAddress: boolean;
}

export interface UnwindImage {
  readonly name: string;
  /** Where the image is loaded. */
  readonly base: bigint;
  /** SizeOfImage. */
  readonly size: number;
  /** True when `rva` lies in an executable section. */
  isCode(rva: number): boolean;
  /** The image's own bytes (no debugger breakpoints in them); undefined when out of range. */
  readCode(rva: number, length: number): Uint8Array | undefined;
  /** The function holding `rva`, when its bounds are known (for names, and to check scanned call sites). */
  functionAt(rva: number): FunctionBounds | undefined;
  ruleAt(rva: number, query: RuleQuery): RuleLookup;
}

export interface CodeLookup {
  /** The image holding `address`, or undefined (firmware, data, garbage). */
  imageAt(address: bigint): UnwindImage | undefined;
}

/** A CodeLookup over a fixed list of images. */
export function codeLookup(images: readonly UnwindImage[]): CodeLookup {
  return {
    imageAt(address) {
      return images.find((i) => address >= i.base && address < i.base + BigInt(i.size));
    },
  };
}
