import { ingestBatch, type IngestDependencies } from '../../../shared/ingest/ingest-batch';
import { ingestRecord } from '../../support/factories';
import { InMemoryProfileStore, InMemoryQuarantine } from '../../support/in-memory-adapters';
import type { ProfileScorer, StoredProfileItem } from '../../../shared/ingest/ingest-ports';
import { decodeProfileItem } from '../../../shared/profile/profile-item-codec';

const NOW = Date.UTC(2026, 10, 27, 12);
const record = (body: unknown) => ingestRecord(body, { arrivalMs: NOW });
const view = (eventId: string, userId: string, minutesAgo = 10) => ({
  schemaVersion: 1,
  eventId,
  type: 'product_view',
  userId,
  productId: `p-${eventId}`,
  categoryPath: 'electronics.phones',
  occurredAt: NOW - minutesAgo * 60_000,
});
const unscored: ProfileScorer = { score: async () => undefined };
const totalEvents = (item: StoredProfileItem | undefined) =>
  item === undefined ? 0 : decodeProfileItem(item).state.counts.reduce((a, b) => a + b, 0);

function deps(overrides: Partial<IngestDependencies> = {}) {
  const profiles = new InMemoryProfileStore();
  const quarantine = new InMemoryQuarantine();
  return {
    profiles,
    quarantine,
    all: { profiles, quarantine, scorer: unscored, now: () => NOW, ...overrides },
  };
}

