/**
 * What a function's x64 unwind codes say about one of its instructions, as a
 * FrameRule. This is RtlVirtualUnwind's algorithm done symbolically:
 *
 * 1. Past the prologue, if the code at rip is an epilog (epilog.ts, or a range a
 *    version 2 record lists), the rest of the epilog is simulated.
 * 2. Otherwise the operations are undone newest first, skipping those whose
 *    instruction has not executed yet (CodeOffset > rip's offset): that is what
 *    makes a stop in the middle of a prologue exact. Chained records (parents
 *    of a function part) apply in full.
 *
 * SAVE_NONVOL/SAVE_XMM128 offsets are from the "establisher frame": rsp after the
 * fixed allocation, which is FrameRegister - FrameOffset once the frame register
 * is set, else rsp itself.
 */
import { FrameRule, RegisterOffset, SavedSlot, makeRule } from './frame-rule';
import { EpilogContext, epilogRule, mayStartEpilog } from './epilog';
import { Gpr, RegisterName, hex } from './registers';
import { UnwindChain, epilogRanges } from './unwind-info';
import { UnwindError } from './unwind-error';
import { CodeDecoder, InstructionSource, codeWindow } from './x86';

/** Code bytes at an RVA; undefined (or fewer bytes) when not available. */
export type CodeReader = (rva: number, length: number) => Uint8Array | undefined;

export interface UnwindInfoRule {
  rule: FrameRule;
  /** 'prologue' when unwind codes were undone, otherwise how the epilog was recognised. */
  via: 'prologue' | 'epilog-pattern' | 'listed-epilog';
}

/**
 * The code of the whole function part, already being decoded by the caller
 * (a pass over every instruction): epilogs are then recognised from its
 * decoder instead of a new one per instruction. Must hold the same bytes
 * `readCode` returns, from `startRva` to at least the part's end.
 */
export interface FunctionCode {
  code: InstructionSource;
  startRva: number;
}

/** Longest epilog looked at: an add/lea, 16 pops with REX, a jmp. */
const EPILOG_WINDOW = 64;

/**
 * The rule at `pcRva` inside `chain.function`. A caller frame's rip (a return
 * address) may equal the function's end when its call was the last instruction;
 * there the whole prologue applies and no epilog is looked for.
 */
export function frameRuleFromUnwindInfo(chain: UnwindChain, pcRva: number, readCode: CodeReader, functionCode?: FunctionCode): UnwindInfoRule {
  const primary = chain.infos[0]!;
  const owner = chain.owners[0]!;
  const part = chain.function;
  if (pcRva < part.beginRva || pcRva > part.endRva) {
    throw new UnwindError('bad-unwind-data', `RVA ${hex(pcRva)} is outside the function ${hex(part.beginRva)}..${hex(part.endRva)}`);
  }
  const prologOffset = pcRva - owner.beginRva;

  const inPrologue = primary.chainedTo === undefined && prologOffset < primary.prologSize;
  const facts = chainFacts(chain);
  // Most of a body's instructions cannot start an epilog: no context to build for them.
  const first = functionCode?.code.at(pcRva - functionCode.startRva);
  const noEpilog = functionCode !== undefined && (first === undefined || !mayStartEpilog(first));
  if (!inPrologue && pcRva < part.endRva && !noEpilog) {
    const listed = facts.listed.some((r) => pcRva >= r.startRva && pcRva < r.endRva);
    const length = Math.min(EPILOG_WINDOW, part.endRva - pcRva);
    const context = (code: InstructionSource): EpilogContext => ({
      code,
      rva: pcRva,
      functionStartRva: part.beginRva,
      functionEndRva: part.endRva,
      frameRegister: primary.frameRegister,
      listedEpilog: listed,
      machineFrame: facts.machineFrame,
    });
    let rule: FrameRule | undefined;
    if (functionCode) {
      rule = epilogRule(context(codeWindow(functionCode.code, pcRva - functionCode.startRva, length)));
    } else {
      const bytes = readCode(pcRva, length);
      if (bytes && bytes.length > 0) {
        const code = new CodeDecoder(bytes, BigInt(pcRva));
        try {
          rule = epilogRule(context(code));
        } finally {
          code.free();
        }
      }
    }
    if (rule) return { rule, via: listed ? 'listed-epilog' : 'epilog-pattern' };
  }
  return { rule: undoOperations(chain, facts, prologOffset), via: 'prologue' };
}

