/**
 * pino setup: readable lines on a terminal, JSON lines otherwise (for log
 * collectors and bug reports). Logs go to stderr so stdout stays for command output.
 */
import pino, { Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { Progress } from './progress';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const PRETTY_OPTIONS = { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' };

/**
 * `progress`: readable lines are formatted and written at once, in this thread
 * (not pino's worker), above its status line, so a log line never lands in the
 * middle of it and none is lost when the process exits right after. JSON lines
 * (stderr not a terminal) have no status line to avoid.
 */
export function createLogger(level: LogLevel, options: { pretty?: boolean; progress?: Progress } = {}): Logger {
  const readable = options.pretty ?? Boolean(process.stderr.isTTY);
  if (readable && options.progress) {
    const prettify = prettyFactory(PRETTY_OPTIONS);
    const progress = options.progress;
    return pino({ level }, { write: (line: string) => progress.writeAbove(prettify(line)) });
  }
  if (readable) {
    return pino({ level, transport: { target: 'pino-pretty', options: { ...PRETTY_OPTIONS, destination: 2 } } });
  }
  return pino({ level, base: undefined }, pino.destination(2));
}
