/**
 * Builds every DWARF section for a model: per compile unit, its line program
 * (.debug_line), its code ranges (.debug_ranges when more than one), its DIE
 * tree (.debug_info, with the shared .debug_abbrev and .debug_str) and its
 * .debug_aranges set. Sections are written in that order so each offset a
 * unit refers to is known when the unit is written.
 */
import type { DebugModel, ModelCompileUnit } from '../symbols/debug-model';
import { mergeRanges, writeArangesSet, writeRangeList, type RvaRange } from './address-ranges';
import { AbbrevTable } from './abbrev';
import { compileUnitDies, needsRangeList } from './debug-info';
import { writeDebugFrame } from './debug-frame';
import { sharedUnitFor } from './shared-unit';
import { writeLineProgram } from './debug-line';
import { writeUnit } from './die';
import { buildFileTable } from './file-table';
import { normalizeSourcePath, type SourcePathStyle } from './paths';
import { SectionWriter } from './section-writer';
import { StringTable } from './string-table';

export interface DwarfBuildOptions {
  loadBase: bigint;
  /** DW_AT_producer for units whose model gives none. */
  defaultProducer: string;
  pathStyle: SourcePathStyle;
}

export interface NamedSection {
  name: string;
  data: Buffer;
}

/** The code a unit covers: its functions and its line sequences. */
export function compileUnitRanges(cu: ModelCompileUnit): RvaRange[] {
  const ranges: RvaRange[] = [];
  for (const fn of cu.functions) ranges.push({ start: fn.rva, end: fn.rva + fn.size });
  for (const seq of cu.lineSequences) {
    if (seq.rows.length > 0) ranges.push({ start: seq.startRva, end: seq.endRva });
  }
  return mergeRanges(ranges);
}

export function buildDwarfSections(model: DebugModel, options: DwarfBuildOptions): NamedSection[] {
  const rowCount = model.compileUnits.reduce((n, cu) => n + cu.lineSequences.reduce((m, s) => m + s.rows.length, 0), 0);
  const fnCount = model.compileUnits.reduce((n, cu) => n + cu.functions.length, 0);
  const info = new SectionWriter('.debug_info', 1024 + fnCount * 24);
  const line = new SectionWriter('.debug_line', 1024 + rowCount * 3);
  const ranges = new SectionWriter('.debug_ranges', 256);
  const aranges = new SectionWriter('.debug_aranges', 256 + model.compileUnits.length * 48);
  const abbrevs = new AbbrevTable();
  const strings = new StringTable('.debug_str', false);
  const loc = new SectionWriter('.debug_loc', 256);
  const shared = sharedUnitFor(model, { loadBase: options.loadBase, producer: options.defaultProducer, locations: loc });

  for (const [cuIndex, cu] of model.compileUnits.entries()) {
    const files = buildFileTable(cu.files, options.pathStyle);
    const stmtList = writeLineProgram(line, {
      what: cu.name,
      addressBase: options.loadBase,
      directories: files.directories,
      files: files.files,
      fileNumbers: files.fileNumbers,
      sequences: cu.lineSequences,
    });
    const cuRanges = compileUnitRanges(cu);
    const rangesOffset = needsRangeList(cuRanges) ? writeRangeList(ranges, cuRanges, options.loadBase) : undefined;
    const unit = compileUnitDies({
      cu,
      name: normalizeSourcePath(cu.name, options.pathStyle),
      compDir: cu.compDir === undefined ? undefined : normalizeSourcePath(cu.compDir, options.pathStyle),
      producer: cu.producer ?? options.defaultProducer,
      loadBase: options.loadBase,
      stmtList,
      ranges: cuRanges,
      rangesOffset,
      fileNumbers: files.fileNumbers,
      ...(shared ? { variables: shared.unitVariables(cuIndex) } : {}),
    });
    // Each subprogram is built as it is written, and dropped after.
    const unitOffset = writeUnit(info, unit.root, { abbrevs, strings }, unit.children);
    if (cuRanges.length > 0) writeArangesSet(aranges, unitOffset, cuRanges, options.loadBase);
  }
  // Last, so each unit above is the model's unit of the same index; references into it are patched at the end.
  if (shared) writeUnit(info, shared.root(), { abbrevs, strings });

  const out: NamedSection[] = [
    { name: '.debug_abbrev', data: abbrevs.encode() },
    { name: '.debug_info', data: info.finish() },
    { name: '.debug_line', data: line.finish() },
    { name: '.debug_str', data: strings.finish() },
    { name: '.debug_aranges', data: aranges.finish() },
    { name: '.debug_ranges', data: ranges.finish() },
    { name: '.debug_frame', data: writeDebugFrame(model.frames ?? [], options.loadBase) },
    { name: '.debug_loc', data: loc.finish() },
  ];
  return out.filter((s) => s.data.length > 0);
}