interface ChainFacts {
  /** The epilogs a version 2 record lists. */
  listed: { startRva: number; endRva: number }[];
  /** The function was entered by an interrupt (a UWOP_PUSH_MACHFRAME somewhere in the chain). */
  machineFrame: boolean;
  /** Prologue offset from which every operation has executed and the frame register is set: the body. */
  bodyStart: number;
  /** The body's one rule, once asked for. */
  bodyRule?: FrameRule;
}

/**
 * What a chain says about every instruction of its function, worked out once:
 * a pass over every instruction asks at each of them. Rules are never changed
 * once made, so sharing one is safe.
 */
const factsByChain = new WeakMap<UnwindChain, ChainFacts>();

function chainFacts(chain: UnwindChain): ChainFacts {
  let facts = factsByChain.get(chain);
  if (!facts) {
    const primary = chain.infos[0]!;
    let bodyStart = primary.prologSize;
    for (const op of primary.operations) bodyStart = Math.max(bodyStart, op.codeOffset);
    facts = {
      listed: epilogRanges(primary, chain.owners[0]!),
      machineFrame: chain.infos.some((i) => i.operations.some((op) => op.op === 'pushMachframe')),
      bodyStart,
    };
    factsByChain.set(chain, facts);
  }
  return facts;
}

/** Past its prologue (every operation executed, the frame register set) a function has one rule however far in. */
function bodyRule(chain: UnwindChain, facts: ChainFacts): FrameRule {
  return (facts.bodyRule ??= undoOperationsAt(chain, facts.bodyStart));
}

function undoOperations(chain: UnwindChain, facts: ChainFacts, prologOffset: number): FrameRule {
  return prologOffset < facts.bodyStart ? undoOperationsAt(chain, prologOffset) : bodyRule(chain, facts);
}

function undoOperationsAt(chain: UnwindChain, prologOffset: number): FrameRule {
  const frameBase = establisherFrame(chain, prologOffset);
  let sp: RegisterOffset = { register: 'rsp', offset: 0 };
  const slots = new Map<RegisterName, RegisterOffset>();
  let machineFrame: RegisterOffset | undefined;

  chain.infos.forEach((info, depth) => {
    for (const op of info.operations) {
      // Parents of a chained part apply in full: their prologue ran before the part.
      if (depth === 0 && op.codeOffset > prologOffset) continue;
      if (machineFrame) {
        throw new UnwindError('bad-unwind-data', `UNWIND_INFO at RVA ${hex(info.rva)}: an operation follows UWOP_PUSH_MACHFRAME, which must be the last`);
      }
      switch (op.op) {
        case 'pushNonvol':
          slots.set(op.register, sp);
          sp = { register: sp.register, offset: sp.offset + 8 };
          break;
        case 'allocLarge':
        case 'allocSmall':
          sp = { register: sp.register, offset: sp.offset + op.size };
          break;
        case 'setFpreg':
          sp = { register: info.frameRegister!, offset: -info.frameOffset };
          break;
        case 'saveNonvol':
        case 'saveXmm128':
          slots.set(op.register, { register: frameBase.register, offset: frameBase.offset + op.offset });
          break;
        case 'pushMachframe':
          machineFrame = { register: sp.register, offset: sp.offset + (op.errorCode ? 8 : 0) };
          break;
      }
    }
  });
  const anchor = machineFrame ?? { register: sp.register, offset: sp.offset + 8 };
  const saved: SavedSlot[] = [...slots].map(([register, at]) =>
    at.register === anchor.register
      ? { register, base: 'anchor', offset: at.offset - anchor.offset }
      : { register, base: at.register, offset: at.offset },
  );
  return makeRule(machineFrame ? 'interrupt' : 'call', anchor, saved);
}

/** rsp after the fixed allocation, as RtlVirtualUnwind computes it before undoing operations. */
function establisherFrame(chain: UnwindChain, prologOffset: number): RegisterOffset {
  const primary = chain.infos[0]!;
  const fp: Gpr | undefined = primary.frameRegister;
  if (fp === undefined) return { register: 'rsp', offset: 0 };
  const viaFrame: RegisterOffset = { register: fp, offset: -primary.frameOffset };
  if (prologOffset >= primary.prologSize || primary.chainedTo !== undefined) return viaFrame;
  const set = primary.operations.find((op) => op.op === 'setFpreg');
  return set && prologOffset >= set.codeOffset ? viaFrame : { register: 'rsp', offset: 0 };
}
