/**
 * A compile unit's source files turned into the DWARF 4 line-table file table:
 * paths normalised (see paths.ts), split into include directories and base
 * names, duplicates merged, and a map from the model's file index to the
 * 1-based DWARF file number used by DW_AT_decl_file and the line rows.
 */
import type { LineFile } from './debug-line';
import { normalizeSourcePath, splitSourcePath, type SourcePathStyle } from './paths';

/** Stands in for an empty recorded path (a line table entry needs a name). */
export const UNKNOWN_FILE = '<unknown>';

export interface FileTable {
  /** include_directories (numbered from 1). */
  directories: string[];
  /** file_names (numbered from 1). */
  files: LineFile[];
  /** `fileNumbers[modelIndex]` is the DWARF file number of `paths[modelIndex]`. */
  fileNumbers: number[];
}

export function buildFileTable(paths: readonly string[], style: SourcePathStyle): FileTable {
  const directories: string[] = [];
  const dirIndex = new Map<string, number>();
  const files: LineFile[] = [];
  const fileNumber = new Map<string, number>();
  const fileNumbers: number[] = [];
  for (const raw of paths) {
    const path = raw === '' ? UNKNOWN_FILE : normalizeSourcePath(raw, style);
    let number = fileNumber.get(path);
    if (number === undefined) {
      const { dir, base } = splitSourcePath(path);
      let index = 0; // the compile directory
      if (dir !== undefined) {
        index = dirIndex.get(dir) ?? 0;
        if (index === 0) {
          directories.push(dir);
          index = directories.length;
          dirIndex.set(dir, index);
        }
      }
      files.push({ name: base, dirIndex: index });
      number = files.length;
      fileNumber.set(path, number);
    }
    fileNumbers.push(number);
  }
  return { directories, files, fileNumbers };
}
