import {
  type ContractEvent,
  partitionKeyOf,
  profileIdOf,
  validateEvent,
} from '../../../shared/contract/event-contract';
import { FEATURE_COUNT, featurize } from '../../../shared/features/feature-vector';
import { ingestRecords } from '../../support/factories';
import { InMemoryProfileStore, InMemoryQuarantine } from '../../support/in-memory-adapters';
import { ingestBatch } from '../../../shared/ingest/ingest-batch';
import type { ProfileScorer } from '../../../shared/ingest/ingest-ports';
import { decodeProfileItem } from '../../../shared/profile/profile-item-codec';
import { buildTrainingSet, featuresAt, personTimelines } from '../../../shared/training/training-set';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';

const BATCH_SIZE = 100;
const FIRST_SEQUENCE = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000n;
const unscored: ProfileScorer = { score: async () => undefined };

/** The bits of each value, so that equality is bitwise (no -0/+0 or NaN leniency). */
const bits = (vector: Float32Array) =>
  Array.from(new Uint32Array(vector.buffer, vector.byteOffset, vector.length));

describe('streaming (ingest) and batch (training set) features', () => {
  it('are bitwise equal for the same profile and time, merged profiles included', async () => {
    // Prepare: a small workload (visitors who identify at checkout), delivered in event-time order as one shard would
    const workload = generateWorkload({ users: 250, days: 3, seed: 11 });
    const nowMs = workload.endMs;
    const records = ingestRecords(workload.events, {
      firstSequenceNumber: FIRST_SEQUENCE,
      partitionKey: partitionKeyOf,
      arrivalMs: nowMs,
    });
    const events: ContractEvent[] = workload.events.map((raw) => validateEvent(raw, nowMs).event);
    /** Last stream position of each (person, time): a batch ending before it holds only part of that time. */
    const { claims } = personTimelines(events);
    const personOf = (id: string) => (id.startsWith('anon:') ? claims.get(id.slice(5)) : undefined) ?? id;
    const lastPositionOf = new Map<string, number>();
    events.forEach((event, i) =>
      lastPositionOf.set(`${personOf(profileIdOf(event))}@${event.occurredAt}`, i),
    );
    const profiles = new InMemoryProfileStore();
    const deps = { profiles, quarantine: new InMemoryQuarantine(), scorer: unscored, now: () => nowMs };
    const served = new Map<string, Float32Array>();
    let straddling = 0;
    let merged = 0;

    // Act: ingest batch by batch; after each, read back what ingest stored for the profiles it touched
    for (let start = 0; start < records.length; start += BATCH_SIZE) {
      const end = Math.min(start + BATCH_SIZE, records.length);
      const result = await ingestBatch(records.slice(start, end), deps);
      expect(result.failedSequenceNumbers).toEqual([]);
      const touched = events.slice(start, end).map(profileIdOf);
      for (const id of new Set(
        touched.map((t) => decodeProfileItem(profiles.items.get(t)!).state.redirect?.into ?? t),
      )) {
        const { state } = decodeProfileItem(profiles.items.get(id)!);
        if (state.merges.length > 0) merged++;
        // Events of the same time split across two batches: the batch view lands after the second one.
        if (lastPositionOf.get(`${personOf(id)}@${state.lastEventAt}`)! >= end) {
          straddling++;
          continue;
        }
        served.set(`${id}@${state.lastEventAt}`, featurize(state, state.lastEventAt));
      }
    }
    const set = buildTrainingSet(events, {
      labelHorizonMs: 6 * 3_600_000,
      // Three days of history leave no split for a one-day churn window; the features do not depend on it.
      churnHorizonMs: 6 * 3_600_000,
      cutoffStepMs: 0,
      maxCutoffsPerProfile: 10_000,
    });

    // Assess: every served vector (one per profile and batch) is the point-in-time batch vector ...
    expect(served.size).toBeGreaterThan(300);
    expect(merged).toBeGreaterThan(5);
    expect(set.stats.mergedProfiles).toBe(claims.size);
    expect(claims.size).toBeGreaterThan(5);
    expect(straddling).toBeLessThan(served.size / 20);
    for (const [key, vector] of served) {
      const [id, at] = [key.slice(0, key.lastIndexOf('@')), Number(key.slice(key.lastIndexOf('@') + 1))];
      expect(bits(featuresAt(events, id, at)!)).toEqual(bits(vector));
    }
    // ... and every training row at a served (profile, time) is that vector too
    let compared = 0;
    set.rowMeta.forEach(({ profileId, cutoffMs }, row) => {
      const vector = served.get(`${profileId}@${cutoffMs}`);
      if (vector === undefined) return;
      compared++;
      expect(bits(set.features.subarray(row * FEATURE_COUNT, (row + 1) * FEATURE_COUNT))).toEqual(
        bits(vector),
      );
    });
    expect(compared).toBeGreaterThan(200);
  });
});