describe('ingestBatch', () => {
  it('writes each touched profile once, quarantines bad records and acknowledges them', async () => {
    // Prepare
    const { profiles, quarantine, all } = deps();
    const records = [
      record(view('a', 'u1')),
      record('{oops'),
      record(view('b', 'u1')),
      record(view('c', 'u2')),
    ];
    // Act
    const result = await ingestBatch(records, all);
    // Assess
    expect(result.failedSequenceNumbers).toEqual([]);
    expect(profiles.requests.put).toBe(2);
    expect(totalEvents(profiles.items.get('u1'))).toBe(2);
    expect(totalEvents(profiles.items.get('u2'))).toBe(1);
    expect(quarantine.records.map((q) => q.kind)).toEqual(['invalid_json']);
    expect(result.stats).toMatchObject({ recordsIn: 4, applied: 3, duplicates: 0, profilesWritten: 2 });
    expect(result.stats.quarantined.invalid_json).toBe(1);
  });

  it('applies nothing twice when the same batch is redelivered', async () => {
    const { profiles, all } = deps();
    const records = [record(view('a', 'u1')), record(view('b', 'u1'))];
    await ingestBatch(records, all);
    const again = await ingestBatch(records, all);
    expect(again.stats).toMatchObject({ applied: 0, duplicates: 2, profilesWritten: 0 });
    expect(totalEvents(profiles.items.get('u1'))).toBe(2);
    expect(profiles.items.get('u1')!.version).toBe(1);
  });

  it('drops a producer duplicate (same eventId, new sequence number)', async () => {
    const { profiles, all } = deps();
    await ingestBatch([record(view('a', 'u1'))], all);
    const dup = await ingestBatch([record(view('a', 'u1'))], all);
    expect(dup.stats.duplicates).toBe(1);
    expect(totalEvents(profiles.items.get('u1'))).toBe(1);
  });

  it('re-applies to the item the conflict returns, writing once', async () => {
    // Prepare: another writer updates u1 between our read and our write.
    const { profiles, all } = deps();
    await ingestBatch([record(view('a', 'u1'))], all);
    const competing = record(view('z', 'u1', 5));
    const originalGetMany = profiles.getMany.bind(profiles);
    let raced = false;
    profiles.getMany = async (ids) => {
      const found = await originalGetMany(ids);
      if (!raced) {
        raced = true;
        await ingestBatch([competing], all);
      }
      return found;
    };
    // Act
    const result = await ingestBatch([record(view('b', 'u1'))], all);
    // Assess
    expect(result.failedSequenceNumbers).toEqual([]);
    expect(result.stats.writeConflicts).toBe(1);
    expect(totalEvents(profiles.items.get('u1'))).toBe(3);
  });

  it('folds into the current item when an eventually consistent read returned a stale one', async () => {
    // Prepare: u1 holds events a and z; the replica the read hits still has the item with a only
    // (ingest reads profiles eventually consistent, functions/ingest/handler.ts).
    const { profiles, all } = deps();
    await ingestBatch([record(view('a', 'u1'))], all);
    const staleItem = profiles.items.get('u1')!;
    await ingestBatch([record(view('z', 'u1', 5))], all);
    const originalGetMany = profiles.getMany.bind(profiles);
    profiles.getMany = async (ids) => {
      const found = await originalGetMany(ids);
      if (found.has('u1')) found.set('u1', staleItem);
      return found;
    };
    // Act: b is new, z is a redelivery the stale item does not know of yet.
    const result = await ingestBatch([record(view('b', 'u1')), record(view('z', 'u1', 5))], all);
    // Assess: the version condition refused the write on the stale item; the retry on the current
    // item applied b once and recognised z, so nothing is lost or applied twice.
    expect(result.failedSequenceNumbers).toEqual([]);
    expect(result.stats.writeConflicts).toBe(1);
    expect(result.stats).toMatchObject({ applied: 1, duplicates: 1 });
    expect(totalEvents(profiles.items.get('u1'))).toBe(3);
    expect(profiles.items.get('u1')!.version).toBe(staleItem.version + 2);
  });

  it('reports a profile whose write keeps failing by its lowest sequence number, and only it', async () => {
    const { profiles, all } = deps({ maxConflictRetries: 2 });
    const originalPut = profiles.putIfVersion.bind(profiles);
    profiles.putIfVersion = async (item, expected) =>
      item.profileId === 'u2' ? { status: 'conflict', current: undefined } : originalPut(item, expected);
    const records = [
      record(view('a', 'u1')),
      record(view('b', 'u2')),
      record(view('c', 'u2')),
      record(view('d', 'u3')),
    ];
    const result = await ingestBatch(records, all);
    expect(result.failedSequenceNumbers).toEqual([records[1]!.sequenceNumber]);
    expect(result.stats.profilesFailed).toBe(1);
    expect(totalEvents(profiles.items.get('u1'))).toBe(1);
    expect(profiles.items.has('u2')).toBe(false);
  });

  it('reports a throttled profile without retrying it, and writes the others', async () => {
    const { profiles, all } = deps();
    const originalPut = profiles.putIfVersion.bind(profiles);
    profiles.putIfVersion = async (item, expected) =>
      item.profileId === 'u1' ? { status: 'throttled' } : originalPut(item, expected);
    const records = [record(view('a', 'u2')), record(view('b', 'u1')), record(view('c', 'u2'))];
    const result = await ingestBatch(records, all);
    expect(result.failedSequenceNumbers).toEqual([records[1]!.sequenceNumber]);
    expect(result.stats.writeConflicts).toBe(0);
    // The throttled profile's event is not counted as applied: it will be, on redelivery.
    expect(result.stats).toMatchObject({ applied: 2, profilesWritten: 1, profilesFailed: 1 });
    expect(totalEvents(profiles.items.get('u2'))).toBe(2);
  });

  it('scores every changed profile in one inference and stores the model version', async () => {
    const calls: number[] = [];
    const scorer: ProfileScorer = {
      score: async (features, rows, width) => {
        calls.push(rows);
        expect(features.length).toBe(rows * width);
        return { purchase: new Float32Array(rows).fill(0.25), modelVersion: 'v-test' };
      },
    };
    const { profiles, all } = deps({ scorer });
    await ingestBatch([record(view('a', 'u1')), record(view('b', 'u2')), record(view('c', 'u3'))], all);
    expect(calls).toEqual([3]);
    const decoded = decodeProfileItem(profiles.items.get('u2')!);
    expect(decoded.scoreStatus).toBe('scored');
    expect(decoded.score).toMatchObject({ propensity: 0.25, modelVersion: 'v-test', scoredAt: NOW });
  });

  it('writes profiles unscored while no model is published', async () => {
    const { profiles, all } = deps();
    await ingestBatch([record(view('a', 'u1'))], all);
    expect(decodeProfileItem(profiles.items.get('u1')!).scoreStatus).toBe('unscored');
  });
});
