/**
 * The steps of the distributed training-set build, as the Step Functions workflow runs them
 * (`infra/cdk/constructs/distributed-training.ts`): the phases of `partitioned-training-set.ts`, each
 * step reading what the one before stored through the {@link TrainingRunStore} port (S3 in AWS).
 *
 * plan (coordinator) → candidates (a worker per partition, Distributed Map) → split (coordinator) →
 * rows (a worker per partition, Distributed Map) → train (coordinator: assemble, then the same
 * training and promotion as the single-function run).
 */
import {
  type PartitionedEventSource,
  type RowSampleOptions,
  rowsBeforeSample,
  rowSampleRate,
  sampleRows,
} from './partitioned-training-set';
import {
  type AssembledPartition,
  assembleTrainingSet,
  partitionCandidates,
  partitionRows,
  planSplit,
  profileTimelines,
  type SplitPlan,
  type TrainingSet,
  type TrainingSetOptions,
} from './training-set';

/** The coordinator's plan as every later step reads it. */
export interface StoredSplitPlan {
  plan: SplitPlan;
  /** Row-sample rate (1: no sample) and its seed. */
  sample: { rate: number; seed: number };
}

/** Where one run's intermediate results live (`training-runs/<runId>/…` in S3). */
export interface TrainingRunStore {
  putCandidates(runId: string, partition: number, sorted: Float64Array): Promise<void>;
  getCandidates(runId: string, partition: number): Promise<Float64Array>;
  putPlan(runId: string, plan: StoredSplitPlan): Promise<void>;
  getPlan(runId: string): Promise<StoredSplitPlan>;
  putRows(runId: string, partition: number, rows: AssembledPartition): Promise<void>;
  getRows(runId: string, partition: number): Promise<AssembledPartition>;
}

/** What the plan step hands the workflow. */
export interface RunPlan {
  runId: string;
  extent: { fromMs: number; toMs: number };
  partitions: number[];
}

/** Plan: the partitions and the extent of the data (one look at the first and last hours). */
export async function planRun(source: PartitionedEventSource, runId: string): Promise<RunPlan> {
  const partitions = [...(await source.partitions())];
  const extent = await source.extent!();
  return { runId, extent, partitions };
}

/** Worker, first pass: one partition's sorted candidate cutoffs, stored. */
export async function candidatesStep(
  source: PartitionedEventSource,
  store: TrainingRunStore,
  run: { runId: string; partition: number; extent: { toMs: number } },
  options: TrainingSetOptions,
): Promise<{ partition: number; candidates: number }> {
  const timelines = profileTimelines(await source.readPartition(run.partition));
  const { sorted } = partitionCandidates(timelines, run.extent.toMs, options);
  await store.putCandidates(run.runId, run.partition, sorted);
  return { partition: run.partition, candidates: sorted.length };
}

/** Coordinator: the split boundaries from every partition's candidates, and the sample rate. */
export async function splitStep(
  store: TrainingRunStore,
  run: RunPlan,
  options: TrainingSetOptions,
  rowSample?: RowSampleOptions,
): Promise<StoredSplitPlan> {
  const sorted = await Promise.all(run.partitions.map((p) => store.getCandidates(run.runId, p)));
  const plan = planSplit(sorted, run.extent, options);
  const stored = {
    plan,
    sample: {
      rate: rowSample === undefined ? 1 : rowSampleRate(rowsBeforeSample(plan), rowSample),
      seed: rowSample?.seed ?? 42,
    },
  };
  await store.putPlan(run.runId, stored);
  return stored;
}

/** Worker, second pass: one partition's (sampled) rows, stored. */
export async function rowsStep(
  source: PartitionedEventSource,
  store: TrainingRunStore,
  run: { runId: string; partition: number },
  options: TrainingSetOptions,
): Promise<{ partition: number; rows: number }> {
  const { plan, sample } = await store.getPlan(run.runId);
  const events = await source.readPartition(run.partition);
  const timelines = profileTimelines(events);
  const candidates = partitionCandidates(timelines, plan.window.toMs, options);
  const rows = sampleRows(partitionRows(timelines, candidates, plan, options), sample.rate, sample.seed);
  await store.putRows(run.runId, run.partition, { rows, eventsIn: events.length });
  return { partition: run.partition, rows: rows.rowMeta.length };
}

/** Coordinator: every partition's rows as one training set. */
export async function assembleStep(
  store: TrainingRunStore,
  run: { runId: string; partitions: readonly number[] },
  options: TrainingSetOptions,
): Promise<{ trainingSet: TrainingSet; sample: StoredSplitPlan['sample'] }> {
  const { plan, sample } = await store.getPlan(run.runId);
  const partitions: AssembledPartition[] = [];
  for (const p of run.partitions) partitions.push(await store.getRows(run.runId, p));
  return { trainingSet: assembleTrainingSet(partitions, plan, options), sample };
}
