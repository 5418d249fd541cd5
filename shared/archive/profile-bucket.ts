/**
 * Profile-hash buckets: the unit by which the archive is laid out and the training set is built in
 * parallel. Every event of a profile hashes to the same bucket, so one bucket's archive objects hold
 * whole histories: a worker can fold its profiles without seeing any other bucket, and erasure can
 * rewrite one bucket's objects instead of the whole archive.
 *
 * The count is part of the archive layout: changing it re-buckets new objects only. Readers therefore
 * filter every event by {@link profileBucketOf} as well as picking keys by their `bucket=` part, so an
 * object written under another count (or before buckets existed, with no `bucket=` part) is still read
 * correctly, only less cheaply.
 */
import { fnv1a32 } from '../profile/hashing';

/** Buckets of the archive layout (`events/dt=…/hour=…/bucket=BB-<shard>-…`: in the file name, so an hour stays one flat listing). */
export const ARCHIVE_PROFILE_BUCKETS = 16;

/** The bucket of a profile id, in `[0, buckets)`. */
export function profileBucketOf(profileId: string, buckets: number = ARCHIVE_PROFILE_BUCKETS): number {
  return fnv1a32(profileId) % buckets;
}

/** The key part that names a bucket: `bucket=07`. */
export function bucketKeyPart(bucket: number): string {
  return `bucket=${String(bucket).padStart(2, '0')}`;
}

const BUCKET_PART = /\/bucket=(\d+)-/;

/** The bucket an archive key names, or `undefined` for a key written before buckets (every bucket reads it). */
export function bucketOfArchiveKey(key: string): number | undefined {
  const match = BUCKET_PART.exec(key);
  return match === null ? undefined : Number(match[1]);
}
