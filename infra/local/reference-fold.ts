/**
 * The reference the pipeline is checked against: the same records folded in memory, one at a time,
 * in delivery order, with the same contract and profile rules and no storage, batching, retries or
 * model in between, and merges on identify decided in that order (`IdentityFold`). The pipeline is
 * correct when its stored live profiles equal these (frozen anonymous profiles are left out: which of
 * their events arrived before the freeze depends on how the shards interleaved, not what the merged
 * user holds).
 */
import { IdentityFold } from '../../shared/profile/profile-merge';
import type { ProfileState } from '../../shared/profile/profile-state';
import { decodeBatch } from '../../shared/ingest/decode-batch';
import type { DecodePrivacy } from '../../shared/privacy/pseudonymise';

/** Records as a producer sent them, in delivery order. */
export interface DeliveredRecord {
  data: Uint8Array;
  partitionKey: string;
}

/**
 * Fold delivered records into live profiles in memory (sequence numbers are made up, increasing).
 *
 * @param nowMs - when the records reached the stream, for the contract's future-timestamp rule
 * @param privacy - decode as the pipeline's handlers do (fingerprints, pseudonymous ids) @default none
 */
export function foldInMemory(
  records: readonly DeliveredRecord[],
  nowMs: number,
  privacy?: DecodePrivacy,
): Map<string, ProfileState> {
  const decoded = decodeBatch(
    records.map((r, i) => ({
      shardId: 'reference',
      sequenceNumber: String(i + 1),
      partitionKey: r.partitionKey,
      data: r.data,
      approximateArrivalMs: nowMs,
    })),
    privacy,
  );
  const identity = new IdentityFold();
  for (const sequenced of decoded.valid) identity.apply(sequenced);
  return identity.liveProfiles();
}

/** Events folded into a profile (its lifetime counts added up). */
export function appliedEvents(state: Pick<ProfileState, 'counts'>): number {
  let total = 0;
  for (const count of state.counts) total += count;
  return total;
}

/**
 * A profile without what differs by construction between a real stream and a reference fold: its
 * sequence-number marks (its own and its merged aliases'), the smoothed inter-event gap (the risk
 * signal that follows arrival order, `shared/risk/risk-signals.ts`) and the peak per minute: a merge
 * keeps the longer side's rhythm and the larger side's peak, so both depend on when the merge happened
 * relative to each stream, not only on the events.
 */
export function comparableState({ shardMarks: _marks, merges, risk, ...rest }: ProfileState): Omit<
  ProfileState,
  'shardMarks' | 'merges'
> & {
  merges: { anonymousId: string; at: number }[];
} {
  return {
    ...rest,
    risk: { ...risk, gapMs: 0, gapDevMs: 0, gaps: 0, peakPerMinute: 0 },
    merges: merges.map(({ anonymousId, at }) => ({ anonymousId, at })),
  };
}
