/**
 * Load base + RVA for the writers, as a plain number wherever it fits in 53
 * bits (every real load base): the section writer encodes numbers and bigints
 * to the same bytes, and a bigint per address (hundreds of thousands of DIEs,
 * line sequences and frame entries) is an allocation the number is not.
 */
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

export function absoluteAddress(loadBase: bigint, rva: number): number | bigint {
  if (loadBase <= MAX_SAFE_BIG && loadBase >= 0n) {
    const sum = Number(loadBase) + rva;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return loadBase + BigInt(rva);
}
