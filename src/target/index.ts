/** The josx64 side of josgdb: protocol tables, codec, client. Never imports rsp/ or bridge/. */
export * from './protocol';
export type * from './messages';
export { parseJsonTolerant, decodeTolerant } from './json';
export { parseKernelInfo, buildConnectionInfoBody, sanitizePrintable } from './info';
export type { ConnectionInfoFields } from './info';
export {
  decodeInterruptFrame,
  encodeInterruptFrame,
  decodeStopRecord,
  encodeStopRecord,
  decodeContext,
  encodeContext,
  decodeFxsave,
  stopRecordProblem,
} from './structs';
export {
  KernelStreamDecoder,
  HostStreamDecoder,
  MAX_DECODER_BUFFER,
  encodeRequest,
  encodeKernelMessage,
  decodeKernelMessage,
  buildAssertBody,
  cleanNoiseLine,
  replyIdOf,
  featureOf,
  packet,
} from './codec';
export type { KernelStreamDecoderOptions, HostStreamDecoderOptions } from './codec';
export { KernelClient } from './client';
export type {
  KernelState,
  StopEvent,
  AssertEvent,
  WedgeEvent,
  KernelClientEvents,
  KernelClientOptions,
  ConnectOptions,
  SafeReadResult,
  SafeWriteResult,
} from './client';
export { TypedEmitter } from './events';
