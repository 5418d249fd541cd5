import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';

import {
  createProducerKinesisClient,
  EventProducer,
  kinesisPutRecordsPort,
} from '../../../infra/client/event-producer';
import type { EventInput } from '../../../shared/contract/event-contract';
import type { PutRecordsPort } from '../../../infra/client/send-records';
import { injectFaults } from '../../../infra/workload/fault-injection';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';

const NOW = Date.UTC(2026, 10, 27);
const decoder = new TextDecoder();
let server: Server;
let kinesis: KinesisClient;
let streamNo = 0;

beforeAll(async () => {
  server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kinesis = createProducerKinesisClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  kinesis.destroy();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

async function createStream(shards: number): Promise<string> {
  const name = `producer-test-${++streamNo}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

/** Every record of the stream, shard by shard, in each shard's order. */
async function readStream(
  streamName: string,
): Promise<Map<string, { partitionKey: string; text: string }[]>> {
  const { StreamDescription } = await kinesis.send(new DescribeStreamCommand({ StreamName: streamName }));
  const byShard = new Map<string, { partitionKey: string; text: string }[]>();
  for (const shard of StreamDescription!.Shards!) {
    const records: { partitionKey: string; text: string }[] = [];
    let { ShardIterator: iterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    for (;;) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator!, Limit: 10_000 }));
      if (page.Records!.length === 0) break;
      records.push(
        ...page.Records!.map((r) => ({ partitionKey: r.PartitionKey!, text: decoder.decode(r.Data!) })),
      );
      iterator = page.NextShardIterator;
    }
    byShard.set(shard.ShardId!, records);
  }
  return byShard;
}

function groupByKey<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
}

const workload = generateWorkload({ seed: 21, users: 60, days: 2, startMs: Date.UTC(2026, 9, 1) });
const keyOf = (e: EventInput) => e.userId ?? e.anonymousId!;

describe('EventProducer against kinesalite', () => {
  it('publishes valid events keyed by user, in order per key, byte for byte, and rejects invalid ones unsent', async () => {
    // Prepare
    const streamName = await createStream(2);
    const producer = new EventProducer({ kinesis, streamName, nowMs: () => NOW });
    const invalid: EventInput = { ...workload.events[0]!, eventId: 'bad-1', type: 'purchase', revenue: 1 };
    // Act
    const result = await producer.send([...workload.events, invalid]);
    const byShard = await readStream(streamName);
    // Assess
    expect(result.sent).toBe(workload.events.length);
    expect(result.failed).toEqual([]);
    expect(result.rejected.map((r) => [r.event.eventId, r.violation.field])).toEqual([['bad-1', 'orderId']]);
    expect([...byShard.values()].every((records) => records.length > 0)).toBe(true);
    const stored = [...byShard.values()].flat();
    expect(stored).toHaveLength(workload.events.length);
    const sentByKey = groupByKey(workload.events, keyOf);
    const storedByKey = groupByKey(stored, (r) => r.partitionKey);
    expect(storedByKey.size).toBe(sentByKey.size);
    for (const [key, events] of sentByKey) {
      expect(storedByKey.get(key)!.map((r) => r.text)).toEqual(events.map((e) => JSON.stringify(e)));
    }
  });

  it('publishes injected faulty records as they are with sendRaw', async () => {
    // Prepare
    const streamName = await createStream(2);
    const producer = new EventProducer({ kinesis, streamName });
    const { records, manifest } = injectFaults(workload.events, { nowMs: NOW, malformedRate: 0.05 });
    // Act
    const result = await producer.sendRaw(records);
    const stored = [...(await readStream(streamName)).values()].flat();
    // Assess
    expect(result).toMatchObject({ sent: manifest.records, failed: [], rejected: [] });
    expect(stored.map((r) => r.text).sort()).toEqual(records.map((r) => decoder.decode(r.data)).sort());
  });

  it('resends only throttled entries: each event lands exactly once', async () => {
    // kinesalite never fails single entries, so a port wrapping the real one throttles every third
    // entry of the first call (without sending it), as Kinesis does under a hot shard.
    // Prepare
    const streamName = await createStream(2);
    const real = kinesisPutRecordsPort(kinesis, streamName);
    const callSizes: number[] = [];
    const throttling: PutRecordsPort = async (records) => {
      callSizes.push(records.length);
      if (callSizes.length > 1) return real(records);
      const accepted = records.filter((_, i) => i % 3 !== 0);
      const results = [...(await real(accepted))];
      return records.map((_, i) =>
        i % 3 === 0
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
          : results.shift()!,
      );
    };
    const events = workload.events.slice(0, 90);
    const producer = new EventProducer({ putRecords: throttling, nowMs: () => NOW, baseDelayMs: 1 });
    // Act
    const result = await producer.send(events);
    const stored = [...(await readStream(streamName)).values()].flat();
    // Assess
    expect(callSizes).toEqual([90, 30]);
    expect(result).toMatchObject({ sent: 90, failed: [], calls: 2 });
    expect(stored.map((r) => JSON.parse(r.text).eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
  });

  it('reports every record as failed, with the error, when the stream does not exist', async () => {
    // Prepare
    const producer = new EventProducer({ kinesis, streamName: 'no-such-stream', nowMs: () => NOW });
    // Act
    const result = await producer.send(workload.events.slice(0, 3));
    // Assess
    expect(result.sent).toBe(0);
    expect(result.failed.map((f) => f.errorCode)).toEqual(Array(3).fill('ResourceNotFoundException'));
    expect(result.failed[0]!.record.event).toBe(workload.events[0]);
  });
});
