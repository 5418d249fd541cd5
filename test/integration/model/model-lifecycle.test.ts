import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { scoreRowsOnce } from '../../../functions/commons/onnx-session';
import { S3ArchiveReader } from '../../../functions/commons/s3-archive-reader';
import { S3ModelRegistry } from '../../../functions/commons/s3-model-registry';
import { tfjsMlpTrainer } from '../../../functions/train/tfjs-mlp-trainer';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { validateEvent } from '../../../shared/contract/event-contract';
import { CURRENT_POINTER_KEY } from '../../../shared/model/model-metadata';
import { createRandom, shuffleInPlace } from '../../../shared/model/seeded-random';
import {
  publishCandidate,
  trainAndPublish,
  type TrainOptions,
  type TrainSummary,
} from '../../../shared/training/train-use-case';
import { buildTrainingSet, type TrainingSet } from '../../../shared/training/training-set';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { trainSmallModel, writeArchive } from './model-fixtures';

const MODELS_BUCKET = 'models';
const ARCHIVE_BUCKET = 'archive';
const HORIZON_HOURS = 24;
const HOUR_MS = 3_600_000;
// About 12k events and 1k examples: enough rows for every split to hold both classes.
const workload = generateWorkload({ users: 1000, days: 6, seed: 7 });
const nowMs = workload.endMs + 24 * HOUR_MS;
const firstDay = new Date(workload.startMs).toISOString().slice(0, 10);

let cloud: LocalCloud;
let registry: S3ModelRegistry;
let reader: S3ArchiveReader;

beforeAll(async () => {
  cloud = await startLocalCloud();
  await cloud.createBucket(MODELS_BUCKET);
  await cloud.createBucket(ARCHIVE_BUCKET);
  await writeArchive(cloud.clients.s3, ARCHIVE_BUCKET, workload.events, nowMs);
  // One object a broken writer left behind: a line the contract refuses and a line that is not JSON.
  await cloud.clients.s3.send(
    new PutObjectCommand({
      Bucket: ARCHIVE_BUCKET,
      Key: `events/dt=${firstDay}/hour=00/broken.ndjson.gz`,
      Body: gzipSync('{"schemaVersion":1,"type":"page_view"}\n{not json\n'),
    }),
  );
  registry = new S3ModelRegistry(cloud.clients.s3, MODELS_BUCKET);
  reader = new S3ArchiveReader(cloud.clients.s3, ARCHIVE_BUCKET, { now: () => nowMs });
});

afterAll(async () => {
  await cloud?.stop();
});

async function readText(key: string): Promise<string> {
  const out = await cloud.clients.s3.send(new GetObjectCommand({ Bucket: MODELS_BUCKET, Key: key }));
  return out.Body!.transformToString();
}

function shuffledLabels(trainingSet: TrainingSet, seed: number): Uint8Array {
  const labels = Array.from(trainingSet.labels);
  shuffleInPlace(labels, createRandom(seed));
  return Uint8Array.from(labels);
}

describe('S3ArchiveReader', () => {
  it('reads back every archived event, counts refused lines, and reads a window by its partitions', async () => {
    // Prepare
    const expected = workload.events.map((e) => validateEvent(e, nowMs).event);
    const fromMs = workload.startMs + 36 * HOUR_MS + 20 * 60_000;
    const toMs = fromMs + 17 * HOUR_MS;
    const inWindow = expected.filter((e) => e.occurredAt >= fromMs && e.occurredAt < toMs);
    // Act
    const all = await reader.readEvents();
    const window = await reader.readEvents({ fromMs, toMs });
    // Assess
    expect(all.events).toHaveLength(expected.length);
    expect(new Set(all.events.map((e) => e.eventId))).toEqual(new Set(expected.map((e) => e.eventId)));
    expect(all.invalidLines).toEqual({ schema: 1, invalid_json: 1 });
    expect(window.events.map((e) => e.eventId).sort()).toEqual(inWindow.map((e) => e.eventId).sort());
    expect(window.objects).toBeLessThan(all.objects);
    expect(window.outsideWindow).toBeGreaterThan(0);
  });
});

