/**
 * The real archive handler against s3rver: gzipped NDJSON by event hour, no personal data, and a
 * redelivered batch overwrites its objects instead of adding copies.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { kinesisEvent } from '../../support/factories';

const BUCKET = 'archive-handler';
const T0 = Date.UTC(2026, 10, 27, 9, 58);

describe('archive handler', () => {
  let cloud: LocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud();
    await cloud.createBucket(BUCKET);
    Object.assign(process.env, cloud.env, { ARCHIVE_BUCKET: BUCKET });
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  it('archives valid events by event hour, without personal data, idempotently', async () => {
    // Prepare
    const { handler } = await import('../../../functions/archive/handler');
    const event = (eventId: string, occurredAt: number) => ({
      schemaVersion: 1,
      eventId,
      type: 'login',
      userId: 'u-1',
      occurredAt,
      context: { device: 'desktop', email: 'someone@example.test', ip: '203.0.113.9' },
    });
    const batch = kinesisEvent([event('a', T0), 'not json', event('b', T0 + 5 * 60_000)], {
      shardId: 'shardId-000000000001',
      firstSequenceNumber: 5000n,
      partitionKey: 'u-1',
      arrivalMs: T0,
    });
    // Act: the batch, then the same batch again (a redelivery).
    await handler(batch);
    await handler(batch);
    // Assess
    const listed = await cloud.clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
    expect(keys).toEqual([
      'events/dt=2026-11-27/hour=09/bucket=02-shardId-000000000001-5000-5002.ndjson.gz',
      'events/dt=2026-11-27/hour=10/bucket=02-shardId-000000000001-5000-5002.ndjson.gz',
    ]);
    const lines: string[] = [];
    for (const key of keys) {
      const object = await cloud.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
      lines.push(...text.trim().split('\n'));
    }
    expect(lines.map((l) => JSON.parse(l).eventId)).toEqual(['a', 'b']);
    expect(lines.join('\n')).not.toMatch(/example\.test|203\.0\.113\.9/);
  });
});
