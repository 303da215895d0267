/**
 * `josgdb replay FILE`: plays a `serve --record` recording's target side to a
 * new debugger through the real bridge, and says where the new session first
 * differs from the recorded one (docs/recording.md).
 */
import * as fs from 'fs';
import { JosgdbError } from '../common/errors';
import { readRecordingFile } from '../recording/format';
import { describeDivergence } from '../replay/divergence';
import { startReplay } from '../replay/replay';
import { ExitCode } from './exit-codes';
import { isLoopback, parseListenAddress } from './listen-address';
import { createLogger, LOG_LEVELS, type LogLevel } from './logging';
import type { OptionTable } from './option-values';
import type { BuiltCommand } from './settings-help';

interface ReplayArgs {
  file: string;
  listen: string;
  'allow-remote': boolean;
  'log-level': LogLevel;
  image?: string;
  pdb?: string;
  'symbol-path'?: string[];
  'handshake-timeout': number;
}

export const replayOptions = {
  listen: { type: 'string', default: '127.0.0.1:1234', describe: 'where gdb connects: HOST:PORT' },
  'allow-remote': { type: 'boolean', default: false, describe: 'allow --listen on a non-loopback address' },
  'log-level': { choices: LOG_LEVELS, default: 'warn' as LogLevel, describe: 'log detail (logs go to stderr)' },
  image: { type: 'string', describe: 'the image the recording was made with (default: the one its header names, if it exists)' },
  pdb: { type: 'string', describe: "the image's PDB (default: the one its header names)" },
  'symbol-path': { type: 'string', array: true, describe: 'directories to search for the PDB' },
  'handshake-timeout': { type: 'number', default: 10, describe: 'seconds to wait for the recorded handshake to play back' },
} as const satisfies OptionTable;

export const replayCommand: BuiltCommand<ReplayArgs> = {
  command: 'replay <file>',
  describe: 'play a recorded session (serve --record) to a new gdb and report where it diverges',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'the recording' })
      .options(replayOptions)
      .example('$0 replay bug.josrec --listen 127.0.0.1:1234', 'then: gdb -ex "target remote 127.0.0.1:1234" and the same commands as when recording'),
  handler: async (args) => {
    const listen = parseListenAddress(args.listen);
    if (!isLoopback(listen.host) && !args['allow-remote']) {
      throw new JosgdbError('BAD_ARGUMENT', `--listen ${args.listen} is not a loopback address; add --allow-remote if you mean it`);
    }
    const log = createLogger(args['log-level']);
    const recording = readRecordingFile(args.file);
    const h = recording.header;
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const recorded = (v: unknown) => (typeof v === 'string' && fs.existsSync(v) ? v : undefined);
    if (args.image === undefined && typeof h.options.image === 'string' && !recorded(h.options.image)) {
      log.warn(`the recording was made with --image ${h.options.image}, which is not here: replaying without symbols (pass --image)`);
    }
    const image = args.image ?? recorded(h.options.image);
    const pdb = args.pdb ?? recorded(h.options.pdb);
    const replay = await startReplay({
      recording,
      listenHost: listen.host,
      listenPort: listen.port,
      log,
      symbols: image !== undefined || pdb !== undefined ? { image, pdb, symbolPath: args['symbol-path'] } : undefined,
      handshakeTimeoutMs: args['handshake-timeout'] * 1000,
    });
    out(
      `replaying ${args.file}: recorded by josgdb ${h.josgdb} on ${h.created} from ${String(h.options.target)}` +
        `${recording.complete ? '' : ' (the recording was cut short)'}`,
    );
    out(`waiting for gdb on ${listen.host}:${replay.port} (gdb -ex "target remote ${listen.host}:${replay.port}")`);
    let interrupt = () => undefined as void;
    const stop = new Promise<'interrupted'>((resolve) => (interrupt = () => resolve('interrupted')));
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const result = await Promise.race([replay.done, stop]);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await replay.close();
    if (result === 'interrupted') {
      out('replay interrupted');
      return;
    }
    if (result.divergence) {
      out(describeDivergence(result.divergence));
      process.exitCode = ExitCode.REPLAY_DIVERGED;
    } else {
      out('the session matched the recording');
    }
  },
};
