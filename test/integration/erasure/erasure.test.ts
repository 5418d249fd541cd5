/**
 * Erasure against the emulators: a person erased in the middle of a run, then the whole stream
 * replayed and the training set rebuilt from the archive — the person comes back nowhere (table,
 * archive, quarantine, on-failure objects, training rows), their later events are dropped and counted,
 * and the receipt names them only by keyed hash.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { gunzipSync } from 'node:zlib';
import { EventProducer } from '../../../infra/client/event-producer';
import type { RawRecord } from '../../../infra/client/put-records-plan';
import { startLocalPipeline, type LocalPipeline } from '../../../infra/local/local-pipeline';
import { S3ArchiveReader } from '../../../functions/commons/s3-archive-reader';
import { bucketOfArchiveKey, profileBucketOf } from '../../../shared/archive/profile-bucket';
import { buildTrainingSet } from '../../../shared/training/training-set';
import { isTombstoneKey } from '../../../shared/erasure/tombstones';
import { T0 as FACTORY_T0 } from '../../support/factories';

const VICTIM = 'u-victim';
const VICTIM_DEVICE = 'a-victim-device';
const HOUR = 3_600_000;
// A week before the factories' instant: every event here, the later ones too, lies in the past.
const T0 = FACTORY_T0 - 7 * 24 * HOUR;
const utf8 = new TextEncoder();

function record(body: Record<string, unknown> | string, partitionKey: string): RawRecord {
  return { data: utf8.encode(typeof body === 'string' ? body : JSON.stringify(body)), partitionKey };
}

/** Events of one person over `hours`: views, a cart and a purchase, so training rows exist. */
function personEvents(userId: string, from: number, hours: number, tag: string): RawRecord[] {
  const records: RawRecord[] = [];
  for (let h = 0; h < hours; h++) {
    const at = from + h * 6 * HOUR;
    const base = { schemaVersion: 1, userId, occurredAt: at };
    records.push(
      record(
        {
          ...base,
          eventId: `${tag}-${userId}-v${h}`,
          type: 'product_view',
          productId: `p-${h % 5}`,
          categoryId: 'cat-1',
        },
        userId,
      ),
    );
    if (h % 3 === 2) {
      records.push(
        record(
          {
            ...base,
            eventId: `${tag}-${userId}-o${h}`,
            type: 'purchase',
            orderId: `${tag}-${userId}-${h}`,
            revenue: 20,
          },
          userId,
        ),
      );
    }
  }
  return records;
}

