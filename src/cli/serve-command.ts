/**
 * `josgdb serve`: bridge one target to gdb/lldb until interrupted. Listens on
 * loopback unless --allow-remote says otherwise: a gdb connection can read and
 * write all of the target's memory.
 */
import { JosgdbError } from '../common/errors';
import { startBridge, type BridgePhase } from '../bridge/bridge';
import { defaultSnapshotPath } from '../bridge/session-snapshot';
import { BaudCheck, wrongBaudHint } from '../link/baud-check';
import { openLink, parseLinkSpec, parseThrottle } from '../link/open';
import { SessionRecorder } from '../recording/session-recorder';
import { ExitCode } from './exit-codes';
import { isLoopback, parseListenAddress } from './listen-address';
import { createLogger, LOG_LEVELS, type LogLevel } from './logging';
import type { OptionTable } from './option-values';
import { createProgress } from './progress';
import type { BuiltCommand } from './settings-help';
import { josgdbVersion } from './version';

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
  record?: string;
  throttle?: string;
}

export const serveOptions = {
  target: {
    type: 'string',
    demandOption: true,
    describe:
      'the target link: tcp:HOST:PORT (QEMU -serial tcp:...,server=on,nodelay=on), tcp-listen:HOST:PORT (QEMU -serial tcp:HOST:PORT connects), ' +
      'unix:PATH, serial:DEVICE[:BAUD] or /dev/ttyUSB0 (a pty from QEMU -serial pty too), then options such as ,8N1 ,flow=rtscts ,throttle=BAUD (docs/hardware.md)',
  },
  listen: { type: 'string', default: '127.0.0.1:1234', describe: 'where gdb connects: HOST:PORT' },
  'allow-remote': { type: 'boolean', default: false, describe: 'allow --listen on a non-loopback address' },
  'log-level': { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'log detail (logs go to stderr)' },
  'packet-log': { type: 'string', describe: 'write every packet on both links, timestamped, to this file' },
  baud: { type: 'number', describe: 'baud rate of a serial device (default 38400, as josx64 programs it)' },
  'handshake-timeout': { type: 'number', default: 120, describe: 'seconds to wait for the kernel to answer the handshake' },
  attach: {
    type: 'boolean',
    default: false,
    describe: 'the kernel is already connected (josgdb was restarted): attach from the saved session, no handshake',
  },
  'state-file': {
    type: 'string',
    describe: 'where the session state for --attach is kept (default: one file per target under $XDG_STATE_HOME/josgdb)',
  },
  image: { type: 'string', describe: "the kernel's PE image (e.g. BOOTX64.EFI): gdb gets its names and source lines with no setup" },
  pdb: { type: 'string', describe: "the image's PDB (default: the path the image records, next to the image, --symbol-path, the cache)" },
  'symbol-path': { type: 'string', array: true, describe: 'directories to search for the PDB (flat or symbol-store layout)' },
  record: {
    type: 'string',
    describe: 'record every byte of both links, timestamped, to this file (gzip; josgdb replay FILE plays it back; docs/recording.md)',
  },
  throttle: {
    type: 'string',
    describe: 'pace the target link like a UART: BAUD[,JITTER_MS] (e.g. 115200,2), to try a real line over a fast socket',
  },
  reconnect: { type: 'boolean', default: true, describe: 'reopen a dropped target link and carry on (--no-reconnect to exit instead)' },
} as const satisfies OptionTable;

/**
 * The status line for each step of the start (BridgePhase); undefined once
 * gdb can connect, which ends it. Each names what it waits on, so a user
 * staring at it knows where to look: the link, the target's boot, the files.
 */
export function serveActivity(phase: BridgePhase, args: Pick<ServeArgs, 'target' | 'image' | 'pdb'>): string | undefined {
  switch (phase) {
    case 'link':
      return `opening the target link ${args.target}`;
    case 'handshake':
      return `waiting for the target's handshake on ${args.target}`;
    case 'attach':
      return `attaching to the kernel on ${args.target}`;
    case 'symbols': {
      const files = [args.image ?? 'the image from target memory', ...(args.pdb !== undefined ? [args.pdb] : [])];
      return `reading the symbols (${files.join(', ')})`;
    }
    case 'listening':
      return undefined;
  }
}

