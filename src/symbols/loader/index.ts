/**
 * Symbol loading for the bridge and the CLI: the image (file or target memory),
 * its PDB (searched, matched, cached), the symbol index, the debug model and
 * the ELF/DWARF file for gdb, with problems as warnings rather than failures.
 */
export { loadSymbols, procedureBounds } from './load-symbols';
export type { LoadedSymbols, LoadSymbolsOptions } from './load-symbols';
export {
  defaultPdbCacheDir,
  describeCandidate,
  isWindowsPath,
  pdbCandidates,
  pdbFileName,
  portableBaseName,
  symbolStoreKey,
  symbolStorePath,
} from './pdb-search';
export type { PdbCandidate, PdbCandidateSource, PdbSearchInput } from './pdb-search';
export { buildPeOnlyModel } from './pe-model';
export { modelStats } from './model-stats';
export type { ModelStats } from './model-stats';
export { typeInfoCallbacks } from './type-info';
export type { TypeInfoCallbacks } from './type-info';
