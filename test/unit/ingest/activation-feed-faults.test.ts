/**
 * The activation feed under the stream's faults: no transition lost, none invented.
 *
 * The real ingest handler runs over an in-memory store (optimistic locking as DynamoDB's) and an
 * in-memory activation stream, both wrapped to inject faults deterministically, and a small driver
 * that redelivers as Lambda's event source mapping does (from the lowest reported sequence number; the
 * whole batch after a function error).
 *
 * Why the first test compares runs batch for batch: the faults it injects (a write that lands but whose
 * answer is lost, feed puts that fail after the profile write landed, a function error after every
 * write landed) must leave the committed history exactly as the fault-free run's, so the transition ids
 * (hash of profile, audience, kind and version) must be the same set. Its redelivery re-sends only the
 * failed batch's records from the lowest failed sequence number (not a new batch reaching into the next
 * one): the batch boundaries stay identical, and with them the versions. Conflicting writers with
 * different content change the versions themselves, so the second test compares per committed version
 * instead: every emitted id is a transition of a committed version, and every committed transition is
 * emitted.
 */
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import { activationEventId, type ActivationEvent } from '../../../shared/audiences/activation';
import { BUILT_IN_AUDIENCES, parseAudienceSet } from '../../../shared/audiences/audience-definition';
import { compileAudienceSet, type AudienceMembership } from '../../../shared/audiences/audience-evaluation';
import { partitionKeyOf } from '../../../shared/contract/event-contract';
import type {
  ProfileScorer,
  ProfileStore,
  StoredProfileItem,
  TransitionSink,
  WriteOutcome,
} from '../../../shared/ingest/ingest-ports';
import { fnv1a32 } from '../../../shared/profile/hashing';
import { createIngestHandler } from '../../../functions/ingest/ingest-handler';
import { kinesisStreamEventOf, LOCAL_STREAM_SOURCE } from '../../../infra/local/kinesis-stream-event';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { InMemoryProfileStore, InMemoryQuarantine } from '../../support/in-memory-adapters';
import { fakeProbabilities } from '../../support/rescoring-fixtures';
import { sequenceNumberOf } from '../../support/factories';

// A score crossing a threshold is an audience over a model output: `likely-buyers` is one.
const SET = compileAudienceSet(
  parseAudienceSet({
    audienceSetVersion: 1,
    audiences: [
      ...BUILT_IN_AUDIENCES.audiences,
      { id: 'likely-buyers', description: 'd', condition: { field: 'purchaseProbability', gte: 0.75 } },
      { id: 'browsers', description: 'd', condition: { event: 'product_view', withinHours: 2 } },
    ],
  }),
  'test-set',
);
const scorer: ProfileScorer = {
  score: async (features, rows, width) => ({
    modelVersion: 'fake',
    purchase: fakeProbabilities('fake', features, rows, width),
  }),
};

const workload = generateWorkload({ seed: 11, users: 80, days: 3 });
const NOW = workload.endMs;
const SHARDS = ['shardId-000000000000', 'shardId-000000000001'];
const BATCH_SIZE = 20;

interface Record_ {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: string;
  arrivalMs: number;
}

/** The workload as batches of two shards (by partition key hash), in stream order. */
function batchesOf(events: readonly unknown[]): Record_[][] {
  const byShard = SHARDS.map(() => [] as Record_[]);
  events.forEach((event, i) => {
    const partitionKey = partitionKeyOf(event as never);
    const shard = fnv1a32(partitionKey) % SHARDS.length;
    byShard[shard]!.push({
      shardId: SHARDS[shard]!,
      sequenceNumber: sequenceNumberOf(i),
      partitionKey,
      data: JSON.stringify(event),
      arrivalMs: NOW,
    });
  });
  const batches: Record_[][] = [];
  for (let start = 0; byShard.some((records) => start < records.length); start += BATCH_SIZE)
    for (const records of byShard)
      if (start < records.length) batches.push(records.slice(start, start + BATCH_SIZE));
  return batches;
}