export const serveCommand: BuiltCommand<ServeArgs> = {
  command: 'serve',
  describe: 'bridge a josx64 target to gdb, lldb or an IDE',
  builder: (y) =>
    y
      .options(serveOptions)
      .example('$0 serve --target tcp:127.0.0.1:5555', 'QEMU started with -serial tcp:127.0.0.1:5555,server=on,wait=off,nodelay=on')
      .example('$0 serve --target /dev/ttyUSB0 --baud 115200', 'a real machine on a USB serial adapter')
      .example('$0 serve --target tcp:127.0.0.1:5555 --image build/BOOTX64.EFI', 'with symbols: gdb needs no file argument')
      .example('$0 serve --target serial:/dev/ttyUSB0:115200,8N1', 'stub-uefi on a real machine (COM2, 115200 baud)')
      .example('$0 serve --target tcp:127.0.0.1:5555 --record bug.josrec', 'record the session to attach to a bug report')
      .example('$0 serve --target tcp:127.0.0.1:5555 --attach', 'restart the bridge while the kernel stays connected')
      .example('gdb -ex "target remote 127.0.0.1:1234"', 'then, in another terminal, attach gdb'),
  handler: async (args) => {
    const listen = parseListenAddress(args.listen);
    const progress = createProgress();
    const log = createLogger(args['log-level'], { progress });
    if (!isLoopback(listen.host)) {
      if (!args['allow-remote']) {
        throw new JosgdbError(
          'BAD_ARGUMENT',
          `--listen ${args.listen} is not a loopback address: anyone who can reach it can read and write the target's memory. Add --allow-remote if you mean it.`,
        );
      }
      log.warn(
        `listening on ${listen.host}: every host that can reach this port can control the target (RSP has no authentication; ` +
          `an SSH tunnel to a loopback listener is safer: ssh -L ${listen.port}:127.0.0.1:${listen.port} THIS_HOST)`,
      );
    }
    const throttle = args.throttle !== undefined ? parseThrottle(args.throttle) : undefined;
    const spec = parseLinkSpec(args.target, { baud: args.baud });
    const recorder = args.record
      ? new SessionRecorder(
          args.record,
          {
            target: args.target,
            listen: args.listen,
            ...(args.baud !== undefined ? { baud: args.baud } : {}),
            ...(args.throttle !== undefined ? { throttle: args.throttle } : {}),
            ...(args.image !== undefined ? { image: args.image } : {}),
            ...(args.pdb !== undefined ? { pdb: args.pdb } : {}),
            attach: args.attach,
            reconnect: args.reconnect,
          },
          josgdbVersion(),
          (message) => log.warn(message),
        )
      : undefined;
    if (recorder) log.info(`recording both links to ${args.record}`);
    const baudCheck = spec.kind === 'serial' ? new BaudCheck() : undefined;
    let onListeningLogged = false;
    const openTarget = async () => {
      const link = await openLink(args.target, {
        baud: args.baud,
        throttle,
        onListening: (where) => {
          if (!onListeningLogged) log.info(`waiting for the target to connect to ${where} (QEMU -serial tcp:${where})`);
          onListeningLogged = true;
        },
      });
      return recorder ? recorder.target(link) : link;
    };
    const withSymbols = args.image !== undefined || args.pdb !== undefined;
    const bridge = await startBridge({
      onPhase: (phase) => {
        const activity = serveActivity(phase, args);
        if (activity === undefined) progress.done();
        else progress.start(activity);
      },
      target: args.target,
      openTarget,
      rspTap: recorder?.rsp,
      listenHost: listen.host,
      listenPort: listen.port,
      log,
      baud: args.baud,
      packetLogPath: args['packet-log'],
      handshakeTimeoutMs: args['handshake-timeout'] * 1000,
      onNoise: (line) => {
        progress.detail(line);
        log.debug({ channel: 'pre-handshake' }, line);
        if (baudCheck?.feed(line)) log.warn(wrongBaudHint(args.target));
      },
      stateFile: args['state-file'] ?? defaultSnapshotPath(args.target),
      attach: args.attach,
      reconnect: args.reconnect,
      symbols: withSymbols ? { image: args.image, pdb: args.pdb, symbolPath: args['symbol-path'] } : undefined,
    }).then(
      (running) => {
        progress.done();
        return running;
      },
      async (err: unknown) => {
        progress.done();
        await recorder?.close();
        throw err;
      },
    );
    let shuttingDown = false;
    await new Promise<void>((resolve) => {
      const stop = () => {
        shuttingDown = true;
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      void bridge.targetLost.then((reason) => {
        if (shuttingDown) return;
        log.error(`the target link ${args.target} is gone (${reason}); restart josgdb when the target is back (with --attach if the kernel kept running)`);
        process.exitCode = ExitCode.TARGET_LOST;
        resolve();
      });
    });
    log.info('shutting down: releasing the target');
    await bridge.session.release({ resume: true }).catch(() => undefined);
    await bridge.close();
    if (recorder) {
      await recorder.close();
      log.info(`recording written to ${args.record}`);
    }
  },
};
