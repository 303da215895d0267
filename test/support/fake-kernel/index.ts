/**
 * A test double of the josx64 kernel debugger: `FakeKernel.listen({ compat: true })`
 * behaves like an unmodified josx64 kernel under QEMU (all seven flaws);
 * `FakeKernel.listen({ features: [...ALL_FEATURES] })` like stub-uefi with extensions.
 */
export { ALL_FEATURES, FakeKernel } from './kernel';
export type { FakeEvent, FakeKernelOptions, Feature, FlawNumber, KernelBreakpoint, KernelPhase, StopKind } from './kernel';
export {
  CODE_BASE, CODE_END, DATA_BASE, IMAGE_BASE, IMAGE_SIZE, NON_CANONICAL_ADDRESS, STACK_BASE, STACK_TOP, SYMBOLS, Trigger,
  UNMAPPED_ADDRESS, sym,
} from './program';
export { FRAME_FIELDS, Id as PacketId } from './wire';
export type { Frame, FrameField } from './wire';
