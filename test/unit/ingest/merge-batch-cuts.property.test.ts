/**
 * Merge on identify does not depend on where batches are cut, for ANY events (outside the
 * order-independence envelope too): ingest's merged user equals the one-record-at-a-time fold
 * (`IdentityFold`, the reference the pipeline tests use) of the records in the order they were
 * processed. Before the fix, an anonymous profile's records that followed the identify in the same
 * batch were frozen into the anonymous state instead of reaching the user through the redirect, so
 * with larger batches (`ingestBatchSize` 500) a merged profile's sessions, decays and categories
 * depended on the cut.
 */
import fc from 'fast-check';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import { decodeBatch } from '../../../shared/ingest/decode-batch';
import { decodeProfileItem } from '../../../shared/profile/profile-item-codec';
import { IdentityFold } from '../../../shared/profile/profile-merge';
import type { SequencedEvent } from '../../../shared/profile/apply-events';
import type { ProfileState } from '../../../shared/profile/profile-state';
import { appliedEvents, comparableState } from '../../../infra/local/reference-fold';
import { sequenced, T0 } from '../../support/factories';
import { InMemoryProfileStore } from '../../support/in-memory-adapters';
import { batches, runShards, shardRecords } from '../../support/shard-consumers';
import { ANON, HOUR, USER, visitor } from '../../support/identified-visitor';

/** After every generated event (sessions start within 60 hours of T0). */
const ARRIVAL = T0 + 62 * HOUR;

/** The reference: `records` folded one at a time in this order, with no storage or batching. */
function foldedUser(records: readonly SequencedEvent[]): ProfileState {
  const fold = new IdentityFold();
  for (const record of records) fold.apply(record);
  return fold.states.get(USER)!;
}

describe('merge on identify is independent of batch cuts (any events, property)', () => {
  it("applies a cookie's record that follows the identify in the same batch to the user, as in the next batch", async () => {
    // Prepare: a cookie session, the identify in it, and the cookie's next session an hour later
    const at = (minutes: number) => T0 + minutes * 60_000;
    const delivered: ContractEvent[] = [
      { schemaVersion: 1, eventId: 'c-1', type: 'page_view', anonymousId: ANON, occurredAt: at(0) },
      {
        schemaVersion: 1,
        eventId: 'i-1',
        type: 'identify',
        userId: USER,
        anonymousId: ANON,
        occurredAt: at(1),
      },
      { schemaVersion: 1, eventId: 'c-2', type: 'page_view', anonymousId: ANON, occurredAt: at(60) },
    ];
    const records = shardRecords(delivered, 'shardId-000000000001', 10_000n, ARRIVAL);
    // Act: one batch, and one batch per record
    const stored = async (cuts: number[]) => {
      const run = await runShards([batches(records, cuts)], [], [], new InMemoryProfileStore(), [], ARRIVAL);
      return decodeProfileItem(run.profiles.items.get(USER)!).state;
    };
    const whole = await stored([]);
    const single = await stored([1, 2]);
    // Assess: two sessions (the one the identify shares with the cookie, and the later one), either way
    expect(whole.sessionCount).toBe(2);
    expect(whole.sessionStart).toBe(Math.floor(at(60) / 1000));
    expect(comparableState(whole)).toEqual(comparableState(single));
  });

  it('stores the delivery-order fold for any cut of one shard holding both keys', async () => {
    await fc.assert(
      fc.asyncProperty(visitor, fc.array(fc.nat(), { maxLength: 8 }), async (delivered, cuts) => {
        // Prepare: the user's and the cookie's records on one shard, cut anywhere
        const records = shardRecords(delivered, 'shardId-000000000001', 10_000n, ARRIVAL);
        // Act
        const { profiles } = await runShards(
          [batches(records, cuts)],
          [],
          [],
          new InMemoryProfileStore(),
          [],
          ARRIVAL,
        );
        // Assess: what the pipeline tests compare with (`infra/local/reference-fold.ts`)
        const user = decodeProfileItem(profiles.items.get(USER)!).state;
        expect(comparableState(user)).toEqual(comparableState(foldedUser(sequenced(delivered))));
        expect(appliedEvents(user)).toBe(delivered.length);
      }),
      { numRuns: 300 },
    );
  });

  it('stores the fold in processing order for any cuts, interleaving and retries of one or two shards', async () => {
    await fc.assert(
      fc.asyncProperty(
        visitor,
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.record({
          turns: fc.array(fc.nat(), { maxLength: 30 }),
          retries: fc.array(fc.boolean(), { maxLength: 30 }),
        }),
        async (delivered, oneShard, cuts, { turns, retries }) => {
          // Prepare: each key's records in delivery order on its shard (or both on one), cut anywhere
          const shardOf = (e: ContractEvent) =>
            oneShard || e.userId !== undefined ? 'shardId-000000000001' : 'shardId-000000000002';
          const onShard = (shardId: string, first: bigint) =>
            shardRecords(
              delivered.filter((e) => shardOf(e) === shardId),
              shardId,
              first,
              ARRIVAL,
            );
          const shards = [
            batches(onShard('shardId-000000000001', 10_000n), cuts),
            batches(onShard('shardId-000000000002', 20_000n), cuts.slice(3)),
          ].filter((s) => s.length > 0);
          // Act
          const { profiles, processed } = await runShards(
            shards,
            turns,
            retries,
            new InMemoryProfileStore(),
            [],
            ARRIVAL,
          );
          // Assess: equal to the records folded one by one as the batches ran (retried ones included)
          const user = decodeProfileItem(profiles.items.get(USER)!).state;
          const inProcessingOrder = decodeBatch(processed.flat()).valid;
          expect(comparableState(user)).toEqual(comparableState(foldedUser(inProcessingOrder)));
          expect(appliedEvents(user)).toBe(delivered.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