describe('model lifecycle against the emulators', () => {
  it('keeps a worse candidate out, promotes a better one, and rolls back to the exact previous pointer', async () => {
    // Prepare: a model trained on shuffled labels (no signal) serves, as if promoted by hand.
    const { events } = await reader.readEvents();
    const trainingSet = buildTrainingSet(events, { labelHorizonMs: HORIZON_HOURS * HOUR_MS });
    const noise = await trainSmallModel(trainingSet, shuffledLabels(trainingSet, 1), nowMs, 1);
    const noiseVersion = noise.metadata.modelVersion;
    await registry.putCandidate(noiseVersion, noise);
    await registry.promote(noiseVersion, undefined);
    const noisePointerText = await readText(CURRENT_POINTER_KEY);

    // Act 1: the scheduled function trains on the real labels.
    Object.assign(process.env, cloud.env, {
      ARCHIVE_BUCKET,
      MODELS_BUCKET,
      LABEL_HORIZON_HOURS: String(HORIZON_HOURS),
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const { handler } = (await import('../../../functions/train/handler')) as {
      handler: () => Promise<TrainSummary>;
    };
    const scheduled = await handler();
    // Assess 1
    expect(scheduled).toMatchObject({ skipped: false, promoted: true });
    expect(scheduled.reason).toMatch(/on the same test rows/);
    expect(scheduled.examples.test).toBe(trainingSet.split.test.length);
    expect(scheduled.metrics!.candidate.rocAuc).toBeGreaterThan(scheduled.metrics!.champion!.rocAuc);
    const promotedPointer = await registry.getCurrentPointer();
    expect(promotedPointer).toMatchObject({ modelVersion: scheduled.modelVersion, previous: noiseVersion });
    // One graph with every head and the attributions, under metadata v2; the other heads compared too.
    const published = await registry.getMetadata(scheduled.modelVersion!);
    expect(published.metadataVersion).toBe(2);
    expect(Object.keys(published.outputs).sort()).toEqual(
      ['churn', 'contributions', 'embedding', 'nextCategories', 'purchase'].sort(),
    );
    expect(Object.keys(published.outputs.contributions!).sort()).toEqual(['churn', 'purchase']);
    expect(published.provenance?.heads?.purchase?.chosen).toBeDefined();
    expect(scheduled.heads?.churn).toMatchObject({ metric: 'rocAuc', champion: expect.any(Number) });
    expect(scheduled.heads?.nextCategories).toMatchObject({
      metric: 'recallAt3',
      champion: expect.any(Number),
    });
    const report = await readText(`models/${scheduled.modelVersion}/report.html`);
    expect(report).toContain('Global feature importance');
    expect(report).toContain('Churn (test split)');

    // Act 2: another no-signal candidate, judged on the same held-out rows.
    const noiseAgain = await trainSmallModel(trainingSet, shuffledLabels(trainingSet, 2), nowMs + 1000, 2);
    const rejected = await publishCandidate({ registry, scoreOnnx: scoreRowsOnce }, trainingSet, noiseAgain);
    // Assess 2
    expect(rejected.promoted).toBe(false);
    expect(await registry.getCurrentPointer()).toEqual(promotedPointer);

    // Act 3
    const { from, to } = await registry.rollback();
    // Assess 3
    expect(from).toEqual(promotedPointer);
    expect(to.modelVersion).toBe(noiseVersion);
    expect(await readText(CURRENT_POINTER_KEY)).toBe(noisePointerText);
    expect((await registry.readHistory()).map((p) => p.modelVersion)).toEqual([noiseVersion]);
    const listing = await registry.list();
    expect(listing.map((row) => row.modelVersion).sort()).toEqual(
      [noiseVersion, scheduled.modelVersion, noiseAgain.metadata.modelVersion].sort(),
    );
    expect(listing.filter((row) => row.current).map((row) => row.modelVersion)).toEqual([noiseVersion]);
    expect(listing.every((row) => row.problem === undefined && row.metrics !== undefined)).toBe(true);
    expect(listing.find((row) => row.modelVersion === scheduled.modelVersion)?.heads).toContain('churn');
    await expect(registry.rollback()).rejects.toThrow(/an earlier promotion must exist/);
    // Three real trainings (TF.js) and five ONNX scorings: ~40 s alone on two cores, more beside other suites.
  }, 180_000);
});

describe('trainAndPublish without enough data', () => {
  it('skips with a reason and writes no candidate: empty archive, too short, too few examples, a class missing', async () => {
    // Prepare
    await cloud.createBucket('archive-empty');
    await cloud.createBucket('archive-short');
    await cloud.createBucket('archive-small');
    await cloud.createBucket('models-untouched');
    const short = generateWorkload({ users: 40, days: 2, seed: 3 });
    const small = generateWorkload({ users: 40, days: 5, seed: 3 });
    await writeArchive(cloud.clients.s3, 'archive-short', short.events, nowMs);
    await writeArchive(cloud.clients.s3, 'archive-small', small.events, nowMs);
    const untouched = new S3ModelRegistry(cloud.clients.s3, 'models-untouched');
    const run = (bucket: string, options: Partial<TrainOptions> = {}) =>
      trainAndPublish(
        {
          events: new S3ArchiveReader(cloud.clients.s3, bucket, { now: () => nowMs }),
          registry: untouched,
          network: tfjsMlpTrainer,
          scoreOnnx: scoreRowsOnce,
          now: () => nowMs,
        },
        { labelHorizonHours: HORIZON_HOURS, ...options },
      );
    // Act
    const empty = await run('archive-empty');
    const tooShort = await run('archive-short');
    const tooFew = await run('archive-small');
    const classShortfall = await run('archive-small', { minExamples: 1, minRowsPerClassPerSplit: 1_000 });
    // Assess
    expect(empty).toMatchObject({
      skipped: true,
      promoted: false,
      reason: 'the archive holds no events in the window',
    });
    expect(tooShort).toMatchObject({ skipped: true, promoted: false });
    expect(tooShort.reason).toMatch(
      /^no training set: split: every split needs cutoffs outside the purge gaps/,
    );
    expect(tooFew).toMatchObject({ skipped: true, promoted: false });
    expect(tooFew.reason).toMatch(/examples, fewer than 500$/);
    expect(tooFew.examples.events).toBe(small.events.length);
    expect(classShortfall.reason).toMatch(
      /^train split has \d+ positive and \d+ negative rows; each class needs 1000$/,
    );
    expect(await untouched.list()).toEqual([]);
    expect(await untouched.getCurrentPointer()).toBeUndefined();
  });
});
