/**
 * The training set built partition by partition, each partition holding whole profile histories (the
 * archive's profile-hash buckets, `shared/archive/profile-bucket.ts`). The same phases as
 * {@link buildTrainingSet}, which is their one-partition case, so the result is the same set:
 *
 * 1. extent: the earliest and latest event time of all partitions (the latest decides which cutoffs
 *    have fully observed labels);
 * 2. candidates, per partition: each profile's cutoffs (seeded per profile), handed on sorted
 *    (8 bytes a candidate);
 * 3. split, once: the boundaries from the merged candidates (global order statistics);
 * 4. rows, per partition: purge, cap, fold and featurize; optionally a seeded, class-aware sample;
 * 5. assemble, once: rows in profile order, category classes from every partition's train rows.
 *
 * In process (this module's {@link buildPartitionedTrainingSet}) the partitions are read in turn, so
 * memory holds one partition's events plus the rows. In AWS the per-partition steps are the
 * `build-rows` Lambda workers of a Step Functions Distributed Map (`infra/cdk/constructs/
 * distributed-training.ts`) and the once-steps run in the coordinator Lambdas.
 *
 * Equivalence assumes what the archive guarantees: every copy of an `eventId` belongs to the same
 * profile (a redelivery repeats the event), so de-duplicating within a partition drops the same copies
 * as de-duplicating across all of them.
 */
import type { ContractEvent } from '../contract/event-contract';
import { fnv1a32 } from '../profile/hashing';
import { createRandom } from '../model/seeded-random';
import {
  type AssembledPartition,
  assembleTrainingSet,
  extentOf,
  partitionCandidates,
  type PartitionRows,
  partitionRows,
  planSplit,
  profileTimelines,
  type SplitPlan,
  type TrainingSet,
  type TrainingSetOptions,
  TrainingSetError,
} from './training-set';

/** Events by partition, each partition holding whole histories. */
export interface PartitionedEventSource {
  /** Partition ids, e.g. the archive's bucket numbers. */
  partitions(): Promise<readonly number[]>;
  /** Every valid event of one partition (not de-duplicated). */
  readPartition(partition: number): Promise<readonly ContractEvent[]>;
  /**
   * The earliest and latest `occurredAt` of all partitions, when the source can tell without a pass
   * (the S3 archive reads only its first and last hour partitions). @default a pass over the partitions
   */
  extent?(): Promise<{ fromMs: number; toMs: number }>;
}

/**
 * A seeded, class-aware row sample that bounds the rows training holds: every train row that is
 * positive for the purchase head is kept; train negatives, and validation and test rows of either
 * class, are kept with one rate `r = min(1, maxRows / rows before sampling)`. The trainer then weighs
 * train negatives by `1 / r` (the loss stays an unbiased estimate of the full set's); validation and
 * test stay uniform samples, so their metrics and the calibration estimate the full set's.
 */
export interface RowSampleOptions {
  /** Rows kept (about; positives of the train split come on top). */
  maxRows: number;
  /** @default 42 */
  seed?: number;
}

/** What a row sample did, for the metadata and the report. */
export interface RowSampleRecord {
  /** Share of train negatives and of validation/test rows kept; train positives: all. */
  rate: number;
  /** Loss weight of a kept train negative (`1 / rate`). */
  negativeWeight: number;
  rowsBefore: number;
  rowsAfter: number;
  seed: number;
}

/** The sampling rate for `rows` rows before sampling. */
export function rowSampleRate(rows: number, options: RowSampleOptions): number {
  if (!(Number.isSafeInteger(options.maxRows) && options.maxRows >= 1)) {
    throw new TrainingSetError('rowSample.maxRows', 'must be a positive integer', String(options.maxRows));
  }
  return rows <= options.maxRows ? 1 : options.maxRows / rows;
}

/**
 * Keep a partition's rows by the sample rule: each row's draw is a hash of (seed, profile, cutoff), so
 * a row is kept or not whatever partition it is built in.
 */
