/**
 * The shared unit of a model with types: one DW_TAG_compile_unit, written
 * after the model's units, holding every type DIE and the data variables no
 * compile unit claims; and, for each compile unit, what its variable DIEs
 * need to refer into it. Data a unit claims (ModelDataSymbol.compileUnit) is written
 * in that unit instead, where a debugger looks first for names used in that
 * unit's code.
 */
import type { DebugModel, ModelDataSymbol } from '../symbols/debug-model';
import { addSharedData, sharedUnitDie, type UnitVariables } from './debug-info';
import type { Die } from './die';
import type { SectionWriter } from './section-writer';
import { buildTypeDies } from './type-dies';
import type { VariableDieContext } from './variable-dies';

export interface SharedUnit {
  /** Types and data for compile unit `index` of the model. */
  unitVariables(index: number): UnitVariables;
  /** The shared unit's DIE, with the unclaimed data added: call once, after every compile unit is built. */
  root(): Die;
}

export interface SharedUnitOptions {
  loadBase: bigint;
  producer: string;
  /** .debug_loc, which every unit's location lists go to. */
  locations: SectionWriter;
}

/** The shared unit for `model`; undefined when the model has no types (nothing to share). */
export function sharedUnitFor(model: DebugModel, options: SharedUnitOptions): SharedUnit | undefined {
  if (!model.types) return undefined;
  const root = sharedUnitDie(model.types, model.imageName, options.producer);
  const types = buildTypeDies(model.types, root);
  const context: Omit<VariableDieContext, 'unitBase'> = { types, typeUnit: root, locations: options.locations, loadBase: options.loadBase };

  const claimed = new Map<number, ModelDataSymbol[]>();
  const unclaimed: ModelDataSymbol[] = [];
  for (const d of model.dataSymbols) {
    if (d.type === undefined) continue;
    const unit = d.compileUnit;
    if (unit !== undefined && Number.isInteger(unit) && unit >= 0 && unit < model.compileUnits.length) {
      const list = claimed.get(unit) ?? [];
      list.push(d);
      claimed.set(unit, list);
    } else {
      unclaimed.push(d);
    }
  }

  let finished = false;
  return {
    unitVariables: (index) => ({ context, dataSymbols: claimed.get(index) ?? [] }),
    root: () => {
      if (!finished) addSharedData(root, unclaimed, context);
      finished = true;
      return root;
    },
  };
}
