/**
 * The activation feed and the audience index on the local cloud built from the template: ingest puts
 * transitions on the activation stream, the activation-index function (its real handler, through the
 * emulated event source mapping) keeps the members table, and `npm run audience` reads it.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDbAudienceIndex } from '../../../functions/commons/dynamodb-audience-index';
import { S3AudiencePublisher } from '../../../functions/commons/s3-audience-definitions';
import { EventProducer } from '../../../infra/client/event-producer';
import { exportAudience, listAudiences } from '../../../infra/cli/audience-index-commands';
import { readActivationFeed } from '../../../infra/local/activation-subscriber';
import { startLocalPipeline, type LocalPipeline } from '../../../infra/local/local-pipeline';
import { scanProfiles } from '../../../infra/local/run-report';
import { runRepoScript } from '../../support/run-repo-script';

const NOW = Date.now();
const USERS = 24;
const SET = {
  audienceSetVersion: 1,
  audiences: [
    { id: 'viewers', description: 'viewed a product', condition: { field: 'count.product_view', gte: 1 } },
    {
      id: 'browsing',
      description: 'viewed within the hour',
      condition: { event: 'product_view', withinHours: 1 },
    },
    { id: 'buyers', description: 'ordered', condition: { field: 'orders', gte: 1 } },
  ],
};
const event = (userId: string, n: number, type: string, minutesAgo: number) => ({
  schemaVersion: 1,
  eventId: `${userId}-${n}`,
  type,
  userId,
  productId: 'p1',
  categoryPath: 'shoes',
  price: 20,
  quantity: 1,
  ...(type === 'purchase' ? { orderId: `o-${userId}` } : {}),
  occurredAt: NOW - minutesAgo * 60_000,
});

describe('audience index on the local cloud', () => {
  let pipeline: LocalPipeline;
  let index: DynamoDbAudienceIndex;
  const members = (id: string, profiles: Awaited<ReturnType<typeof scanProfiles>>) =>
    profiles
      .filter((p) => p.audiences?.[id] !== undefined)
      .map((p) => p.state.profileId)
      .sort();

  beforeAll(async () => {
    pipeline = await startLocalPipeline({
      pollIntervalMs: 50,
      withArchive: false,
      environment: {
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
        MODEL_POLL_SECONDS: '0',
      },
    });
    await new S3AudiencePublisher(pipeline.cloud.clients.s3, pipeline.buckets.models!).publish(SET);
    const producer = new EventProducer({
      kinesis: pipeline.cloud.clients.kinesis,
      streamName: pipeline.streamName,
    });
    const send = async (bodies: unknown[]) => {
      const sent = await producer.sendRaw(
        bodies.map((b) => ({
          data: new TextEncoder().encode(JSON.stringify(b)),
          partitionKey: (b as { userId: string }).userId,
        })),
      );
      expect(sent.failed).toEqual([]);
      await pipeline.drain(60_000);
    };
    const users = Array.from({ length: USERS }, (_, i) => `u-${String(i).padStart(2, '0')}`);
    // Everyone views three hours ago (enters viewers and browsing); a third buy two hours later
    // (enter buyers, exit browsing: their latest event is an hour past the view).
    await send(users.map((u) => event(u, 1, 'product_view', 180)));
    await send(users.filter((_, i) => i % 3 === 0).map((u) => event(u, 2, 'purchase', 60)));
    index = new DynamoDbAudienceIndex(pipeline.cloud.clients.dynamodb, pipeline.membersTableName!);
  }, 180_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('keeps the index equal to the stored membership, written only on transitions, as the feed tells it', async () => {
    // Act
    const profiles = await scanProfiles(pipeline);
    const feed = await readActivationFeed(pipeline.cloud.clients.kinesis, pipeline.activationStreamName!);
    // Assess
    expect(members('viewers', profiles)).toHaveLength(USERS);
    expect(members('buyers', profiles)).toHaveLength(USERS / 3);
    expect(members('browsing', profiles)).toHaveLength(USERS - USERS / 3);
    for (const { id } of SET.audiences) {
      expect(await index.size(id)).toBe(members(id, profiles).length);
      expect(feed.members[id] ?? 0).toBe(members(id, profiles).length);
    }
    expect(feed.byAudience.browsing).toEqual({ entered: USERS, exited: USERS / 3 });
  });

  it('lists, sizes, pages through and exports the members (functions and the CLI itself)', async () => {
    // Prepare
    const profiles = await scanProfiles(pipeline);
    const s3 = pipeline.cloud.clients.s3;
    const bucket = pipeline.buckets.models!;
    // Act
    const listing = await listAudiences(new S3AudiencePublisher(s3, bucket), index);
    const paged: string[] = [];
    let page: string | undefined;
    let pages = 0;
    do {
      const result = await index.members('viewers', 7, page);
      paged.push(...result.members.map((m) => m.profileId));
      page = result.next;
      pages++;
    } while (page !== undefined);
    const exported = await exportAudience(index, s3, bucket, 'buyers', NOW);
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: exported.key }));
    const lines = (await object.Body!.transformToString())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const endpoints = [
      '--members-table',
      pipeline.membersTableName!,
      '--bucket',
      bucket,
      '--endpoint',
      pipeline.cloud.endpoints.s3,
      '--dynamodb-endpoint',
      pipeline.cloud.endpoints.dynamodb,
    ];
    const size = await runRepoScript('infra/cli/audience.ts', ['size', 'buyers', ...endpoints], 60_000);
    const printed = await runRepoScript(
      'infra/cli/audience.ts',
      ['members', 'viewers', '--limit', '5', ...endpoints],
      60_000,
    );
    // Assess
    expect(listing.audiences.map((a) => [a.id, a.size])).toEqual(
      SET.audiences.map((a) => [a.id, members(a.id, profiles).length]),
    );
    expect(paged).toEqual(members('viewers', profiles));
    expect(pages).toBeGreaterThan(3);
    expect(exported.key).toMatch(/^exports\/buyers\/\d{8}T\d{6}Z\.ndjson$/);
    expect(lines.map((l) => l.profileId).sort()).toEqual(members('buyers', profiles));
    expect(lines[0]).toEqual({ profileId: expect.any(String), version: 2, enteredAt: expect.any(Number) });
    expect(size.trim()).toBe(String(USERS / 3));
    expect(
      printed
        .split('\n')
        .slice(0, 5)
        .map((l) => l.split('\t')[0]),
    ).toEqual(members('viewers', profiles).slice(0, 5));
    expect(printed).toContain('next page: --page ');
  });
});
