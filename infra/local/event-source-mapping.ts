/**
 * Emulates Lambda's Kinesis event source mapping (ESM) for one function on one stream, against any
 * Kinesis endpoint (kinesalite locally). Pure platform emulation: it knows nothing about the events.
 *
 * Behaviour follows the AWS documentation (Lambda developer guide: "Using Lambda with Kinesis",
 * "Configuring partial batch response", "Retain discarded batch records"):
 * - One poller per shard, shards concurrently; within a shard one batch in flight and strict order.
 * - A batch is invoked when `batchSize` records are buffered, when the batching window has elapsed
 *   since the first buffered record, or, with a window of 0, as soon as a read returned records. The
 *   invocation payload stays under 6 MB.
 * - A function error retries the same batch until it succeeds, `maximumRetryAttempts` is used up or its
 *   records pass `maximumRecordAgeInSeconds`. With `bisectBatchOnFunctionError` a failing batch is split
 *   in two and each half retried, in order; splitting does not use up retries.
 * - With `reportBatchItemFailures` Lambda checkpoints before the LOWEST reported sequence number and
 *   redelivers everything from there, successful later records included; an empty, null, missing or
 *   unknown `itemIdentifier` fails the whole batch. A redelivery counts as a retry.
 * - Discarded records go to the on-failure S3 bucket as the whole invocation record (payload included,
 *   as an escaped JSON string) under `aws/lambda/<ESM-UUID>/<shardId>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<UUID>`.
 *
 * Local differences, on purpose: idle shards are polled every `pollIntervalMs` (Lambda: about once a
 * second) and retries wait `pollIntervalMs` instead of Lambda's backoff, so local runs stay fast.
 * Not emulated: ParallelizationFactor > 1 (accepted, run as 1), tumbling windows, filters, resharding order (parent shards
 * before children), enhanced fan-out, throttling.
 */
import { kinesisStreamRecordOf } from './kinesis-stream-event';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** Starting positions the emulator supports (AT_TIMESTAMP is not used by this project). */
export const STARTING_POSITIONS = ['TRIM_HORIZON', 'LATEST'] as const;
/** One of {@link STARTING_POSITIONS}. */
export type StartingPosition = (typeof STARTING_POSITIONS)[number];

/** Why records were discarded; the `condition` Lambda writes into the on-failure invocation record. */
export const FAILURE_CONDITIONS = ['RetryAttemptsExhausted', 'RecordAgeExceeded'] as const;
/** One of {@link FAILURE_CONDITIONS}. */
export type FailureCondition = (typeof FAILURE_CONDITIONS)[number];

/** Lambda's synchronous invocation payload limit, which also caps a stream batch. */
export const MAX_INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Local idle poll interval; Lambda polls an idle shard about once per second. */
export const DEFAULT_POLL_INTERVAL_MS = 200;
/** Default for {@link EventSourceMappingEmulator.waitUntilCaughtUp}. */
export const DEFAULT_CATCH_UP_TIMEOUT_MS = 30_000;

/**
 * The event source mapping settings, the same fields the CloudFormation template holds
 * (`AWS::Lambda::EventSourceMapping`), in camelCase.
 */
export interface KinesisEventSourceMappingConfig {
  /** Records per batch, 1–10,000. @default 100 */
  batchSize: number;
  /** Seconds to gather records before invoking, 0–300. @default 0 */
  maximumBatchingWindowInSeconds: number;
  /** Split a failing batch in two and retry the halves. @default false */
  bisectBatchOnFunctionError: boolean;
  /** Retries of a failing batch, -1 (until the records expire) or 0–10,000. @default -1 */
  maximumRetryAttempts: number;
  /** Discard records older than this, -1 (never) or 60–604,800. @default -1 */
  maximumRecordAgeInSeconds: number;
  /** `FunctionResponseTypes: ['ReportBatchItemFailures']`. @default false */
  reportBatchItemFailures: boolean;
  /** Where a shard is read from when nothing is checkpointed yet. */
  startingPosition: StartingPosition;
  /**
   * Concurrent batches per shard, 1–10. Validated but processed as 1 locally: one batch in flight per
   * shard keeps the per-key order Lambda guarantees, only with less throughput.
   * @default 1
   */
  parallelizationFactor?: number;
  /** S3 on-failure destination; without it discarded records are dropped. @default undefined */
  onFailure?: { bucket: string };
}