/** Faults of the profile store; every write that lands is recorded as committed. */
class FaultyStore implements ProfileStore {
  readonly inner = new InMemoryProfileStore();
  readonly committed = new Map<string, StoredProfileItem[]>();
  lostAnswers = 0;
  conflicts = 0;
  private puts = 0;
  /** Runs before a put (once), e.g. another writer's batch. */
  beforePut?: (item: StoredProfileItem) => Promise<void>;

  constructor(private readonly loseEveryNth: number | undefined) {}

  getMany(ids: readonly string[]) {
    return this.inner.getMany(ids);
  }

  async putIfVersion(item: StoredProfileItem, expected: number | undefined): Promise<WriteOutcome> {
    const hook = this.beforePut;
    if (hook !== undefined) await hook(item);
    const outcome = await this.inner.putIfVersion(item, expected);
    if (outcome.status === 'conflict') this.conflicts++;
    if (outcome.status !== 'written') return outcome;
    const versions = this.committed.get(item.profileId) ?? [];
    versions.push(item);
    this.committed.set(item.profileId, versions);
    this.puts++;
    if (this.loseEveryNth !== undefined && this.puts % this.loseEveryNth === 0) {
      // The write landed but its answer was lost: the SDK's retry of the same conditional put then fails
      // its condition, and the adapter answers a conflict with the item stored now (our own).
      this.lostAnswers++;
      return { status: 'conflict', current: this.inner.items.get(item.profileId) };
    }
    return outcome;
  }
}

/** The activation stream in memory; optionally refuses some puts (after the profile writes landed). */
class FaultyStream implements TransitionSink {
  readonly delivered: ActivationEvent[] = [];
  refusedProfiles = 0;
  errors = 0;
  private calls = 0;

  constructor(private readonly faulty: boolean) {}

  async put(events: readonly ActivationEvent[]): Promise<ReadonlySet<string>> {
    this.calls++;
    if (this.faulty && this.calls % 5 === 0) {
      this.errors++;
      throw new Error('activation stream unreachable');
    }
    const refused = new Set<string>();
    for (const event of events) {
      // Every third call refuses the records of about half its profiles (a throttled shard).
      if (this.faulty && this.calls % 3 === 0 && fnv1a32(event.profileId) % 2 === 0)
        refused.add(event.profileId);
      else this.delivered.push(event);
    }
    this.refusedProfiles += refused.size;
    return refused;
  }
}

interface Run {
  store: FaultyStore;
  stream: FaultyStream;
  redeliveries: number;
}

/** Deliver each batch until it succeeds, redelivering as the event source mapping does. */
async function deliver(
  batches: readonly Record_[][],
  store: FaultyStore,
  stream: FaultyStream,
): Promise<Run> {
  const handler = createIngestHandler({
    profiles: store,
    quarantine: new InMemoryQuarantine(),
    scorer,
    audiences: { current: async () => SET },
    transitions: stream,
    now: () => NOW,
  });
  let redeliveries = 0;
  for (const batch of batches) {
    let records = batch;
    for (let attempt = 0; records.length > 0; attempt++) {
      if (attempt > 20) throw new Error('batch never succeeded');
      let response: KinesisStreamBatchResponse;
      try {
        response = await handler(kinesisStreamEventOf(records, LOCAL_STREAM_SOURCE));
      } catch {
        redeliveries++;
        continue; // a function error: the whole batch again
      }
      const failed = response.batchItemFailures.map((f) => BigInt(f.itemIdentifier));
      if (failed.length === 0) break;
      redeliveries++;
      const lowest = failed.reduce((a, b) => (a < b ? a : b));
      records = records.filter((r) => BigInt(r.sequenceNumber) >= lowest);
    }
  }
  return { store, stream, redeliveries };
}

/** Every transition the committed history holds: consecutive versions' membership diffs. */
function committedTransitionIds(store: FaultyStore): Set<string> {
  const ids = new Set<string>();
  for (const [profileId, versions] of store.committed) {
    let before: AudienceMembership | undefined;
    for (const item of versions) {
      const after = item.audiences as AudienceMembership | undefined;
      for (const id in after)
        if (before?.[id] === undefined) ids.add(activationEventId(profileId, id, 'entered', item.version));
      for (const id in before)
        if (after?.[id] === undefined) ids.add(activationEventId(profileId, id, 'exited', item.version));
      before = after;
    }
  }
  return ids;
}

