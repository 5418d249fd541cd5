/**
 * Read-your-writes for a client outside the pipeline: whether a record it put is applied to the
 * profile it addresses, including after that profile was merged (the frontier benchmark's reader uses
 * it; so can a producer that must wait for its own event).
 */
import { anonymousIdOf } from '../../shared/profile/profile-merge';
import type { ProfileState, ShardMark } from '../../shared/profile/profile-state';
import { canonicalSequenceNumber, compareSequenceNumbers } from '../../shared/profile/sequence-number';

/**
 * Whether the record at `sequenceNumber` on `shardId`, of profile `profileId`, is applied: for a reader
 * that waits for its own write. A profile's own records are covered by its own shard mark. Once an
 * anonymous profile is merged (`stored.redirect`), its later records land on its user and are recorded
 * under the marks the user's `merges` entry continues for it, never in the frozen item's own marks:
 * pass the user's state as `redirectTarget` (undefined while it is not read yet, or gone).
 *
 * @param stored - the state stored under `profileId` (undefined: nothing applied yet)
 */
export function hasAppliedRecord(
  profileId: string,
  stored: ProfileState | undefined,
  redirectTarget: ProfileState | undefined,
  shardId: string,
  sequenceNumber: string,
): boolean {
  const wanted = canonicalSequenceNumber(sequenceNumber);
  const covers = (marks: readonly ShardMark[]) =>
    marks.some((m) => m.shardId === shardId && compareSequenceNumbers(m.sequenceNumber, wanted) >= 0);
  if (stored === undefined) return false;
  if (covers(stored.shardMarks)) return true;
  const anonymousId = anonymousIdOf(profileId);
  if (stored.redirect === undefined || anonymousId === undefined || redirectTarget === undefined)
    return false;
  const merged = redirectTarget.merges.find((m) => m.anonymousId === anonymousId);
  return merged !== undefined && covers(merged.shardMarks);
}