/** Lambda's defaults for every optional setting of {@link KinesisEventSourceMappingConfig}. */
export const LAMBDA_KINESIS_ESM_DEFAULTS = {
  batchSize: 100,
  maximumBatchingWindowInSeconds: 0,
  bisectBatchOnFunctionError: false,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
  reportBatchItemFailures: false,
} as const satisfies Omit<KinesisEventSourceMappingConfig, 'startingPosition' | 'onFailure'>;

/** Options of {@link EventSourceMappingEmulator}. */
export interface EventSourceMappingEmulatorOptions {
  config: KinesisEventSourceMappingConfig;
  /** Client for the stream (HTTP/1.1 handler for kinesalite). */
  kinesis: KinesisClient;
  /** Client for the on-failure bucket; required when `config.onFailure` is set. @default undefined */
  s3?: S3Client;
  streamName: string;
  streamArn: string;
  functionName: string;
  /** The function: the real handler, called with the exact event Lambda would send. */
  invoke: (event: KinesisStreamEvent) => Promise<unknown>;
  /** Idle poll interval and retry delay in ms. @default DEFAULT_POLL_INTERVAL_MS (200) */
  pollIntervalMs?: number;
  /** Wall clock in epoch ms used for record age and on-failure timestamps. @default Date.now */
  now?: () => number;
  /** Region in ARNs and events. @default 'us-east-1' */
  region?: string;
  /** Account in ARNs. @default '000000000000' */
  accountId?: string;
  /** The mapping's UUID (on-failure object keys). @default a random UUID */
  uuid?: string;
}

/** Counters since construction. */
export interface EventSourceMappingStats {
  /** Records handed to the function, redeliveries included. */
  recordsDelivered: number;
  /** Records the function acknowledged (the checkpoint moved past them after an invocation). */
  recordsCheckpointed: number;
  invocations: number;
  /** Invocations that counted as a whole-batch failure (thrown error or invalid item failure). */
  functionErrors: number;
  /** Invocations that reported valid batch item failures. */
  partialFailures: number;
  retries: number;
  bisections: number;
  /** Records skipped after retries ran out or they got too old. */
  recordsDiscarded: number;
  /** Discarded records written to the on-failure bucket. */
  recordsSentToOnFailure: number;
}

/** Progress notifications, one per step of the mapping. */
export type EventSourceMappingProgress =
  | {
      type: 'batch-invoked';
      shardId: string;
      records: number;
      firstSequenceNumber: string;
      invokeCount: number;
    }
  | { type: 'batch-succeeded'; shardId: string; records: number }
  | { type: 'batch-partially-failed'; shardId: string; checkpointed: number; redeliverFrom: string }
  | { type: 'batch-failed'; shardId: string; records: number; error: unknown }
  | { type: 'batch-bisected'; shardId: string; sizes: [number, number] }
  | {
      type: 'records-discarded';
      shardId: string;
      records: number;
      condition: FailureCondition;
      objectKey?: string;
    }
  | { type: 'poll-failed'; shardId: string; error: unknown }
  | { type: 'on-failure-write-failed'; shardId: string; error: unknown };

/** What Lambda writes to an S3 on-failure destination for a Kinesis source. */
export interface OnFailureInvocationRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  /** Absent when the records were discarded before any invocation. */
  responseContext?: { statusCode: number; executedVersion: string; functionError?: string };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
  /** The invocation event (`{ Records: [...] }`) as a JSON string. */
  payload: string;
}

/** A setting outside the range Lambda accepts. */
export class InvalidEventSourceMappingConfig extends Error {
  override readonly name = 'InvalidEventSourceMappingConfig';
  constructor(
    readonly field: string,
    readonly rule: string,
    readonly value: unknown,
  ) {
    super(`${field}: ${rule} (got ${JSON.stringify(value)})`);
  }
}

/** The mapping is not running (never started, or stopped while waiting). */
export class EventSourceMappingNotRunning extends Error {
  override readonly name = 'EventSourceMappingNotRunning';
  constructor(readonly operation: string) {
    super(`${operation}: the event source mapping is not running`);
  }
}

