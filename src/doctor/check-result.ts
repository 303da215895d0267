/** One line of `josgdb doctor`'s report. */
export interface CheckResult {
  /** Short name of what was checked: 'gdb', 'target', 'image'. */
  name: string;
  /** 'note': something optional is missing; it does not fail the doctor. */
  status: 'ok' | 'problem' | 'note';
  /** What was found, for people. */
  detail: string;
  /** The command or step that fixes a problem (or supplies what a note lacks). */
  fix?: string;
}

export function formatCheck(result: CheckResult): string {
  const label = result.status.padEnd(8);
  const fix = result.status !== 'ok' && result.fix ? `\n        fix: ${result.fix}` : '';
  return `${label}${result.name}: ${result.detail}${fix}`;
}
