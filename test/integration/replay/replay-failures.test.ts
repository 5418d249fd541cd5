/**
 * Exact replay of an on-failure payload: a profile write keeps failing until Lambda's retries run out,
 * the whole pending range (records of profiles already written included) lands in the on-failure
 * bucket, and `replay('failures', ...)` republishes all of it with the replay envelope. Nothing is
 * applied twice, the failed profile's records are applied once, and the profiles equal a fault-free
 * run's. Each profile has more events than the 16-id window holds, so only the envelope can protect
 * the ones already applied. The events carry personal context (ip, user agent, e-mail): the bucket's
 * "Object Created" notification runs the real scrub-failures handler, so the object replay reads holds
 * none of it. Real kinesalite, dynalite and s3rver.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { replay, type ReplaySummary } from '../../../infra/cli/replay-records';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { appliedEvents, comparableState } from '../../../infra/local/reference-fold';
import { PROFILE_LIMITS } from '../../../shared/profile/profile-state';
import { startIngestOnEmulators, type IngestOnEmulators } from '../../support/ingest-on-emulators';
import { findNeedles, openLayers } from '../../support/persistent-stores';

const USERS = ['u-a', 'u-b', 'u-victim', 'u-c', 'u-d'];
const EVENTS_PER_USER = 20;
const FAILURES_BUCKET = 'failures-replay';

const BASE = Date.now() - 3_600_000;
/** Personal context of every user's events; none of it may stay in the on-failure object. */
const personalOf = (userId: string) => ({
  ip: `198.51.100.${USERS.indexOf(userId) + 10}`,
  userAgent: `ExampleBrowser/1.0 (${userId})`,
  email: `${userId}@example.test`,
});
const NEEDLES = USERS.flatMap((userId) => {
  const { ip, userAgent, email } = personalOf(userId);
  return [`"${ip}"`, userAgent, email];
});

function records() {
  const entries = [];
  // Interleaved, so the victim's first record comes early and the range Lambda discards holds
  // records of every profile.
  for (let i = 0; i < EVENTS_PER_USER; i++) {
    for (const userId of USERS) {
      const event = {
        schemaVersion: 1,
        eventId: `${userId}-${i}`,
        type: i % 5 === 4 ? 'add_to_cart' : 'product_view',
        userId,
        productId: `p-${i % 7}`,
        categoryId: `c-${i % 3}`,
        price: 10 + i,
        occurredAt: BASE + i * 60_000,
        context: { device: 'mobile', ...personalOf(userId) },
      };
      entries.push({ Data: new TextEncoder().encode(JSON.stringify(event)), PartitionKey: userId });
    }
  }
  return entries;
}

