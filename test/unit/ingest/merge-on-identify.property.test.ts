import fc from 'fast-check';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import type { IngestStats } from '../../../shared/ingest/ingest-batch';
import { decodeProfileItem } from '../../../shared/profile/profile-item-codec';
import { foldIntoTarget, IdentityFold, sourceOf } from '../../../shared/profile/profile-merge';
import { PROFILE_LIMITS, type ProfileState } from '../../../shared/profile/profile-state';
import { comparableState } from '../../../infra/local/reference-fold';
import { makeEvent, sequenced, T0 } from '../../support/factories';
import { InMemoryProfileStore } from '../../support/in-memory-adapters';
import { envelopedEvents } from '../../support/profile-fixtures';
import { batches, runShards, shardRecords as recordsOf } from '../../support/shard-consumers';

const USER = 'u-1';
const ANON = 'a-9';

/**
 * A person inside the envelope: events split between the user's own key and an anonymous key, plus the
 * identify that links them. Random identifies become logins (each would be a merge of its own).
 */
const person = fc
  .tuple(
    envelopedEvents,
    fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    fc.nat({ max: 4 * 3_600_000 }),
  )
  .filter(([events]) => events.length <= 6)
  .map(([events, onAnon, identifyOffset]) => {
    const own: ContractEvent[] = [];
    const anon: ContractEvent[] = [];
    events.forEach((e, i) => {
      const event: ContractEvent = { ...e, type: e.type === 'identify' ? 'login' : e.type };
      delete event.anonymousId;
      if (onAnon[i]) {
        delete event.userId;
        anon.push({ ...event, anonymousId: ANON, eventId: `anon-${i}` });
      } else own.push(event);
    });
    const first = events[0]!;
    const identify: ContractEvent = {
      schemaVersion: 1,
      eventId: 'identify-1',
      type: 'identify',
      userId: USER,
      anonymousId: ANON,
      occurredAt: first.sessionId === undefined ? first.occurredAt : T0 + identifyOffset,
      ...(first.sessionId === undefined ? {} : { sessionId: first.sessionId }),
    };
    return { own: [...own, identify], anon };
  });

/** The merge rule applied in event-time order, in memory: what every arrival order must give. */
function expectedUser(own: readonly ContractEvent[], anon: readonly ContractEvent[]): ProfileState {
  const fold = new IdentityFold();
  const all = [...own, ...anon].sort((a, b) => a.occurredAt - b.occurredAt);
  sequenced(all).forEach((s) => fold.apply(s));
  return fold.states.get(USER)!;
}

