/**
 * The reference captures of a real josx64 kernel under QEMU (shared/captures/josx64)
 * as replayable steps, for decoder, client and bridge tests. Looked up beside the
 * repository (../shared) or in $JOSGDB_CAPTURES.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readRecording } from '../../link/recorder';
import type { RecordingEvent } from '../../link/recorder';

export const CAPTURE_NAMES = [
  'session_main',
  'boot_mem_3072MB',
  'extra_write_pagetable_cpuid_rdmsr',
  'fault_unmapped_read',
] as const;
export type CaptureName = (typeof CAPTURE_NAMES)[number];

export function captureDir(): string {
  const candidates = [
    process.env.JOSGDB_CAPTURES,
    path.resolve(__dirname, '../../../../shared/captures/josx64'),
    path.resolve(process.cwd(), '../shared/captures/josx64'),
  ].filter((p): p is string => !!p);
  for (const dir of candidates) if (fs.existsSync(path.join(dir, 'session_main.jsonl'))) return dir;
  throw new Error(`josx64 captures not found (looked in ${candidates.join(', ')}); set JOSGDB_CAPTURES`);
}

export interface Capture {
  name: string;
  /** Byte events in order (rx: kernel -> host). */
  events: RecordingEvent[];
  /** Everything the kernel sent, concatenated. */
  rx: Buffer;
  /** Everything the host sent, concatenated. */
  tx: Buffer;
  /** The raw annotated events (with `id`, `name`, `decoded` for packets). */
  annotated: { kind: string; id?: number; name?: string; n?: number; hex?: string; decoded?: Record<string, unknown> }[];
  /** The sizes of the chunks the capturing host's socket reads returned (real cut points of rx). */
  rxChunkSizes: number[];
}

export function loadCapture(name: CaptureName | string): Capture {
  const text = fs.readFileSync(path.join(captureDir(), `${name}.jsonl`), 'utf8');
  const events = readRecording(text);
  const annotated = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Capture['annotated'][number]);
  return {
    name,
    events,
    rx: Buffer.concat(events.filter((e) => e.dir === 'rx').map((e) => e.bytes)),
    tx: Buffer.concat(events.filter((e) => e.dir === 'tx').map((e) => e.bytes)),
    annotated,
    rxChunkSizes: annotated.filter((e) => e.kind === 'rx_chunk').map((e) => e.n ?? 0),
  };
}
