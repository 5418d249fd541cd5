import { existsSync } from 'node:fs';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import {
  CatchUpTimeout,
  EventSourceMappingEmulator,
  InvalidEventSourceMappingConfig,
  LAMBDA_KINESIS_ESM_DEFAULTS,
  MAX_INVOCATION_PAYLOAD_BYTES,
  type EventSourceMappingEmulatorOptions,
  type EventSourceMappingProgress,
  type KinesisEventSourceMappingConfig,
  type OnFailureInvocationRecord,
  laneOfPartitionKey,
} from '../../../infra/local/event-source-mapping';

const ON_FAILURE_BUCKET = 'esm-on-failure';
const POLL_INTERVAL_MS = 20;

let cloud: LocalCloud;
const running: EventSourceMappingEmulator[] = [];
let streamCounter = 0;

beforeAll(async () => {
  cloud = await startLocalCloud();
  await cloud.createBucket(ON_FAILURE_BUCKET);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((mapping) => mapping.stop()));
});

afterAll(async () => {
  await cloud.stop();
});

interface TestStream {
  name: string;
  arn: string;
}

async function newStream(shardCount = 1): Promise<TestStream> {
  streamCounter += 1;
  const name = `esm-test-${streamCounter}`;
  return { name, arn: await cloud.createStream(name, shardCount) };
}

/** Puts records in one PutRecords call (which keeps their order per shard); returns the sequence numbers. */
async function put(stream: TestStream, records: Array<{ data: string; key?: string }>): Promise<string[]> {
  const response = await cloud.clients.kinesis.send(
    new PutRecordsCommand({
      StreamName: stream.name,
      Records: records.map(({ data, key }) => ({ Data: Buffer.from(data), PartitionKey: key ?? 'key' })),
    }),
  );
  return (response.Records ?? []).map((record) => record.SequenceNumber ?? '');
}

function mapping(
  stream: TestStream,
  config: Partial<KinesisEventSourceMappingConfig>,
  invoke: (event: KinesisStreamEvent) => Promise<unknown>,
  options: Partial<EventSourceMappingEmulatorOptions> = {},
): EventSourceMappingEmulator {
  const emulator = new EventSourceMappingEmulator({
    config: { ...LAMBDA_KINESIS_ESM_DEFAULTS, startingPosition: 'TRIM_HORIZON', ...config },
    kinesis: cloud.clients.kinesis,
    s3: cloud.clients.s3,
    streamName: stream.name,
    streamArn: stream.arn,
    functionName: 'test-function',
    invoke,
    pollIntervalMs: POLL_INTERVAL_MS,
    ...options,
  });
  running.push(emulator);
  return emulator;
}

/** Resolves with the first progress notification of `esm` that matches; subscribe before acting. */
function nextProgress(
  esm: EventSourceMappingEmulator,
  matches: (progress: EventSourceMappingProgress) => boolean,
): Promise<EventSourceMappingProgress> {
  return new Promise((resolve) => {
    const unsubscribe = esm.subscribe((progress) => {
      if (!matches(progress)) return;
      unsubscribe();
      resolve(progress);
    });
  });
}

/** A function that records the decoded data of every batch it receives. */
function recordingFunction(behaviour: (data: string[], call: number) => unknown = () => undefined) {
  const batches: string[][] = [];
  const invoke = async (event: KinesisStreamEvent): Promise<unknown> => {
    const data = event.Records.map(decode);
    batches.push(data);
    return behaviour(data, batches.length);
  };
  return { batches, invoke };
}

function decode(record: KinesisStreamRecord): string {
  return Buffer.from(record.kinesis.data, 'base64').toString('utf8');
}

async function onFailureRecords(
  emulator: EventSourceMappingEmulator,
): Promise<Array<{ key: string; record: OnFailureInvocationRecord }>> {
  const listed = await cloud.clients.s3.send(
    new ListObjectsV2Command({ Bucket: ON_FAILURE_BUCKET, Prefix: `aws/lambda/${emulator.mappingUuid}/` }),
  );
  const keys = (listed.Contents ?? []).map((object) => object.Key ?? '');
  return Promise.all(
    keys.map(async (key) => {
      const object = await cloud.clients.s3.send(
        new GetObjectCommand({ Bucket: ON_FAILURE_BUCKET, Key: key }),
      );
      return {
        key,
        record: JSON.parse(await (object.Body?.transformToString() ?? '')) as OnFailureInvocationRecord,
      };
    }),
  );
}

