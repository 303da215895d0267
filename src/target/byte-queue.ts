/**
 * A growable FIFO of bytes with O(1) amortised append and consume, so a decoder fed
 * one byte at a time while it waits for a 64 KiB body does not copy the buffer on
 * every push.
 */
export class ByteQueue {
  private buf = Buffer.alloc(1024);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.buf.length) {
      const len = this.length;
      if (len + chunk.length <= this.buf.length / 2) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        let cap = this.buf.length;
        while (cap < (len + chunk.length) * 2) cap *= 2;
        const next = Buffer.alloc(cap);
        this.buf.copy(next, 0, this.start, this.end);
        this.buf = next;
      }
      this.start = 0;
      this.end = len;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  byte(i: number): number {
    return this.buf[this.start + i];
  }

  u32(i: number): number {
    return this.buf.readUInt32LE(this.start + i);
  }

  /** A view valid until the next append/consume. */
  view(from: number, to: number): Buffer {
    return this.buf.subarray(this.start + from, this.start + to);
  }

  /** An independent copy. */
  copy(from: number, to: number): Buffer {
    return Buffer.from(this.view(from, to));
  }

  consume(n: number): void {
    this.start += Math.min(n, this.length);
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
      if (this.buf.length > 1 << 20) this.buf = Buffer.alloc(1024);
    }
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
  }
}
