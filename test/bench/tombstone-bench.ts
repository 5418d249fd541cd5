/**
 * The cost of the erasure check on the ingest path: the real handler over the default workload, in
 * memory on one core, with and without tombstone keys. The store holds tombstones of people outside
 * the workload, so every lookup runs and misses and both sides do the same profile work (erasing
 * people of the workload would make the "with" side do less and hide the check's cost). Runs alternate with/without and the medians are compared; the difference divided
 * by the events is the check's cost per event. Also counts the BatchGetItem requests per event (the
 * tombstones ride in the profiles' own read, so requests stay the same and only keys are added).
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { createIngestHandler } from '../../functions/ingest/ingest-handler';
import { decodeEvent, profileIdOf } from '../../shared/contract/event-contract';
import { TombstoneKeys } from '../../shared/erasure/tombstones';
import type { ProfileScorer } from '../../shared/ingest/ingest-ports';
import { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
import { median } from './bench-report';

/** What {@link runTombstoneBench} measured. */
export interface TombstoneBenchResult {
  events: number;
  /** Median handler time over the workload, ms. */
  withoutCheckMs: number;
  withCheckMs: number;
  /** (with − without) / records, microseconds. */
  checkMicrosPerEvent: number;
  /** BatchGetItem requests per record, without and with the check. */
  batchGetsPerEvent: { without: number; with: number };
  /** Tombstones in the store (as many as one in ten people of the workload, none of them). */
  erasedProfiles: number;
}

/** Run the comparison `runs` times each, alternating. */
export async function runTombstoneBench(
  batches: readonly KinesisStreamEvent[],
  scorer: ProfileScorer,
  runs: number,
): Promise<TombstoneBenchResult> {
  const keys = new TombstoneKeys(randomBytes(32));
  const ids = new Set<string>();
  for (const batch of batches) {
    for (const r of batch.Records) {
      try {
        ids.add(profileIdOf(decodeEvent(Buffer.from(r.kinesis.data, 'base64'), Date.now()).event));
      } catch {
        // malformed records have no profile
      }
    }
  }
  const erased = [...ids].filter((_id, i) => i % 10 === 0).map((id) => `${id}-not-in-the-workload`);
  const events = batches.reduce((n, b) => n + b.Records.length, 0);
  const timings = { without: [] as number[], with: [] as number[] };
  const gets = { without: 0, with: 0 };
  for (let run = 0; run < runs; run++) {
    for (const mode of ['without', 'with'] as const) {
      const profiles = new InMemoryProfileStore();
      if (mode === 'with') {
        for (const id of erased)
          profiles.items.set(keys.keyOf(id), { profileId: keys.keyOf(id), version: 0 });
      }
      const handler = createIngestHandler({
        profiles,
        quarantine: new InMemoryQuarantine(),
        scorer,
        ...(mode === 'with' ? { tombstones: async () => keys } : {}),
      });
      const started = performance.now();
      for (const batch of batches) await handler(batch);
      timings[mode].push(performance.now() - started);
      gets[mode] = profiles.requests.batchGet / events;
    }
  }
  const withoutCheckMs = median(timings.without);
  const withCheckMs = median(timings.with);
  return {
    events,
    withoutCheckMs,
    withCheckMs,
    checkMicrosPerEvent: ((withCheckMs - withoutCheckMs) * 1000) / events,
    batchGetsPerEvent: gets,
    erasedProfiles: erased.length,
  };
}