function shuffled<T>(items: readonly T[], keys: readonly number[]): T[] {
  return items
    .map((item, i) => ({ item, key: keys[i] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.item);
}

const sum = (stats: readonly IngestStats[], pick: (s: IngestStats) => number) =>
  stats.reduce((n, s) => n + pick(s), 0);

describe('merge on identify through ingestBatch (properties, inside the envelope)', () => {
  it('gives the event-time merge for any arrival order across two shards, retries and batching', async () => {
    await fc.assert(
      fc.asyncProperty(
        person,
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.record({
          turns: fc.array(fc.nat(), { maxLength: 40 }),
          retries: fc.array(fc.boolean(), { maxLength: 40 }),
        }),
        async ({ own, anon }, orderKeys, cuts, { turns, retries }) => {
          // Prepare: each key's records on its own shard, in a random arrival order
          const userShard = recordsOf(shuffled(own, orderKeys), 'shardId-000000000001', 10_000n);
          const anonShard = recordsOf(shuffled(anon, orderKeys.slice(6)), 'shardId-000000000002', 20_000n);
          // Act
          const { profiles, stats } = await runShards(
            [batches(userShard, cuts), batches(anonShard, cuts.slice(3))],
            turns,
            retries,
          );
          // Assess: one live profile holding every distinct event once, equal to the event-time merge
          const user = decodeProfileItem(profiles.items.get(USER)!).state;
          expect(comparableState(user)).toEqual(comparableState(expectedUser(own, anon)));
          expect(user.counts.reduce((a, b) => a + b, 0)).toBe(own.length + anon.length);
          expect(decodeProfileItem(profiles.items.get(`anon:${ANON}`)!).state.redirect?.into).toBe(USER);
          expect(sum(stats, (s) => s.profilesMerged)).toBe(1);
          expect(sum(stats, (s) => s.applied)).toBe(own.length + anon.length);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('gives the event-time merge when the cookie consumer completes the merge before the identify is written', async () => {
    await fc.assert(
      fc.asyncProperty(
        person,
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.record({
          turns: fc.array(fc.nat(), { maxLength: 40 }),
          retries: fc.array(fc.boolean(), { maxLength: 40 }),
          pauses: fc.array(fc.boolean(), { maxLength: 40 }),
        }),
        async ({ own, anon }, orderKeys, cuts, { turns, retries, pauses }) => {
          // Prepare: each key's records on its own shard, batched at random cuts (1 record .. all)
          const userShard = recordsOf(shuffled(own, orderKeys), 'shardId-000000000001', 10_000n);
          const anonShard = recordsOf(shuffled(anon, orderKeys.slice(6)), 'shardId-000000000002', 20_000n);
          // Act: either consumer may run a whole batch between the other's freeze and its write
          const { profiles, stats } = await runShards(
            [batches(userShard, cuts), batches(anonShard, cuts.slice(3))],
            turns,
            retries,
            new InMemoryProfileStore(),
            pauses,
          );
          // Assess: the same session (start, events, count) as the event-time merge, every event once
          const user = decodeProfileItem(profiles.items.get(USER)!).state;
          expect(comparableState(user)).toEqual(comparableState(expectedUser(own, anon)));
          expect(sum(stats, (s) => s.applied)).toBe(own.length + anon.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the same merge when both keys share one shard, in one batch or several', async () => {
    await fc.assert(
      fc.asyncProperty(
        person,
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        async ({ own, anon }, orderKeys, cuts) => {
          const records = recordsOf(shuffled([...own, ...anon], orderKeys), 'shardId-000000000001', 30_000n);
          const { profiles } = await runShards([batches(records, cuts)], [], []);
          const user = decodeProfileItem(profiles.items.get(USER)!).state;
          expect(comparableState(user)).toEqual(comparableState(expectedUser(own, anon)));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('merges an anonymous profile into one user only (shared device), whichever identify comes first', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { minLength: 3, maxLength: 12 }), async (turns) => {
        // Prepare: one device browses, then two users identify it, each on their own shard
        const browse = [
          makeEvent({ userId: undefined, anonymousId: ANON, type: 'product_view', productId: 'p1' }),
        ];
        const identify = (userId: string, minutes: number) =>
          makeEvent({ type: 'identify', userId, anonymousId: ANON, occurredAt: T0 + minutes * 60_000 });
        const shards = [
          [recordsOf(browse, 'shardId-000000000003', 1_000n)],
          [recordsOf([identify('u-a', 1)], 'shardId-000000000004', 2_000n)],
          [recordsOf([identify('u-b', 2)], 'shardId-000000000005', 3_000n)],
        ];
        // Act
        const { profiles, stats } = await runShards(shards, turns, []);
        // Assess: the anonymous history is in exactly one user; the other recorded and counted the refusal
        const a = decodeProfileItem(profiles.items.get('u-a')!).state;
        const b = decodeProfileItem(profiles.items.get('u-b')!).state;
        const [winner, loser] = a.merges.length > 0 ? [a, b] : [b, a];
        expect(winner.merges.map((m) => m.anonymousId)).toEqual([ANON]);
        expect(loser.merges).toEqual([]);
        expect(loser.mergeRefusals).toEqual([
          expect.objectContaining({ anonymousId: ANON, reason: 'shared-device' }),
        ]);
        expect(a.counts.reduce((x, y) => x + y, 0) + b.counts.reduce((x, y) => x + y, 0)).toBe(3);
        expect(sum(stats, (s) => s.mergesRefused['shared-device'])).toBe(1);
        expect(decodeProfileItem(profiles.items.get(`anon:${ANON}`)!).state.redirect?.into).toBe(
          winner.profileId,
        );
      }),
      { numRuns: 40 },
    );
  });
});

describe('merge guards and idempotence', () => {
  it(`keeps at most ${PROFILE_LIMITS.mergedAliases} merges per user and counts the rest`, async () => {
    const devices = Array.from({ length: PROFILE_LIMITS.mergedAliases + 2 }, (_, i) => `dev-${i}`);
    const identifies = devices.map((anonymousId, i) =>
      makeEvent({ type: 'identify', anonymousId, occurredAt: T0 + i * 60_000 }),
    );
    const { profiles, stats } = await runShards(
      [[recordsOf(identifies, 'shardId-000000000001', 50_000n)]],
      [],
      [],
    );
    const user = decodeProfileItem(profiles.items.get(USER)!).state;
    expect(user.merges.map((m) => m.anonymousId)).toEqual(devices.slice(0, PROFILE_LIMITS.mergedAliases));
    expect(sum(stats, (s) => s.mergesRefused['alias-limit'])).toBe(2);
    expect(profiles.items.has(`anon:${devices.at(-1)}`)).toBe(false);
  });

  it('applies a merge once however often it is offered (identify redelivered, completion by the anonymous consumer)', () => {
    fc.assert(
      fc.property(person, fc.integer({ min: 1, max: 4 }), ({ own, anon }, offers) => {
        const fold = new IdentityFold();
        sequenced(anon, 'shardId-000000000002').forEach((s) => fold.apply(s));
        const records = sequenced(own, 'shardId-000000000001');
        records.forEach((s) => fold.apply(s));
        const merged = fold.states.get(USER)!;
        const source = sourceOf(fold.states.get(`anon:${ANON}`)!)!;
        // Offer the same frozen source again and again: redelivered records and a completion pass.
        let state = merged;
        for (let i = 0; i < offers; i++) {
          state = foldIntoTarget(
            state,
            [...records, ...sequenced(anon, 'shardId-000000000002')],
            USER,
            () => source,
          ).state;
        }
        expect(state).toEqual(merged);
      }),
    );
  });
});
