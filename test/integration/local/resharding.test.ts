/**
 * Resharding mid-run: the stream is split twice and merged twice while events flow, and the event
 * source mapping emulator reads each parent shard to its end before its children, as Lambda does. The
 * profiles then equal those of the same events on a stream that never reshards, every profile's events
 * reach the function in publish order, and a key that lived on five shards keeps at most
 * `PROFILE_LIMITS.shards` marks (the oldest shard's evicted). Real kinesalite, dynalite and s3rver.
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { appliedEvents, comparableState } from '../../../infra/local/reference-fold';
import { PROFILE_LIMITS } from '../../../shared/profile/profile-state';
import { startIngestOnEmulators, type IngestOnEmulators } from '../../support/ingest-on-emulators';

const USERS = Array.from({ length: 24 }, (_v, i) => `u-${i}`);
const PHASES = 5;
const EVENTS_PER_PHASE = 3;
// Two hours between phases, no sessionId: each phase opens a session only when it arrives after the
// previous one, so a child read before its parent would change sessionCount.
const PHASE_GAP_MS = 2 * 3_600_000;
const BASE = Date.now() - PHASES * PHASE_GAP_MS - 3_600_000;

function phaseRecords(phase: number) {
  const records = [];
  for (let i = 0; i < EVENTS_PER_PHASE; i++) {
    for (const userId of USERS) {
      const event = {
        schemaVersion: 1,
        eventId: `${userId}-${phase}-${i}`,
        type: 'product_view',
        userId,
        productId: `p-${phase}-${i}`,
        categoryId: `c-${(phase + i) % 3}`,
        occurredAt: BASE + phase * PHASE_GAP_MS + i * 60_000,
      };
      records.push({ Data: new TextEncoder().encode(JSON.stringify(event)), PartitionKey: userId });
    }
  }
  return records;
}

/** Event ids in the order the function received them, by user. */
function recordArrivals(arrivals: Map<string, string[]>) {
  return (event: KinesisStreamEvent): void => {
    for (const record of event.Records) {
      const { userId, eventId } = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString()) as {
        userId: string;
        eventId: string;
      };
      const list = arrivals.get(userId) ?? [];
      if (!list.includes(eventId)) list.push(eventId);
      arrivals.set(userId, list);
    }
  };
}

describe('resharding mid-run', () => {
  let cloud: LocalCloud;
  let resharded: IngestOnEmulators;
  let steady: IngestOnEmulators;
  const arrivals = new Map<string, string[]>();
  const shardsUsed = new Map<string, Set<string>>();

  beforeAll(async () => {
    cloud = await startLocalCloud();
    [resharded, steady] = await Promise.all([
      startIngestOnEmulators(cloud, {
        name: 'resharded',
        shardCount: 1,
        onInvoke: (event) => {
          recordArrivals(arrivals)(event);
          for (const record of event.Records) {
            const shardId = record.eventID.slice(0, record.eventID.lastIndexOf(':'));
            const set = shardsUsed.get(record.kinesis.partitionKey) ?? new Set();
            set.add(shardId);
            shardsUsed.set(record.kinesis.partitionKey, set);
          }
        },
      }),
      startIngestOnEmulators(cloud, { name: 'steady', shardCount: 1 }),
    ]);
    const put = async (target: IngestOnEmulators, phase: number) =>
      cloud.clients.kinesis.send(
        new PutRecordsCommand({ StreamName: target.streamName, Records: phaseRecords(phase) }),
      );
    const stream = resharded.streamName;
    // No drain between a reshard and the next phase: the parent may still be unread when its
    // children fill, and the mapping has to order them.
    await put(resharded, 0);
    const [lowHalf, highHalf] = await cloud.splitShard(stream, 'shardId-000000000000');
    await put(resharded, 1);
    const [lowQuarter, secondQuarter] = await cloud.splitShard(stream, lowHalf!);
    await put(resharded, 2);
    const merged = await cloud.mergeShards(stream, lowQuarter!, secondQuarter!);
    await put(resharded, 3);
    await cloud.mergeShards(stream, merged, highHalf!);
    await put(resharded, 4);
    for (let phase = 0; phase < PHASES; phase++) await put(steady, phase);
    await Promise.all([
      resharded.mapping.drain({ timeoutMs: 60_000 }),
      steady.mapping.drain({ timeoutMs: 60_000 }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([resharded?.mapping.stop(), steady?.mapping.stop()]);
    await cloud?.stop();
  });

  it('delivers every profile its events in publish order across splits and merges', () => {
    for (const userId of USERS) {
      const expected = [];
      for (let phase = 0; phase < PHASES; phase++) {
        for (let i = 0; i < EVENTS_PER_PHASE; i++) expected.push(`${userId}-${phase}-${i}`);
      }
      expect(arrivals.get(userId)).toEqual(expected);
    }
  });

  it('gives the same profiles as a stream that never reshards', async () => {
    const [withReshard, without] = await Promise.all([resharded.profiles(USERS), steady.profiles(USERS)]);
    expect(withReshard.size).toBe(USERS.length);
    for (const userId of USERS) {
      const state = withReshard.get(userId)!;
      expect(appliedEvents(state)).toBe(PHASES * EVENTS_PER_PHASE);
      expect(state.sessionCount).toBe(PHASES);
      expect(comparableState(state)).toEqual(comparableState(without.get(userId)!));
    }
  });

  it('keeps at most the bounded number of shard marks, evicting the oldest shard', async () => {
    const profiles = await resharded.profiles(USERS);
    const fiveShardUsers = USERS.filter((userId) => shardsUsed.get(userId)!.size === 5);
    // MD5 spreads 24 keys over both halves: some lived on 0 → low half → a quarter → merged → all.
    expect(fiveShardUsers.length).toBeGreaterThan(0);
    for (const userId of USERS) {
      const marks = profiles.get(userId)!.shardMarks;
      expect(marks.length).toBe(Math.min(shardsUsed.get(userId)!.size, PROFILE_LIMITS.shards));
    }
    for (const userId of fiveShardUsers) {
      expect(profiles.get(userId)!.shardMarks.map((m) => m.shardId)).not.toContain('shardId-000000000000');
    }
  });
});
