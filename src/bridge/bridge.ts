/**
 * Puts the layers together: a link to the target, the josx64 client and its
 * handshake, the session, and the gdb endpoint. `josgdb serve`, the demo and the
 * tests all start a bridge through `startBridge`.
 */
import type { Logger } from 'pino';
import { openLink } from '../link/open';
import { KernelClient } from '../target/client';
import { GdbServer } from './gdb-server';
import { KernelTarget } from './kernel-target';
import { PacketLog } from './packet-log';
import { Session } from './session';

export interface BridgeOptions {
  /** tcp:HOST:PORT, unix:PATH, serial:DEVICE[:BAUD] or a device path. */
  target: string;
  listenHost: string;
  listenPort: number;
  log: Logger;
  baud?: number;
  packetLogPath?: string;
  handshakeTimeoutMs?: number;
  /** Pre-handshake lines from the target (firmware console), e.g. for progress output. */
  onNoise?: (line: string) => void;
}

export interface RunningBridge {
  session: Session;
  server: GdbServer;
  client: KernelClient;
  /** The gdb port actually listened on (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const { log } = options;
  const packetLog = options.packetLogPath ? new PacketLog(options.packetLogPath) : undefined;
  const link = await openLink(options.target, { baud: options.baud });
  const client = new KernelClient(link, {
    logger: log.child({ layer: 'target' }),
    ...(link.description.startsWith('tcp:') || link.description.startsWith('unix:') ? { bytesPerSecond: 1_000_000 } : {}),
  });
  if (packetLog) {
    link.onData((chunk) => packetLog.write('target', 'in', chunk.toString('hex')));
    client.on('connectionInfo', (info) => packetLog.write('target', 'in', `KernelConnectionInfo ${info.raw}`));
  }
  log.info(`connecting to the target on ${link.description}`);
  const info = await client.connect({ handshakeTimeoutMs: options.handshakeTimeoutMs, onNoise: options.onNoise });
  log.info(
    `target connected: josx64 ${info.version.major}.${info.version.minor}.${info.version.patch}, image at 0x${info.imageBase.toString(16)}, ` +
      `features: ${info.features.size ? [...info.features].join(' ') : 'none (base protocol)'}`,
  );
  const target = new KernelTarget(client, info);
  const session = new Session(target, log.child({ layer: 'bridge' }));
  // The first stop can come in the same chunk as the connection info, before the session listened.
  target.replayLastStop();
  const server = new GdbServer({
    host: options.listenHost,
    port: options.listenPort,
    session,
    log: log.child({ layer: 'gdb' }),
    linkDescription: link.description,
    packetLog,
    setLogLevel: (level) => {
      if (!(level in log.levels.values)) return false;
      log.level = level;
      return true;
    },
  });
  await server.listen();
  return {
    session,
    server,
    client,
    port: server.address.port,
    async close() {
      await server.close();
      client.close();
      await packetLog?.close();
    },
  };
}
