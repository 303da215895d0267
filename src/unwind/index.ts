/**
 * Stack unwinding for x64 UEFI images: x64 unwind info (.pdata/.xdata),
 * prologue analysis where there is none, interrupt entry code, the josx64
 * scan as the last resort, a stack walker over all of them, and the same
 * rules as call-frame rows for the symbol file gdb reads. Pure: target memory
 * comes in through a MemoryReader, image bytes through the parsed PeImage.
 */
export { walkStack, DEFAULT_MAX_FRAMES, DEFAULT_MAX_SCAN_BYTES } from './stack-walker';
export type { StackFrame, StackWalk, WalkEnd, WalkOptions, FoundBy } from './stack-walker';
export { codeLookup } from './code-lookup';
export type { CodeLookup, UnwindImage, FunctionBounds, RuleLookup, RuleMethod, RuleQuery } from './code-lookup';
export { PeUnwindImage, innermostRuntimeFunction } from './pe-unwind-image';
export type { PeUnwindImageOptions } from './pe-unwind-image';
export { createUnwindImage } from './image-setup';
export type { UnwindImageSetup, UnwindImageResult } from './image-setup';
export { buildFrameFunctions, frameRow } from './frame-cfi';
export { applyFrameRule } from './apply-rule';
export type { MemoryReader, UnwoundFrame } from './apply-rule';
export { describeRule, rulesEqual, isTrivialRule, ENTRY_RULE, MACHINE_FRAME } from './frame-rule';
export type { FrameRule, FrameKind, SavedSlot, RegisterOffset } from './frame-rule';
export { decodeUnwindInfo, decodeUnwindChain, resolveIndirectEntry, epilogRanges, operationName } from './unwind-info';
export type { UnwindInfo, UnwindOperation, UnwindChain, EpilogDescriptors, ImageByteReader } from './unwind-info';
export { frameRuleFromUnwindInfo } from './unwind-info-rule';
export type { UnwindInfoRule, CodeReader } from './unwind-info-rule';
export { analyzeFunction } from './prologue-analysis';
export type { FunctionAnalysis, AnalyzedInstruction, DerivedPrologue, EntryState, AnalyzeOptions } from './prologue-analysis';
export { interruptEntriesFromStubs, vectorTableRvas, ERROR_CODE_VECTORS } from './interrupt-entries';
export type { InterruptEntry } from './interrupt-entries';
export { callEndingAt } from './call-site';
export type { CallSite } from './call-site';
export { scanForCaller, returnSite } from './stack-scan';
export type { ScanRequest, ScanHit } from './stack-scan';
export { UnwindError } from './unwind-error';
export type { UnwindFailure } from './unwind-error';
export { dwarfRegister, registerFromDwarf } from './registers';
export type { RegisterName, RegisterSet, Gpr, Xmm } from './registers';
