/**
 * A published model that this build cannot serve (another feature schema, a missing serving field) is
 * refused loudly and the model already loaded keeps scoring; one whose metadata only records more
 * provenance than this build knows serves. Real s3rver and onnxruntime-node.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { S3ModelRegistry } from '../../../functions/commons/s3-model-registry';
import { S3ModelScorer } from '../../../functions/commons/s3-model-scorer';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { validateEvent } from '../../../shared/contract/event-contract';
import { FEATURE_COUNT } from '../../../shared/features/feature-vector';
import {
  CURRENT_POINTER_KEY,
  createModelPointer,
  modelObjectKeys,
} from '../../../shared/model/model-metadata';
import { buildTrainingSet } from '../../../shared/training/training-set';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { trainSmallModel } from './model-fixtures';

const BUCKET = 'models-refusal';
const nowMs = Date.now();

describe('S3ModelScorer refusing a model', () => {
  let cloud: LocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud();
    await cloud.createBucket(BUCKET);
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  it('keeps the loaded model when the new pointer names another feature schema', async () => {
    // Prepare: model A serves; a copy of it claims feature schema 99 and is pointed to directly.
    const events = generateWorkload({ users: 200, days: 3, seed: 5 }).events.map(
      (e) => validateEvent(e, nowMs).event,
    );
    const trainingSet = buildTrainingSet(events, {
      labelHorizonMs: 12 * 3_600_000,
      churnHorizonMs: 12 * 3_600_000,
    });
    const modelA = await trainSmallModel(trainingSet, trainingSet.labels, nowMs);
    const registry = new S3ModelRegistry(cloud.clients.s3, BUCKET);
    await registry.putCandidate(modelA.metadata.modelVersion, modelA);
    await registry.promote(modelA.metadata.modelVersion, undefined);
    const refused: string[] = [];
    const scorer = new S3ModelScorer(cloud.clients.s3, BUCKET, 0, {
      onRefused: (reason) => refused.push(reason),
    });
    const rows = new Float32Array(2 * FEATURE_COUNT);
    const before = await scorer.score(rows, 2, FEATURE_COUNT);

    const alien = 'v20991231235959-deadbeef';
    const keys = modelObjectKeys(alien);
    const put = (Key: string, Body: string | Uint8Array) =>
      cloud.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
    await put(keys.onnxKey, modelA.onnx);
    await put(
      keys.metadataKey,
      JSON.stringify({ ...modelA.metadata, modelVersion: alien, featureSchemaVersion: 99 }),
    );
    await put(
      CURRENT_POINTER_KEY,
      JSON.stringify(createModelPointer(alien, nowMs, modelA.metadata.modelVersion)),
    );
    // Act
    const after = await scorer.score(rows, 2, FEATURE_COUNT);
    // Assess
    expect(before?.modelVersion).toBe(modelA.metadata.modelVersion);
    expect(after?.modelVersion).toBe(modelA.metadata.modelVersion);
    expect(after?.purchase).toEqual(before?.purchase);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/feature schema 99/);
  });

  it('refuses a model file onnxruntime cannot load, and keeps writing unscored instead of failing', async () => {
    // Prepare: a pointer to garbage bytes whose checksum is right, in a fresh bucket.
    const bucket = 'models-corrupt';
    await cloud.createBucket(bucket);
    const bytes = new TextEncoder().encode('definitely not an onnx graph');
    const version = 'v20991231235958-0badf00d';
    const keys = modelObjectKeys(version);
    const events = generateWorkload({ users: 200, days: 3, seed: 5 }).events.map(
      (e) => validateEvent(e, nowMs).event,
    );
    const trainingSet = buildTrainingSet(events, {
      labelHorizonMs: 12 * 3_600_000,
      churnHorizonMs: 12 * 3_600_000,
    });
    const { metadata } = await trainSmallModel(trainingSet, trainingSet.labels, nowMs);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const put = (Key: string, Body: string | Uint8Array) =>
      cloud.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put(keys.onnxKey, bytes);
    await put(
      keys.metadataKey,
      JSON.stringify({ ...metadata, modelVersion: version, sha256, sizeBytes: bytes.length }),
    );
    await put(CURRENT_POINTER_KEY, JSON.stringify(createModelPointer(version, nowMs)));
    const refused: string[] = [];
    const scorer = new S3ModelScorer(cloud.clients.s3, bucket, 0, {
      onRefused: (reason) => refused.push(reason),
    });
    // Act
    const first = await scorer.score(new Float32Array(FEATURE_COUNT), 1, FEATURE_COUNT);
    const second = await scorer.score(new Float32Array(FEATURE_COUNT), 1, FEATURE_COUNT);
    // Assess: unscored, reported once, not retried for the same pointer.
    expect(first).toBeUndefined();
    expect(second).toBeUndefined();
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/onnxruntime cannot load it/);
  });

  it('serves a model whose newer trainer recorded provenance this build does not know; refuses one missing a serving field', async () => {
    // Prepare: model A serves from a fresh bucket.
    const bucket = 'models-forward';
    await cloud.createBucket(bucket);
    const events = generateWorkload({ users: 200, days: 3, seed: 5 }).events.map(
      (e) => validateEvent(e, nowMs).event,
    );
    const trainingSet = buildTrainingSet(events, {
      labelHorizonMs: 12 * 3_600_000,
      churnHorizonMs: 12 * 3_600_000,
    });
    const modelA = await trainSmallModel(trainingSet, trainingSet.labels, nowMs);
    const registry = new S3ModelRegistry(cloud.clients.s3, bucket);
    await registry.putCandidate(modelA.metadata.modelVersion, modelA);
    await registry.promote(modelA.metadata.modelVersion, undefined);
    const refused: string[] = [];
    const scorer = new S3ModelScorer(cloud.clients.s3, bucket, 0, {
      onRefused: (reason) => refused.push(reason),
    });
    const rows = new Float32Array(FEATURE_COUNT);
    const put = (Key: string, Body: string | Uint8Array) =>
      cloud.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    const publish = async (version: string, metadata: Record<string, unknown>) => {
      const keys = modelObjectKeys(version);
      await put(keys.onnxKey, modelA.onnx);
      await put(keys.metadataKey, JSON.stringify({ ...metadata, modelVersion: version }));
      await put(CURRENT_POINTER_KEY, JSON.stringify(createModelPointer(version, nowMs)));
    };
    const before = await scorer.score(rows, 1, FEATURE_COUNT);
    // Act: a newer trainer's metadata, provenance fields unknown here inside provenance and beside it.
    const newer = 'v20991231235957-0000cafe';
    await publish(newer, {
      ...modelA.metadata,
      provenance: { ...modelA.metadata.provenance, fairness: { groups: 3, parity: 0.97 } },
      lineage: { archiveObjects: 12, codeVersion: 'next' },
    });
    const served = await scorer.score(rows, 1, FEATURE_COUNT);
    // ... then one without a field serving reads.
    const { inputName: _missing, ...withoutInput } = modelA.metadata;
    await publish('v20991231235956-00000bad', withoutInput);
    const after = await scorer.score(rows, 1, FEATURE_COUNT);
    // Assess
    expect(before?.modelVersion).toBe(modelA.metadata.modelVersion);
    expect(served?.modelVersion).toBe(newer);
    expect(served?.purchase).toEqual(before?.purchase);
    expect(after?.modelVersion).toBe(newer);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/ModelMetadataViolation: metadata inputName: /);
  });
});
