/**
 * Is a value a return address? The josx64 scan's check: the bytes just before
 * it must decode as a near CALL that ends exactly there, in any of its forms:
 *
 *   E8 rel32                        5 bytes
 *   FF /2 register                  2 (3 with REX: call *%r11)
 *   FF /2 [reg], [rip+disp32],      2..7, plus REX, segment and address-size
 *   [reg+disp8/32], [base+index*s]  prefixes: at most 9 bytes here
 *
 * Every length is tried, because a shorter call can hide in the tail of a
 * longer instruction and the other way round; one match is enough. When
 * several readings are calls (41 FF D3 is `call *%r11`, and its tail FF D3
 * `call *%rbx`), a direct call wins, then the longest.
 */
import { CodeDecoder } from './x86';

export interface CallSite {
  /** Address of the CALL instruction. */
  address: bigint;
  length: number;
  kind: 'direct' | 'indirect';
  /** The callee, for a direct call. */
  target?: bigint;
}

/** Longest near CALL checked: segment + address-size prefix + REX + FF + ModRM + SIB + disp32. */
export const MAX_CALL_LENGTH = 9;
const MIN_CALL_LENGTH = 2;

/**
 * The CALL that ends at `returnAddress`, given the bytes right before it
 * (`before` ends at returnAddress; up to MAX_CALL_LENGTH of them are used).
 * A direct call is preferred when both readings work, then the longest.
 */
export function callEndingAt(before: Uint8Array, returnAddress: bigint): CallSite | undefined {
  const bytes = before.subarray(Math.max(0, before.length - MAX_CALL_LENGTH));
  const start = returnAddress - BigInt(bytes.length);
  const decoder = new CodeDecoder(bytes, start);
  try {
    let found: CallSite | undefined;
    for (let length = MIN_CALL_LENGTH; length <= bytes.length; length++) {
      const ins = decoder.at(bytes.length - length);
      if (!ins || ins.length !== length || !ins.isNearCall) continue;
      const site: CallSite = {
        address: returnAddress - BigInt(length),
        length,
        kind: ins.flow.kind === 'call' && ins.flow.target !== undefined ? 'direct' : 'indirect',
        ...(ins.flow.kind === 'call' && ins.flow.target !== undefined ? { target: ins.flow.target } : {}),
      };
      if (site.kind === 'direct') return site;
      found = site;
    }
    return found;
  } finally {
    decoder.free();
  }
}
