/** A bridge started in-process on a free port against some target, for e2e tests. */
import pino from 'pino';
import { startBridge, type RunningBridge } from '../../src/bridge/bridge';

export async function bridgeTo(target: string, opts: { packetLogPath?: string } = {}): Promise<RunningBridge> {
  const level = (process.env.JOSGDB_TEST_LOG as pino.Level | undefined) ?? 'silent';
  return startBridge({
    target,
    listenHost: '127.0.0.1',
    listenPort: 0,
    log: pino({ level }, pino.destination(2)),
    handshakeTimeoutMs: 90_000,
    packetLogPath: opts.packetLogPath,
  });
}
