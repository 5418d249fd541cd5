/**
 * The erasure scenario against the emulators, run by `erasure.test.ts` (ids stored raw) and
 * `erasure-pseudonymised.test.ts` (one pipeline per test file: handlers read their configuration at
 * module load, once per Jest module registry). A person erased in the middle of a run, then the whole stream
 * replayed and the training set rebuilt from the archive — the person comes back nowhere (table,
 * archive, quarantine, on-failure objects, training rows — also from an archive object the rewrite
 * missed, which the training function filters by tombstone), their later events are dropped and counted,
 * and the receipt names them only by keyed hash; their rows leave the audience members table. With `pseudonymiseIds` on, the request still names the
 * raw ids while the table and archive hold only their keyed hashes.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { gunzipSync } from 'node:zlib';
import { EventProducer } from '../../../infra/client/event-producer';
import type { RawRecord } from '../../../infra/client/put-records-plan';
import { decodePrivacyOf, startLocalPipeline, type LocalPipeline } from '../../../infra/local/local-pipeline';
import { S3ArchiveReader } from '../../../functions/commons/s3-archive-reader';
import { S3AudiencePublisher } from '../../../functions/commons/s3-audience-definitions';
import { S3ArchiveWriter } from '../../../functions/commons/s3-archive-writer';
import { ARCHIVE_PREFIX } from '../../../shared/archive/archive-batch';
import { profileIdOf, type ContractEvent } from '../../../shared/contract/event-contract';
import type { TrainSummary } from '../../../shared/training/train-use-case';
import { buildTrainingSet } from '../../../shared/training/training-set';
import { isTombstoneKey } from '../../../shared/erasure/tombstones';
import { storedProfileIdOf } from '../../../shared/privacy/pseudonymise';
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

/** Every row of the audience members table (the victim's and the others'), keys only. */
async function scanMembers(pipeline: LocalPipeline): Promise<{ audienceId: string; profileId: string }[]> {
  const out = await pipeline.cloud.clients.dynamodb.send(
    new ScanCommand({ TableName: pipeline.membersTableName! }),
  );
  return (out.Items ?? []).map((raw) => {
    const { audienceId, profileId } = unmarshall(raw) as { audienceId: string; profileId: string };
    return { audienceId, profileId };
  });
}

