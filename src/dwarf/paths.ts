/**
 * Source paths as a PDB records them (usually Windows: `C:\src\kernel\main.c`)
 * turned into DWARF line-table entries: a directory and a base name.
 *
 * gdb on a POSIX host treats only '/' as a directory separator: it joins a
 * line-table directory and file name with '/', takes base names at '/', and
 * matches `set substitute-path` rules at '/' boundaries. So by default
 * backslashes become '/', keeping the drive letter (`C:/src/kernel/main.c`);
 * `break main.c:12` and `set substitute-path C:/src /home/me/src` then work.
 * 'preserve' keeps the recorded text. Splitting accepts both separators either way.
 */

export type SourcePathStyle = 'forward-slashes' | 'preserve';

export function normalizeSourcePath(path: string, style: SourcePathStyle): string {
  return style === 'forward-slashes' ? path.replace(/\\/g, '/') : path;
}

export interface SplitPath {
  /** Directory part; undefined for a bare name (relative to the compile directory). */
  dir: string | undefined;
  base: string;
}

const DRIVE = /^[A-Za-z]:/;

/** Splits at the last '/' or '\'; keeps the root of `/x`, `C:\x` and the drive of `C:x` as the directory. */
export function splitSourcePath(path: string): SplitPath {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (cut < 0) {
    if (DRIVE.test(path) && path.length > 2) return { dir: path.slice(0, 2), base: path.slice(2) };
    return { dir: undefined, base: path };
  }
  const base = path.slice(cut + 1);
  if (base === '') return { dir: undefined, base: path }; // ends in a separator: not a file path we can split
  let dir = path.slice(0, cut);
  if (dir === '') dir = path.slice(0, 1); // '/x' -> '/'
  else if (dir.length === 2 && DRIVE.test(dir)) dir = path.slice(0, 3); // 'C:\x' -> 'C:\'
  return { dir, base };
}
