/**
 * A profile write that fails mid-batch: the handler reports that profile's lowest sequence number,
 * the event source mapping redelivers from there (records that already succeeded included), and the
 * profiles' bookkeeping makes the redelivery apply nothing twice. Real kinesalite, dynalite and s3rver.
 */
import { profilesTableDefinition } from '../../support/profiles-table';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { DynamoDbProfileStore } from '../../../functions/commons/dynamodb-profile-store';
import { S3QuarantineSink } from '../../../functions/commons/s3-quarantine-sink';
import { createIngestHandler } from '../../../functions/ingest/ingest-handler';
import { appliedEvents } from '../../../infra/local/reference-fold';
import { decodeProfileItem } from '../../../shared/profile/profile-item-codec';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { EventSourceMappingEmulator } from '../../../infra/local/event-source-mapping';

const TABLE = 'profiles-partial-failure';
const BUCKET = 'quarantine-partial-failure';
const STREAM = 'events-partial-failure';
const USERS = ['u-a', 'u-b', 'u-victim', 'u-c', 'u-d'];
const EVENTS_PER_USER = 4;

describe('partial batch failure and redelivery', () => {
  let cloud: LocalCloud;
  let mapping: EventSourceMappingEmulator;
  let store: DynamoDbProfileStore;
  const failedWrites: string[] = [];

  beforeAll(async () => {
    cloud = await startLocalCloud();
    const streamArn = await cloud.createStream(STREAM, 1);
    await cloud.createTable(profilesTableDefinition(TABLE));
    await cloud.createBucket(BUCKET);
    store = new DynamoDbProfileStore(cloud.clients.dynamodb, TABLE);
    // The real store, with one fault injected: the victim's first write is throttled.
    const faulty = Object.create(store) as DynamoDbProfileStore;
    faulty.putIfVersion = async (item, expected) => {
      if (item.profileId === 'u-victim' && failedWrites.length === 0) {
        failedWrites.push(item.profileId);
        return { status: 'throttled' };
      }
      return store.putIfVersion(item, expected);
    };
    const handler = createIngestHandler({
      profiles: faulty,
      quarantine: new S3QuarantineSink(cloud.clients.s3, BUCKET),
      scorer: { score: async () => undefined },
    });
    mapping = new EventSourceMappingEmulator({
      config: {
        batchSize: 100,
        maximumBatchingWindowInSeconds: 0,
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 5,
        maximumRecordAgeInSeconds: -1,
        reportBatchItemFailures: true,
        startingPosition: 'TRIM_HORIZON',
      },
      kinesis: cloud.clients.kinesis,
      streamName: STREAM,
      streamArn,
      functionName: 'ingest',
      invoke: (event) => handler(event),
      pollIntervalMs: 50,
    });
    // Interleave the users so records after the victim's first one belong to profiles already written.
    const base = Date.now() - 3_600_000;
    const entries = [];
    for (let i = 0; i < EVENTS_PER_USER; i++) {
      for (const userId of USERS) {
        const event = {
          schemaVersion: 1,
          eventId: `${userId}-${i}`,
          type: 'product_view',
          userId,
          productId: `p-${i}`,
          occurredAt: base + i * 60_000,
        };
        entries.push({ Data: new TextEncoder().encode(JSON.stringify(event)), PartitionKey: userId });
      }
    }
    await cloud.clients.kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: entries }));
    await mapping.start();
    await mapping.waitUntilCaughtUp({ timeoutMs: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await mapping?.stop();
    await cloud?.stop();
  });

  it('redelivers from the failed profile and applies every event exactly once', async () => {
    expect(failedWrites).toEqual(['u-victim']);
    expect(mapping.stats.partialFailures).toBe(1);
    // Redelivery starts at the victim's first record (index 2) and repeats everything after it.
    expect(mapping.stats.recordsDelivered).toBe(USERS.length * EVENTS_PER_USER * 2 - 2);
    for (const userId of USERS) {
      const item = await store.get(userId);
      expect(item).toBeDefined();
      expect(appliedEvents(decodeProfileItem(item!).state)).toBe(EVENTS_PER_USER);
    }
  });

  it('does not rewrite profiles the redelivery leaves unchanged', async () => {
    // Every profile was written once; the redelivered records changed none of the ones already stored.
    for (const userId of USERS) expect((await store.get(userId))!.version).toBe(1);
  });
});
