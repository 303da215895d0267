/**
 * `josgdb serve --record FILE`: both links of a bridge into one recording. The
 * target side is a Link wrapper (every link the bridge opens, reconnections
 * included, is wrapped); the gdb side is the bridge's RSP tap.
 */
import type { RspTap } from '../bridge/gdb-server';
import { errorMessage } from '../common/errors';
import type { Link } from '../link/link';
import { BaseLink } from '../link/link';
import { RecordingWriter } from './format';

class RecordedLink extends BaseLink {
  readonly description: string;

  constructor(
    private readonly inner: Link,
    private readonly writer: RecordingWriter,
  ) {
    super();
    this.description = inner.description;
    writer.event({ link: 'target', event: 'open', description: inner.description });
    inner.onData((chunk) => {
      writer.bytes('target', 'rx', chunk);
      this.emitData(chunk);
    });
    inner.onClose((err) => {
      writer.event({ link: 'target', event: 'close', ...(err ? { error: err.message } : {}) });
      this.emitClose(err);
    });
  }

  write(data: Buffer): void {
    this.writer.bytes('target', 'tx', data);
    this.inner.write(data);
  }

  close(): void {
    this.inner.close();
  }
}

export class SessionRecorder {
  readonly writer: RecordingWriter;

  constructor(path: string, options: Record<string, unknown>, version: string, onError: (message: string) => void) {
    this.writer = new RecordingWriter(path, options, version, (err) =>
      onError(`recording to ${path} failed: ${errorMessage(err)}; the session goes on unrecorded`),
    );
  }

  /** Wraps a freshly opened target link. */
  target(link: Link): Link {
    return new RecordedLink(link, this.writer);
  }

  /** The bridge's RSP tap. */
  readonly rsp: RspTap = {
    connected: (peer) => this.writer.event({ link: 'gdb', event: 'connect', peer }),
    data: (dir, bytes) => this.writer.bytes('gdb', dir, bytes),
    closed: (error) => this.writer.event({ link: 'gdb', event: 'close', ...(error ? { error } : {}) }),
  };

  close(): Promise<void> {
    return this.writer.close();
  }
}
