/**
 * `--record FILE`: a session recording, the format described in docs/recording.md.
 *
 * A gzip stream of JSON lines. The first line is the header (format name, version,
 * the josgdb version and the options it ran with); every other line is one event
 * on one of the two links, with its time in seconds since the recording started:
 *
 *     {"format":"josgdb-recording","version":1,"josgdb":"0.1.0",...}
 *     {"t":0.000512,"link":"target","event":"open","description":"tcp:127.0.0.1:5555"}
 *     {"t":0.000601,"link":"target","dir":"tx","hex":"2d2d2d2d6a6f7378"}
 *     {"t":0.104233,"link":"target","dir":"rx","hex":"02000000..."}
 *     {"t":1.500000,"link":"gdb","event":"connect","peer":"127.0.0.1:40112"}
 *     {"t":1.500100,"link":"gdb","dir":"rx","hex":"2b2471537570..."}
 *     {"t":9.000000,"event":"end"}
 *
 * `tx` is what josgdb wrote, `rx` what it received, on either link. Bytes are
 * exact (hex), chunked as the sockets delivered them. JSON lines stay readable
 * with `zcat FILE`; gzip takes back what hex costs.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { JosgdbError } from '../common/errors';

export const RECORDING_FORMAT = 'josgdb-recording';
export const RECORDING_VERSION = 1;

export type RecordedLink = 'gdb' | 'target';
export type RecordedDirection = 'rx' | 'tx';

export interface RecordingHeader {
  format: typeof RECORDING_FORMAT;
  version: number;
  /** The josgdb version that recorded. */
  josgdb: string;
  /** When the recording started (ISO 8601, UTC). */
  created: string;
  node: string;
  /** The command-line options josgdb ran with (target spec, listen address, baud, throttle, image, ...). */
  options: Record<string, unknown>;
}

export type RecordingEvent =
  | { t: number; link: RecordedLink; dir: RecordedDirection; bytes: Buffer }
  | { t: number; link: 'target'; event: 'open'; description: string }
  | { t: number; link: 'target'; event: 'close'; error?: string }
  | { t: number; link: 'gdb'; event: 'connect'; peer: string }
  | { t: number; link: 'gdb'; event: 'close'; error?: string }
  | { t: number; event: 'end' };

export interface Recording {
  header: RecordingHeader;
  events: RecordingEvent[];
  /** False when the file stops before the `end` event (josgdb was killed, or the file was cut). */
  complete: boolean;
}

function toJson(e: RecordingEvent): Record<string, unknown> {
  if ('bytes' in e) return { t: e.t, link: e.link, dir: e.dir, hex: e.bytes.toString('hex') };
  return { ...e };
}

/**
 * Writes a recording as it happens. Writes are buffered by zlib and flushed to the
 * file every `flushMs` (a josgdb that is killed leaves a readable prefix), and
 * never throw: a recording that fails (disk full) is reported once through `onError`
 * and the session goes on.
 */
export class RecordingWriter {
  private readonly gzip: zlib.Gzip;
  private readonly file: fs.WriteStream;
  private readonly t0 = process.hrtime.bigint();
  private readonly timer: NodeJS.Timeout;
  private dirty = false;
  private ended = false;
  private readonly finished: Promise<void>;

  constructor(
    readonly path: string,
    options: Record<string, unknown>,
    version: string,
    onError: (err: Error) => void = () => undefined,
    flushMs = 1000,
  ) {
    this.gzip = zlib.createGzip({ level: 9 });
    this.file = fs.createWriteStream(path);
    let reported = false;
    const report = (err: Error) => {
      if (!reported) onError(err);
      reported = true;
    };
    this.gzip.on('error', report);
    this.file.on('error', report);
    this.gzip.pipe(this.file);
    this.finished = new Promise((resolve) => {
      this.file.on('close', () => resolve());
      this.file.on('error', () => resolve());
    });
    const header: RecordingHeader = {
      format: RECORDING_FORMAT,
      version: RECORDING_VERSION,
      josgdb: version,
      created: new Date().toISOString(),
      node: process.version,
      options,
    };
    this.line(header);
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  /** Seconds since the recording started, to the microsecond. */
  now(): number {
    return Math.round(Number(process.hrtime.bigint() - this.t0) / 1e3) / 1e6;
  }

  bytes(link: RecordedLink, dir: RecordedDirection, bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.line(toJson({ t: this.now(), link, dir, bytes }));
  }

  event(e: Omit<Extract<RecordingEvent, { event: string }>, 't'> & Record<string, unknown>): void {
    this.line({ t: this.now(), ...e });
  }

  private line(obj: object): void {
    if (this.ended) return;
    this.gzip.write(JSON.stringify(obj) + '\n');
    this.dirty = true;
  }

  private flush(): void {
    if (!this.dirty || this.ended) return;
    this.dirty = false;
    this.gzip.flush(zlib.constants.Z_SYNC_FLUSH);
  }

  /** Writes the `end` event and closes the file. */
  close(): Promise<void> {
    if (!this.ended) {
      this.line({ t: this.now(), event: 'end' });
      this.ended = true;
      clearInterval(this.timer);
      this.gzip.end();
    }
    return this.finished;
  }
}

function bad(path: string, why: string): never {
  throw new JosgdbError('BAD_ARGUMENT', `${path} is not a josgdb recording: ${why}`);
}

/** Parses a recording (gzip or plain JSON lines). A file cut short reads up to its last whole line. */
export function parseRecording(data: Buffer, path = 'the recording'): Recording {
  let text: string;
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    try {
      text = zlib.gunzipSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
    } catch (err) {
      return bad(path, `the gzip data is damaged (${(err as Error).message})`);
    }
  } else {
    text = data.toString('utf8');
  }
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop(); // a line cut short
  const nonEmpty = lines.filter((l) => l.trim() !== '');
  if (nonEmpty.length === 0) bad(path, 'it is empty');
  let header: RecordingHeader;
  try {
    header = JSON.parse(nonEmpty[0]) as RecordingHeader;
  } catch {
    return bad(path, 'the first line is not JSON');
  }
  if (header.format !== RECORDING_FORMAT) bad(path, `the header names format "${String(header.format)}"`);
  if (header.version !== RECORDING_VERSION) {
    bad(path, `it is version ${header.version} of the format and this josgdb reads version ${RECORDING_VERSION}`);
  }
  const events: RecordingEvent[] = [];
  let complete = false;
  for (let i = 1; i < nonEmpty.length; i++) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(nonEmpty[i]) as Record<string, unknown>;
    } catch {
      return bad(path, `line ${i + 1} is not JSON`);
    }
    if (typeof e.hex === 'string') {
      events.push({ t: e.t as number, link: e.link as RecordedLink, dir: e.dir as RecordedDirection, bytes: Buffer.from(e.hex, 'hex') });
    } else if (e.event === 'end') {
      complete = true;
      events.push(e as unknown as RecordingEvent);
    } else {
      events.push(e as unknown as RecordingEvent);
    }
  }
  return { header, events, complete };
}

export function readRecordingFile(path: string): Recording {
  let data: Buffer;
  try {
    data = fs.readFileSync(path);
  } catch (err) {
    throw new JosgdbError('BAD_ARGUMENT', `cannot read the recording ${path}: ${(err as Error).message}`);
  }
  return parseRecording(data, path);
}
