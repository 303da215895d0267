/**
 * Where `break FUNCTION` stops. gdb places it after the prologue: for code
 * from clang, at the second line-table row of the function's first line.
 * clang's CodeView line tables have one row per line, though, so an
 * unoptimised function gets its breakpoint at the entry, before the
 * parameters are spilled to the stack, where their recorded locations do not
 * apply yet and gdb shows them as `<optimized out>`. Where every parameter's
 * location starts after the entry, a second row of the same line at the
 * latest such start, marked prologue_end, gives gdb the stop a native clang
 * build would give (clang's DWARF has a prologue_end row there; gdb 13
 * honours the flag).
 */
import type { DebugModel, ModelFunction, ModelLineSequence } from '../debug-model';

/** The first address at which every parameter of `fn` has a location; undefined when that is the entry or unknown. */
export function parametersReadableFrom(fn: ModelFunction): number | undefined {
  const parameters = fn.scope?.variables.filter((v) => v.isParameter) ?? [];
  if (parameters.length === 0) return undefined;
  let readable = fn.rva;
  for (const p of parameters) {
    if (p.location.kind !== 'ranges') continue; // fixed or static: readable from the entry
    const first = p.location.ranges[0];
    if (!first) return undefined; // nowhere: no address makes it readable
    readable = Math.max(readable, first.startRva);
  }
  return readable > fn.rva && readable < fn.rva + fn.size ? readable : undefined;
}

/** Marks (or adds) the rows; returns how many functions got one. Rows stay sorted. */
export function addPrologueEndRows(model: DebugModel): number {
  let added = 0;
  for (const cu of model.compileUnits) {
    for (const fn of cu.functions) {
      const at = parametersReadableFrom(fn);
      if (at === undefined) continue;
      const sequence = cu.lineSequences.find((s) => at >= s.startRva && at < s.endRva);
      if (sequence && insertRow(sequence, at, fn.rva)) added++;
    }
  }
  return added;
}

/**
 * Marks the row at `at` as the prologue's end, inserting a copy of the row
 * covering `at` when none starts there; only within the function starting at
 * `functionStart`.
 */
function insertRow(sequence: ModelLineSequence, at: number, functionStart: number): boolean {
  const rows = sequence.rows;
  let i = rows.length - 1;
  while (i >= 0 && rows[i]!.rva > at) i--;
  const covering = rows[i];
  if (!covering || covering.rva < functionStart) return false;
  if (covering.rva === at) covering.prologueEnd = true;
  else rows.splice(i + 1, 0, { ...covering, rva: at, isStatement: true, prologueEnd: true });
  return true;
}