const idsOf = (run: Run) => new Set(run.stream.delivered.map((e) => e.id));
const versionsOf = (run: Run) =>
  new Map(
    [...run.store.inner.items].map(([id, item]) => [
      id,
      { version: item.version, audiences: item.audiences },
    ]),
  );

describe('activation feed under injected faults', () => {
  it('emits the same transition ids as a fault-free run, each of a committed version, none lost', async () => {
    // Prepare
    const batches = batchesOf(workload.events);
    // Act
    const clean = await deliver(batches, new FaultyStore(undefined), new FaultyStream(false));
    const faulty = await deliver(batches, new FaultyStore(4), new FaultyStream(true));
    // Assess: the committed history is the fault-free one
    expect(versionsOf(faulty)).toEqual(versionsOf(clean));
    // ... the feed carried re-emissions, which the ids de-duplicate
    expect(faulty.stream.delivered.length).toBeGreaterThan(idsOf(faulty).size);
    // ... and the same set of transitions, exactly the committed ones
    const expected = committedTransitionIds(clean.store);
    expect(idsOf(clean)).toEqual(expected);
    expect(idsOf(faulty)).toEqual(idsOf(clean));
    // ... and the faults did happen
    expect(faulty.store.lostAnswers).toBeGreaterThan(5);
    expect(faulty.stream.refusedProfiles).toBeGreaterThan(5);
    expect(faulty.stream.errors).toBeGreaterThan(2);
    expect(faulty.redeliveries).toBeGreaterThan(5);
    const kinds = new Set(clean.stream.delivered.map((e) => `${e.audienceId}:${e.kind}`));
    for (const seen of [
      'likely-buyers:entered',
      'likely-buyers:exited',
      'browsers:exited',
      'cart-abandoners:entered',
    ])
      expect(kinds).toContain(seen);
    expect(expected.size).toBeGreaterThan(50);
  });

  it('with conflicting writers, emits exactly the transitions of the committed versions', async () => {
    // Prepare: the first write of a stored user profile in every third batch races another writer of the same profile (a merged
    // identity's events on another shard), which lands first; the loser re-reads and refolds.
    const batches = batchesOf(workload.events);
    const store = new FaultyStore(undefined);
    const stream = new FaultyStream(false);
    const rival = createIngestHandler({
      profiles: store,
      quarantine: new InMemoryQuarantine(),
      scorer,
      audiences: { current: async () => SET },
      transitions: stream,
      now: () => NOW,
    });
    let rivalWrites = 0;
    let position = 1_000_000;
    const race = async (item: StoredProfileItem) => {
      const stored = store.inner.items.get(item.profileId);
      if (stored === undefined || item.profileId.startsWith('anon:')) return;
      store.beforePut = undefined; // once per armed batch, and not for the rival's own put
      rivalWrites++;
      const view = {
        schemaVersion: 1,
        eventId: `rival-${position}`,
        type: 'add_to_cart',
        userId: item.profileId,
        productId: 'p-rival',
        categoryPath: 'rival',
        price: 10,
        quantity: 1,
        occurredAt: NOW - 60_000,
      };
      const record = {
        shardId: 'shardId-000000000002',
        sequenceNumber: sequenceNumberOf(position++),
        partitionKey: item.profileId,
        data: JSON.stringify(view),
        arrivalMs: NOW,
      };
      await rival(kinesisStreamEventOf([record], LOCAL_STREAM_SOURCE));
    };
    // Act
    for (let i = 0; i < batches.length; i++) {
      if (i % 3 === 1) store.beforePut = race;
      await deliver([batches[i]!], store, stream);
    }
    // Assess: the losers conflicted, and the feed holds exactly the committed transitions
    expect(rivalWrites).toBeGreaterThan(5);
    expect(store.conflicts).toBeGreaterThanOrEqual(rivalWrites);
    expect(idsOf({ store, stream, redeliveries: 0 })).toEqual(committedTransitionIds(store));
  });
});
