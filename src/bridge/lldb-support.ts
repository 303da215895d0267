/**
 * What the bridge tells lldb that gdb never asks: how to recognise lldb by the
 * packets only it sends, lldb's stop reason, which file lldb means by the image,
 * and the image's memory regions. RSP encodings are in rsp/lldb-replies.ts;
 * this is the bridge's knowledge behind them.
 */
import path from 'path';
import { memoryRegionErrorReply, memoryRegionReply, type LldbStopReason } from '../rsp';
import type { LoadedSymbols } from '../symbols/loader';
import { SectionFlags } from '../symbols/pe/sections';
import type { SessionStop } from './session';

/** Packets only lldb sends (it asks them before any breakpoint): their arrival says the client is lldb. */
export const LLDB_ONLY_PACKETS: ReadonlySet<string> = new Set([
  'qHostInfo', 'qProcessInfo', 'QThreadSuffixSupported', 'QListThreadsInStopReply', 'qGDBServerVersion', 'QEnableErrorStrings', 'jThreadsInfo', 'qRegisterInfo',
]);

/** lldb's `reason:` (and `description:`) for a stop: it then names the stop as lldb-server's would be named. */
export function lldbStopReason(stop: SessionStop): { reason: LldbStopReason; description?: string } | undefined {
  const { stop: target, description } = stop;
  // Watchpoint stops carry gdb's `watch:addr`, which lldb turns into its own
  // watchpoint reason with the watchpoint's index; a `reason:` key would hide it.
  if (description.reason?.kind.endsWith('watch')) return undefined;
  if (description.reason) return { reason: 'breakpoint' };
  switch (target.kind) {
    case 'breakIn':
      return { reason: 'signal' };
    case 'breakpoint':
      return target.record.vector === 1 ? { reason: 'trace' } : { reason: 'signal' };
    default:
      return { reason: 'exception', description: description.console?.replace(/^josgdb: /, '') ?? 'exception' };
  }
}

/** lldb names the file as its platform sees it: compare resolved paths, then names (a copy of the image elsewhere is still the image). */
export function sameImageFile(asked: string, known: string): boolean {
  return path.resolve(asked) === path.resolve(known) || path.basename(asked).toLowerCase() === path.basename(known).toLowerCase();
}

/**
 * The image section holding `address`, with the section's permissions, for
 * lldb's `memory region` and unwinder. Only the image: lldb's expression
 * evaluator looks for unused memory by walking regions up from address 0 when
 * regions are known, and the firmware's identity map would make that walk
 * tens of thousands of page-table round trips. Elsewhere lldb gets an error
 * (in the reply's `error:` key: an `Enn` reply would make lldb drop the packet
 * for the rest of the session) and uses its defaults.
 */
export function imageMemoryRegion(loaded: LoadedSymbols | undefined, base: bigint, address: bigint): string {
  if (loaded && address >= base && address < base + BigInt(loaded.image.sizeOfImage)) {
    const rva = Number(address - base);
    const section = loaded.image.sectionForRva(rva);
    if (section) {
      const start = base + BigInt(section.virtualAddress);
      const size = alignUp(BigInt(Math.max(section.virtualSize, 1)), 0x1000n);
      if (address < start + size) {
        return memoryRegionReply({ start, size, permissions: sectionPermissions(section.characteristics), name: `${loaded.imageName}${section.name}` });
      }
    }
    // The headers and the gaps between sections: read-only image pages.
    const page = address & ~0xfffn;
    return memoryRegionReply({ start: page, size: 0x1000n, permissions: 'r', name: loaded.imageName });
  }
  return memoryRegionErrorReply(
    `josgdb describes memory regions only inside the image; "monitor pt 0x${address.toString(16)}" shows how the page tables map this address`,
  );
}

function alignUp(value: bigint, to: bigint): bigint {
  return (value + to - 1n) & ~(to - 1n);
}

function sectionPermissions(characteristics: number): string {
  return (
    (characteristics & SectionFlags.MEM_READ ? 'r' : '') +
    (characteristics & SectionFlags.MEM_WRITE ? 'w' : '') +
    (characteristics & SectionFlags.MEM_EXECUTE ? 'x' : '')
  );
}
