/**
 * Mutations of a packet payload for the fuzz tests at every level (parser,
 * connection and handlers, the whole bridge): bit flips, inserted, deleted
 * and duplicated bytes, truncation. One definition, so each level fuzzes with
 * the same kinds of damage.
 */
import fc from 'fast-check';

export type PacketMutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'insert'; at: number; byte: number }
  | { op: 'delete'; at: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; len: number };

/** One mutation; `duplicate` copies a run of up to `maxDuplicate` bytes. */
export function packetMutation(maxDuplicate = 16): fc.Arbitrary<PacketMutation> {
  return fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.nat({ max: maxDuplicate }) }),
  );
}

/** `payload` with the mutations applied in order (positions wrap around its current length). */
export function mutatePacket(payload: Buffer, mutations: readonly PacketMutation[]): Buffer {
  let b = Buffer.from(payload);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at % b.length]! ^= 1 << m.bit;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + m.len), b.subarray(at)]);
        break;
    }
  }
  return b;
}
