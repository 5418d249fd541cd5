/**
 * Consumers of several shards run against one in-memory table, as Lambda runs one per shard: each
 * shard's batches in order, the shards interleaved as a property picks, batches retried, and a whole
 * batch of another shard run between a consumer's read and its write (consumers are concurrent).
 */
import { partitionKeyOf, type ContractEvent } from '../../shared/contract/event-contract';
import { ingestBatch, type IngestStats } from '../../shared/ingest/ingest-batch';
import type { IngestRecord, ProfileScorer, ProfileStore } from '../../shared/ingest/ingest-ports';
import { ingestRecords } from './factories';
import { InMemoryProfileStore, InMemoryQuarantine } from './in-memory-adapters';

/** When the records of the shard-consumer tests reached the stream (and were processed), by default. */
export const SHARD_ARRIVAL_MS = Date.UTC(2026, 10, 27, 17, 0, 0);

const unscored: ProfileScorer = { score: async () => undefined };

/** Cut `records` into batches at `cuts` (each taken modulo the record count + 1; duplicates ignored). */
export function batches(records: readonly IngestRecord[], cuts: readonly number[]): IngestRecord[][] {
  const bounds = [...new Set(cuts.map((c) => c % (records.length + 1)))].sort((a, b) => a - b);
  const out: IngestRecord[][] = [];
  let start = 0;
  for (const end of [...bounds, records.length]) {
    if (end > start) out.push(records.slice(start, end));
    start = end;
  }
  return out;
}

/** `events` as records of `shardId` in this order, keyed as the contract keys them. */
export function shardRecords(
  events: readonly ContractEvent[],
  shardId: string,
  first: bigint,
  arrivalMs = SHARD_ARRIVAL_MS,
): IngestRecord[] {
  return ingestRecords(events, {
    shardId,
    firstSequenceNumber: first,
    partitionKey: partitionKeyOf,
    arrivalMs,
  });
}

/**
 * Process every shard's batches in the interleaving `turns` picks, each batch possibly retried, and
 * return the store, each batch's stats and the batches in the order they started. A `true`
 * in `pauses` lets another shard's next batch run to its end just before a profile write (consumers run
 * concurrently: the cookie's consumer can meet a redirect between the user consumer's freeze and its write).
 */
export async function runShards(
  shards: IngestRecord[][][],
  turns: readonly number[],
  retries: readonly boolean[],
  profiles = new InMemoryProfileStore(),
  pauses: readonly boolean[] = [],
  nowMs = SHARD_ARRIVAL_MS,
): Promise<{ profiles: InMemoryProfileStore; stats: IngestStats[]; processed: IngestRecord[][] }> {
  const next = shards.map(() => 0);
  const stats: IngestStats[] = [];
  const processed: IngestRecord[][] = [];
  // The shard whose batch is running at the outer level; a batch run in a pause does not pause again.
  let running: number | undefined;
  let pause = 0;
  const interleaved: ProfileStore = {
    getMany: (ids) => profiles.getMany(ids),
    putIfVersion: async (item, expectedVersion) => {
      const paused = running;
      const other = shards.findIndex((batches, s) => s !== paused && next[s]! < batches.length);
      if (paused !== undefined && other >= 0 && (pauses[pause++] ?? false)) {
        running = undefined;
        await runBatch(other, false);
        running = paused;
      }
      return profiles.putIfVersion(item, expectedVersion);
    },
  };
  const deps = {
    profiles: interleaved,
    quarantine: new InMemoryQuarantine(),
    scorer: unscored,
    now: () => nowMs,
  };
  let turn = 0;
  const runBatch = async (s: number, retry: boolean) => {
    const batch = shards[s]![next[s]!]!;
    processed.push(batch);
    const result = await ingestBatch(batch, deps);
    stats.push(result.stats);
    // A batch item failure makes Lambda redeliver from the lowest failed record: here, the whole batch.
    if (result.failedSequenceNumbers.length === 0 && !retry) next[s]!++;
  };
  while (next.some((n, s) => n < shards[s]!.length)) {
    const open = shards.map((_, s) => s).filter((s) => next[s]! < shards[s]!.length);
    running = open[(turns[turn] ?? 0) % open.length]!;
    await runBatch(running, retries[turn] ?? false);
    running = undefined;
    turn++;
  }
  return { profiles, stats, processed };
}
