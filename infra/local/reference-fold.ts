/**
 * The reference the pipeline is checked against: the same records folded in memory, one at a time,
 * in delivery order, with the same contract and profile rules and no storage, batching, retries or
 * model in between, and merges on identify decided in that order (`IdentityFold`). The pipeline is
 * correct when its stored live profiles equal these (frozen anonymous profiles are left out: which of
 * their events arrived before the freeze depends on how the shards interleaved, not what the merged
 * user holds).
 */
import { isDeepStrictEqual } from 'node:util';
import { IdentityFold } from '../../shared/profile/profile-merge';
import { PROFILE_LIMITS, type ProfileState } from '../../shared/profile/profile-state';
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

/**
 * How a stored profile compares with its reference fold:
 * - `exact`: equal as {@link comparableState} (every profile inside the order-independence envelope);
 * - `order-envelope`: a merged profile whose only differences are the ones `apply-events.ts` documents
 *   outside the envelope, which follow how the user's and the cookie's shards interleaved (a cookie
 *   record folded before the freeze or through the redirect after it): its sessions, its decays by at
 *   most m + 2 fixed-point units (m ≤ its events; `fixed-point-decay.ts`) and, once it has held
 *   {@link PROFILE_LIMITS}.categories categories, which of them survive;
 * - `differs`: anything else, a pipeline fault.
 */
export type ReferenceAgreement = 'exact' | 'order-envelope' | 'differs';

/** Compare a stored profile with the reference fold's (see {@link ReferenceAgreement}). */
export function agreementWithReference(stored: ProfileState, expected: ProfileState): ReferenceAgreement {
  const actual = comparableState(stored);
  const reference = comparableState(expected);
  if (isDeepStrictEqual(actual, reference)) return 'exact';
  // Only a merge joins two shards' streams: an unmerged profile's records sit on one shard, in order.
  if (stored.merges.length === 0 || expected.merges.length === 0) return 'differs';
  const maxDecayUnits = appliedEvents(stored) + 2;
  const decaysAgree =
    actual.decays.length === reference.decays.length &&
    actual.decays.every((units, i) => Math.abs(units - reference.decays[i]!) <= maxDecayUnits);
  return decaysAgree &&
    categoriesAgree(actual.categories, reference.categories, maxDecayUnits) &&
    isDeepStrictEqual(orderIndependentPart(actual), orderIndependentPart(reference))
    ? 'order-envelope'
    : 'differs';
}

/** Everything but the order-dependent fields {@link agreementWithReference} judges by their bounds. */
function orderIndependentPart({
  decays: _decays,
  categories: _categories,
  sessionCount: _count,
  sessionKey: _key,
  sessionStart: _start,
  sessionEnd: _end,
  sessionEvents: _events,
  ...rest
}: ReturnType<typeof comparableState>) {
  return rest;
}

/**
 * The same categories with affinities within the decay bound; or, once either side is full (an evicted
 * category's mass is lost), both full.
 */
function categoriesAgree(
  actual: ProfileState['categories'],
  reference: ProfileState['categories'],
  maxUnits: number,
): boolean {
  const full = PROFILE_LIMITS.categories;
  if (actual.length === full || reference.length === full) return actual.length === reference.length;
  if (actual.length !== reference.length) return false;
  const scores = new Map(reference.map((c) => [c.key, c.score]));
  return actual.every((c) => {
    const score = scores.get(c.key);
    return score !== undefined && Math.abs(c.score - score) <= maxUnits;
  });
}
