/**
 * Where a PDB for an image may be: the places a Windows debugger looks,
 * adapted to a Linux build host. Pure path arithmetic: the loader decides which
 * candidate exists and matches. The symbol-store layout is the one symstore and
 * Microsoft's symbol servers use, `<name>.pdb/<GUID><AGE>/<name>.pdb`, with the
 * GUID's 32 hex digits (no dashes, upper case) and the age in hex, so a
 * directory filled by other tools can be used as a --symbol-path as it is.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import type { CodeViewPdbInfo } from '../pe';
import { normalizeGuid } from '../pdb';

export type PdbCandidateSource = 'option' | 'rsds' | 'image-dir' | 'symbol-path' | 'symbol-store' | 'cache';

export interface PdbCandidate {
  path: string;
  source: PdbCandidateSource;
}

export interface PdbSearchInput {
  /** An explicit PDB: the only candidate when given. */
  pdb?: string;
  /** The image file, when it came from a file. */
  imagePath?: string;
  /** The image's RSDS record: recorded path, GUID and age. */
  codeView?: CodeViewPdbInfo;
  symbolPath?: readonly string[];
  /** Cache root; no cache candidate when undefined. */
  cacheDir?: string;
  /** Platform whose path rules apply to the RSDS path; default process.platform. */
  platform?: NodeJS.Platform;
}

/** The last component of a path written on Windows or on a POSIX system. */
export function portableBaseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}

/** True for 'C:\x', 'C:/x', '\\server\share\x' and anything with a backslash: not a usable path on POSIX. */
export function isWindowsPath(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p) || p.includes('\\');
}

/** The symbol-store key of a PDB identity: 'E286D63AA2686FD34C4C44205044422E1'. */
export function symbolStoreKey(guid: string, age: number): string {
  return normalizeGuid(guid).replace(/-/g, '') + age.toString(16).toUpperCase();
}

/** `<root>/<name>/<KEY>/<name>`: where a symbol store (and josgdb's cache) keeps a PDB. */
export function symbolStorePath(root: string, name: string, guid: string, age: number): string {
  return path.join(root, name, symbolStoreKey(guid, age), name);
}

/** `$XDG_CACHE_HOME/josgdb/pdb`, or `~/.cache/josgdb/pdb` when XDG_CACHE_HOME is unset or relative. */
export function defaultPdbCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache');
  return path.join(base, 'josgdb', 'pdb');
}

/** The PDB's file name: from the RSDS path, else the image's name with '.pdb'. */
export function pdbFileName(input: Pick<PdbSearchInput, 'codeView' | 'imagePath'>): string | undefined {
  const recorded = input.codeView ? portableBaseName(input.codeView.pdbPath) : '';
  if (recorded) return recorded;
  if (input.imagePath) return path.basename(input.imagePath).replace(/\.[^.]*$/, '') + '.pdb';
  return undefined;
}

/**
 * The places to look, in order: the explicit PDB alone when given; else the
 * RSDS path as recorded (when it is a path on this system), the PDB's name (and
 * the image's name with '.pdb') next to the image, each symbol-path directory
 * flat and in the symbol-store layout, then the cache. Duplicates are dropped.
 */
export function pdbCandidates(input: PdbSearchInput): PdbCandidate[] {
  if (input.pdb !== undefined) return [{ path: input.pdb, source: 'option' }];
  const out: PdbCandidate[] = [];
  const seen = new Set<string>();
  const add = (p: string, source: PdbCandidateSource): void => {
    const key = path.resolve(p);
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ path: p, source });
  };
  const platform = input.platform ?? process.platform;
  const cv = input.codeView;
  const name = pdbFileName(input);

  if (cv && cv.pdbPath && (platform === 'win32' || !isWindowsPath(cv.pdbPath))) add(cv.pdbPath, 'rsds');
  if (input.imagePath) {
    const dir = path.dirname(input.imagePath);
    if (name) add(path.join(dir, name), 'image-dir');
    const own = pdbFileName({ imagePath: input.imagePath });
    if (own) add(path.join(dir, own), 'image-dir');
  }
  if (name) {
    // Stores written on Windows are case-insensitive; one written by hand on
    // Linux may have either spelling, so the lower-case name is tried too.
    const names = name.toLowerCase() === name ? [name] : [name, name.toLowerCase()];
    for (const dir of input.symbolPath ?? []) {
      add(path.join(dir, name), 'symbol-path');
      if (cv) for (const n of names) add(symbolStorePath(dir, n, cv.guid, cv.age), 'symbol-store');
    }
    if (cv && input.cacheDir !== undefined) add(symbolStorePath(input.cacheDir, name, cv.guid, cv.age), 'cache');
  }
  return out;
}

const SOURCE_WORDS: Record<PdbCandidateSource, string> = {
  option: 'as given',
  rsds: "the path recorded in the image's debug directory",
  'image-dir': 'next to the image',
  'symbol-path': 'symbol path',
  'symbol-store': 'symbol path, symbol-store layout',
  cache: 'PDB cache',
};

export function describeCandidate(c: PdbCandidate): string {
  return `${c.path} (${SOURCE_WORDS[c.source]})`;
}