export function sampleRows(rows: PartitionRows, rate: number, seed: number): PartitionRows {
  if (rate >= 1) return rows;
  const keep: number[] = [];
  rows.rowMeta.forEach(({ profileId, cutoffMs }, r) => {
    const positiveTrain = rows.splitOfRow[r] === 'train' && rows.labels[r] === 1;
    const draw = createRandom((seed ^ fnv1a32(`${profileId}|${cutoffMs}`)) >>> 0)();
    if (positiveTrain || draw < rate) keep.push(r);
  });
  const width = rows.features.length / Math.max(1, rows.rowMeta.length);
  const features = new Float32Array(keep.length * width);
  keep.forEach((r, i) => features.set(rows.features.subarray(r * width, (r + 1) * width), i * width));
  const pick = <T>(values: readonly T[]) => keep.map((r) => values[r]!);
  return {
    ...rows,
    features,
    labels: Uint8Array.from(keep, (r) => rows.labels[r]!),
    churnLabels: Uint8Array.from(keep, (r) => rows.churnLabels[r]!),
    nextKeys: keep.map((r) => rows.nextKeys[r]),
    lastKeys: keep.map((r) => rows.lastKeys[r]),
    affinities: pick(rows.affinities),
    rowMeta: pick(rows.rowMeta),
    splitOfRow: pick(rows.splitOfRow),
  };
}

/** Rows the plan's candidates can give at most (candidates outside the purge gaps, before the cap). */
export function rowsBeforeSample(plan: SplitPlan): number {
  return plan.unpurgedCutoffs;
}

/** A partitioned build and its sample. */
export interface PartitionedTrainingSet {
  trainingSet: TrainingSet;
  /** Absent when no sample was asked for. */
  sample?: RowSampleRecord;
  partitions: number;
}

/**
 * Build the training set partition by partition, in process (see the module comment). Memory: one
 * partition's events at a time, 8 bytes per candidate cutoff, and the (sampled) rows.
 *
 * @throws {TrainingSetError} as {@link buildTrainingSet}
 */
export async function buildPartitionedTrainingSet(
  source: PartitionedEventSource,
  options: TrainingSetOptions,
  rowSample?: RowSampleOptions,
): Promise<PartitionedTrainingSet> {
  const ids = await source.partitions();
  const extent = (await source.extent?.()) ?? (await scanExtent(source, ids));
  const sorted: Float64Array[] = [];
  for (const id of ids) {
    sorted.push(
      partitionCandidates(profileTimelines(await source.readPartition(id)), extent.toMs, options).sorted,
    );
  }
  const plan = planSplit(sorted, extent, options);
  sorted.length = 0;
  const seed = rowSample?.seed ?? 42;
  const rate = rowSample === undefined ? 1 : rowSampleRate(rowsBeforeSample(plan), rowSample);
  const built: AssembledPartition[] = [];
  let rowsBefore = 0;
  for (const id of ids) {
    const events = await source.readPartition(id);
    const timelines = profileTimelines(events);
    const rows = partitionRows(
      timelines,
      partitionCandidates(timelines, extent.toMs, options),
      plan,
      options,
    );
    rowsBefore += rows.rowMeta.length;
    built.push({ rows: sampleRows(rows, rate, seed), eventsIn: events.length });
  }
  const trainingSet = assembleTrainingSet(built, plan, options);
  return {
    trainingSet,
    partitions: ids.length,
    ...(rowSample === undefined
      ? {}
      : {
          sample: { rate, negativeWeight: 1 / rate, rowsBefore, rowsAfter: trainingSet.rows, seed },
        }),
  };
}

async function scanExtent(
  source: PartitionedEventSource,
  ids: readonly number[],
): Promise<{ fromMs: number; toMs: number }> {
  let fromMs = Infinity;
  let toMs = -Infinity;
  for (const id of ids) {
    const extent = extentOf(profileTimelines(await source.readPartition(id)));
    fromMs = Math.min(fromMs, extent.fromMs);
    toMs = Math.max(toMs, extent.toMs);
  }
  return { fromMs, toMs };
}
