/**
 * Replies to lldb's own query packets (lldb/docs/lldbgdbremote.md): host and
 * process info, the server's name, memory regions. Builders only: they take
 * plain values and return payload strings.
 *
 * The triple matters more than anything else here. A UEFI image is a PE32+
 * file, and lldb 14 has no UEFI OS in its triples, so we say
 * `x86_64-pc-windows-msvc`, which is also what lldb's PE/COFF reader assigns to
 * the image file. That one choice gets lldb to:
 * - use the Microsoft x64 ABI (ABIWindows_x86_64: arguments in rcx, rdx, r8,
 *   r9), which is the convention a UEFI image follows;
 * - pick DynamicLoaderWindowsDYLD, the only dynamic loader that asks the server
 *   where the executable is loaded (`qFileLoadAddress`), so the image's
 *   sections land at the base the kernel reports;
 * - accept the image file and its PDB as this target's modules (same triple);
 * - skip the Darwin kernel search it otherwise runs on a target with no OS
 *   (reads at 0xfffffff000002010 and friends, each a wasted round trip).
 */
import { hexEncodeText } from './hex';

export const LLDB_TRIPLE = 'x86_64-pc-windows-msvc';

type Field = readonly [key: string, value: string | number | bigint];

function keyValues(fields: readonly Field[]): string {
  return fields.map(([k, v]) => `${k}:${typeof v === 'string' ? v : v.toString(typeof v === 'bigint' ? 16 : 10)};`).join('');
}

/**
 * `qHostInfo`. x86 reports a watchpoint after the access has happened, which is
 * what lldb-server says for x86 too; lldb then does not step over the access again.
 */
export function hostInfoReply(opts: { triple?: string; hostname?: string } = {}): string {
  const fields: Field[] = [
    ['triple', hexEncodeText(opts.triple ?? LLDB_TRIPLE)],
    ['ptrsize', 8],
    ['endian', 'little'],
    ['watchpoint_exceptions_received', 'after'],
  ];
  if (opts.hostname !== undefined) fields.push(['hostname', hexEncodeText(opts.hostname)]);
  return keyValues(fields);
}

/**
 * `qProcessInfo`: the kernel as process `pid` (josgdb's one thread lives in it).
 * `ostype` repeats the triple's OS for lldb versions that read it separately.
 */
export function processInfoReply(opts: { pid: number; triple?: string }): string {
  return keyValues([
    ['pid', opts.pid.toString(16)],
    ['parent-pid', opts.pid.toString(16)],
    ['real-uid', 0],
    ['real-gid', 0],
    ['effective-uid', 0],
    ['effective-gid', 0],
    ['triple', hexEncodeText(opts.triple ?? LLDB_TRIPLE)],
    ['ostype', 'windows'],
    ['endian', 'little'],
    ['ptrsize', 8],
  ]);
}

/** `qGDBServerVersion`: lldb shows it in `process plugin packet send` and its logs. */
export function serverVersionReply(name: string, version?: string): string {
  const fields: Field[] = [['name', name]];
  if (version !== undefined) fields.push(['version', version]);
  return keyValues(fields);
}

/** One answer to `qMemoryRegionInfo:addr`: the region holding the address. */
export interface MemoryRegion {
  start: bigint;
  size: bigint;
  /** Subset of 'rwx'; empty for an unmapped region (lldb then knows not to read there). */
  permissions: string;
  /** A name lldb shows in `memory region` (e.g. the image section). */
  name?: string;
}

/** `start:..;size:..;permissions:rx;name:hex;` as lldb-server sends it. */
export function memoryRegionReply(region: MemoryRegion): string {
  const fields: Field[] = [
    ['start', region.start],
    ['size', region.size],
  ];
  if (region.permissions !== '') fields.push(['permissions', region.permissions]);
  if (region.name !== undefined) fields.push(['name', hexEncodeText(region.name)]);
  return keyValues(fields);
}

/**
 * `error:hex;` - no region for this address, as a normal reply. An `Enn` reply
 * would make lldb mark qMemoryRegionInfo unsupported for the rest of the session.
 */
export function memoryRegionErrorReply(message: string): string {
  return keyValues([['error', hexEncodeText(message)]]);
}
