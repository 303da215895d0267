/**
 * `qSupported[:feature;feature...]`: the client's feature list, parsed into a
 * map so the bridge can ask "did gdb announce swbreak+?" without string work.
 */
import { malformed } from '../errors';
import type { ParserEntry } from './args';
import type { FeatureValue, RspCommand } from './types';

export function parseFeatures(list: string): Map<string, FeatureValue> {
  const features = new Map<string, FeatureValue>();
  for (const item of list.split(';')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq >= 0) {
      if (eq === 0) throw malformed(`qSupported: feature without a name`);
      features.set(item.slice(0, eq), { value: item.slice(eq + 1) });
      continue;
    }
    const last = item[item.length - 1]!;
    if ((last === '+' || last === '-' || last === '?') && item.length > 1) {
      features.set(item.slice(0, -1), { support: last });
    } else {
      throw malformed(`qSupported: feature '${item}' lacks +, -, ? or =value`);
    }
  }
  return features;
}

/** True when the client announced `name+` in its qSupported. */
export function clientSupports(cmd: Extract<RspCommand, { kind: 'qSupported' }>, name: string): boolean {
  const f = cmd.features.get(name);
  return f !== undefined && 'support' in f && f.support === '+';
}

export const supportedParsers: ParserEntry[] = [
  {
    prefix: 'qSupported',
    tail: 'sep',
    parse: (args) => {
      if (args === '') return { kind: 'qSupported', features: new Map() };
      if (args[0] !== ':') throw malformed(`qSupported: expected ':'`);
      return { kind: 'qSupported', features: parseFeatures(args.slice(1)) };
    },
  },
];
