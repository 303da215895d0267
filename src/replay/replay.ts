/**
 * `josgdb replay FILE`: the recorded target side played to a fresh debugger
 * through the real bridge. The bridge runs as it did when recording (same
 * code path, a playback Link instead of the serial line), so a replay both
 * reproduces a session without the machine and checks that josgdb still asks
 * the target the same things and answers gdb the same way.
 *
 * The replay ends when the last recorded debugger connection has closed and
 * josgdb has released the target, or at a target-side divergence (the recording
 * has no answer to give). The first divergence of any side is the result.
 */
import type { Logger } from 'pino';
import { startBridge, type RunningBridge, type SymbolOptions } from '../bridge/bridge';
import { JosgdbError } from '../common/errors';
import type { Recording } from '../recording/format';
import type { Divergence } from './divergence';
import { RspCheck } from './rsp-check';
import { TargetPlayback, targetSteps } from './target-playback';

export interface ReplayOptions {
  recording: Recording;
  listenHost: string;
  listenPort: number;
  log: Logger;
  symbols?: SymbolOptions;
  /** How long josgdb waits for the recorded handshake (a recording cut before it never plays one). */
  handshakeTimeoutMs?: number;
}

export interface ReplayResult {
  /** The first divergence, undefined when the session matched the recording to its end. */
  divergence: Divergence | undefined;
  /** Recorded target bytes events the replay never reached. */
  unplayedTargetEvents: number;
}

export interface RunningReplay {
  bridge: RunningBridge;
  port: number;
  /** Resolves when the replay is over (see the module comment). */
  done: Promise<ReplayResult>;
  close(): Promise<void>;
}

export async function startReplay(options: ReplayOptions): Promise<RunningReplay> {
  const { recording, log } = options;
  const recorded = recording.header.options;
  if (recorded.attach) {
    throw new JosgdbError('BAD_ARGUMENT', 'this recording starts with --attach (no handshake): the replay needs a recording that starts with the handshake');
  }
  const openEvent = recording.events.find((e) => 'event' in e && e.event === 'open' && e.link === 'target');
  const description = openEvent && 'description' in openEvent ? openEvent.description : String(recorded.target ?? 'the target');
  let first: Divergence | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const report = (d: Divergence) => {
    first ??= d;
    if (d.side === 'target') {
      // Nothing recorded answers what josgdb asked: end the session now rather than at its timeouts.
      setImmediate(() => playback.close());
      finish();
    }
  };
  const playback = new TargetPlayback(targetSteps(recording.events), description, report);
  const check = new RspCheck(recording.events, report, () => finish());
  if (check.recordedConnectionCount === 0) {
    throw new JosgdbError('BAD_ARGUMENT', 'the recording holds no debugger connection: nothing to replay');
  }
  let opened = false;
  const bridge = await startBridge({
    target: description,
    listenHost: options.listenHost,
    listenPort: options.listenPort,
    log,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    reconnect: false,
    symbols: options.symbols,
    rspTap: check.tap,
    openTarget: async () => {
      if (opened) throw new JosgdbError('LINK_UNREACHABLE', 'the replay plays the first target link of the recording only');
      opened = true;
      return playback;
    },
  });
  const done = (async (): Promise<ReplayResult> => {
    await Promise.race([finished, bridge.targetLost]);
    // Let josgdb finish releasing the target after the debugger left.
    await bridge.server.whenDisconnected();
    return { divergence: first, unplayedTargetEvents: playback.remaining };
  })();
  return {
    bridge,
    port: bridge.port,
    done,
    async close() {
      await bridge.close();
    },
  };
}
