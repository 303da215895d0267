/**
 * Session recording: a Link wrapper that appends every chunk, with a timestamp and
 * its direction, to a JSONL file, one event per line, in the same shape as the
 * reference captures in shared/captures/josx64 (`rx_raw`/`tx_raw` with `hex`), so
 * one reader (readRecording) replays both.
 */
import * as fs from 'fs';
import type { Link } from './link';
import { BaseLink } from './link';

export interface RecordingEvent {
  /** Seconds since the recording started. */
  t: number;
  dir: 'rx' | 'tx';
  bytes: Buffer;
}

class RecordingLink extends BaseLink {
  readonly description: string;
  private readonly fd: number;
  private readonly t0 = process.hrtime.bigint();

  constructor(
    private readonly inner: Link,
    file: string,
  ) {
    super();
    this.description = inner.description;
    this.fd = fs.openSync(file, 'a');
    this.append({ kind: 'info', msg: `recording ${inner.description}` });
    inner.onData((chunk) => {
      this.append({ kind: 'rx_raw', n: chunk.length, hex: chunk.toString('hex') });
      this.emitData(chunk);
    });
    inner.onClose((err) => {
      this.append({ kind: 'info', msg: err ? `closed: ${err.message}` : 'closed' });
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.emitClose(err);
    });
  }

  private append(event: Record<string, unknown>): void {
    const t = Number(process.hrtime.bigint() - this.t0) / 1e9;
    try {
      fs.writeSync(this.fd, JSON.stringify({ t: Math.round(t * 1e6) / 1e6, ...event }) + '\n');
    } catch {
      // the file is gone or closed: recording is best effort and never breaks the session
    }
  }

  write(data: Buffer): void {
    this.append({ kind: 'tx_raw', n: data.length, hex: data.toString('hex') });
    this.inner.write(data);
  }

  close(): void {
    this.inner.close();
  }
}

/** Wraps `link` so every byte both ways is appended to `file` (JSONL). */
export function recordLink(link: Link, file: string): Link {
  return new RecordingLink(link, file);
}

/**
 * Reads a recording or a reference capture: the byte events in order. `rx`/`tx`
 * packet events (captures) and `rx_raw`/`tx_raw` events (both) carry exact bytes;
 * everything else (`rx_chunk` sizes, `info`) is skipped.
 */
export function readRecording(text: string): RecordingEvent[] {
  const out: RecordingEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as { t?: number; kind?: string; hex?: string };
    if (typeof e.hex !== 'string') continue;
    const dir = e.kind === 'rx' || e.kind === 'rx_raw' ? 'rx' : e.kind === 'tx' || e.kind === 'tx_raw' ? 'tx' : undefined;
    if (!dir) continue;
    out.push({ t: e.t ?? 0, dir, bytes: Buffer.from(e.hex, 'hex') });
  }
  return out;
}
