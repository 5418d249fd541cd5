/**
 * A subscriber of the activation feed, locally: reads every record of the activation stream (as an
 * EventBridge rule behind the pipe would receive them), de-duplicates on the event id and tallies
 * entries and exits per audience. The members it derives (each profile's latest transition per
 * audience, by version) must equal the memberships stored in the profiles: `npm start` prints both.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { decodeActivationEvent } from '../../shared/audiences/audience-index';
import type { ActivationEvent } from '../../shared/audiences/activation';

/** What the subscriber received. */
export interface ActivationDelivery {
  /** Records read, re-emissions included. */
  delivered: number;
  /** Distinct event ids. */
  unique: number;
  /** Distinct entries and exits per audience. */
  byAudience: Record<string, { entered: number; exited: number }>;
  /** Members per audience as the feed tells it: profiles whose latest transition is an entry. */
  members: Record<string, number>;
  /** Distinct event ids received. */
  ids: ReadonlySet<string>;
}

/** Read the whole stream from its start (every shard until it returns nothing more). */
export async function readActivationFeed(
  kinesis: KinesisClient,
  streamName: string,
): Promise<ActivationDelivery> {
  const events: ActivationEvent[] = [];
  const { Shards: shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  for (const shard of shards) {
    let { ShardIterator: iterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (iterator !== undefined) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) events.push(decodeActivationEvent(record.Data!));
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return tallyActivation(events);
}

/** De-duplicate by id, count per audience, and derive the members from the latest transitions. */
export function tallyActivation(events: readonly ActivationEvent[]): ActivationDelivery {
  const unique = new Map(events.map((e) => [e.id, e]));
  const byAudience: ActivationDelivery['byAudience'] = {};
  const latest = new Map<string, ActivationEvent>();
  for (const event of unique.values()) {
    const counts = (byAudience[event.audienceId] ??= { entered: 0, exited: 0 });
    counts[event.kind]++;
    const key = `${event.audienceId}\u001f${event.profileId}`;
    const seen = latest.get(key);
    if (seen === undefined || seen.profileVersion < event.profileVersion) latest.set(key, event);
  }
  const members: Record<string, number> = {};
  for (const event of latest.values())
    if (event.kind === 'entered') members[event.audienceId] = (members[event.audienceId] ?? 0) + 1;
  return { delivered: events.length, unique: unique.size, byAudience, members, ids: new Set(unique.keys()) };
}

/** Whether the feed's members, the index's sizes and the stored sizes agree for every audience. */
export function activationAgrees(
  delivery: ActivationDelivery,
  storedSizes: Readonly<Record<string, number>>,
  indexSizes: Readonly<Record<string, number>>,
): boolean {
  const ids = new Set([
    ...Object.keys(delivery.members),
    ...Object.keys(storedSizes),
    ...Object.keys(indexSizes),
  ]);
  return [...ids].every(
    (id) =>
      (delivery.members[id] ?? 0) === (storedSizes[id] ?? 0) &&
      (indexSizes[id] ?? 0) === (storedSizes[id] ?? 0),
  );
}

/** The delivery in a line per audience: entries, exits, and members by the feed vs stored. */
export function formatActivation(
  delivery: ActivationDelivery,
  storedSizes: Readonly<Record<string, number>>,
  indexSizes: Readonly<Record<string, number>>,
): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const ids = [...new Set([...Object.keys(delivery.byAudience), ...Object.keys(storedSizes)])].sort();
  const agree = ids.every(
    (id) =>
      (delivery.members[id] ?? 0) === (storedSizes[id] ?? 0) &&
      (indexSizes[id] ?? 0) === (storedSizes[id] ?? 0),
  );
  const lines = ids.map((id) => {
    const counts = delivery.byAudience[id] ?? { entered: 0, exited: 0 };
    return (
      `  ${id}: entered ${n(counts.entered)}, exited ${n(counts.exited)} → members by the feed ${n(delivery.members[id] ?? 0)}, ` +
      `in the index ${n(indexSizes[id] ?? 0)}, stored in profiles ${n(storedSizes[id] ?? 0)}`
    );
  });
  return [
    `activation feed: ${n(delivery.delivered)} events delivered, ${n(delivery.unique)} distinct by id ` +
      `(${n(delivery.delivered - delivery.unique)} re-emissions) → ${agree ? 'feed = index = stored membership ✓' : 'MISMATCH ✗'}`,
    ...lines,
  ].join('\n');
}
