/**
 * Compares what llvm-dwarfdump read back from a written file with the model
 * it was written from, and lists every difference. The expectations are
 * computed here from the model directly (ranges merged afresh, paths
 * normalised with a one-line rule), not with the writer's own helpers.
 */
import type { DebugModel, ModelCompileUnit } from '../../symbols/debug-model';
import { parseDebugInfo, parseDebugLine, parseRanges, tableFilePath, unquote, type DumpedDie } from './tools';

const LANGUAGE: Record<ModelCompileUnit['language'], string | undefined> = {
  c: 'DW_LANG_C99',
  'c++': 'DW_LANG_C_plus_plus',
  asm: 'DW_LANG_Mips_Assembler',
  other: undefined,
};

const slashes = (p: string): string => p.replace(/\\/g, '/');
const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

function expectedRanges(cu: ModelCompileUnit): Array<[number, number]> {
  const raw: Array<[number, number]> = [];
  for (const f of cu.functions) if (f.size > 0) raw.push([f.rva, f.rva + f.size]);
  for (const s of cu.lineSequences) if (s.rows.length > 0) raw.push([s.startRva, s.endRva]);
  raw.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const r of raw) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

export interface DwarfDumpTexts {
  debugInfo: string;
  debugLine: string;
}

export function dwarfMismatches(model: DebugModel, loadBase: bigint, dump: DwarfDumpTexts): string[] {
  const problems: string[] = [];
  const units = parseDebugInfo(dump.debugInfo);
  const tables = new Map(parseDebugLine(dump.debugLine).map((t) => [t.offset, t]));
  // A model with types gets one more unit after its own: the shared unit of types and unclaimed data.
  const expectedUnits = model.compileUnits.length + (model.types ? 1 : 0);
  if (units.length !== expectedUnits) {
    problems.push(`${units.length} units in .debug_info, ${expectedUnits} expected for the model`);
    return problems;
  }
  model.compileUnits.forEach((cu, i) => {
    const unit = units[i];
    const where = `unit ${i} (${cu.name})`;
    const check = (what: string, actual: unknown, expected: unknown): void => {
      if (actual !== expected) problems.push(`${where}: ${what} is ${String(actual)}, expected ${String(expected)}`);
    };
    check('version', unit.version, 4);
    const root = unit.dies[0];
    check('root tag', root?.tag, 'DW_TAG_compile_unit');
    if (!root) return;
    check('DW_AT_name', unquote(root.attrs.get('DW_AT_name')), slashes(cu.name));
    check('DW_AT_comp_dir', unquote(root.attrs.get('DW_AT_comp_dir')), cu.compDir === undefined ? undefined : slashes(cu.compDir));
    check('DW_AT_producer', unquote(root.attrs.get('DW_AT_producer')), cu.producer ?? 'josgdb');
    check('DW_AT_language', root.attrs.get('DW_AT_language'), LANGUAGE[cu.language]);

    // Unit address ranges.
    const ranges = expectedRanges(cu).map(([s, e]) => `${hex(loadBase + BigInt(s))}-${hex(loadBase + BigInt(e))}`);
    let actualRanges: string[] = [];
    const rangesAttr = root.attrs.get('DW_AT_ranges');
    if (rangesAttr !== undefined) {
      check('DW_AT_low_pc with DW_AT_ranges', root.attrs.get('DW_AT_low_pc'), hex(0n));
      actualRanges = parseRanges(rangesAttr).map(([s, e]) => `${hex(s)}-${hex(e)}`);
    } else if (root.attrs.has('DW_AT_low_pc')) {
      actualRanges = [`${root.attrs.get('DW_AT_low_pc')}-${root.attrs.get('DW_AT_high_pc')}`];
    }
    check('unit ranges', actualRanges.join(' '), ranges.join(' '));

    // Subprograms (the function DIEs directly under the unit, not method declarations inside classes).
    const subprograms = unit.dies.filter((d) => d.tag === 'DW_TAG_subprogram' && d.depth === 1);
    check('subprogram count', subprograms.length, cu.functions.length);
    const byKey = new Map<string, DumpedDie>();
    for (const d of subprograms) byKey.set(`${unquote(d.attrs.get('DW_AT_name'))}@${d.attrs.get('DW_AT_low_pc')}`, d);
    for (const fn of cu.functions) {
      const low = hex(loadBase + BigInt(fn.rva));
      const die = byKey.get(`${fn.name}@${low}`);
      if (!die) {
        problems.push(`${where}: no subprogram ${fn.name} at ${low}`);
        continue;
      }
      const fcheck = (what: string, actual: unknown, expected: unknown): void => check(`${fn.name} ${what}`, actual, expected);
      fcheck('depth', die.depth, 1);
      fcheck('DW_AT_high_pc', die.attrs.get('DW_AT_high_pc'), fn.size > 0 ? hex(loadBase + BigInt(fn.rva + fn.size)) : undefined);
      fcheck('DW_AT_external', die.attrs.get('DW_AT_external'), fn.external ? 'true' : undefined);
      fcheck('DW_AT_frame_base', die.attrs.get('DW_AT_frame_base'), 'DW_OP_call_frame_cfa');
      fcheck('DW_AT_decl_line', die.attrs.get('DW_AT_decl_line'), fn.declLine ? String(fn.declLine) : undefined);
      const declFile = unquote(die.attrs.get('DW_AT_decl_file'));
      if (fn.declFile === undefined) fcheck('DW_AT_decl_file', declFile, undefined);
      else if (!declFile || !slashes(declFile).endsWith(slashes(cu.files[fn.declFile]))) {
        fcheck('DW_AT_decl_file', declFile, `a path ending in ${cu.files[fn.declFile]}`);
      }
    }

    // Line table rows.
    const stmtList = root.attrs.get('DW_AT_stmt_list');
    const table = stmtList === undefined ? undefined : tables.get(parseInt(stmtList, 16));
    if (!table) {
      problems.push(`${where}: no line table at DW_AT_stmt_list ${stmtList}`);
      return;
    }
    check('line table version', table.version, 4);
    const expected: string[] = [];
    for (const seq of cu.lineSequences) {
      if (seq.rows.length === 0) continue;
      let kept = ''; // file, line and is_stmt of the last row expected in this sequence
      let keptPrologueEnd = false;
      for (const r of seq.rows) {
        // A row repeating them, with no prologue_end the kept row lacks, only extends the kept row's range.
        const what = `${slashes(cu.files[r.file])}:${r.line}${r.isStatement ? ' stmt' : ''}`;
        if (what === kept && (!r.prologueEnd || keptPrologueEnd)) continue;
        kept = what;
        keptPrologueEnd = r.prologueEnd === true;
        expected.push(`${hex(loadBase + BigInt(r.rva))} ${what}${r.prologueEnd ? ' prologue_end' : ''}`);
      }
      expected.push(`${hex(loadBase + BigInt(seq.endRva))} end_sequence`);
    }
    const actual = table.rows.map((r) =>
      r.endSequence
        ? `${hex(r.address)} end_sequence`
        : `${hex(r.address)} ${slashes(tableFilePath(table, r.file))}:${r.line}${r.isStmt ? ' stmt' : ''}${r.prologueEnd ? ' prologue_end' : ''}`,
    );
    if (actual.length !== expected.length) check('line row count', actual.length, expected.length);
    for (let k = 0; k < Math.max(actual.length, expected.length); k++) {
      if (actual[k] !== expected[k]) {
        problems.push(`${where}: line row ${k} is ${actual[k]}, expected ${expected[k]}`);
        break; // the first difference is enough
      }
    }
  });
  return problems;
}
