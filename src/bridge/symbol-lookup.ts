/**
 * Names for addresses and addresses for names, at the address the image was
 * loaded at: what `monitor sym`, `addr`, `disas` and `bt` print. The PDB side
 * speaks RVAs; this is the one place that adds the load base. It also carries
 * the unwinder's view of the image, for backtraces.
 */
import type { SymbolIndex } from '../symbols/pdb';
import { codeLookup, type CodeLookup, type UnwindImage } from '../unwind';

export interface SymbolLocation {
  /** The function holding the address. */
  name: string;
  /** Where that function starts. */
  start: bigint;
  file?: string;
  line?: number;
}

export interface SymbolLookup {
  /** The function and source line at `address`, or undefined outside every known function. */
  locate(address: bigint): SymbolLocation | undefined;
  /** `demo_leaf+0x4 (workload.c:42)`, or undefined outside every known function. */
  describe(address: bigint): string | undefined;
  /** Every function or data symbol called `name` (qualified, decorated or plain). */
  addressOf(name: string): { name: string; address: bigint; kind: 'function' | 'data' }[];
  /** The image's unwind rules, for backtraces. */
  readonly code: CodeLookup;
}

/** `name+0xOFF (file:line)` for an address whose location is known. */
export function describeLocation(address: bigint, loc: SymbolLocation): string {
  const offset = address - loc.start;
  const name = offset ? `${loc.name}+0x${offset.toString(16)}` : loc.name;
  return loc.file !== undefined ? `${name} (${loc.file}:${loc.line})` : name;
}

/** Lookups over the PDB's index (when there is one) and the unwind rules of the image loaded at `loadBase`. */
export function symbolLookup(index: SymbolIndex | undefined, unwindImage: UnwindImage, loadBase: bigint, imageSize: number): SymbolLookup {
  const toRva = (address: bigint): number | undefined => {
    const rva = address - loadBase;
    return rva >= 0n && rva < BigInt(imageSize) ? Number(rva) : undefined;
  };
  const locate = (address: bigint): SymbolLocation | undefined => {
    const rva = toRva(address);
    if (rva === undefined || !index) return undefined;
    const fn = index.functionAt(rva);
    if (!fn) return undefined;
    const line = index.lineAt(rva);
    return {
      name: fn.function.name,
      start: address - BigInt(fn.offset),
      ...(line ? { file: line.file, line: line.line } : {}),
    };
  };
  return {
    locate,
    describe(address) {
      const loc = locate(address);
      return loc ? describeLocation(address, loc) : undefined;
    },
    addressOf(name) {
      return (index?.lookupName(name) ?? []).map((hit) => ({ name: hit.name, address: loadBase + BigInt(hit.rva), kind: hit.kind }));
    },
    code: codeLookup([unwindImage]),
  };
}