/** Some shard did not catch up with the stream in time (typically a batch that keeps failing). */
export class CatchUpTimeout extends Error {
  override readonly name = 'CatchUpTimeout';
  constructor(
    readonly timeoutMs: number,
    readonly laggingShards: string[],
  ) {
    super(`shards ${laggingShards.join(', ')} did not catch up within ${timeoutMs} ms`);
  }
}

interface PolledRecord {
  sequenceNumber: string;
  arrivalMs: number;
  /** The record as it appears in the event. */
  entry: KinesisStreamRecord;
  /** Its share of the JSON payload. */
  bytes: number;
}

interface ShardState {
  shardId: string;
  iterator?: string;
  /** Last sequence number the mapping moved past (acknowledged or discarded). */
  checkpoint?: string;
  /** Last sequence number read, to renew an expired iterator without losing the buffer. */
  lastRead?: string;
  buffer: PolledRecord[];
  /** performance.now() when the first buffered record was read. */
  bufferedSince: number;
  /** performance.now() at the start of the latest read that found nothing and left nothing pending. */
  caughtUpAt: number;
  /** The shard is closed and read to its end. */
  ended: boolean;
  /** Its poller has delivered everything and exited (only for a closed shard). */
  finished: boolean;
}

type InvocationOutcome =
  | { kind: 'success' }
  | { kind: 'partial'; redeliverFrom: number }
  | { kind: 'error'; functionError: boolean };

const EVENT_OVERHEAD_BYTES = Buffer.byteLength(JSON.stringify({ Records: [] }));

/** Emulates one Kinesis event source mapping; see the module comment for the semantics. */
export class EventSourceMappingEmulator {
  private readonly config: KinesisEventSourceMappingConfig;
  private readonly pollIntervalMs: number;
  private readonly now: () => number;
  private readonly region: string;
  private readonly functionArn: string;
  private readonly invokeIdentityArn: string;
  private readonly uuid: string;
  private readonly shards = new Map<string, ShardState>();
  private readonly listeners = new Set<(progress: EventSourceMappingProgress) => void>();
  private readonly wakers = new Set<() => void>();
  private readonly catchUpWaiters = new Set<() => void>();
  private loops: Promise<void>[] = [];
  private running = false;
  private stopping: Promise<void> | undefined;
  private readonly counters: EventSourceMappingStats = {
    recordsDelivered: 0,
    recordsCheckpointed: 0,
    invocations: 0,
    functionErrors: 0,
    partialFailures: 0,
    retries: 0,
    bisections: 0,
    recordsDiscarded: 0,
    recordsSentToOnFailure: 0,
  };

  constructor(private readonly options: EventSourceMappingEmulatorOptions) {
    this.config = validateConfig(options.config);
    if (this.config.onFailure !== undefined && options.s3 === undefined) {
      throw new InvalidEventSourceMappingConfig(
        's3',
        'an S3 client is required for an on-failure bucket',
        undefined,
      );
    }
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.now = options.now ?? Date.now;
    this.region = options.region ?? 'us-east-1';
    const accountId = options.accountId ?? '000000000000';
    this.functionArn = `arn:aws:lambda:${this.region}:${accountId}:function:${options.functionName}`;
    this.invokeIdentityArn = `arn:aws:iam::${accountId}:role/${options.functionName}-role`;
    this.uuid = options.uuid ?? randomUUID();
  }

  /** A snapshot of the counters. */
  get stats(): EventSourceMappingStats {
    return { ...this.counters };
  }

  /** The mapping's UUID, as used in on-failure object keys. */
  get mappingUuid(): string {
    return this.uuid;
  }

