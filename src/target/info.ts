/**
 * KernelConnectionInfo: the JSON the kernel sends once per boot, turned into a
 * typed KernelInfo. Missing or mistyped fields get defaults and a warning instead
 * of an exception: a kernel that says a little less than expected is still worth
 * debugging, and the caller decides whether a warning matters.
 */
import { JosgdbError } from '../common/errors';
import { isJsonObject, parseJsonTolerant } from './json';
import type { JsonValue, KernelInfo } from './messages';

/** Printable ASCII, anything else as \xNN / \u{N} (for ids read from uninitialised memory). */
export function sanitizePrintable(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x20 && cp < 0x7f && ch !== '\\') out += ch;
    else if (ch === '\\') out += '\\\\';
    else if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += `\\u{${cp.toString(16)}}`;
  }
  return out;
}

function path(json: JsonValue, keys: string[]): JsonValue | undefined {
  let v: JsonValue | undefined = json;
  for (const k of keys) {
    if (!isJsonObject(v)) return undefined;
    v = Object.prototype.hasOwnProperty.call(v, k) ? v[k] : undefined;
  }
  return v;
}

/**
 * Parses a KernelConnectionInfo body. Accepts the exact bytes, or the `raw` latin1
 * text of a previous KernelInfo (so a restarted bridge can rebuild it). Throws
 * PROTOCOL only when the body is not a JSON object at all.
 */
export function parseKernelInfo(body: Buffer | string): KernelInfo {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const json = parseJsonTolerant(bytes);
  if (!isJsonObject(json)) throw new JosgdbError('PROTOCOL', 'KernelConnectionInfo: the body is not a JSON object');
  const warnings: string[] = [];

  const big = (keys: string[], required: boolean): bigint => {
    const v = path(json, keys);
    if (typeof v === 'bigint') return BigInt.asUintN(64, v);
    if (v !== undefined || required) warnings.push(`${keys.join('.')} is ${v === undefined ? 'missing' : 'not an integer'}`);
    return 0n;
  };
  const num = (keys: string[], required: boolean): number => Number(big(keys, required));
  const str = (keys: string[]): string | undefined => {
    const v = path(json, keys);
    if (typeof v === 'string') return v;
    if (v !== undefined) warnings.push(`${keys.join('.')} is not a string`);
    return undefined;
  };

  const features = new Set<string>();
  const f = path(json, ['features']);
  if (Array.isArray(f)) {
    for (const name of f) {
      if (typeof name === 'string') features.add(name);
      else warnings.push('features holds a non-string entry');
    }
  } else if (f !== undefined) {
    warnings.push('features is not an array');
  }

  const hypervisorId = str(['system_info', 'hypervisor', 'id']);
  const xsaveObj = path(json, ['system_info', 'xsave']);
  const info: KernelInfo = {
    version: {
      major: num(['version', 'major'], true),
      minor: num(['version', 'minor'], true),
      patch: num(['version', 'patch'], false),
    },
    imageBase: big(['image_info', 'base'], true),
    entryPoint: big(['image_info', 'entry_point'], true),
    processors: num(['system_info', 'processors'], false),
    memory: big(['system_info', 'memory'], false),
    vendor: sanitizePrintable(str(['system_info', 'vendor']) ?? ''),
    features,
    raw: bytes.toString('latin1'),
    json,
    warnings,
  };
  if (hypervisorId !== undefined) info.hypervisor = sanitizePrintable(hypervisorId);
  if (xsaveObj !== undefined) {
    info.xsave = { size: num(['system_info', 'xsave', 'size'], true), bitmap: big(['system_info', 'xsave', 'bitmap'], true) };
  }
  return info;
}

export interface ConnectionInfoFields {
  imageBase: bigint;
  entryPoint: bigint;
  version?: { major: number; minor: number; patch: number };
  processors?: number;
  memory?: bigint;
  vendor?: string;
  hypervisor?: string;
  features?: readonly string[];
}

/**
 * Builds a KernelConnectionInfo body shaped like josx64's (spaces around colons,
 * unescaped strings), with `features` when given: for fake kernels and tests.
 */
export function buildConnectionInfoBody(f: ConnectionInfoFields): Buffer {
  const v = f.version ?? { major: 0, minor: 1, patch: 0 };
  let s =
    `{ "version" : { "major" : ${v.major}, "minor" : ${v.minor}, "patch" : ${v.patch} }, ` +
    `"image_info" : { "base" : ${f.imageBase}, "entry_point" : ${f.entryPoint} }, ` +
    `"system_info" : { "processors" : ${f.processors ?? 1}, "memory" : ${f.memory ?? 67108864n}, ` +
    `"vendor" : "${f.vendor ?? 'GenuineIntel'}"`;
  if (f.hypervisor !== undefined) s += `, "hypervisor" : { "id" : "${f.hypervisor}" }`;
  s += ' }';
  if (f.features) s += `, "features" : [${f.features.map((x) => `"${x}"`).join(', ')}]`;
  s += ' }';
  return Buffer.from(s, 'latin1');
}