async function allObjectsText(pipeline: LocalPipeline, bucket: string): Promise<string> {
  const s3 = pipeline.cloud.clients.s3;
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  let text = '';
  for (const { Key: key } of listed.Contents ?? []) {
    const bytes = await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body!.transformToByteArray();
    text +=
      Buffer.from(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8') + '\n';
  }
  return text;
}

describe('erasure in the middle of a run, then a full replay', () => {
  let pipeline: LocalPipeline;

  beforeAll(async () => {
    pipeline = await startLocalPipeline({
      pollIntervalMs: 50,
      environment: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('leaves the person nowhere and drops their later and replayed events', async () => {
    // Prepare: the victim browses anonymously, identifies, buys; two other people; a malformed record
    // of the victim's (quarantined with its bytes) and a discarded batch of theirs in the failures bucket.
    const producer = new EventProducer({
      kinesis: pipeline.cloud.clients.kinesis,
      streamName: pipeline.streamName,
    });
    const firstPart: RawRecord[] = [
      record(
        {
          schemaVersion: 1,
          eventId: 'anon-1',
          type: 'page_view',
          anonymousId: VICTIM_DEVICE,
          occurredAt: T0 - HOUR,
        },
        VICTIM_DEVICE,
      ),
      record(
        {
          schemaVersion: 1,
          eventId: 'identify-1',
          type: 'identify',
          userId: VICTIM,
          anonymousId: VICTIM_DEVICE,
          occurredAt: T0,
        },
        VICTIM,
      ),
      ...personEvents(VICTIM, T0, 12, 'a'),
      ...personEvents('u-other-1', T0, 12, 'a'),
      ...personEvents('u-other-2', T0, 12, 'a'),
      record(`{"schemaVersion":1,"userId":"${VICTIM}","context":{"email":"victim@example.test"}`, VICTIM),
    ];
    expect((await producer.sendRaw(firstPart)).failed).toHaveLength(0);
    await pipeline.drain(60_000);
    const failureRecord = {
      version: '1.0',
      payload: JSON.stringify({
        Records: [VICTIM, 'u-other-1'].map((userId) => ({
          kinesis: {
            partitionKey: userId,
            data: Buffer.from(JSON.stringify({ userId, eventId: `f-${userId}` })).toString('base64'),
          },
        })),
      }),
    };
    await pipeline.cloud.clients.s3.send(
      new PutObjectCommand({
        Bucket: pipeline.buckets.failures!,
        Key: 'aws/lambda/x/shard/2026/11/27/f.json',
        Body: JSON.stringify(failureRecord),
      }),
    );
    const before = await allObjectsText(pipeline, pipeline.buckets.archive!);
    const archiveKeys = (
      await pipeline.cloud.clients.s3.send(new ListObjectsV2Command({ Bucket: pipeline.buckets.archive! }))
    ).Contents!.map((o) => o.Key!);
    // The victim's events are in their bucket, the device's in its own: only those two are read.
    const victimBuckets = new Set([profileBucketOf(VICTIM), profileBucketOf(`anon:${VICTIM_DEVICE}`)]);
    const victimObjects = archiveKeys.filter((key) => victimBuckets.has(bucketOfArchiveKey(key)!));
    expect(before).toContain(VICTIM);

    // Act: erase the victim, then their later events, a full replay of the first part and more of the others.
    await pipeline.cloud.clients.s3.send(
      new PutObjectCommand({
        Bucket: pipeline.buckets.erasure!,
        Key: 'requests/req-1.json',
        Body: JSON.stringify({ requestId: 'req-1', profileIds: [VICTIM], requestedAt: Date.now() }),
      }),
    );
    const [receipt] = await pipeline.processErasureRequests();
    const secondPart = [
      ...personEvents(VICTIM, T0 + 96 * HOUR, 6, 'b'),
      ...firstPart,
      ...personEvents('u-other-1', T0 + 96 * HOUR, 6, 'b'),
    ];
    expect((await producer.sendRaw(secondPart)).failed).toHaveLength(0);
    await pipeline.drain(60_000);

    // Assess: the receipt counts what went, by keyed hash only.
    expect(receipt).toBeDefined();
    expect(JSON.stringify(receipt)).not.toMatch(/victim/);
    expect(receipt!.subjects).toEqual([
      { keyedId: expect.stringMatching(/^[0-9a-f]{64}$/), requested: true, profileFound: true },
      { keyedId: expect.stringMatching(/^[0-9a-f]{64}$/), requested: false, profileFound: true },
    ]);
    expect(receipt!.table).toMatchObject({ tombstonesWritten: 2, profilesDeleted: 2 });
    expect(receipt!.table.eventsInDeletedProfiles).toBeGreaterThan(12);
    expect(receipt!.archive.recordsRemoved).toBeGreaterThan(12);
    expect(receipt!.archive).toMatchObject({
      objectsScanned: victimObjects.length,
      objectsSkipped: archiveKeys.length - victimObjects.length,
    });
    expect(receipt!.archive.objectsSkipped).toBeGreaterThan(0);
    expect(receipt!.quarantine.recordsRemoved).toBe(1);
    expect(receipt!.failures).toMatchObject({ recordsRemoved: 1, objectsRewritten: 1 });
    // The table: tombstones and the others' profiles, nothing of the victim's.
    const items = (
      await pipeline.cloud.clients.dynamodb.send(new ScanCommand({ TableName: pipeline.tableName }))
    ).Items!.map((i) => unmarshall(i));
    expect(JSON.stringify(items)).not.toMatch(/victim/);
    expect(items.filter((i) => isTombstoneKey(String(i.profileId)))).toHaveLength(2);
    expect(
      items
        .map((i) => i.profileId)
        .filter((id) => !isTombstoneKey(String(id)))
        .sort(),
    ).toEqual(['u-other-1', 'u-other-2']);
    // Archive, quarantine, failures: no record of theirs, the others' kept.
    const archive = await allObjectsText(pipeline, pipeline.buckets.archive!);
    expect(archive).not.toMatch(/victim/);
    expect(archive).toContain('b-u-other-1-v0');
    expect(await allObjectsText(pipeline, pipeline.buckets.quarantine!)).not.toMatch(/victim/);
    const failures = await allObjectsText(pipeline, pipeline.buckets.failures!);
    expect(failures).not.toMatch(/victim/);
    expect(failures).toContain('u-other-1');
    // Training rows rebuilt from the archive: the others only.
    const { events } = await new S3ArchiveReader(
      pipeline.cloud.clients.s3,
      pipeline.buckets.archive!,
    ).readEvents();
    const set = buildTrainingSet(events, { labelHorizonMs: 24 * HOUR });
    const rowProfiles = new Set(set.rowMeta.map((r) => r.profileId));
    expect([...rowProfiles].sort()).toEqual(['u-other-1', 'u-other-2']);
  }, 240_000);
});
