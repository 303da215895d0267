/** Counts of what a debug model holds, for one-line summaries and logs. */
import type { DebugModel } from '../debug-model';

export interface ModelStats {
  compileUnits: number;
  /** Procedures from compile units plus public-only functions. */
  functions: number;
  /** Line table rows. */
  lines: number;
  dataSymbols: number;
  sourceFiles: number;
}

export function modelStats(model: DebugModel): ModelStats {
  let functions = model.publicFunctions.length;
  let lines = 0;
  const files = new Set<string>();
  for (const cu of model.compileUnits) {
    functions += cu.functions.length;
    for (const seq of cu.lineSequences) lines += seq.rows.length;
    for (const f of cu.files) files.add(f);
  }
  return { compileUnits: model.compileUnits.length, functions, lines, dataSymbols: model.dataSymbols.length, sourceFiles: files.size };
}
