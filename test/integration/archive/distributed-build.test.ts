/**
 * The distributed training-set build against the local S3: the workflow's steps in its order (plan,
 * links per bucket, aliases, shuffle per bucket, candidates per bucket, split, rows per bucket,
 * assemble) over the bucketed archive and the S3 run store, as the build-rows workers and the train
 * coordinator run them. The result is the single build of the same archive, merges included.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3ArchiveReader } from '../../../functions/commons/s3-archive-reader';
import { S3TrainingRunStore, TRAINING_RUNS_PREFIX } from '../../../functions/commons/s3-training-run-store';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import {
  aliasesStep,
  assembleStep,
  candidatesStep,
  linksStep,
  planRun,
  rowsStep,
  shuffleStep,
  splitStep,
} from '../../../shared/training/distributed-training';
import { buildTrainingSet, type TrainingSetOptions } from '../../../shared/training/training-set';
import { writeArchive } from '../model/model-fixtures';

const BUCKET = 'archive';
const HOUR_MS = 3_600_000;
const workload = generateWorkload({ users: 200, days: 3, seed: 23 });
const nowMs = workload.endMs + 24 * HOUR_MS;
const OPTIONS: TrainingSetOptions = {
  labelHorizonMs: 6 * HOUR_MS,
  churnHorizonMs: 6 * HOUR_MS,
  maxCutoffsPerProfile: 4,
};

let cloud: LocalCloud;

beforeAll(async () => {
  cloud = await startLocalCloud();
  await cloud.createBucket(BUCKET);
  await writeArchive(cloud.clients.s3, BUCKET, workload.events, nowMs);
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
});

describe('distributed training-set build over the local S3', () => {
  it('gives the single build of the archive, with anonymous histories shipped to their users’ buckets', async () => {
    // Prepare
    const reader = new S3ArchiveReader(cloud.clients.s3, BUCKET, { now: () => nowMs });
    const source = reader.partitioned();
    const store = new S3TrainingRunStore(cloud.clients.s3, BUCKET);
    const single = buildTrainingSet((await reader.readEvents()).events, OPTIONS);
    // Act: the state machine's order, one worker call per bucket and pass
    const run = await planRun(source, 'run-it');
    const steps = run.partitions.map((partition) => ({ runId: run.runId, partition }));
    for (const step of steps) await linksStep(source, store, step);
    await aliasesStep(store, run);
    let shipped = 0;
    for (const step of steps) shipped += (await shuffleStep(source, store, step)).shipped;
    for (const step of steps) await candidatesStep(source, store, step, OPTIONS);
    await splitStep(store, run, OPTIONS);
    for (const step of steps) await rowsStep(source, store, step, OPTIONS);
    const { trainingSet } = await assembleStep(store, run, OPTIONS);
    // Assess
    expect(single.stats.mergedProfiles).toBeGreaterThan(0);
    expect(shipped).toBeGreaterThan(0);
    expect(trainingSet).toEqual(single);
    const listed = await cloud.clients.s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${TRAINING_RUNS_PREFIX}/run-it/foreign/` }),
    );
    expect(listed.KeyCount).toBeGreaterThan(0);
  });
});
