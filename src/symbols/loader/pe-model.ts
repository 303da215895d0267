/**
 * The debug model an image gives without its PDB: its sections, and its
 * exports as public functions (exports in data sections as data symbols).
 * Sizes come from .pdata where a RUNTIME_FUNCTION starts at the export, else
 * run to the next known start or the end of the section. No lines, no
 * compile units: enough for gdb to name code in backtraces and disassembly.
 */
import type { DebugModel, ModelDataSymbol, ModelFunction, ModelSection } from '../debug-model';
import { isExecutable, isWritable, sectionExtent } from '../pe';
import type { PeImage } from '../pe';
import { partitionPoint } from '../../common/sorted';

export function peSections(image: PeImage): ModelSection[] {
  return image.sections.map((s) => ({
    name: s.name,
    rva: s.virtualAddress,
    size: sectionExtent(s),
    executable: isExecutable(s),
    writable: isWritable(s),
  }));
}

export function buildPeOnlyModel(image: PeImage, imageName: string): DebugModel {
  const sections = peSections(image);
  const functions: { name: string; rva: number }[] = [];
  const dataSymbols: ModelDataSymbol[] = [];
  for (const e of image.exports?.exports ?? []) {
    if (e.forwarder !== undefined) continue;
    const section = image.sectionForRva(e.rva);
    if (!section) continue;
    for (const name of e.names) {
      if (isExecutable(section)) functions.push({ name, rva: e.rva });
      else dataSymbols.push({ name, rva: e.rva, size: 0, external: true });
    }
  }
  functions.sort((a, b) => a.rva - b.rva || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  dataSymbols.sort((a, b) => a.rva - b.rva);

  // Function starts known from .pdata bound the inferred sizes too.
  const starts = [...new Set([...functions.map((f) => f.rva), ...image.runtimeFunctions.map((r) => r.beginRva)])].sort((a, b) => a - b);
  const nextStart = (rva: number): number | undefined => starts[partitionPoint(starts, (s) => s <= rva)];
  const publicFunctions: ModelFunction[] = functions.map((f) => {
    const rf = image.findRuntimeFunction(f.rva);
    let size: number;
    if (rf && rf.beginRva === f.rva) {
      size = rf.endRva - rf.beginRva;
    } else {
      const section = image.sectionForRva(f.rva)!;
      const end = Math.min(nextStart(f.rva) ?? Infinity, section.virtualAddress + sectionExtent(section));
      size = end - f.rva;
    }
    return { name: f.name, rva: f.rva, size: Math.max(0, size), external: true };
  });
  return { imageName, imageSize: image.sizeOfImage, sections, compileUnits: [], publicFunctions, dataSymbols };
}