  /** Registers a progress listener (it must not throw); returns the function that removes it. */
  subscribe(listener: (progress: EventSourceMappingProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Lists the shards, opens an iterator on each (from the checkpoint after a restart, else from the
   * starting position) and starts polling. Resolves once every shard has its iterator, so records put
   * afterwards are seen even with LATEST.
   */
  async start(): Promise<void> {
    if (this.running) return;
    await this.stopping;
    const { Shards: shards = [] } = await this.options.kinesis.send(
      new ListShardsCommand({ StreamName: this.options.streamName }),
    );
    for (const { ShardId: shardId } of shards) {
      if (shardId === undefined) continue;
      const shard = this.shards.get(shardId) ?? {
        shardId,
        buffer: [],
        bufferedSince: 0,
        caughtUpAt: Number.NEGATIVE_INFINITY,
        ended: false,
        finished: false,
      };
      // Records read but not acknowledged before a stop are read again, as after an ESM restart.
      shard.buffer = [];
      shard.lastRead = shard.checkpoint;
      shard.iterator = await this.openIterator(shard);
      this.shards.set(shardId, shard);
    }
    this.running = true;
    this.stopping = undefined;
    this.loops = [...this.shards.values()]
      .filter((shard) => !shard.finished)
      .map((shard) => this.pollShard(shard));
  }

  /**
   * Stops polling; an invocation in flight completes and its result is applied, but nothing is
   * retried or invoked afterwards. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      for (const wake of [...this.wakers]) wake();
      this.notifyCatchUpWaiters();
      await Promise.all(this.loops);
      this.loops = [];
    })();
    return this.stopping;
  }

  /**
   * Resolves when every shard has delivered everything that was in the stream when this was called
   * (a read started afterwards found nothing new and no batch is pending). Rejects with
   * {@link CatchUpTimeout} when a shard is still behind after `timeoutMs` (e.g. a batch retried
   * forever), or {@link EventSourceMappingNotRunning} when the mapping stops meanwhile.
   */
  waitUntilCaughtUp(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CATCH_UP_TIMEOUT_MS;
    if (!this.running) return Promise.reject(new EventSourceMappingNotRunning('waitUntilCaughtUp'));
    const since = performance.now();
    const lagging = (): string[] =>
      [...this.shards.values()]
        .filter((shard) => !shard.finished && shard.caughtUpAt < since)
        .map((shard) => shard.shardId);
    return new Promise((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        this.catchUpWaiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = (): void => {
        if (!this.running) settle(new EventSourceMappingNotRunning('waitUntilCaughtUp'));
        else if (lagging().length === 0) settle();
      };
      const timer = setTimeout(() => settle(new CatchUpTimeout(timeoutMs, lagging())), timeoutMs);
      this.catchUpWaiters.add(check);
      check();
    });
  }

  /** Same as {@link waitUntilCaughtUp}. */
  drain(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.waitUntilCaughtUp(options);
  }

  private async pollShard(shard: ShardState): Promise<void> {
    while (this.running) {
      let readNothing: boolean;
      try {
        readNothing = await this.read(shard);
      } catch (error) {
        if (error instanceof ExpiredIteratorException) {
          // The next read opens a fresh iterator after the last record read.
          shard.iterator = undefined;
        } else {
          this.emit({ type: 'poll-failed', shardId: shard.shardId, error });
        }
        await this.pause(this.pollIntervalMs);
        continue;
      }
      while (this.running && this.batchReady(shard)) await this.deliver(shard, this.takeBatch(shard), 0, 0);
      if (shard.ended && shard.buffer.length === 0) {
        shard.finished = true;
        this.notifyCatchUpWaiters();
        break;
      }
      if (!this.running) break;
      if (shard.buffer.length > 0) {
        const windowLeft =
          shard.bufferedSince + this.config.maximumBatchingWindowInSeconds * 1000 - performance.now();
        await this.pause(Math.max(0, Math.min(this.pollIntervalMs, windowLeft)));
      } else if (readNothing) {
        await this.pause(this.pollIntervalMs);
      }
    }
  }

  /** One GetRecords call; true when it found nothing. */
  private async read(shard: ShardState): Promise<boolean> {
    if (shard.iterator === undefined) shard.iterator = await this.openIterator(shard);
    const startedAt = performance.now();
    const response = await this.options.kinesis.send(
      new GetRecordsCommand({
        ShardIterator: shard.iterator,
        Limit: Math.max(1, this.config.batchSize - shard.buffer.length),
      }),
    );
    shard.iterator = response.NextShardIterator;
    const records = response.Records ?? [];
    if (records.length > 0 && shard.buffer.length === 0) shard.bufferedSince = performance.now();
    for (const record of records) {
      const polled = this.toPolledRecord(shard.shardId, record);
      shard.buffer.push(polled);
      shard.lastRead = polled.sequenceNumber;
    }
    // A closed shard (after resharding) has no next iterator once it is read to the end.
    if (response.NextShardIterator === undefined) shard.ended = true;
    if (records.length === 0 && shard.buffer.length === 0) {
      shard.caughtUpAt = startedAt;
      this.notifyCatchUpWaiters();
    }
    return records.length === 0;
  }

  private batchReady(shard: ShardState): boolean {
    const { buffer } = shard;
    if (buffer.length === 0) return false;
    const windowMs = this.config.maximumBatchingWindowInSeconds * 1000;
    return (
      windowMs === 0 ||
      shard.ended ||
      buffer.length >= this.config.batchSize ||
      bytesOf(buffer) >= MAX_INVOCATION_PAYLOAD_BYTES ||
      performance.now() - shard.bufferedSince >= windowMs
    );
  }

  private takeBatch(shard: ShardState): PolledRecord[] {
    let bytes = EVENT_OVERHEAD_BYTES;
    let count = 0;
    for (const record of shard.buffer) {
      if (count === this.config.batchSize) break;
      if (count > 0 && bytes + record.bytes > MAX_INVOCATION_PAYLOAD_BYTES) break;
      bytes += record.bytes;
      count += 1;
    }
    const batch = shard.buffer.splice(0, count);
    shard.bufferedSince = performance.now();
    return batch;
  }

  /**
   * Delivers a batch until it is acknowledged or discarded (or the mapping stops). `retriesUsed` and
   * `invokeCount` carry over into the halves of a bisected batch.
   */
  private async deliver(
    shard: ShardState,
    batch: PolledRecord[],
    retriesUsed: number,
    invokeCount: number,
  ): Promise<void> {
    let pending = batch;
    let lastOutcome: InvocationOutcome | undefined;
    while (pending.length > 0) {
      const expired = this.expiredRecords(pending);
      if (expired.length > 0) {
        await this.discard(shard, expired, 'RecordAgeExceeded', invokeCount, lastOutcome);
        pending = pending.filter((record) => !expired.includes(record));
        continue;
      }
      invokeCount += 1;
      lastOutcome = await this.invokeOnce(shard, pending, invokeCount);
      if (lastOutcome.kind === 'success') {
        this.checkpoint(shard, pending);
        return;
      }
      if (lastOutcome.kind === 'partial') {
        this.checkpoint(shard, pending.slice(0, lastOutcome.redeliverFrom));
        pending = pending.slice(lastOutcome.redeliverFrom);
      } else if (this.config.bisectBatchOnFunctionError && pending.length > 1 && this.running) {
        const half = Math.ceil(pending.length / 2);
        const [first, second] = [pending.slice(0, half), pending.slice(half)];
        this.counters.bisections += 1;
        this.emit({ type: 'batch-bisected', shardId: shard.shardId, sizes: [first.length, second.length] });
        await this.deliver(shard, first, retriesUsed, invokeCount);
        if (this.running) await this.deliver(shard, second, retriesUsed, invokeCount);
        return;
      }
      if (!this.running) return;
      const { maximumRetryAttempts } = this.config;
      if (maximumRetryAttempts !== -1 && retriesUsed >= maximumRetryAttempts) {
        await this.discard(shard, pending, 'RetryAttemptsExhausted', invokeCount, lastOutcome);
        return;
      }
      retriesUsed += 1;
      this.counters.retries += 1;
      await this.pause(this.pollIntervalMs);
      if (!this.running) return;
    }
  }

  private expiredRecords(records: PolledRecord[]): PolledRecord[] {
    const maxAgeSeconds = this.config.maximumRecordAgeInSeconds;
    if (maxAgeSeconds === -1) return [];
    const oldestAllowedMs = this.now() - maxAgeSeconds * 1000;
    return records.filter((record) => record.arrivalMs < oldestAllowedMs);
  }

  private async invokeOnce(
    shard: ShardState,
    batch: PolledRecord[],
    invokeCount: number,
  ): Promise<InvocationOutcome> {
    const first = batch[0] as PolledRecord;
    this.counters.invocations += 1;
    this.counters.recordsDelivered += batch.length;
    this.emit({
      type: 'batch-invoked',
      shardId: shard.shardId,
      records: batch.length,
      firstSequenceNumber: first.sequenceNumber,
      invokeCount,
    });
    let response: unknown;
    try {
      response = await this.options.invoke(toEvent(batch));
    } catch (error) {
      this.counters.functionErrors += 1;
      this.emit({ type: 'batch-failed', shardId: shard.shardId, records: batch.length, error });
      return { kind: 'error', functionError: true };
    }
    if (!this.config.reportBatchItemFailures) return this.succeeded(shard, batch);
    const failure = parseBatchItemFailures(response, batch);
    if (failure === 'none') return this.succeeded(shard, batch);
    if (failure === 'invalid') {
      this.counters.functionErrors += 1;
      const error = new Error('batchItemFailures holds an empty, null or unknown itemIdentifier');
      this.emit({ type: 'batch-failed', shardId: shard.shardId, records: batch.length, error });
      return { kind: 'error', functionError: false };
    }
    this.counters.partialFailures += 1;
    this.emit({
      type: 'batch-partially-failed',
      shardId: shard.shardId,
      checkpointed: failure,
      redeliverFrom: (batch[failure] as PolledRecord).sequenceNumber,
    });
    return { kind: 'partial', redeliverFrom: failure };
  }

  private succeeded(shard: ShardState, batch: PolledRecord[]): InvocationOutcome {
    this.emit({ type: 'batch-succeeded', shardId: shard.shardId, records: batch.length });
    return { kind: 'success' };
  }

  private checkpoint(shard: ShardState, acknowledged: PolledRecord[]): void {
    const last = acknowledged.at(-1);
    if (last === undefined) return;
    shard.checkpoint = last.sequenceNumber;
    this.counters.recordsCheckpointed += acknowledged.length;
  }

  private async discard(
    shard: ShardState,
    records: PolledRecord[],
    condition: FailureCondition,
    invokeCount: number,
    lastOutcome: InvocationOutcome | undefined,
  ): Promise<void> {
    shard.checkpoint = (records.at(-1) as PolledRecord).sequenceNumber;
    this.counters.recordsDiscarded += records.length;
    const { onFailure } = this.config;
    let objectKey: string | undefined;
    if (onFailure !== undefined && this.options.s3 !== undefined) {
      const failedAt = new Date(this.now());
      const invocationRecord = this.invocationRecord(
        shard,
        records,
        condition,
        invokeCount,
        lastOutcome,
        failedAt,
      );
      objectKey = onFailureObjectKey(this.uuid, shard.shardId, failedAt);
      try {
        await this.options.s3.send(
          new PutObjectCommand({
            Bucket: onFailure.bucket,
            Key: objectKey,
            Body: JSON.stringify(invocationRecord),
            ContentType: 'application/json',
          }),
        );
        this.counters.recordsSentToOnFailure += records.length;
      } catch (error) {
        // Lambda's own retries of the destination are not modelled: report and move on, as Lambda does
        // once the destination keeps failing.
        this.emit({ type: 'on-failure-write-failed', shardId: shard.shardId, error });
        objectKey = undefined;
      }
    }
    this.emit({
      type: 'records-discarded',
      shardId: shard.shardId,
      records: records.length,
      condition,
      objectKey,
    });
  }

  private invocationRecord(
    shard: ShardState,
    records: PolledRecord[],
    condition: FailureCondition,
    invokeCount: number,
    lastOutcome: InvocationOutcome | undefined,
    failedAt: Date,
  ): OnFailureInvocationRecord {
    const first = records[0] as PolledRecord;
    const last = records.at(-1) as PolledRecord;
    return {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.functionArn,
        condition,
        approximateInvokeCount: invokeCount,
      },
      ...(lastOutcome && {
        responseContext: {
          statusCode: 200,
          executedVersion: '$LATEST',
          ...(lastOutcome.kind === 'error' && lastOutcome.functionError && { functionError: 'Unhandled' }),
        },
      }),
      version: '1.0',
      timestamp: failedAt.toISOString(),
      KinesisBatchInfo: {
        shardId: shard.shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: last.sequenceNumber,
        approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.arrivalMs).toISOString(),
        batchSize: records.length,
        streamArn: this.options.streamArn,
      },
      payload: JSON.stringify(toEvent(records)),
    };
  }

