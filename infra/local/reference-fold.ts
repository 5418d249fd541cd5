/**
 * The reference the pipeline is checked against: the same records folded in memory, one at a time,
 * in delivery order, with the same contract and profile rules and no storage, batching, retries or
 * model in between. The pipeline is correct when its stored profiles equal these.
 */
import { profileIdOf } from '../../shared/contract/event-contract';
import { applyEventsToProfile } from '../../shared/profile/apply-events';
import type { ProfileState } from '../../shared/profile/profile-state';
import { decodeBatch } from '../../shared/ingest/decode-batch';
import type { DecodePrivacy } from '../../shared/privacy/pseudonymise';

/** Records as a producer sent them, in delivery order. */
export interface DeliveredRecord {
  data: Uint8Array;
  partitionKey: string;
}

/**
 * Fold delivered records into profiles in memory (sequence numbers are made up, increasing).
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
  const states = new Map<string, ProfileState>();
  for (const sequenced of decoded.valid) {
    const id = profileIdOf(sequenced.event);
    states.set(id, applyEventsToProfile(states.get(id), [sequenced], id).state);
  }
  return states;
}

/** Events folded into a profile (its lifetime counts added up). */
export function appliedEvents(state: Pick<ProfileState, 'counts'>): number {
  let total = 0;
  for (const count of state.counts) total += count;
  return total;
}

/** A profile without its sequence-number marks, which differ by construction between a real stream and a reference fold. */
export function comparableState({
  shardMarks: _marks,
  ...rest
}: ProfileState): Omit<ProfileState, 'shardMarks'> {
  return rest;
}
