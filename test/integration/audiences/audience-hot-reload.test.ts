import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  AUDIENCE_POINTER_KEY,
  S3AudienceHistory,
  S3AudiencePublisher,
  S3AudienceSource,
} from '../../../functions/commons/s3-audience-definitions';
import { readObjectIfExists } from '../../../functions/commons/s3-objects';
import { DynamoDbProfileStore } from '../../../functions/commons/dynamodb-profile-store';
import { S3QuarantineSink } from '../../../functions/commons/s3-quarantine-sink';
import type { IngestHandler } from '../../../functions/ingest/ingest-handler';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { decodePrivacyOf, startLocalPipeline } from '../../../infra/local/local-pipeline';
import { EventProducer } from '../../../infra/client/event-producer';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { injectFaults } from '../../../infra/workload/fault-injection';
import {
  AudienceDefinitionViolation,
  BUILT_IN_AUDIENCES,
} from '../../../shared/audiences/audience-definition';
import { decodeProfileItem } from '../../../shared/profile/profile-item-codec';
import { compileAudienceSet } from '../../../shared/audiences/audience-evaluation';
import { profileExtrasOf } from '../../../shared/audiences/profile-extras';
import { foldInMemory } from '../../../infra/local/reference-fold';
import { kinesisEvent } from '../../support/factories';
import { profilesTableDefinition } from '../../support/profiles-table';

const TABLE = 'profiles';
const MODELS_BUCKET = 'models';
const QUARANTINE_BUCKET = 'quarantine';
const NOW = Date.now();

const view = (eventId: string, userId: string) => ({
  schemaVersion: 1,
  eventId,
  type: 'product_view',
  userId,
  productId: 'p1',
  categoryPath: 'shoes',
  occurredAt: NOW - 60_000,
});
const setOf = (...ids: string[]) => ({
  audienceSetVersion: 1,
  audiences: ids.map((id) => ({ id, description: id, condition: { field: 'count.product_view', gte: 1 } })),
});

describe('audience sets on the emulators', () => {
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

  it('hot-reloads a published set; an invalid one is refused with its field and rule and the previous set keeps serving', async () => {
    // Prepare: one handler instance wired to the real adapters, polling the pointer at every batch
    Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' });
    const { createIngestHandler } = await import('../../../functions/ingest/ingest-handler');
    const refusals: AudienceDefinitionViolation[] = [];
    const handler: IngestHandler = createIngestHandler({
      profiles: new DynamoDbProfileStore(cloud.clients.dynamodb, TABLE),
      quarantine: new S3QuarantineSink(cloud.clients.s3, QUARANTINE_BUCKET),
      scorer: { score: async () => undefined },
      audiences: new S3AudienceSource(cloud.clients.s3, MODELS_BUCKET, 0, {
        onRefused: (_version, error) => refusals.push(error),
      }),
    });
    const publisher = new S3AudiencePublisher(cloud.clients.s3, MODELS_BUCKET);
    const membersOf = async (userId: string) => {
      const out = await cloud.clients.dynamodb.send(
        new GetItemCommand({ TableName: TABLE, Key: marshall({ profileId: userId }) }),
      );
      return Object.keys(unmarshall(out.Item!).audiences ?? {});
    };
    const invalid = {
      audienceSetVersion: 1,
      audiences: [{ id: 'x', description: 'x', condition: { field: 'orders', gte: 'many' } }],
    };

    // Act + Assess: set A serves
    await publisher.publish(setOf('set-a'));
    await handler(kinesisEvent([view('e1', 'u1')], { arrivalMs: NOW }));
    expect(await membersOf('u1')).toEqual(['set-a']);

    // The publisher refuses an invalid set and writes nothing…
    const pointerBefore = await readObjectIfExists(cloud.clients.s3, MODELS_BUCKET, AUDIENCE_POINTER_KEY);
    await expect(publisher.publish(invalid)).rejects.toThrow(AudienceDefinitionViolation);
    expect(await readObjectIfExists(cloud.clients.s3, MODELS_BUCKET, AUDIENCE_POINTER_KEY)).toEqual(
      pointerBefore,
    );
    // …and ingest refuses one written past it, keeping set A.
    const put = (Key: string, body: unknown) =>
      cloud.clients.s3.send(new PutObjectCommand({ Bucket: MODELS_BUCKET, Key, Body: JSON.stringify(body) }));
    await put('audiences/bad/audiences.json', invalid);
    await put(AUDIENCE_POINTER_KEY, {
      version: 'bad',
      key: 'audiences/bad/audiences.json',
      publishedAt: new Date().toISOString(),
    });
    await handler(kinesisEvent([view('e2', 'u2')], { arrivalMs: NOW }));
    expect(await membersOf('u2')).toEqual(['set-a']);
    expect(refusals.map((e) => [e.name, e.field, e.rule])).toEqual([
      ['AudienceDefinitionViolation', 'audiences.0.condition.gte', expect.any(String)],
    ]);

    // A valid set B replaces A at the next batch.
    await publisher.publish(setOf('set-b'));
    await handler(kinesisEvent([view('e3', 'u3')], { arrivalMs: NOW }));
    expect(await membersOf('u3')).toEqual(['set-b']);
    expect(refusals).toHaveLength(1);
  });

  it('lists the audience ids of every set ever published, for erasure', async () => {
    // Prepare: two sets published one after the other in a bucket of their own
    await cloud.createBucket('history');
    const publisher = new S3AudiencePublisher(cloud.clients.s3, 'history');
    await publisher.publish(setOf('viewers', 'old-sale'));
    await publisher.publish(setOf('viewers', 'buyers'));
    // Act
    const ids = await new S3AudienceHistory(cloud.clients.s3, 'history').audienceIdsEverDefined();
    const none = await new S3AudienceHistory(cloud.clients.s3, MODELS_BUCKET + '-none')
      .audienceIdsEverDefined()
      .catch(() => 'no bucket');
    // Assess: the replaced set's ids too
    expect([...ids].sort()).toEqual(['buyers', 'old-sale', 'viewers']);
    expect(none).toBe('no bucket');
  });
});