  private async openIterator(shard: ShardState): Promise<string | undefined> {
    const after = shard.lastRead ?? shard.checkpoint;
    const { ShardIterator: iterator } = await this.options.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.options.streamName,
        ShardId: shard.shardId,
        ...(after === undefined
          ? { ShardIteratorType: this.config.startingPosition }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }),
      }),
    );
    return iterator;
  }

  private toPolledRecord(shardId: string, record: KinesisRecord): PolledRecord {
    const sequenceNumber = record.SequenceNumber ?? '';
    const arrivalMs = record.ApproximateArrivalTimestamp?.getTime() ?? this.now();
    const entry = kinesisStreamRecordOf(
      {
        shardId,
        sequenceNumber,
        partitionKey: record.PartitionKey ?? '',
        data: record.Data ?? new Uint8Array(),
        arrivalMs,
      },
      { streamArn: this.options.streamArn, region: this.region, invokeIdentityArn: this.invokeIdentityArn },
    );
    // +1 for the comma between records in the payload.
    return { sequenceNumber, arrivalMs, entry, bytes: Buffer.byteLength(JSON.stringify(entry)) + 1 };
  }

  /** Waits `ms`, or less when the mapping stops. */
  private pause(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private notifyCatchUpWaiters(): void {
    for (const waiter of [...this.catchUpWaiters]) waiter();
  }

  private emit(progress: EventSourceMappingProgress): void {
    for (const listener of this.listeners) listener(progress);
  }
}