function payloadData(record: OnFailureInvocationRecord): string[] {
  return (JSON.parse(record.payload) as KinesisStreamEvent).Records.map(decode);
}

const range = (count: number, prefix = 'r'): string[] =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}`);

/**
 * Puts 25 records for each of 8 keys, interleaved, in one call; `record` notes a delivered record's
 * index under its key in `seen`, for checking each key's order.
 */
async function putKeyedRecords(stream: TestStream) {
  const keys = range(8, 'user-');
  const perKey = 25;
  await put(
    stream,
    range(perKey, '').flatMap((index) =>
      keys.map((key) => ({ key, data: JSON.stringify({ key, index: Number(index) }) })),
    ),
  );
  const seen = new Map<string, number[]>();
  const record = (delivered: KinesisStreamRecord): void => {
    const { key, index } = JSON.parse(decode(delivered)) as { key: string; index: number };
    seen.set(key, [...(seen.get(key) ?? []), index]);
  };
  return { keys, perKey, seen, record };
}

describe('EventSourceMappingEmulator', () => {
  it('invokes batches of at most batchSize records', async () => {
    // Prepare
    const stream = await newStream();
    await put(
      stream,
      range(25).map((data) => ({ data })),
    );
    const fn = recordingFunction();
    const esm = mapping(stream, { batchSize: 10 }, fn.invoke);

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess
    expect(fn.batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(fn.batches.flat()).toEqual(range(25));
    expect(esm.stats).toMatchObject({ invocations: 3, recordsDelivered: 25, recordsCheckpointed: 25 });
  });

  it('waits for the batching window to fill a batch', async () => {
    // Prepare: the window closes when the injected clock says so, not after some wall time
    const stream = await newStream();
    const fn = recordingFunction();
    let clockMs = Date.now();
    const esm = mapping(stream, { batchSize: 100, maximumBatchingWindowInSeconds: 300 }, fn.invoke, {
      now: () => clockMs,
    });
    await esm.start();
    const buffered = (count: number) =>
      nextProgress(esm, (p) => p.type === 'records-read' && p.buffered === count);

    // Act
    const firstRead = buffered(3);
    await put(
      stream,
      range(3, 'a').map((data) => ({ data })),
    );
    await firstRead;
    const secondRead = buffered(6);
    await put(
      stream,
      range(3, 'b').map((data) => ({ data })),
    );
    await secondRead;
    const batchesWithinWindow = fn.batches.length;
    clockMs += 300_000;
    await esm.waitUntilCaughtUp();

    // Assess
    expect(batchesWithinWindow).toBe(0);
    expect(fn.batches).toEqual([[...range(3, 'a'), ...range(3, 'b')]]);
  });

  it('keeps per-key order, one batch in flight per shard, shards concurrently', async () => {
    // Prepare
    const stream = await newStream(4);
    const { keys, perKey, seen, record } = await putKeyedRecords(stream);
    const inFlightPerShard = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    let maxInFlightPerShard = 0;
    // Every invocation waits until two run at once: mappings that polled shards one after another
    // would never get there and time out catching up.
    let openGate = (): void => undefined;
    const twoInFlight = new Promise<void>((resolve) => (openGate = resolve));
    const invoke = async (event: KinesisStreamEvent): Promise<void> => {
      const shards = new Set(event.Records.map((record) => record.eventID.split(':')[0] ?? ''));
      expect(shards.size).toBe(1);
      const [shardId] = [...shards] as [string];
      inFlightPerShard.set(shardId, (inFlightPerShard.get(shardId) ?? 0) + 1);
      maxInFlightPerShard = Math.max(maxInFlightPerShard, inFlightPerShard.get(shardId) ?? 0);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      if (inFlight >= 2) openGate();
      await twoInFlight;
      for (const r of event.Records) record(r);
      inFlight -= 1;
      inFlightPerShard.set(shardId, (inFlightPerShard.get(shardId) ?? 1) - 1);
    };
    const esm = mapping(stream, { batchSize: 7 }, invoke);

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp({ timeoutMs: 10_000 });

    // Assess
    for (const key of keys) expect(seen.get(key)).toEqual(range(perKey, '').map(Number));
    expect(maxInFlightPerShard).toBe(1);
    expect(maxInFlight).toBeGreaterThan(1);
  });

  it('with a parallelization factor, runs batches of one shard concurrently, never one key in two at once, each key in order', async () => {
    // Prepare
    const stream = await newStream(1);
    const { keys, perKey, seen, record } = await putKeyedRecords(stream);
    const keysInFlight = new Set<string>();
    let overlaps = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    // The first invocations wait until two run at once: one batch per shard at a time never gets there.
    let openGate = (): void => undefined;
    const twoInFlight = new Promise<void>((resolve) => (openGate = resolve));
    const invoke = async (event: KinesisStreamEvent): Promise<void> => {
      const batchKeys = new Set(event.Records.map((record) => record.kinesis.partitionKey));
      for (const key of batchKeys) if (keysInFlight.has(key)) overlaps += 1;
      for (const key of batchKeys) keysInFlight.add(key);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      if (inFlight >= 2) openGate();
      await twoInFlight;
      await new Promise((resolve) => setImmediate(resolve));
      for (const r of event.Records) record(r);
      for (const key of batchKeys) keysInFlight.delete(key);
      inFlight -= 1;
    };
    const esm = mapping(stream, { batchSize: 7, parallelizationFactor: 4 }, invoke);

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp({ timeoutMs: 10_000 });

    // Assess
    for (const key of keys) expect(seen.get(key)).toEqual(range(perKey, '').map(Number));
    expect(overlaps).toBe(0);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(esm.stats.recordsCheckpointed).toBe(keys.length * perKey);
  });

  it('with a parallelization factor, checkpoints before the oldest unfinished record: a restart redelivers what other lanes finished after it', async () => {
    // Prepare: two keys in different lanes; the function keeps failing one key's batch
    const keys = range(20, 'key-');
    const blocked = keys.find((key) => laneOfPartitionKey(key, 2) === 0)!;
    const free = keys.find((key) => laneOfPartitionKey(key, 2) === 1)!;
    const stream = await newStream(1);
    await put(
      stream,
      range(3, '').flatMap((i) => [
        { key: blocked, data: `blocked-${i}` },
        { key: free, data: `free-${i}` },
      ]),
    );
    let healed = false;
    const fn = recordingFunction((data) => {
      if (!healed && data.some((d) => d.startsWith('blocked'))) throw new Error('still failing');
    });
    const esm = mapping(stream, { batchSize: 10, parallelizationFactor: 2 }, fn.invoke);
    const freeDone = nextProgress(esm, (p) => p.type === 'batch-succeeded');
    const failed = nextProgress(esm, (p) => p.type === 'batch-failed');

    // Act: the free lane finishes while the blocked one retries; stop, heal the function, restart
    await esm.start();
    await Promise.all([freeDone, failed]);
    await esm.stop();
    const beforeRestart = fn.batches.length;
    healed = true;
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess: before the restart the free key went through once; after it, both keys from the start
    const before = fn.batches.slice(0, beforeRestart);
    expect(before.filter((b) => b[0]!.startsWith('free'))).toEqual([range(3, 'free-')]);
    expect(before.filter((b) => b[0]!.startsWith('blocked')).length).toBeGreaterThan(0);
    const after = fn.batches.slice(beforeRestart);
    expect(after).toHaveLength(2);
    expect(after).toEqual(expect.arrayContaining([range(3, 'blocked-'), range(3, 'free-')]));
  });

  it('caps a batch at the 6 MB invocation payload', async () => {
    // Prepare
    const stream = await newStream();
    const recordBytes = 900 * 1024; // about 1.2 MB once base64-encoded in the event
    for (const index of range(8, '')) {
      await cloud.clients.kinesis.send(
        new PutRecordCommand({
          StreamName: stream.name,
          PartitionKey: 'key',
          Data: Buffer.alloc(recordBytes, index),
        }),
      );
    }
    const sizes: number[] = [];
    const esm = mapping(stream, { batchSize: 100 }, async (event) => {
      sizes.push(Buffer.byteLength(JSON.stringify(event)));
    });

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess
    expect(sizes).toHaveLength(2);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_INVOCATION_PAYLOAD_BYTES);
    expect(esm.stats.recordsCheckpointed).toBe(8);
  });

  it('sends the event shape Lambda sends', async () => {
    // Prepare
    const stream = await newStream();
    const before = Date.now();
    const [sequenceNumber] = await put(stream, [{ data: '{"hello":"world"}', key: 'user-42' }]);
    const after = Date.now();
    const fn = recordingFunction();
    const events: KinesisStreamEvent[] = [];
    const esm = mapping(stream, {}, async (event) => {
      events.push(event);
      return fn.invoke(event);
    });

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess
    expect(events).toHaveLength(1);
    const record = events[0]?.Records[0] as KinesisStreamRecord;
    expect(record).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'user-42',
        sequenceNumber,
        data: Buffer.from('{"hello":"world"}').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\//),
      awsRegion: 'us-east-1',
      eventSourceARN: stream.arn,
    });
    // Seconds with a fraction, like Lambda's; kinesalite stamps arrival in whole milliseconds.
    expect(record.kinesis.approximateArrivalTimestamp).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(record.kinesis.approximateArrivalTimestamp).toBeLessThanOrEqual(after / 1000 + 1);
    expect(fn.batches).toEqual([['{"hello":"world"}']]);
  });

  it('retries a failing batch until the function succeeds', async () => {
    // Prepare
    const stream = await newStream();
    await put(
      stream,
      range(4).map((data) => ({ data })),
    );
    const fn = recordingFunction((_, call) => {
      if (call <= 2) throw new Error(`transient failure ${call}`);
    });
    const esm = mapping(stream, { maximumRetryAttempts: -1 }, fn.invoke);

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess
    expect(fn.batches).toEqual([range(4), range(4), range(4)]);
    expect(esm.stats).toMatchObject({
      functionErrors: 2,
      retries: 2,
      recordsCheckpointed: 4,
      recordsDiscarded: 0,
    });
  });

  it('sends the batch to the on-failure bucket once retries are exhausted, then moves on', async () => {
    // Prepare
    const stream = await newStream();
    const sequenceNumbers = await put(
      stream,
      range(3).map((data) => ({ data })),
    );
    const fn = recordingFunction((data) => {
      if (data.includes('r0')) throw new Error('permanent failure');
    });
    const esm = mapping(
      stream,
      { maximumRetryAttempts: 2, onFailure: { bucket: ON_FAILURE_BUCKET } },
      fn.invoke,
    );
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Act
    await put(stream, [{ data: 'after' }]);
    await esm.waitUntilCaughtUp();

    // Assess
    expect(fn.batches).toEqual([range(3), range(3), range(3), ['after']]);
    const failures = await onFailureRecords(esm);
    expect(failures).toHaveLength(1);
    const { key, record } = failures[0] as { key: string; record: OnFailureInvocationRecord };
    expect(key).toMatch(
      new RegExp(
        `^aws/lambda/${esm.mappingUuid}/shardId-000000000000/\\d{4}/\\d{2}/\\d{2}/\\d{4}-\\d{2}-\\d{2}T\\d{2}\\.\\d{2}\\.\\d{2}-[0-9a-f-]{36}$`,
      ),
    );
    expect(record).toMatchObject({
      requestContext: {
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test-function',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: sequenceNumbers[0],
        endSequenceNumber: sequenceNumbers[2],
        batchSize: 3,
        streamArn: stream.arn,
      },
    });
    expect(payloadData(record)).toEqual(range(3));
    expect(esm.stats).toMatchObject({
      retries: 2,
      recordsDiscarded: 3,
      recordsSentToOnFailure: 3,
      recordsCheckpointed: 1,
    });
  });

  it('bisects a failing batch so only the poison record goes to the on-failure bucket', async () => {
    // Prepare
    const stream = await newStream();
    const data = range(8);
    data[5] = 'poison';
    await put(
      stream,
      data.map((item) => ({ data: item })),
    );
    const fn = recordingFunction((batch) => {
      if (batch.includes('poison')) throw new Error('poison record');
    });
    const esm = mapping(
      stream,
      { bisectBatchOnFunctionError: true, maximumRetryAttempts: 1, onFailure: { bucket: ON_FAILURE_BUCKET } },
      fn.invoke,
    );

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess
    const succeeded = fn.batches.filter((batch) => !batch.includes('poison')).flat();
    expect(succeeded).toEqual(data.filter((item) => item !== 'poison'));
    // 8 -> 4 + 4 -> 2 + 2 -> 1 + 1: the three splits leave the single retry for the poison record itself.
    expect(fn.batches.filter((batch) => batch.join() === 'poison')).toHaveLength(2);
    const failures = await onFailureRecords(esm);
    expect(failures.map(({ record }) => payloadData(record))).toEqual([['poison']]);
    expect(failures[0]?.record.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted' });
    expect(esm.stats).toMatchObject({
      bisections: 3,
      retries: 1,
      recordsCheckpointed: 7,
      recordsDiscarded: 1,
    });
  });

  it('checkpoints before the lowest reported item failure and redelivers every later record', async () => {
    // Prepare
    const stream = await newStream();
    const sequenceNumbers = await put(
      stream,
      range(6).map((data) => ({ data })),
    );
    const fn = recordingFunction((_, call) =>
      call === 1
        ? {
            batchItemFailures: [
              { itemIdentifier: sequenceNumbers[4] },
              { itemIdentifier: sequenceNumbers[2] },
            ],
          }
        : { batchItemFailures: [] },
    );
    const esm = mapping(stream, { reportBatchItemFailures: true }, fn.invoke);

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess
    expect(fn.batches).toEqual([range(6), range(6).slice(2)]);
    expect(esm.stats).toMatchObject({
      partialFailures: 1,
      retries: 1,
      recordsCheckpointed: 6,
      functionErrors: 0,
    });
  });

  it.each([
    ['an empty', { itemIdentifier: '' }],
    ['a null', { itemIdentifier: null }],
    ['a missing', { id: 'wrong key name' }],
    ['an unknown', { itemIdentifier: '12345' }],
  ])('fails the whole batch on %s itemIdentifier', async (_, failure) => {
    // Prepare
    const stream = await newStream();
    await put(
      stream,
      range(4).map((data) => ({ data })),
    );
    const fn = recordingFunction((__, call) => (call === 1 ? { batchItemFailures: [failure] } : null));
    const esm = mapping(stream, { reportBatchItemFailures: true }, fn.invoke);

    // Act
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess
    expect(fn.batches).toEqual([range(4), range(4)]);
    expect(esm.stats).toMatchObject({
      functionErrors: 1,
      retries: 1,
      partialFailures: 0,
      recordsCheckpointed: 4,
    });
  });

  it('discards records older than maximumRecordAgeInSeconds instead of retrying them', async () => {
    // Prepare
    const stream = await newStream();
    const sequenceNumbers = await put(
      stream,
      range(3, 'stale').map((data) => ({ data })),
    );
    let clockOffsetMs = 0;
    const fn = recordingFunction((batch) => {
      if (batch.some((item) => item.startsWith('stale'))) {
        // The records age past the limit while the shard is blocked on them.
        clockOffsetMs = 120_000;
        throw new Error('blocked');
      }
    });
    const esm = mapping(
      stream,
      { maximumRecordAgeInSeconds: 60, maximumRetryAttempts: -1, onFailure: { bucket: ON_FAILURE_BUCKET } },
      fn.invoke,
      { now: () => Date.now() + clockOffsetMs },
    );
    esm.subscribe((progress) => {
      if (progress.type === 'records-discarded') clockOffsetMs = 0;
    });
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Act
    await put(stream, [{ data: 'fresh' }]);
    await esm.waitUntilCaughtUp();

    // Assess
    expect(fn.batches).toEqual([range(3, 'stale'), ['fresh']]);
    const failures = await onFailureRecords(esm);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.record).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded', approximateInvokeCount: 1 },
      KinesisBatchInfo: {
        startSequenceNumber: sequenceNumbers[0],
        endSequenceNumber: sequenceNumbers[2],
        batchSize: 3,
      },
    });
    expect(esm.stats).toMatchObject({
      recordsDiscarded: 3,
      recordsSentToOnFailure: 3,
      recordsCheckpointed: 1,
    });
  });

  it('reports the lagging shard when it cannot catch up in time', async () => {
    // Prepare
    const stream = await newStream();
    await put(stream, [{ data: 'blocks the shard' }]);
    const esm = mapping(stream, { maximumRetryAttempts: -1 }, async () => {
      throw new Error('always failing');
    });
    const retried = nextProgress(esm, (p) => p.type === 'batch-invoked' && p.invokeCount === 2);
    await esm.start();
    await retried;

    // Act
    const caughtUp = esm.waitUntilCaughtUp({ timeoutMs: 300 });

    // Assess
    await expect(caughtUp).rejects.toBeInstanceOf(CatchUpTimeout);
    await expect(caughtUp).rejects.toMatchObject({ laggingShards: ['shardId-000000000000'] });
    expect(esm.stats.retries).toBeGreaterThan(0);
  });

  it('stops cleanly: waits for the batch in flight, invokes nothing more, and resumes after its checkpoint', async () => {
    // Prepare
    const stream = await newStream();
    await put(
      stream,
      range(6).map((data) => ({ data })),
    );
    let handlerFinished = false;
    let releaseHandler = (): void => undefined;
    const fn = recordingFunction(async (_, call) => {
      if (call === 1) {
        await new Promise<void>((resolve) => (releaseHandler = resolve));
        handlerFinished = true;
      }
    });
    const esm = mapping(stream, { batchSize: 3 }, fn.invoke);
    const firstInvocation = new Promise<void>((resolve) =>
      esm.subscribe((p) => p.type === 'batch-invoked' && resolve()),
    );
    await esm.start();
    await firstInvocation;

    // Act
    const stopped = esm.stop();
    // Released a turn of the event loop later: a stop() that did not wait for the invocation in
    // flight would have resolved by then (within microtasks).
    setImmediate(releaseHandler);
    await stopped;
    const handlerFinishedAtStop = handlerFinished;
    await esm.stop();
    // stop() resolves once every shard's poll loop has exited, so nothing can be invoked from here on.
    const batchesWhileStopped = fn.batches.length;
    await esm.start();
    await esm.waitUntilCaughtUp();

    // Assess
    expect(handlerFinishedAtStop).toBe(true);
    expect(batchesWhileStopped).toBe(1);
    expect(fn.batches).toEqual([range(3), range(6).slice(3)]);
    expect(esm.stats.recordsCheckpointed).toBe(6);
  });
  it.each([
    ['batchSize', 0],
    ['maximumBatchingWindowInSeconds', 301],
    ['maximumRetryAttempts', -2],
    ['maximumRecordAgeInSeconds', 30],
    ['parallelizationFactor', 11],
  ] as const)('rejects %s = %d as Lambda does', async (field, value) => {
    // Prepare
    const stream = {
      name: 'never-created',
      arn: 'arn:aws:kinesis:us-east-1:000000000000:stream/never-created',
    };

    // Act
    const create = (): EventSourceMappingEmulator =>
      mapping(stream, { [field]: value }, async () => undefined);

    // Assess
    expect(create).toThrow(InvalidEventSourceMappingConfig);
    expect(create).toThrow(expect.objectContaining({ field, value }));
  });
});

describe('startLocalCloud', () => {
  it('points clients built from its env alone at the emulators, and stop() removes its temporary directory', async () => {
    // Prepare
    const local = await startLocalCloud();
    const savedEnv = { ...process.env };
    Object.assign(process.env, local.env);
    const s3 = new S3Client({});
    const dynamodb = new DynamoDBClient({});

    try {
      // Act
      await local.createBucket('env-bucket');
      await s3.send(new PutObjectCommand({ Bucket: 'env-bucket', Key: 'k', Body: 'v' }));
      await dynamodb.send(
        new CreateTableCommand({
          TableName: 'env-table',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'env-bucket' }));
      const tables = await dynamodb.send(new ListTablesCommand({}));
      const directoryWhileRunning = existsSync(local.s3Directory);
      await local.stop();
      await local.stop();

      // Assess
      expect(listed.Contents?.map((object) => object.Key)).toEqual(['k']);
      expect(tables.TableNames).toEqual(['env-table']);
      expect(directoryWhileRunning).toBe(true);
      expect(existsSync(local.s3Directory)).toBe(false);
    } finally {
      process.env = savedEnv;
      s3.destroy();
      dynamodb.destroy();
      await local.stop();
    }
  });
});
