/**
 * The GSI hash shared by the globals stream and the publics stream: a header,
 * then hash records pointing (offset + 1) into the symbol record stream, then
 * the bucket bitmap and bucket starts. A reader enumerating symbols needs only
 * the hash records, in the order the writer stored them; name lookups are
 * served by our own maps instead of the on-disk hash.
 */
import type { CvReader } from '../codeview/cv-reader';

export const GSI_HASH_SIGNATURE = 0xffffffff;
export const GSI_HASH_V70 = (0xeffe0000 + 19990810) >>> 0;
/** Buckets of the on-disk hash (IPHR_HASH), plus one. */
const GSI_BUCKETS = 4096 + 1;

export interface GsiHashRecord {
  /** Offset of the record in the symbol record stream. */
  symOffset: number;
  cref: number;
}

export interface GsiHash {
  records: GsiHashRecord[];
  /** Number of non-empty buckets according to the bitmap. */
  bucketCount: number;
}

export function readGsiHash(r: CvReader): GsiHash {
  const start = r.offset;
  const signature = r.u32();
  if (signature !== GSI_HASH_SIGNATURE) r.fail(`GSI hash signature 0x${signature.toString(16)}, expected 0xffffffff`, start);
  const version = r.u32();
  if (version !== GSI_HASH_V70) r.fail(`GSI hash version 0x${version.toString(16)} is not supported`, start + 4);
  const hrSize = r.u32();
  const bucketBytes = r.u32();
  if (hrSize % 8 !== 0) r.fail(`hash record size ${hrSize} is not a multiple of 8`, start + 8);
  if (hrSize > r.remaining) r.fail(`hash records of ${hrSize} bytes run past the end (${r.remaining} left)`, start + 8);
  const records: GsiHashRecord[] = [];
  for (let i = 0; i < hrSize / 8; i++) {
    const at = r.offset;
    const off = r.u32();
    const cref = r.u32();
    if (off === 0) r.fail(`hash record ${i} has no symbol offset`, at);
    records.push({ symOffset: off - 1, cref });
  }
  const buckets = r.sub(Math.min(bucketBytes, r.remaining));
  const bitmapWords = Math.ceil(GSI_BUCKETS / 32);
  let bucketCount = 0;
  // Writers with no records may omit the bitmap entirely.
  if (buckets.length >= bitmapWords * 4) {
    for (let i = 0; i < bitmapWords; i++) {
      let w = buckets.u32();
      while (w !== 0) {
        bucketCount += w & 1;
        w >>>= 1;
      }
    }
  }
  return { records, bucketCount };
}
