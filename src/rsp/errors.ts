/**
 * RSP error replies. Handlers throw; exactly one place (`errorReply`) turns a
 * thrown value into the `Enn` reply, so no handler formats error packets and no
 * unexpected exception can escape into the socket as anything but `E01`.
 *
 * gdb mostly ignores the number (it reports "Cannot access memory" etc. from the
 * packet kind), but lldb and humans reading packet logs do not, so we use errno
 * values: 0x16 (EINVAL) for malformed arguments, 0x0e (EFAULT) for bad addresses.
 */

/** errno-style numbers used in `Enn` replies. */
export const RspErrno = {
  EPERM: 0x01,
  ENOENT: 0x02,
  EIO: 0x05,
  EBADF: 0x09,
  EACCES: 0x0d,
  EFAULT: 0x0e,
  EBUSY: 0x10,
  EINVAL: 0x16,
  ENOSPC: 0x1c,
  ENOSYS: 0x26,
} as const;

export class RspError extends Error {
  /** 0..255; rendered as two hex digits in `Enn`. */
  readonly errno: number;
  /**
   * Reply `E.<message>` instead of `Enn` (unless lldb's error strings are on). gdb
   * shows the reply of some packets verbatim ("Could not write register "rax";
   * remote failure reply '...'"), so there the message reaches the user.
   */
  readonly textual: boolean;
  constructor(errno: number, message?: string, options: { textual?: boolean } = {}) {
    super(message ?? `RSP error ${errno}`);
    this.name = 'RspError';
    this.errno = Number.isInteger(errno) && errno >= 0 && errno <= 0xff ? errno : RspErrno.EPERM;
    this.textual = options.textual === true && message !== undefined;
  }
}

/** Shorthand for the malformed-argument error every parser throws. */
export function malformed(message: string): RspError {
  return new RspError(RspErrno.EINVAL, message);
}

export interface ErrorReplyOptions {
  /**
   * lldb's `QEnableErrorStrings` extension: `Enn;<message as ASCII hex>`. Only
   * send it after the client enabled it; gdb would not parse it.
   */
  errorStrings?: boolean;
}

/** `RspError` -> `Enn` (or `E.text` for a textual one); anything else -> `E01`. Never throws. */
export function errorReply(err: unknown, opts: ErrorReplyOptions = {}): string {
  let errno: number = RspErrno.EPERM;
  let message = '';
  try {
    if (err instanceof RspError) errno = err.errno;
    if (opts.errorStrings) message = err instanceof Error ? err.message : String(err);
    else if (err instanceof RspError && err.textual) {
      // gdb's `E.errtext`: printable ASCII only (the reply is shown as it is).
      const text = err.message.replace(/[^\x20-\x7e]/g, '?');
      if (text !== '') return 'E.' + text;
    }
  } catch {
    // A hostile toString(); keep the code, drop the text.
  }
  const code = 'E' + errno.toString(16).padStart(2, '0');
  if (!opts.errorStrings || message === '') return code;
  return code + ';' + Buffer.from(message, 'utf8').toString('hex');
}
