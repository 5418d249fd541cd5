/**
 * The training set built partition by partition, each partition holding whole profile histories (the
 * archive's profile-hash buckets, `shared/archive/profile-bucket.ts`). The same phases as
 * {@link buildTrainingSet}, which is their one-partition case, so the result is the same set:
 *
 * 1. links, per partition: identify links and the event-time extent; then once, the claims (who owns
 *    each anonymous id) and the extent of all data (its end decides which labels are fully observed);
 * 2. shuffle, per partition: claimed anonymous profiles' events shipped to their users' partitions;
 * 3. candidates, per partition (own plus shipped events: whole people): each person's cutoffs, seeded
 *    per person, handed on sorted (8 bytes a candidate);
 * 4. split, once: the boundaries from the merged candidates (global order statistics);
 * 5. rows, per partition: purge, cap, fold and featurize; optionally a seeded, class-aware sample
 *    (`row-sample.ts`);
 * 6. assemble, once: rows in person order, category classes from every partition's train rows.
 *
 * In process ({@link buildPartitionedTrainingSet}) the steps of `distributed-training.ts` run in turn
 * over a memory store, so memory holds one partition's events at a time, the shipped events, 8 bytes
 * per candidate and the rows. In AWS the per-partition steps are the `build-rows` Lambda workers of
 * Step Functions Distributed Maps (`infra/cdk/constructs/distributed-training.ts`) and the once-steps
 * run in the coordinator.
 *
 * Equivalence assumes what the archive guarantees: every copy of an `eventId` belongs to the same
 * profile (a redelivery repeats the event), so de-duplicating within a partition drops the same copies
 * as de-duplicating across all of them.
 */
import {
  aliasesStep,
  assembleStep,
  candidatesStep,
  linksStep,
  MemoryTrainingRunStore,
  type PartitionedEventSource,
  planRun,
  rowsStep,
  shuffleStep,
  splitStep,
} from './distributed-training';
import type { RowSampleOptions, RowSampleRecord } from './row-sample';
import type { TrainingSet, TrainingSetOptions } from './training-set';

/** A partitioned build and its sample. */
export interface PartitionedTrainingSet {
  trainingSet: TrainingSet;
  /** Absent when no sample was asked for. */
  sample?: RowSampleRecord;
  partitions: number;
  /** Events of claimed anonymous profiles shipped to another partition by the shuffle. */
  shippedEvents: number;
}

/**
 * Build the training set partition by partition, in process (see the module comment): four reads of
 * each partition (links, shuffle, candidates, rows), one at a time.
 *
 * @throws {TrainingSetError} as {@link buildTrainingSet}
 */
export async function buildPartitionedTrainingSet(
  source: PartitionedEventSource,
  options: TrainingSetOptions,
  rowSample?: RowSampleOptions,
): Promise<PartitionedTrainingSet> {
  const store = new MemoryTrainingRunStore();
  const run = await planRun(source, 'in-process');
  const steps = run.partitions.map((partition) => ({ runId: run.runId, partition }));
  for (const step of steps) await linksStep(source, store, step);
  await aliasesStep(store, run);
  let shippedEvents = 0;
  for (const step of steps) shippedEvents += (await shuffleStep(source, store, step)).shipped;
  for (const step of steps) await candidatesStep(source, store, step, options);
  const { sample } = await splitStep(store, run, options, rowSample);
  let rowsBefore = 0;
  for (const step of steps) rowsBefore += (await rowsStep(source, store, step, options)).rowsBefore;
  const { trainingSet } = await assembleStep(store, run, options);
  return {
    trainingSet,
    partitions: run.partitions.length,
    shippedEvents,
    ...(rowSample === undefined
      ? {}
      : {
          sample: {
            ...sample,
            negativeWeight: 1 / sample.rate,
            rowsBefore,
            rowsAfter: trainingSet.rows,
          },
        }),
  };
}
