/**
 * Names for addresses and addresses for names, at the address the image was
 * loaded at: what `monitor sym`, `monitor addr` and `monitor disas` print. The
 * PDB side speaks RVAs; this is the one place that adds the load base.
 */
import type { SymbolIndex } from '../symbols/pdb';

export interface SymbolLookup {
  /** `demo_leaf+0x4 (workload.c:42)`, or undefined outside every known function. */
  describe(address: bigint): string | undefined;
  /** Every function or data symbol called `name` (qualified, decorated or plain). */
  addressOf(name: string): { name: string; address: bigint; kind: 'function' | 'data' }[];
}

export function symbolLookup(index: SymbolIndex, loadBase: bigint, imageSize: number): SymbolLookup {
  const toRva = (address: bigint): number | undefined => {
    const rva = address - loadBase;
    return rva >= 0n && rva < BigInt(imageSize) ? Number(rva) : undefined;
  };
  return {
    describe(address) {
      const rva = toRva(address);
      if (rva === undefined) return undefined;
      const fn = index.functionAt(rva);
      if (!fn) return undefined;
      const name = fn.offset ? `${fn.function.name}+0x${fn.offset.toString(16)}` : fn.function.name;
      const line = index.lineAt(rva);
      return line ? `${name} (${line.file}:${line.line})` : name;
    },
    addressOf(name) {
      return index.lookupName(name).map((hit) => ({ name: hit.name, address: loadBase + BigInt(hit.rva), kind: hit.kind }));
    },
  };
}
