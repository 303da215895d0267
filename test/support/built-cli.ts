/**
 * The compiled CLI for tests that run it as a user would. It is built only
 * when missing or older than its sources (other test files may be running it
 * at the same moment), and the stub is built when its image is missing.
 */
import { execFileSync } from 'child_process';
import { existsSync, readdirSync, statSync } from 'fs';
import path from 'path';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const STUB_IMAGE = path.join(ROOT, 'stub-uefi', 'build', 'BOOTX64.EFI');
export const STUB_PDB = path.join(ROOT, 'stub-uefi', 'build', 'BOOTX64.pdb');

/** Newest modification time of the sources that make the CLI. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ if `compiled` (a file under dist/cli) is missing or stale, and the stub if missing. */
export function ensureBuiltCli(compiled: string): void {
  const built = path.join(ROOT, 'dist', 'cli', compiled);
  if (!existsSync(built) || statSync(built).mtimeMs < newestSource(path.join(ROOT, 'src'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  }
  if (!existsSync(STUB_IMAGE) || !existsSync(STUB_PDB)) execFileSync('make', ['-C', path.join(ROOT, 'stub-uefi')], { stdio: 'pipe' });
}
