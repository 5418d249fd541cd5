/**
 * The archive use case: which objects one batch becomes, handed to the {@link ArchiveWriter} port.
 *
 * Valid events only (personal fields are already gone after contract decoding), grouped by the UTC
 * date and hour of their event time and by profile-hash bucket (`profile-bucket.ts`: one bucket's
 * objects hold whole histories, so training can build its rows bucket by bucket), one NDJSON object
 * per group. The key derives from the shard and
 * the batch's first and last sequence numbers, so a redelivered batch overwrites its objects instead of
 * adding copies; training still de-duplicates by `eventId` (a redelivery may start elsewhere).
 */
import { profileIdOf, type ContractEvent } from '../contract/event-contract';
import { erasedProfilesAmong, type TombstoneLookup } from '../erasure/tombstones';
import { decodeBatch } from '../ingest/decode-batch';
import type { SequencedEvent } from '../profile/apply-events';
import type { IngestRecord } from '../ingest/ingest-ports';
import type { DecodePrivacy } from '../privacy/pseudonymise';
import type { ArchiveObject, ArchiveWriter } from './archive-ports';
import { bucketKeyPart, profileBucketOf } from './profile-bucket';

/** Prefix of every archive object. */
export const ARCHIVE_PREFIX = 'events';

/**
 * Plan the archive objects of one batch (records of one shard, in order), leaving out the events of
 * the profiles in `erased`.
 *
 * @param privacy - as ingest decodes (the same ids and fingerprints in the archive as in the table)
 * @param valid - the batch's valid events, when the caller decoded it already
 */
export function planArchiveObjects(
  records: readonly IngestRecord[],
  privacy?: DecodePrivacy,
  erased: ReadonlySet<string> = new Set(),
  valid: readonly SequencedEvent[] = decodeBatch(records, privacy).valid,
): ArchiveObject[] {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) return [];
  const byHour = new Map<string, ContractEvent[]>();
  for (const { event } of valid) {
    if (erased.size > 0 && erased.has(profileIdOf(event))) continue;
    const iso = new Date(event.occurredAt).toISOString();
    const bucket = bucketKeyPart(profileBucketOf(profileIdOf(event)));
    const partition = `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/${bucket}`;
    const list = byHour.get(partition);
    if (list === undefined) byHour.set(partition, [event]);
    else list.push(event);
  }
  const suffix = `${first.shardId}-${first.sequenceNumber}-${last.sequenceNumber}.ndjson.gz`;
  return [...byHour].map(([partition, events]) => ({
    key: `${ARCHIVE_PREFIX}/${partition}-${suffix}`,
    events,
  }));
}

/** Serialise archive events as NDJSON (one event per line, trailing newline). */
export function toNdjson(events: readonly ContractEvent[]): string {
  let out = '';
  for (const event of events) out += JSON.stringify(event) + '\n';
  return out;
}

/** What {@link archiveBatch} stored. */
export interface ArchiveBatchResult {
  /** Valid events written. */
  archived: number;
  objects: number;
  /** Valid events of erased people, left out. */
  erased: number;
}

/** How the archive consumer finds tombstones: the profiles table and the erasure key. */
export type ArchiveErasureCheck = TombstoneLookup;

/**
 * Archive one batch: plan its objects and store them all. Rejects when any write fails, so the event
 * source retries the batch; the deterministic keys make the retry overwrite rather than duplicate.
 */
export async function archiveBatch(
  records: readonly IngestRecord[],
  writer: ArchiveWriter,
  { privacy, erasure }: { privacy?: DecodePrivacy; erasure?: ArchiveErasureCheck } = {},
): Promise<ArchiveBatchResult> {
  const { valid } = decodeBatch(records, privacy);
  const erased = erasure === undefined ? new Set<string>() : await erasedProfilesOf(valid, erasure);
  const objects = planArchiveObjects(records, privacy, erased, valid);
  await Promise.all(objects.map((o) => writer.put(o)));
  const archived = objects.reduce((n, o) => n + o.events.length, 0);
  return { archived, objects: objects.length, erased: valid.length - archived };
}

/** The batch's profile ids that have a tombstone: one BatchGetItem of tombstone keys only. */
function erasedProfilesOf(
  valid: readonly SequencedEvent[],
  erasure: ArchiveErasureCheck,
): Promise<Set<string>> {
  return erasedProfilesAmong(
    valid.map(({ event }) => profileIdOf(event)),
    erasure,
  );
}
