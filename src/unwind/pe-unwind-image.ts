/**
 * An UnwindImage over a parsed PE image (from the file, or read from target
 * memory at its base): where each of its instructions gets its rule, in order
 * of trust:
 *
 * 1. the stub's interrupt entry code (machine frame), when described;
 * 2. .pdata/.xdata covering the address (unwind info);
 * 3. function bounds the caller knows (PDB procedures): a function without
 *    .pdata in a compile unit that has it is a leaf by the x64 ABI; otherwise
 *    prologue analysis, where a function that never touches rsp is a 'leaf';
 * 4. nothing: the walker falls back to scanning.
 *
 * Decoded unwind info and analyses are cached per function, so a backtrace at
 * every single-step stop costs a lookup, not a re-analysis.
 */
import { type PeImage, isExecutable } from '../symbols/pe';
import type { RuntimeFunction } from '../symbols/pe/pdata';
import { FunctionBounds, RuleLookup, RuleMethod, RuleQuery, UnwindImage } from './code-lookup';
import { ENTRY_RULE, isTrivialRule } from './frame-rule';
import { InterruptEntry } from './interrupt-entries';
import { FunctionAnalysis, analyzeFunction } from './prologue-analysis';
import { hex } from './registers';
import { UnwindChain, decodeUnwindChain } from './unwind-info';
import { frameRuleFromUnwindInfo } from './unwind-info-rule';
import type { InstructionShapes } from './x86';
import { partitionPoint, rangeHolding } from '../common/sorted';

export interface PeUnwindImageOptions {
  name: string;
  /** Load base (absolute address of RVA 0). */
  base: bigint;
  image: PeImage;
  /**
   * Functions with known bounds, e.g. the PDB's procedures. Leave out symbols
   * whose size is only inferred (publics of assembly code): wrong bounds give
   * wrong rules, while unknown bounds give an honest scan.
   */
  functions?: readonly FunctionBounds[];
  /** Interrupt entry code without unwind data (see interrupt-entries.ts). */
  interruptEntries?: readonly InterruptEntry[];
}

export class PeUnwindImage implements UnwindImage {
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
  private readonly image: PeImage;
  private readonly functions: FunctionBounds[];
  private readonly interrupts: readonly InterruptEntry[];
  private readonly chains = new Map<number, UnwindChain | Error>();
  private readonly analyses = new Map<number, FunctionAnalysis | Error>();

  constructor(options: PeUnwindImageOptions) {
    this.name = options.name;
    this.base = options.base;
    this.image = options.image;
    this.size = options.image.sizeOfImage;
    this.functions = [...(options.functions ?? [])].filter((f) => f.endRva > f.startRva).sort((a, b) => a.startRva - b.startRva);
    this.interrupts = options.interruptEntries ?? [];
  }

  get runtimeFunctions(): readonly RuntimeFunction[] {
    return this.image.runtimeFunctions;
  }

  get knownFunctions(): readonly FunctionBounds[] {
    return this.functions;
  }

  get interruptEntries(): readonly InterruptEntry[] {
    return this.interrupts;
  }

  isCode(rva: number): boolean {
    const s = this.image.sectionForRva(rva);
    return s !== undefined && isExecutable(s);
  }

  /** The image's bytes at an RVA; throws when they are not in the image. */
  readCodeOrThrow(rva: number, length: number): Uint8Array {
    return this.image.readRva(rva, length);
  }

  readCode(rva: number, length: number): Uint8Array | undefined {
    try {
      return this.image.readRva(rva, length);
    } catch {
      return undefined;
    }
  }

  functionAt(rva: number): FunctionBounds | undefined {
    const known = rangeHolding(this.functions, rva, (f) => f.startRva, (f) => f.endRva);
    if (known) return known;
    const entry = this.interrupts.find((e) => rva >= e.startRva && rva < e.endRva);
    if (entry) return { startRva: entry.startRva, endRva: entry.endRva, name: entry.name };
    const rf = innermostRuntimeFunction(this.image.runtimeFunctions, rva);
    return rf ? { startRva: rf.beginRva, endRva: rf.endRva } : undefined;
  }

