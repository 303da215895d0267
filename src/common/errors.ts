/**
 * Errors with stable codes. A code lets callers branch on the kind of failure
 * (and the CLI pick an exit code) without parsing messages; the message is for people
 * and says what failed and what to do.
 */
export type ErrorCode =
  | 'LINK_CLOSED'
  | 'LINK_UNREACHABLE'
  | 'TIMEOUT'
  | 'PROTOCOL'
  | 'UNSUPPORTED'
  | 'BAD_ADDRESS'
  | 'TARGET_WEDGED'
  | 'TARGET_RUNNING'
  | 'TARGET_ASSERT'
  | 'BAD_ARGUMENT'
  | 'OUT_OF_BOUNDS'
  | 'LISTEN_FAILED'
  | 'HANDSHAKE_TIMEOUT'
  | 'NOT_CONNECTED'
  | 'SYMBOL_FORMAT'
  | 'SYMBOL_MISMATCH';

export class JosgdbError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JosgdbError';
  }
}

export function isJosgdbError(err: unknown, code?: ErrorCode): err is JosgdbError {
  return err instanceof JosgdbError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
