/**
 * Binary searches over arrays kept sorted by address, the one way every layer
 * looks up "which section / function / line table / instruction holds this
 * address".
 */

/**
 * How many leading items satisfy `before`, in an array where the items that
 * do form a prefix (e.g. `item.start <= x` over items sorted by start).
 */
export function partitionPoint<T>(items: ArrayLike<T>, before: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(items[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The item whose range [start, end) holds `x`, in items sorted by start whose
 * ranges do not overlap. An item it returns always holds `x`, even in an
 * unsorted (corrupt) array: a miss there, never a wrong hit.
 */
export function rangeHolding<T>(items: readonly T[], x: number, start: (item: T) => number, end: (item: T) => number): T | undefined {
  const candidate = items[partitionPoint(items, (item) => start(item) <= x) - 1];
  return candidate !== undefined && x < end(candidate) ? candidate : undefined;
}
