/**
 * Exit codes, documented in docs/troubleshooting.md: scripts can tell a bad
 * command line from an unreachable target from a target that never answered.
 */
import { isJosgdbError } from '../common/errors';

export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  LISTEN_FAILED: 3,
  TARGET_UNREACHABLE: 4,
  HANDSHAKE_TIMEOUT: 5,
  TARGET_LOST: 6,
  /** josgdb replay: the new session differs from the recording. */
  REPLAY_DIVERGED: 7,
} as const;

/** One line for --help: the table in docs/troubleshooting.md says more. */
export const EXIT_CODE_SUMMARY =
  'Exit codes: 0 ok, 1 failure, 2 bad command line or settings, 3 cannot listen, 4 target unreachable, ' +
  '5 no handshake, 6 target lost, 7 replay diverged.';

export function exitCodeFor(err: unknown): number {
  if (!isJosgdbError(err)) return ExitCode.FAILURE;
  switch (err.code) {
    case 'BAD_ARGUMENT':
      return ExitCode.USAGE;
    case 'LINK_UNREACHABLE':
      return ExitCode.TARGET_UNREACHABLE;
    case 'LISTEN_FAILED':
      return ExitCode.LISTEN_FAILED;
    case 'HANDSHAKE_TIMEOUT':
      return ExitCode.HANDSHAKE_TIMEOUT;
    case 'LINK_CLOSED':
      return ExitCode.TARGET_LOST;
    default:
      return ExitCode.FAILURE;
  }
}