  ruleAt(rva: number, query: RuleQuery): RuleLookup {
    // A return address may be one past the end of the function whose last instruction was the call.
    const owner = query.returnAddress ? rva - 1 : rva;

    const entry = this.interrupts.find((e) => owner >= e.startRva && owner < e.endRva);
    if (entry) {
      const fn = { startRva: entry.startRva, endRva: entry.endRva, name: entry.name };
      return this.fromAnalysis(fn, rva, owner, 'machine-frame', () => analyzeFunction({ startRva: entry.startRva, endRva: entry.endRva, bytes: this.image.readRva(entry.startRva, entry.endRva - entry.startRva), entry: entry.entry }));
    }

    const rf = innermostRuntimeFunction(this.image.runtimeFunctions, owner);
    const known = this.functionAt(owner);
    const fn = known ?? (rf ? { startRva: rf.beginRva, endRva: rf.endRva } : undefined);
    if (rf) {
      const chain = this.chain(rf);
      if (chain instanceof Error) return { found: false, reason: chain.message, ...(fn ? { function: fn } : {}) };
      try {
        const { rule } = frameRuleFromUnwindInfo(chain, rva, (r, l) => this.readCode(r, l));
        return { found: true, rule, method: 'unwind-info', ...(fn ? { function: fn } : {}) };
      } catch (err) {
        return { found: false, reason: err instanceof Error ? err.message : String(err), ...(fn ? { function: fn } : {}) };
      }
    }
    if (known && this.functions.includes(known)) {
      if (known.unitHasUnwindInfo) return { found: true, rule: ENTRY_RULE, method: 'leaf', function: known };
      return this.fromAnalysis(known, rva, owner, 'prologue-analysis', () =>
        analyzeFunction({ startRva: known.startRva, endRva: known.endRva, bytes: this.image.readRva(known.startRva, known.endRva - known.startRva) }),
      );
    }
    return { found: false, reason: `no unwind data and no known function bounds at RVA ${hex(rva)}` };
  }

  /**
   * The analysis of a function with known bounds; an Error when its code cannot
   * be read. Cached unless `cache` is false: the walker revisits the same few
   * functions at every stop, while a pass over the whole image (CFI for the
   * symbol file) would otherwise keep every instruction's state of every
   * function alive.
   */
  analysis(fn: FunctionBounds, options: { cache?: boolean; shapes?: InstructionShapes } = {}): FunctionAnalysis | Error {
    const shapes = options.shapes ? { shapes: options.shapes } : {};
    const run = (): FunctionAnalysis =>
      analyzeFunction({ startRva: fn.startRva, endRva: fn.endRva, bytes: this.image.readRva(fn.startRva, fn.endRva - fn.startRva), ...shapes });
    if (options.cache !== false) return this.cachedAnalysis(fn.startRva, run);
    try {
      return this.analyses.get(fn.startRva) ?? run();
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  chain(rf: RuntimeFunction): UnwindChain | Error {
    let c = this.chains.get(rf.beginRva);
    if (!c) {
      try {
        c = decodeUnwindChain((r, l) => this.image.readRva(r, l), rf);
      } catch (err) {
        c = err instanceof Error ? err : new Error(String(err));
      }
      this.chains.set(rf.beginRva, c);
    }
    return c;
  }

  private cachedAnalysis(start: number, run: () => FunctionAnalysis): FunctionAnalysis | Error {
    let a = this.analyses.get(start);
    if (!a) {
      try {
        a = run();
      } catch (err) {
        a = err instanceof Error ? err : new Error(String(err));
      }
      this.analyses.set(start, a);
    }
    return a;
  }

  private fromAnalysis(fn: FunctionBounds, rva: number, owner: number, method: RuleMethod, run: () => FunctionAnalysis): RuleLookup {
    const analysis = this.cachedAnalysis(fn.startRva, run);
    if (analysis instanceof Error) return { found: false, reason: analysis.message, function: fn };
    // At a return address past the function's end, the state is the call's.
    const rule = analysis.ruleAt(rva < analysis.endRva ? rva : owner);
    if (!rule) return { found: false, reason: `no consistent frame at RVA ${hex(rva)} in ${fn.name ?? hex(fn.startRva)}`, function: fn };
    const leaf = method === 'prologue-analysis' && analysis.instructions.every((i) => !i.rule || isTrivialRule(i.rule));
    return { found: true, rule, method: leaf ? 'leaf' : method, function: fn };
  }
}

/**
 * The .pdata entry covering `rva`. Entries are sorted by start; a chained part
 * may lie inside its parent's range (LLVM writes them so), and then the part,
 * which starts later, is the one that describes the address.
 */
export function innermostRuntimeFunction(entries: readonly RuntimeFunction[], rva: number): RuntimeFunction | undefined {
  const last = partitionPoint(entries, (e) => e.beginRva <= rva) - 1;
  // Nested parts are few; look back a little for an enclosing entry.
  for (let i = last; i >= 0 && i > last - 8; i--) {
    const e = entries[i]!;
    if (rva >= e.beginRva && rva < e.endRva) return e;
  }
  return undefined;
}