describe('replaying an on-failure payload', () => {
  let cloud: LocalCloud;
  let faulty: IngestOnEmulators;
  let clean: IngestOnEmulators;
  let victimFails = true;
  let first: ReplaySummary;
  const scrubs: unknown[] = [];

  const replayFailures = () =>
    replay('failures', `s3://${FAILURES_BUCKET}/aws/lambda/`, {
      s3: cloud.clients.s3,
      kinesis: cloud.clients.kinesis,
      streamName: faulty.streamName,
      readProfiles: (ids) => faulty.profiles(ids),
    });

  beforeAll(async () => {
    cloud = await startLocalCloud();
    await cloud.createBucket(FAILURES_BUCKET);
    // The real handler reads its configuration at module load, as in Lambda.
    Object.assign(process.env, cloud.env, { FAILURES_BUCKET, POWERTOOLS_METRICS_DISABLED: 'true' });
    const { handler: scrub } = await import('../../../functions/scrub-failures/handler');
    [faulty, clean] = await Promise.all([
      startIngestOnEmulators(cloud, {
        name: 'replay-faulty',
        shardCount: 1,
        config: { maximumRetryAttempts: 1, onFailure: { bucket: FAILURES_BUCKET } },
        onFailureObjectCreated: async (bucket, key) => {
          scrubs.push(key);
          await scrub({ detail: { bucket: { name: bucket }, object: { key } } });
        },
        // The real store, with the victim's writes throttled until the fault is cleared.
        wrapStore: (store) => ({
          getMany: (ids) => store.getMany(ids),
          putIfVersion: async (item, expected) =>
            item.profileId === 'u-victim' && victimFails
              ? { status: 'throttled' }
              : store.putIfVersion(item, expected),
        }),
      }),
      startIngestOnEmulators(cloud, { name: 'replay-clean', shardCount: 1 }),
    ]);
    for (const target of [faulty, clean]) {
      await cloud.clients.kinesis.send(
        new PutRecordsCommand({ StreamName: target.streamName, Records: records() }),
      );
    }
    await Promise.all([
      faulty.mapping.drain({ timeoutMs: 30_000 }),
      clean.mapping.drain({ timeoutMs: 30_000 }),
    ]);
    victimFails = false;
    first = await replayFailures();
    await faulty.mapping.drain({ timeoutMs: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([faulty?.mapping.stop(), clean?.mapping.stop()]);
    await cloud?.stop();
  });

  it('starts from a discarded range that holds already-applied records', async () => {
    const objects = await cloud.clients.s3.send(new ListObjectsV2Command({ Bucket: FAILURES_BUCKET }));
    expect(objects.Contents).toHaveLength(1);
    expect(faulty.mapping.stats.recordsSentToOnFailure).toBe(USERS.length * EVENTS_PER_USER - 2);
    expect(EVENTS_PER_USER).toBeGreaterThan(PROFILE_LIMITS.dedupeWindow);
    // The whole payload is republished with the envelope: nothing is held back or sent without it.
    expect(first.read).toBe(USERS.length * EVENTS_PER_USER - 2);
    expect(first.plan.withEnvelope).toHaveLength(first.read);
    expect(first.plan.fresh).toHaveLength(0);
    expect(first.plan.heldBack).toHaveLength(0);
    expect(first.sent).toBe(first.read);
  });

  it('keeps no ip, user agent or e-mail in the on-failure object, which still holds every record', async () => {
    // Prepare
    const [object] = (await cloud.clients.s3.send(new ListObjectsV2Command({ Bucket: FAILURES_BUCKET })))
      .Contents!;
    const body = await cloud.clients.s3.send(
      new GetObjectCommand({ Bucket: FAILURES_BUCKET, Key: object!.Key! }),
    );
    const text = await body.Body!.transformToString();
    const records = (JSON.parse(JSON.parse(text).payload as string) as { Records: unknown[] }).Records;

    // Assess: the raw input held them (every event); the object holds none, and every record.
    expect(scrubs).toEqual([object!.Key]);
    expect(findNeedles([{ store: 'failures', key: object!.Key!, text: openLayers(text) }], NEEDLES)).toEqual(
      [],
    );
    expect(records).toHaveLength(USERS.length * EVENTS_PER_USER - 2);
  });

  it('applies nothing twice and the rest once: the profiles equal a fault-free run', async () => {
    const [replayed, reference] = await Promise.all([faulty.profiles(USERS), clean.profiles(USERS)]);
    for (const userId of USERS) {
      expect(appliedEvents(replayed.get(userId)!)).toBe(EVENTS_PER_USER);
      expect(comparableState(replayed.get(userId)!)).toEqual(comparableState(reference.get(userId)!));
    }
  });

  it('applies nothing when the same payload is replayed again', async () => {
    const before = await Promise.all(USERS.map((id) => faulty.store.get(id)));
    const again = await replayFailures();
    expect(again.sent).toBe(first.sent);
    await faulty.mapping.drain({ timeoutMs: 30_000 });
    const after = await Promise.all(USERS.map((id) => faulty.store.get(id)));
    expect(after.map((item) => item?.version)).toEqual(before.map((item) => item?.version));
  });
});
