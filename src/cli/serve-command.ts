/**
 * `josgdb serve`: bridge one target to gdb/lldb until interrupted. Listens on
 * loopback unless --allow-remote says otherwise: a gdb connection can read and
 * write all of the target's memory.
 */
import type { CommandModule } from 'yargs';
import { JosgdbError } from '../common/errors';
import { startBridge } from '../bridge/bridge';
import { defaultSnapshotPath } from '../bridge/session-snapshot';
import { isLoopback, parseListenAddress } from './listen-address';
import { createLogger, LOG_LEVELS, type LogLevel } from './logging';

interface ServeArgs {
  target: string;
  listen: string;
  'allow-remote': boolean;
  'log-level': LogLevel;
  'packet-log'?: string;
  baud?: number;
  'handshake-timeout': number;
  attach: boolean;
  'state-file'?: string;
  reconnect: boolean;
  image?: string;
  pdb?: string;
  'symbol-path'?: string[];
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'bridge a josx64 target to gdb, lldb or an IDE',
  builder: (y) =>
    y
      .option('target', {
        type: 'string',
        demandOption: true,
        describe: 'the target link: tcp:HOST:PORT (QEMU -serial tcp:...,server=on,nodelay=on), unix:PATH, serial:DEVICE[:BAUD] or /dev/ttyUSB0',
      })
      .option('listen', { type: 'string', default: '127.0.0.1:1234', describe: 'where gdb connects: HOST:PORT' })
      .option('allow-remote', { type: 'boolean', default: false, describe: 'allow --listen on a non-loopback address' })
      .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'log detail (logs go to stderr)' })
      .option('packet-log', { type: 'string', describe: 'write every packet on both links, timestamped, to this file' })
      .option('baud', { type: 'number', describe: 'baud rate of a serial device (default 38400, as josx64 programs it)' })
      .option('handshake-timeout', { type: 'number', default: 120, describe: 'seconds to wait for the kernel to answer the handshake' })
      .option('attach', {
        type: 'boolean',
        default: false,
        describe: 'the kernel is already connected (josgdb was restarted): attach from the saved session, no handshake',
      })
      .option('state-file', {
        type: 'string',
        describe: 'where the session state for --attach is kept (default: one file per target under $XDG_STATE_HOME/josgdb)',
      })
      .option('image', { type: 'string', describe: "the kernel's PE image (e.g. BOOTX64.EFI): gdb gets its names and source lines with no setup" })
      .option('pdb', { type: 'string', describe: "the image's PDB (default: the path the image records, next to the image, --symbol-path, the cache)" })
      .option('symbol-path', { type: 'string', array: true, describe: 'directories to search for the PDB (flat or symbol-store layout)' })
      .option('reconnect', { type: 'boolean', default: true, describe: 'reopen a dropped target link and carry on (--no-reconnect to exit instead)' })
      .example('$0 serve --target tcp:127.0.0.1:5555', 'QEMU started with -serial tcp:127.0.0.1:5555,server=on,wait=off,nodelay=on')
      .example('$0 serve --target /dev/ttyUSB0 --baud 115200', 'a real machine on a USB serial adapter')
      .example('$0 serve --target tcp:127.0.0.1:5555 --image build/BOOTX64.EFI', 'with symbols: gdb needs no file argument')
      .example('$0 serve --target tcp:127.0.0.1:5555 --attach', 'restart the bridge while the kernel stays connected')
      .example('gdb -ex "target remote 127.0.0.1:1234"', 'then, in another terminal, attach gdb'),
  handler: async (args) => {
    const listen = parseListenAddress(args.listen);
    const log = createLogger(args['log-level']);
    if (!isLoopback(listen.host)) {
      if (!args['allow-remote']) {
        throw new JosgdbError(
          'BAD_ARGUMENT',
          `--listen ${args.listen} is not a loopback address: anyone who can reach it can read and write the target's memory. Add --allow-remote if you mean it.`,
        );
      }
      log.warn(`listening on ${listen.host}: every host that can reach this port can control the target`);
    }
    const bridge = await startBridge({
      target: args.target,
      listenHost: listen.host,
      listenPort: listen.port,
      log,
      baud: args.baud,
      packetLogPath: args['packet-log'],
      handshakeTimeoutMs: args['handshake-timeout'] * 1000,
      onNoise: (line) => log.debug({ channel: 'pre-handshake' }, line),
      stateFile: args['state-file'] ?? defaultSnapshotPath(args.target),
      attach: args.attach,
      reconnect: args.reconnect,
      symbols:
        args.image !== undefined || args.pdb !== undefined
          ? { image: args.image, pdb: args.pdb, symbolPath: args['symbol-path'] }
          : undefined,
    });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      void bridge.targetLost.then((reason) => {
        log.error(`the target link ${args.target} is gone (${reason}); restart josgdb when the target is back (with --attach if the kernel kept running)`);
        resolve();
      });
    });
    log.info('shutting down: releasing the target');
    await bridge.session.release({ resume: true }).catch(() => undefined);
    await bridge.close();
  },
};
