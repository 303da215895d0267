/**
 * One status line on stderr for what takes a while (waiting for the target's
 * handshake, reading a PDB, writing the symbol file), so a newcomer sees that
 * josgdb is working and what the target has said so far. Only on a terminal:
 * when stderr is a file or a pipe it holds logs (JSON lines) and nothing else,
 * so the reporter is silent there.
 *
 * The line is drawn at once and erased when the activity ends; a timer adds the
 * elapsed seconds while the event loop is free (a synchronous step shows its
 * line without a count). Log lines written through `writeAbove` erase the
 * status line first and draw it again after, so the two never share a line.
 */

export interface Progress {
  /** Shows `activity` ("waiting for the target's handshake on tcp:..."), replacing any earlier one. */
  start(activity: string): void;
  /** A detail after the activity, e.g. the last line the target sent before its handshake. */
  detail(text: string): void;
  /** Ends the activity and erases its line. */
  done(): void;
  /** Writes log lines (ending in a newline) above the status line, at once (see createLogger). */
  writeAbove(text: string): void;
}

/** The part of a terminal stream the reporter uses (process.stderr, or a fake in tests). */
export interface StatusStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface ProgressOptions {
  /** How often the elapsed time is redrawn. */
  refreshMs?: number;
  now?: () => number;
}

const ERASE_LINE = '\r\x1b[K';
const SHOW_SECONDS_AFTER_MS = 1000;

export function createProgress(stream: StatusStream = process.stderr, options: ProgressOptions = {}): Progress {
  return stream.isTTY ? new TerminalProgress(stream, options) : new SilentProgress(stream);
}

/** Not a terminal: no status line; log lines pass straight through. */
class SilentProgress implements Progress {
  constructor(private readonly stream: StatusStream) {}
  writeAbove(text: string): void {
    this.stream.write(text);
  }
  start(): void {}
  detail(): void {}
  done(): void {}
}

class TerminalProgress implements Progress {
  private activity: string | undefined;
  private detailText = '';
  private startedAt = 0;
  private drawn = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly stream: StatusStream,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  writeAbove(text: string): void {
    this.erase();
    this.stream.write(text);
    this.draw();
  }

  start(activity: string): void {
    this.activity = activity;
    this.detailText = '';
    this.startedAt = this.now();
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), this.options.refreshMs ?? 1000);
      // A status line must never keep the process alive.
      this.timer.unref();
    }
    this.draw();
  }

  detail(text: string): void {
    if (this.activity === undefined) return;
    // Firmware consoles send escape sequences and carriage returns; keep printable text only.
    this.detailText = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x1f\x7f]/g, ' ').trim();
    this.draw();
  }

  done(): void {
    this.erase();
    this.activity = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private line(): string {
    const elapsedMs = this.now() - this.startedAt;
    const seconds = elapsedMs >= SHOW_SECONDS_AFTER_MS ? ` (${Math.floor(elapsedMs / 1000)} s)` : '';
    const detail = this.detailText ? `; last from the target: ${this.detailText}` : '';
    const text = `josgdb: ${this.activity}${seconds}${detail}`;
    // Wider than the terminal would wrap, and the erase would then leave the first part behind.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    return text.length > width ? `${text.slice(0, width - 3)}...` : text;
  }

  private draw(): void {
    if (this.activity === undefined) return;
    this.stream.write(`${ERASE_LINE}${this.line()}`);
    this.drawn = true;
  }

  private erase(): void {
    if (!this.drawn) return;
    this.stream.write(ERASE_LINE);
    this.drawn = false;
  }
}
