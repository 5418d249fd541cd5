import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { profilesTableDefinition } from '../../support/profiles-table';
import { DynamoDbProfileStore } from '../../../functions/commons/dynamodb-profile-store';
import { S3ModelRegistry } from '../../../functions/commons/s3-model-registry';
import { S3ModelScorer } from '../../../functions/commons/s3-model-scorer';
import { S3QuarantineSink } from '../../../functions/commons/s3-quarantine-sink';
import type { IngestHandler } from '../../../functions/ingest/ingest-handler';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { partitionKeyOf, profileIdOf, validateEvent } from '../../../shared/contract/event-contract';
import { buildTrainingSet } from '../../../shared/training/training-set';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { kinesisEvent } from '../../support/factories';
import { trainSmallModel } from './model-fixtures';
import { featureNameOf } from '../../../shared/features/feature-codes';

const TABLE = 'profiles';
const MODELS_BUCKET = 'models';
const QUARANTINE_BUCKET = 'quarantine';
const HOUR_MS = 3_600_000;

// Training data for the two models and, separately, live traffic for the three batches.
const history = generateWorkload({ users: 300, days: 4, seed: 11 });
const live = generateWorkload({ users: 30, days: 1, seed: 12 });
const nowMs = Date.now();

let cloud: LocalCloud;

beforeAll(async () => {
  cloud = await startLocalCloud();
  await cloud.createTable(profilesTableDefinition(TABLE));
  await cloud.createBucket(MODELS_BUCKET);
  await cloud.createBucket(QUARANTINE_BUCKET);
});

afterAll(async () => {
  await cloud?.stop();
});

describe('ingest with a model promoted while it runs', () => {
  it('scores the next batch with the newly promoted model, same handler instance, no restart', async () => {
    // Prepare: two real models from one training set, and one handler wired to the real adapters.
    const events = history.events.map((e) => validateEvent(e, nowMs).event);
    const trainingSet = buildTrainingSet(events, { labelHorizonMs: 24 * HOUR_MS });
    const modelA = await trainSmallModel(trainingSet, trainingSet.labels, nowMs, 1);
    const modelB = await trainSmallModel(trainingSet, trainingSet.labels, nowMs + 1000, 2);
    const registry = new S3ModelRegistry(cloud.clients.s3, MODELS_BUCKET);
    Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' });
    const { createIngestHandler } = await import('../../../functions/ingest/ingest-handler');
    const profiles = new DynamoDbProfileStore(cloud.clients.dynamodb, TABLE);
    const handler: IngestHandler = createIngestHandler({
      profiles,
      quarantine: new S3QuarantineSink(cloud.clients.s3, QUARANTINE_BUCKET),
      scorer: new S3ModelScorer(cloud.clients.s3, MODELS_BUCKET, 0),
    });
    const third = Math.ceil(live.events.length / 3);
    const batches = [0, 1, 2].map((k) => live.events.slice(k * third, (k + 1) * third));
    const ingest = async (k: number) => {
      const batch = batches[k]!;
      const response = await handler(kinesisEvent(batch, { partitionKey: partitionKeyOf, arrivalMs: nowMs }));
      const ids = [...new Set(batch.map((e) => profileIdOf(validateEvent(e, nowMs).event)))];
      const stored = await profiles.getMany(ids);
      const scores = ids.map((id) => {
        const item = stored.get(id);
        return JSON.stringify({ scoreStatus: item?.scoreStatus, modelVersion: item?.modelVersion });
      });
      // Each distinct (status, version) once: the assertion reads "every profile of the batch is …".
      return {
        response,
        profiles: ids.length,
        outcomes: [...new Set(scores)].map((text) => JSON.parse(text)),
      };
    };

    // Act
    const beforeAnyModel = await ingest(0);
    await registry.putCandidate(modelA.metadata.modelVersion, modelA);
    await registry.promote(modelA.metadata.modelVersion, undefined);
    const afterA = await ingest(1);
    await registry.putCandidate(modelB.metadata.modelVersion, modelB);
    await registry.promote(modelB.metadata.modelVersion, modelA.metadata.modelVersion);
    const afterB = await ingest(2);

    // Assess
    expect(modelA.metadata.modelVersion).not.toBe(modelB.metadata.modelVersion);
    for (const run of [beforeAnyModel, afterA, afterB]) {
      expect(run.response.batchItemFailures).toEqual([]);
      expect(run.profiles).toBeGreaterThan(0);
    }
    expect(beforeAnyModel.outcomes).toEqual([{ scoreStatus: 'unscored' }]);
    expect(afterA.outcomes).toEqual([{ scoreStatus: 'scored', modelVersion: modelA.metadata.modelVersion }]);
    expect(afterB.outcomes).toEqual([{ scoreStatus: 'scored', modelVersion: modelB.metadata.modelVersion }]);

    // Assess: every output of the one graph is stored as plain attributes a reader in any language can use.
    const { outputs, featureNames } = modelB.metadata;
    expect(outputs.churn).toBeDefined();
    expect(outputs.nextCategories).toBeDefined();
    expect(outputs.embedding).toBeDefined();
    const lastIds = [...new Set(batches[2]!.map((e) => profileIdOf(validateEvent(e, nowMs).event)))];
    const raw = await Promise.all(
      lastIds.map(async (profileId) => {
        const out = await cloud.clients.dynamodb.send(
          new GetItemCommand({ TableName: TABLE, Key: marshall({ profileId }), ConsistentRead: true }),
        );
        return unmarshall(out.Item!);
      }),
    );
    const isProbability = (p: unknown) => typeof p === 'number' && p >= 0 && p <= 1;
    expect(raw.length).toBeGreaterThan(0);
    for (const item of raw) {
      expect([item['propensity'], item['churnRisk']].map(isProbability)).toEqual([true, true]);
      const categories = Object.entries(item['nextCategories'] as Record<string, number>);
      expect(categories).toHaveLength(3);
      for (const [category, p] of categories) {
        expect(outputs.nextCategories!.categories).toContain(category);
        expect(isProbability(p)).toBe(true);
      }
      for (const head of ['purchase', 'churn'] as const) {
        const reasons = Object.entries((item['reasons'] as Record<string, Record<string, number>>)[head]!);
        // Up to 3: the item codec drops the least important ones (never the top one) to stay in one write unit.
        expect(reasons.length).toBeGreaterThanOrEqual(1);
        expect(reasons.length).toBeLessThanOrEqual(3);
        // Stored under feature codes (v5): each must name one of the model's features.
        for (const [feature, contribution] of reasons) {
          expect(featureNames).toContain(featureNameOf(feature));
          expect(Number.isFinite(contribution)).toBe(true);
        }
      }
      const [scale, bytes] = item['embedding'] as [number, number[]];
      expect(scale).toBeGreaterThan(0);
      expect(bytes).toHaveLength(outputs.embedding!.size);
      expect(bytes.every((byte) => Number.isInteger(byte) && byte >= -128 && byte <= 127)).toBe(true);
    }
  });
});
