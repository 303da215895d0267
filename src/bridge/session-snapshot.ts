/**
 * What a restarted bridge needs to pick up a kernel that is already connected,
 * without a handshake (josx64 answers `josx` once per boot): the kernel's
 * connection info, whether it runs or sits in a stop, the stop record it will
 * not send again, and the breakpoint list it holds (so the next release can
 * take every 0xCC out). The bridge rewrites the file at every state change;
 * `josgdb serve --attach` reads it.
 *
 * The file is JSON with every 64-bit value as a hex string, written to a temp
 * file and renamed, so a bridge killed mid-write leaves the previous snapshot.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { homedir } from 'os';
import path from 'path';
import { JosgdbError, errorMessage } from '../common/errors';
import type { AssertEvent, StopEvent } from '../target/client';
import { parseKernelInfo } from '../target/info';
import type { KernelInfo } from '../target/messages';
import type { StopKind } from '../target/protocol';
import { decodeStopRecord, encodeStopRecord } from '../target/structs';

const FORMAT = 'josgdb-session/1';

export interface SessionSnapshot {
  /** The target link the kernel is on (a snapshot for another link is refused). */
  target: string;
  savedAt: string;
  kernelInfo: KernelInfo;
  state: 'running' | 'stopped' | 'asserted';
  lastStop?: StopEvent;
  lastAssert?: AssertEvent;
  /** The kernel's breakpoint list as the bridge last synced it. */
  kernelBreakpoints: bigint[] | 'unknown';
}

interface SnapshotFile {
  format: typeof FORMAT;
  target: string;
  savedAt: string;
  /** KernelConnectionInfo body, latin1 text as received. */
  kernelInfo: string;
  state: SessionSnapshot['state'];
  lastStop?: { kind: StopKind; record: string; callstack: string[]; slot?: number; dr6?: string };
  lastAssert?: AssertEvent;
  kernelBreakpoints: string[] | 'unknown';
}

const toHex = (v: bigint) => '0x' + v.toString(16);

export function serializeSnapshot(s: SessionSnapshot): string {
  const file: SnapshotFile = {
    format: FORMAT,
    target: s.target,
    savedAt: s.savedAt,
    kernelInfo: s.kernelInfo.raw,
    state: s.state,
    kernelBreakpoints: s.kernelBreakpoints === 'unknown' ? 'unknown' : s.kernelBreakpoints.map(toHex),
  };
  if (s.lastStop) {
    file.lastStop = {
      kind: s.lastStop.kind,
      record: encodeStopRecord(s.lastStop.record).toString('hex'),
      callstack: s.lastStop.callstack.map(toHex),
      ...(s.lastStop.slot !== undefined ? { slot: s.lastStop.slot } : {}),
      ...(s.lastStop.dr6 !== undefined ? { dr6: toHex(s.lastStop.dr6) } : {}),
    };
  }
  if (s.lastAssert) file.lastAssert = s.lastAssert;
  return JSON.stringify(file, null, 2) + '\n';
}

export function parseSnapshot(text: string, source: string): SessionSnapshot {
  const bad = (why: string): never => {
    throw new JosgdbError('BAD_ARGUMENT', `session state ${source} is unusable: ${why}; start josgdb without --attach (the kernel must then be rebooted to handshake again)`);
  };
  let file: SnapshotFile;
  try {
    file = JSON.parse(text) as SnapshotFile;
  } catch (err) {
    return bad(`not JSON (${errorMessage(err)})`);
  }
  if (file?.format !== FORMAT) bad(`format is ${JSON.stringify(file?.format)}, expected ${FORMAT}`);
  if (!['running', 'stopped', 'asserted'].includes(file.state)) bad(`state ${JSON.stringify(file.state)}`);
  const big = (v: unknown, what: string): bigint => {
    if (typeof v !== 'string' || !/^0x[0-9a-f]+$/i.test(v)) return bad(`${what} ${JSON.stringify(v)} is not a hex number`);
    return BigInt(v);
  };
  const snapshot: SessionSnapshot = {
    target: String(file.target),
    savedAt: String(file.savedAt),
    kernelInfo: parseKernelInfo(Buffer.from(String(file.kernelInfo), 'latin1')),
    state: file.state,
    kernelBreakpoints:
      file.kernelBreakpoints === 'unknown'
        ? 'unknown'
        : Array.isArray(file.kernelBreakpoints)
          ? file.kernelBreakpoints.map((a) => big(a, 'breakpoint'))
          : bad('kernelBreakpoints is neither a list nor "unknown"'),
  };
  if (file.lastStop) {
    const record = Buffer.from(String(file.lastStop.record), 'hex');
    snapshot.lastStop = {
      kind: file.lastStop.kind,
      record: decodeStopRecord(record),
      callstack: (file.lastStop.callstack ?? []).map((a) => big(a, 'callstack entry')),
      ...(file.lastStop.slot !== undefined ? { slot: Number(file.lastStop.slot) } : {}),
      ...(file.lastStop.dr6 !== undefined ? { dr6: big(file.lastStop.dr6, 'dr6') } : {}),
    };
  }
  if (snapshot.state === 'stopped' && !snapshot.lastStop) bad('the kernel is stopped but no stop record was saved');
  if (file.lastAssert) snapshot.lastAssert = file.lastAssert;
  return snapshot;
}

/**
 * Where a target's snapshot lives by default: one file per target link under the
 * user's state directory, so two bridges on two targets never share one.
 */
export function defaultSnapshotPath(target: string): string {
  const base = process.env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state');
  const name = target.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'target';
  return path.join(base, 'josgdb', `${name}.json`);
}

export class SnapshotStore {
  constructor(readonly file: string) {}

  save(snapshot: SessionSnapshot): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, serializeSnapshot(snapshot));
    renameSync(temp, this.file);
  }

  load(expectedTarget: string): SessionSnapshot {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      throw new JosgdbError(
        'BAD_ARGUMENT',
        `--attach: no saved session at ${this.file}; a bridge that ran with the same --target (and --state-file) writes it. Start without --attach to handshake with a freshly booted kernel.`,
      );
    }
    const snapshot = parseSnapshot(text, this.file);
    if (snapshot.target !== expectedTarget) {
      throw new JosgdbError(
        'BAD_ARGUMENT',
        `--attach: the saved session in ${this.file} is for ${snapshot.target}, not ${expectedTarget}`,
      );
    }
    return snapshot;
  }
}
