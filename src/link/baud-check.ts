/**
 * A wrong baud rate does not fail: the UART delivers bytes, just the wrong ones.
 * Before the handshake the kernel's line carries firmware console text (boot
 * messages, josx64 traces); read at the wrong rate that text turns into bytes
 * above 0x7f and control characters. This judge watches the pre-handshake lines
 * and says once when they look like noise rather than text.
 */
export class BaudCheck {
  private chars = 0;
  private odd = 0;
  private warned = false;

  /** @param minChars how much text to see before judging */
  constructor(private readonly minChars = 48) {}

  /**
   * Feeds one pre-handshake line (as the codec reports it: control bytes already
   * removed, non-ASCII decoded). Returns true the first time the text seen so far
   * looks like a baud-rate mismatch.
   */
  feed(line: string): boolean {
    for (const ch of line) {
      const c = ch.codePointAt(0)!;
      this.chars++;
      if (c >= 0x7f || c === 0xfffd) this.odd++;
    }
    if (this.warned || this.chars < this.minChars) return false;
    if (this.odd / this.chars > 0.25) {
      this.warned = true;
      return true;
    }
    return false;
  }
}

export function wrongBaudHint(description: string): string {
  return (
    `the bytes on ${description} before the handshake look like noise, not text: the baud rate is probably wrong ` +
    '(josx64 programs COM1 to 38400 baud, stub-uefi COM2 to 115200; both 8N1). Set it with serial:DEVICE:BAUD or --baud'
  );
}
