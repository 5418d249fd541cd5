/**
 * The benchmarks' input: the default synthetic workload with the default faults, put on an imaginary
 * stream of {@link SHARD_COUNT} shards the way Kinesis would (MD5 of the partition key over evenly
 * split hash ranges, per-shard increasing 56-digit sequence numbers) and cut into event source
 * mapping batches of {@link BATCH_SIZE} records per shard, in order.
 */
import { createHash } from 'node:crypto';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { kinesisStreamRecordOf, LOCAL_STREAM_SOURCE } from '../../infra/local/kinesis-stream-event';
import type { RawRecord } from '../../infra/client/put-records-plan';
import { injectFaults, type FaultManifest } from '../../infra/workload/fault-injection';
import { generateWorkload } from '../../infra/workload/synthetic-workload';
import { DEFAULT_STACK_PARAMETERS } from '../../infra/cdk/stack-parameters';

/** Shards of the imaginary stream (the stack default is 2; 4 spreads 3,000 people more like production). */
export const SHARD_COUNT = 4;
/** Records per event source mapping batch: the stack's ingest `BatchSize`. */
export const BATCH_SIZE = DEFAULT_STACK_PARAMETERS.ingestBatchSize;
const SEQUENCE_DIGITS = 56;

/** One shard's batches, in delivery order. */
export interface ShardBatches {
  shardId: string;
  events: KinesisStreamEvent[];
}

/** The workload as Lambda would see it. */
export interface BenchWorkload {
  /** Distinct generated events (before faults). */
  generatedEvents: number;
  /** Records on the stream (events, duplicates, malformed). */
  records: number;
  manifest: FaultManifest;
  shards: ShardBatches[];
  /** Every batch, shards interleaved round-robin: the order a single sequential consumer uses. */
  interleaved: KinesisStreamEvent[];
}

/** Which shard Kinesis puts a partition key on: the 128-bit MD5, ranges split evenly (top bits here). */
export function shardIndexOf(partitionKey: string, shardCount: number): number {
  const top32 = createHash('md5').update(partitionKey, 'utf8').digest().readUInt32BE(0);
  return Math.floor((top32 * shardCount) / 2 ** 32);
}

const shardIdOf = (index: number) => `shardId-${String(index).padStart(12, '0')}`;

/** A Kinesis-looking sequence number: 56 digits, increasing within a shard. */
function sequenceNumberOf(shardIndex: number, position: number): string {
  const head = `49${String(shardIndex).padStart(3, '0')}`;
  return head + String(position + 1).padStart(SEQUENCE_DIGITS - head.length, '0');
}

function toKinesisRecord(shardIndex: number, position: number, record: RawRecord, arrivalMs: number) {
  return kinesisStreamRecordOf(
    {
      ...record,
      shardId: shardIdOf(shardIndex),
      sequenceNumber: sequenceNumberOf(shardIndex, position),
      arrivalMs,
    },
    LOCAL_STREAM_SOURCE,
  );
}

/** Cut raw records (in stream order) into per-shard batches of `batchSize` (the stack's by default). */
export function toShardBatches(
  records: readonly RawRecord[],
  arrivalMs: number,
  batchSize = BATCH_SIZE,
): ShardBatches[] {
  const perShard: KinesisStreamRecord[][] = Array.from({ length: SHARD_COUNT }, () => []);
  for (const record of records) {
    const index = shardIndexOf(record.partitionKey, SHARD_COUNT);
    const list = perShard[index]!;
    list.push(toKinesisRecord(index, list.length, record, arrivalMs));
  }
  return perShard.map((list, index) => {
    const events: KinesisStreamEvent[] = [];
    for (let i = 0; i < list.length; i += batchSize) events.push({ Records: list.slice(i, i + batchSize) });
    return { shardId: shardIdOf(index), events };
  });
}

/** Round-robin over the shards' batches. */
export function interleave(shards: readonly ShardBatches[]): KinesisStreamEvent[] {
  const out: KinesisStreamEvent[] = [];
  const longest = Math.max(0, ...shards.map((s) => s.events.length));
  for (let i = 0; i < longest; i++)
    for (const shard of shards) if (shard.events[i]) out.push(shard.events[i]!);
  return out;
}

/** Raw records of the default workload with the default faults (seeded, so every run is the same). */
export function defaultWorkloadRecords(nowMs: number): {
  generatedEvents: number;
  records: RawRecord[];
  manifest: FaultManifest;
} {
  const workload = generateWorkload();
  const { records, manifest } = injectFaults(workload.events, { nowMs });
  return { generatedEvents: workload.events.length, records, manifest };
}

/**
 * The default workload, or its first `limit` records, as Lambda would receive it (in batches of the
 * stack's `ingestBatchSize`, or of `batchSize`).
 */
export function buildBenchWorkload(
  source: ReturnType<typeof defaultWorkloadRecords>,
  limit?: number,
  batchSize = BATCH_SIZE,
): BenchWorkload {
  const records = limit === undefined ? source.records : source.records.slice(0, limit);
  const shards = toShardBatches(records, Date.now(), batchSize);
  return {
    generatedEvents: source.generatedEvents,
    records: records.length,
    manifest: source.manifest,
    shards,
    interleaved: interleave(shards),
  };
}
