import fc from 'fast-check';
import { partitionPoint, rangeHolding } from './sorted';

describe('sorted-array searches', () => {
  it('partitionPoint counts the leading items that satisfy the predicate', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), fc.integer({ min: -60, max: 60 }), (values, x) => {
        const sorted = [...values].sort((a, b) => a - b);
        expect(partitionPoint(sorted, (v) => v <= x)).toBe(sorted.filter((v) => v <= x).length);
      }),
    );
    expect(partitionPoint([], () => true)).toBe(0);
  });

  it('rangeHolding finds the range holding x, or none', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 5 }), fc.nat({ max: 5 })), { maxLength: 20 }), fc.nat({ max: 120 }), (parts, x) => {
        // disjoint ranges laid end to end with gaps
        const ranges: { start: number; end: number }[] = [];
        let at = 0;
        for (const [gap, size] of parts) {
          ranges.push({ start: at + gap, end: at + gap + size });
          at += gap + size;
        }
        const expected = ranges.find((r) => x >= r.start && x < r.end);
        expect(rangeHolding(ranges, x, (r) => r.start, (r) => r.end)).toBe(expected);
      }),
    );
  });
});