/** The S3 key Lambda uses for an on-failure invocation record. */
export function onFailureObjectKey(mappingUuid: string, shardId: string, failedAt: Date): string {
  const iso = failedAt.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ, always UTC
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19).replaceAll(':', '.');
  return `aws/lambda/${mappingUuid}/${shardId}/${day.replaceAll('-', '/')}/${day}T${time}-${randomUUID()}`;
}

function toEvent(records: PolledRecord[]): KinesisStreamEvent {
  return { Records: records.map((record) => record.entry) };
}

function bytesOf(records: PolledRecord[]): number {
  return records.reduce((sum, record) => sum + record.bytes, EVENT_OVERHEAD_BYTES);
}

/**
 * Reads a ReportBatchItemFailures response: 'none' (complete success), 'invalid' (whole batch failed)
 * or the index of the lowest reported record, from where the batch is redelivered.
 */
function parseBatchItemFailures(response: unknown, batch: PolledRecord[]): 'none' | 'invalid' | number {
  if (response === null || typeof response !== 'object') return 'none';
  const failures: unknown = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return 'none';
  if (!Array.isArray(failures)) return 'invalid';
  if (failures.length === 0) return 'none';
  const positions = new Map(batch.map((record, index) => [record.sequenceNumber, index]));
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const identifier: unknown =
      failure !== null && typeof failure === 'object'
        ? (failure as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    const index = typeof identifier === 'string' ? positions.get(identifier) : undefined;
    if (index === undefined) return 'invalid';
    lowest = Math.min(lowest, index);
  }
  return lowest;
}

