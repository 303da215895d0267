/**
 * The two things the debug model takes from the type streams: data symbol
 * sizes (TPI) and each module's build directory and source file (S_BUILDINFO
 * -> LF_BUILDINFO -> LF_STRING_ID in the IPI). Each stream's framing is read
 * the first time it is needed and only the records asked for are decoded (a
 * large image's IPI holds a record per function; a few dozen are wanted). A
 * stream or record that does not decode costs only what it feeds (a size of
 * 0, no build directory) and is reported.
 */
import type { BuildInfo, PdbFile } from '../pdb';
import { SymbolFormatError } from '../format-error';
import { BuildInfoArg, TypeTable } from '../tpi';
import type { TypeStreamKind } from '../tpi';

export interface TypeInfoCallbacks {
  typeSize: (typeIndex: number) => number | undefined;
  buildInfo: (buildInfoId: number) => BuildInfo | undefined;
}

/** Guards against LF_SUBSTR_LIST chains that loop (only corrupt data makes them). */
const MAX_STRING_DEPTH = 64;

/**
 * `onProblem` is called at most once per stream (the stream's decode error)
 * and for a type whose size cannot be computed; the loader turns both into warnings.
 */
export function typeInfoCallbacks(pdb: PdbFile, onProblem: (e: SymbolFormatError) => void): TypeInfoCallbacks {
  const table = (kind: TypeStreamKind, bytes: () => Uint8Array | undefined): (() => TypeTable | undefined) => {
    let done = false;
    let value: TypeTable | undefined;
    return () => {
      if (!done) {
        done = true;
        try {
          const data = bytes();
          value = data && data.length > 0 ? TypeTable.fromBytesLazy(data, kind) : undefined;
        } catch (e) {
          if (!(e instanceof SymbolFormatError)) throw e;
          onProblem(e);
        }
      }
      return value;
    };
  };
  const tpi = table('TPI', () => pdb.tpiStream);
  const ipi = table('IPI', () => pdb.ipiStream);

  const sizes = new Map<number, number | undefined>();
  let sizeProblemReported = false;
  const typeSize = (typeIndex: number): number | undefined => {
    if (sizes.has(typeIndex)) return sizes.get(typeIndex);
    const t = tpi();
    let size: number | undefined;
    if (t) {
      try {
        size = t.sizeOf(typeIndex);
      } catch (e) {
        if (!(e instanceof SymbolFormatError)) throw e;
        if (!sizeProblemReported) onProblem(e);
        sizeProblemReported = true;
      }
    }
    sizes.set(typeIndex, size);
    return size;
  };

  const stringId = (t: TypeTable, id: number, depth = 0): string | undefined => {
    if (id === 0 || depth > MAX_STRING_DEPTH) return undefined;
    const r = t.get(id);
    if (r?.kind !== 'LF_STRING_ID') return undefined;
    let prefix = '';
    if (r.substrings !== 0) {
      const list = t.get(r.substrings);
      if (list?.kind === 'LF_SUBSTR_LIST') prefix = list.strings.map((s) => stringId(t, s, depth + 1) ?? '').join('');
    }
    return prefix + r.string;
  };
  const resolveBuildInfo = (t: TypeTable, buildInfoId: number): BuildInfo | undefined => {
    const r = t.get(buildInfoId);
    if (r?.kind !== 'LF_BUILDINFO') return undefined;
    const arg = (i: number): string | undefined => {
      const id = r.args[i];
      const s = id === undefined ? undefined : stringId(t, id);
      return s ? s : undefined;
    };
    const compDir = arg(BuildInfoArg.CurrentDirectory);
    const sourceFile = arg(BuildInfoArg.SourceFile);
    if (compDir === undefined && sourceFile === undefined) return undefined;
    return { ...(compDir !== undefined ? { compDir } : {}), ...(sourceFile !== undefined ? { sourceFile } : {}) };
  };
  const buildInfo = (buildInfoId: number): BuildInfo | undefined => {
    const t = ipi();
    if (!t) return undefined;
    try {
      return resolveBuildInfo(t, buildInfoId);
    } catch (e) {
      // Records are decoded as they are asked for, so a damaged one fails here.
      if (!(e instanceof SymbolFormatError)) throw e;
      onProblem(e);
      return undefined;
    }
  };
  return { typeSize, buildInfo };
}
