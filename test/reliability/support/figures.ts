/**
 * The figures a reliability test file reports to `npm run reliability`: each file
 * appends one JSON line to $JOSGDB_RELIABILITY_OUT (when the runner set it) and
 * always prints its line, so a plain jest run shows them too.
 */
import { appendFileSync } from 'fs';

export interface Figures {
  suite: string;
  scenarios: number;
  faults: number;
  packets: number;
  checks: number;
  failures: number;
  rssBeforeMb?: number;
  rssAfterMb?: number;
  fdsBefore?: number;
  fdsAfter?: number;
  notes?: string;
}

export function report(f: Figures): void {
  const line = JSON.stringify(f);
  process.stdout.write(`reliability figures: ${line}\n`);
  const out = process.env.JOSGDB_RELIABILITY_OUT;
  if (out) appendFileSync(out, line + '\n');
}

export const rssMb = (): number => Math.round((process.memoryUsage().rss / 1048576) * 10) / 10;

/** Open file descriptors of this process (Linux: /proc/self/fd). */
export function openFds(): number {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { readdirSync } = require('fs') as typeof import('fs');
  return readdirSync('/proc/self/fd').length;
}

class InvariantError extends Error {}

/** A counter set a test file fills in as it goes. */
export class Tally {
  scenarios = 0;
  faults = 0;
  packets = 0;
  checks = 0;
  failures = 0;
  /** Runs one scenario; a throw counts as a failure and is rethrown (the test fails). */
  async scenario<T>(fn: () => Promise<T>): Promise<T> {
    this.scenarios++;
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof InvariantError)) this.failures++;
      throw err;
    }
  }
  check(ok: boolean, what: string): void {
    this.checks++;
    if (!ok) {
      this.failures++;
      throw new InvariantError(`invariant failed: ${what}`);
    }
  }
}