function validateConfig(config: KinesisEventSourceMappingConfig): KinesisEventSourceMappingConfig {
  const requireInteger = (
    field: keyof KinesisEventSourceMappingConfig,
    min: number,
    max: number,
    allowMinusOne: boolean,
  ) => {
    const value = config[field];
    const valid =
      typeof value === 'number' &&
      Number.isInteger(value) &&
      ((value >= min && value <= max) || (allowMinusOne && value === -1));
    if (!valid) {
      throw new InvalidEventSourceMappingConfig(
        field,
        `integer ${allowMinusOne ? '-1 or ' : ''}${min}–${max}`,
        value,
      );
    }
  };
  requireInteger('batchSize', 1, 10_000, false);
  requireInteger('maximumBatchingWindowInSeconds', 0, 300, false);
  requireInteger('maximumRetryAttempts', 0, 10_000, true);
  requireInteger('maximumRecordAgeInSeconds', 60, 604_800, true);
  if (config.parallelizationFactor !== undefined) requireInteger('parallelizationFactor', 1, 10, false);
  if (!STARTING_POSITIONS.includes(config.startingPosition)) {
    throw new InvalidEventSourceMappingConfig(
      'startingPosition',
      `one of ${STARTING_POSITIONS.join(', ')}`,
      config.startingPosition,
    );
  }
  return config;
}