describe('membership after a local run', () => {
  it('stores the built-in audiences in the items the pipeline writes', async () => {
    // Prepare: the template-derived pipeline, the built-in set published before any record
    const pipeline = await startLocalPipeline({
      pollIntervalMs: 50,
      withArchive: false,
      environment: {
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
        MODEL_POLL_SECONDS: '0',
      },
    });
    try {
      await new S3AudiencePublisher(pipeline.cloud.clients.s3, pipeline.buckets.models!).publish(
        BUILT_IN_AUDIENCES,
      );
      const workload = generateWorkload({ users: 200, days: 5, seed: 7 });
      const producer = new EventProducer({
        kinesis: pipeline.cloud.clients.kinesis,
        streamName: pipeline.streamName,
      });
      // Act
      const { records } = injectFaults(workload.events, {
        nowMs: Date.now(),
        seed: 7,
        duplicateRate: 0,
        reorderRate: 0,
        malformedRate: 0,
      });
      const sent = await producer.sendRaw(records);
      expect(sent.failed).toEqual([]);
      await pipeline.drain(60_000);
      // Assess: every item carries traits, and its membership is the built-in set evaluated on the
      // same records folded in memory (no model serves: the look-alike and value audiences need one)
      const page = await pipeline.cloud.clients.dynamodb.send(
        new ScanCommand({ TableName: pipeline.tableName }),
      );
      // Anonymous profiles merged into a user on identify are redirects: they are not evaluated.
      const items = (page.Items ?? []).map((i) => unmarshall(i)).filter((i) => i.mergedInto === undefined);
      const reference = foldInMemory(records, Date.now(), decodePrivacyOf(pipeline));
      const set = compileAudienceSet(BUILT_IN_AUDIENCES);
      expect(items).toHaveLength(reference.size);
      let members = 0;
      for (const item of items) {
        expect(typeof item.stage).toBe('string');
        const expected = profileExtrasOf(
          reference.get(item.profileId)!,
          undefined,
          undefined,
          set,
          undefined,
        );
        expect(Object.keys(decodeProfileItem(item).audiences ?? {}).sort()).toEqual(
          Object.keys(expected.audiences!).sort(),
        );
        members += Object.keys(expected.audiences!).length;
      }
      expect(members).toBeGreaterThan(0);
    } finally {
      await pipeline.stop();
    }
  });
});
