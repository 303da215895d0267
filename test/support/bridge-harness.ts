/** A bridge started in-process on a free port against some target, for e2e tests. */
import pino from 'pino';
import { startBridge, type RunningBridge, type SymbolOptions } from '../../src/bridge/bridge';

export interface BridgeHarnessOptions {
  packetLogPath?: string;
  stateFile?: string;
  attach?: boolean;
  symbols?: SymbolOptions;
  /** Where the bridge logs (default: stderr at JOSGDB_TEST_LOG's level, silent without it). */
  log?: pino.Logger;
}

export async function bridgeTo(target: string, opts: BridgeHarnessOptions = {}): Promise<RunningBridge> {
  const level = (process.env.JOSGDB_TEST_LOG as pino.Level | undefined) ?? 'silent';
  return startBridge({
    target,
    listenHost: '127.0.0.1',
    listenPort: 0,
    log: opts.log ?? pino({ level }, pino.destination(2)),
    handshakeTimeoutMs: 90_000,
    packetLogPath: opts.packetLogPath,
    stateFile: opts.stateFile,
    attach: opts.attach,
    symbols: opts.symbols,
    reconnectDelayMs: { initial: 50, max: 500 },
  });
}
