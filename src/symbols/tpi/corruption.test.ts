/**
 * Damaged streams: real TPI/IPI streams cut short at many offsets and with
 * random bytes overwritten must decode or fail with SymbolFormatError, never
 * another exception, never a hang; and whatever does decode must survive
 * every TypeTable helper on every record the same way.
 */
import fc from 'fast-check';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { SymbolFormatError } from '../format-error';
import { decodeTypeHashes } from './hash-stream';
import { readTypeStreamHeader, type TypeStreamKind } from './stream-header';
import { decodeTypeStream } from './type-stream';
import { isTagRecord, TypeTable } from './type-table';
import { buildKindsPdb, buildSyntheticPdb, exportStream } from './testdata/llvm-oracle';

/** Runs `fn`; a SymbolFormatError counts as a clean failure, anything else fails the test. */
function tolerated(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof SymbolFormatError) return false;
    throw err;
  }
}

let slowest = 0;

/** Decodes and, if that works, pokes every record through the table helpers; true if it decoded. */
function exercise(data: Uint8Array, which: TypeStreamKind): boolean {
  const started = Date.now();
  const ok = tolerated(() => {
    const stream = decodeTypeStream(data, which);
    const table = new TypeTable(stream);
    for (const r of stream.records) {
      tolerated(() => table.nameOf(r.index));
      tolerated(() => table.cTypeName(r.index));
      tolerated(() => table.cDeclaration(r.index, 'v'));
      tolerated(() => table.sizeOf(r.index));
      tolerated(() => table.resolveForwardRef(r.index));
      if (r.kind === 'LF_FIELDLIST') tolerated(() => table.fieldMembers(r.index));
      if (isTagRecord(r)) tolerated(() => table.fieldsOf(r.index));
    }
  });
  slowest = Math.max(slowest, Date.now() - started);
  return ok;
}

function withRecordBytes(data: Uint8Array, length: number): Uint8Array {
  const copy = data.slice(0, length);
  // Make the header agree with the cut, so the walk itself meets the broken record.
  new DataView(copy.buffer).setUint32(16, Math.max(0, length - 56), true);
  return copy;
}

interface Input {
  name: string;
  which: TypeStreamKind;
  data: Uint8Array;
  hash: Uint8Array;
}

const inputs: Input[] = [];

beforeAll(() => {
  const pdbs: [string, string][] = [
    ['fixture', buildSymbolFixture().pdb],
    ['kinds', buildKindsPdb()],
    ['synthetic', buildSyntheticPdb()],
  ];
  for (const [name, pdb] of pdbs) {
    for (const [which, stream] of [['TPI', 2], ['IPI', 4]] as const) {
      const data = exportStream(pdb, stream);
      const hash = exportStream(pdb, readTypeStreamHeader(data, which).hashStreamIndex);
      inputs.push({ name: `${name} ${which}`, which, data, hash });
    }
  }
});

afterAll(() => {
  // No single damaged input may take long: a hang would show here first.
  expect(slowest).toBeLessThan(2000);
});

test('the undamaged inputs decode', () => {
  expect(inputs).toHaveLength(6);
  for (const input of inputs) expect(() => decodeTypeStream(input.data, input.which)).not.toThrow();
});

test('truncation at a sweep of offsets', () => {
  for (const { data, which } of inputs) {
    const step = Math.max(1, Math.floor(data.length / 300));
    for (let n = 0; n <= data.length; n += n < 120 ? 1 : step) {
      exercise(data.subarray(0, n), which);
      if (n >= 56) exercise(withRecordBytes(data, n), which);
    }
  }
});

test('truncation at random offsets, header adjusted so records are cut mid-way', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: inputs.length - 1 }).chain((which) =>
        fc.tuple(fc.constant(inputs[which]!), fc.integer({ min: 56, max: inputs[which]!.data.length })),
      ),
      ([input, n]) => {
        exercise(withRecordBytes(input.data, n), input.which);
      },
    ),
    { numRuns: 200 },
  );
});

/** An input and up to eight (offset, value) overwrites inside [from, its length). */
function damage(from: number): fc.Arbitrary<[Input, [number, number][]]> {
  return fc.nat({ max: inputs.length - 1 }).chain((which) => {
    const input = inputs[which]!;
    const change = fc.tuple(fc.integer({ min: from, max: input.data.length - 1 }), fc.nat({ max: 255 }));
    return fc.tuple(fc.constant(input), fc.array(change, { minLength: 1, maxLength: 8 }));
  });
}

function overwrite(data: Uint8Array, changes: [number, number][]): Uint8Array {
  const copy = data.slice();
  for (const [at, value] of changes) copy[at] = value;
  return copy;
}

test('random byte overwrites anywhere in the stream', () => {
  fc.assert(
    fc.property(damage(0), ([input, changes]) => {
      exercise(overwrite(input.data, changes), input.which);
    }),
    { numRuns: 300 },
  );
});

test('random byte overwrites inside the records only', () => {
  let decoded = 0;
  fc.assert(
    fc.property(damage(56), ([input, changes]) => {
      if (exercise(overwrite(input.data, changes), input.which)) decoded++;
    }),
    { numRuns: 400 },
  );
  // Most damaged streams still decode, so the helpers meet damaged records.
  expect(decoded).toBeGreaterThan(100);
});

test('random byte overwrites and cuts in the hash stream', () => {
  fc.assert(
    fc.property(fc.nat({ max: 5 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }), (which, changes) => {
      const input = inputs[which]!;
      const header = readTypeStreamHeader(input.data, input.which);
      if (input.hash.length === 0) return;
      const hash = overwrite(input.hash, changes.map(([at, value]) => [at % input.hash.length, value]));
      tolerated(() => decodeTypeHashes(hash, header, input.which));
      tolerated(() => decodeTypeHashes(hash.subarray(0, changes[0]![0] % hash.length), header, input.which));
    }),
    { numRuns: 200 },
  );
});