/** Declare the scenario's suite, with ids pseudonymised or not (stack parameter `pseudonymiseIds`). */
export function describeErasureScenario(pseudonymiseIds: boolean): void {
  const ids = pseudonymiseIds ? 'pseudonymised' : 'stored raw';
  describe(`erasure in the middle of a run, then a full replay (ids ${ids})`, () => {
    let pipeline: LocalPipeline;
    /** The profile id the stores hold for a raw one. */
    let stored: (rawProfileId: string) => string;

    beforeAll(async () => {
      pipeline = await startLocalPipeline({
        pollIntervalMs: 50,
        stackParameters: { pseudonymiseIds },
        environment: {
          POWERTOOLS_LOG_LEVEL: 'ERROR',
          POWERTOOLS_METRICS_DISABLED: 'true',
          // Ingest reads the audience set below at its first batch.
          MODEL_POLL_SECONDS: '0',
        },
      });
      expect(pipeline.pseudonymiseIds).toBe(pseudonymiseIds);
      expect(pipeline.membersTableName).toBeDefined();
      // Everyone here views products: the victim gets rows in the audience members table.
      await new S3AudiencePublisher(pipeline.cloud.clients.s3, pipeline.buckets.models!).publish({
        audienceSetVersion: 1,
        audiences: [
          {
            id: 'viewers',
            description: 'viewed a product',
            condition: { field: 'count.product_view', gte: 1 },
          },
        ],
      });
      stored = storedProfileIdOf(decodePrivacyOf(pipeline));
    });

    afterAll(async () => {
      await pipeline?.stop();
    });

    it('leaves the person nowhere and drops their later and replayed events', async () => {
      // Prepare: the victim browses anonymously, identifies, buys; two other people; a malformed record
      // of the victim's and one of their device's (quarantined with their bytes, raw ids) and a discarded
      // batch of theirs in the failures bucket.
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
        record(`{"schemaVersion":1,"anonymousId":"${VICTIM_DEVICE}","type":"page_view"`, VICTIM_DEVICE),
      ];
      // What stands for the victim in the table and archive: their raw ids, or the ids' keyed hashes.
      const victimIds = [stored(VICTIM), stored(`anon:${VICTIM_DEVICE}`).slice('anon:'.length)];
      const victimPattern = new RegExp(['victim', ...victimIds].join('|'));
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
      for (const id of victimIds) expect(before).toContain(`"${id}"`);
      const membersBefore = await scanMembers(pipeline);
      expect(membersBefore).toContainEqual({ audienceId: 'viewers', profileId: stored(VICTIM) });

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
      expect(JSON.stringify(receipt)).not.toMatch(victimPattern);
      expect(receipt!.subjects).toEqual([
        { keyedId: expect.stringMatching(/^[0-9a-f]{64}$/), requested: true, profileFound: true },
        { keyedId: expect.stringMatching(/^[0-9a-f]{64}$/), requested: false, profileFound: true },
      ]);
      expect(receipt!.table).toMatchObject({ tombstonesWritten: 2, profilesDeleted: 2 });
      expect(receipt!.table.eventsInDeletedProfiles).toBeGreaterThan(12);
      expect(receipt!.archive.recordsRemoved).toBeGreaterThan(12);
      // Both refused records, the device's found only through the user's alias (by pseudonym when hashed).
      expect(receipt!.quarantine.recordsRemoved).toBe(2);
      expect(receipt!.failures).toMatchObject({ recordsRemoved: 1, objectsRewritten: 1 });
      // The table: tombstones and the others' profiles, nothing of the victim's.
      const items = (
        await pipeline.cloud.clients.dynamodb.send(new ScanCommand({ TableName: pipeline.tableName }))
      ).Items!.map((i) => unmarshall(i));
      expect(JSON.stringify(items)).not.toMatch(victimPattern);
      expect(items.filter((i) => isTombstoneKey(String(i.profileId)))).toHaveLength(2);
      expect(
        items
          .map((i) => i.profileId)
          .filter((id) => !isTombstoneKey(String(id)))
          .sort(),
      ).toEqual([stored('u-other-1'), stored('u-other-2')].sort());
      // The audience members table: the others' rows only (the replay did not bring the victim's back).
      expect(receipt!.table.membersRemoved).toBeGreaterThanOrEqual(1);
      const membersAfter = await scanMembers(pipeline);
      expect(JSON.stringify(membersAfter)).not.toMatch(victimPattern);
      expect(membersAfter.map((row) => row.profileId).sort()).toEqual(
        [stored('u-other-1'), stored('u-other-2')].sort(),
      );
      // Archive, quarantine, failures: no record of theirs, the others' kept.
      const archive = await allObjectsText(pipeline, pipeline.buckets.archive!);
      expect(archive).not.toMatch(victimPattern);
      expect(archive).toContain('b-u-other-1-v0');
      expect(await allObjectsText(pipeline, pipeline.buckets.quarantine!)).not.toMatch(victimPattern);
      const failures = await allObjectsText(pipeline, pipeline.buckets.failures!);
      expect(failures).not.toMatch(victimPattern);
      expect(failures).toContain('u-other-1');
      // Training rows rebuilt from the archive: the others only.
      const { events } = await new S3ArchiveReader(
        pipeline.cloud.clients.s3,
        pipeline.buckets.archive!,
      ).readEvents();
      const set = buildTrainingSet(events, { labelHorizonMs: 24 * HOUR });
      const rowProfiles = new Set(set.rowMeta.map((r) => r.profileId));
      expect([...rowProfiles].sort()).toEqual([stored('u-other-1'), stored('u-other-2')].sort());

      // Defence in depth: an archive object the rewrite missed (an old archive function's, say) brings
      // the person's events back into the bucket; the training function leaves them out by tombstone.
      const victimEvents = before
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ContractEvent)
        .filter((event) => [stored(VICTIM), stored(`anon:${VICTIM_DEVICE}`)].includes(profileIdOf(event)));
      expect(victimEvents.length).toBeGreaterThan(12);
      await new S3ArchiveWriter(pipeline.cloud.clients.s3, pipeline.buckets.archive!).put({
        key: `${ARCHIVE_PREFIX}/dt=2026-11-20/hour=03/old-function-version.ndjson.gz`,
        events: victimEvents,
      });
      const archived = (
        await new S3ArchiveReader(pipeline.cloud.clients.s3, pipeline.buckets.archive!).readEvents()
      ).events;
      const training = (await pipeline.invoke('train', {
        source: 'aws.events',
        'detail-type': 'Scheduled Event',
      })) as TrainSummary;
      expect(archived).toHaveLength(events.length + victimEvents.length);
      expect(training.examples.events).toBe(events.length);
    }, 240_000);
  });
}
