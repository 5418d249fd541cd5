/**
 * One shard's poller: reads the shard, gathers batches (size, window, 6 MB), invokes the function with
 * one batch in flight per lane (`parallelizationFactor` lanes, a record's lane chosen by its partition
 * key), and retries, bisects, checkpoints after partial failures or discards to the on-failure bucket,
 * in order within a lane. The semantics are described in `./emulator.ts`.
 */
import { createHash } from 'node:crypto';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { performance } from 'node:perf_hooks';
import { kinesisStreamRecordOf } from '../kinesis-stream-event';
import {
  onFailureInvocationRecord,
  onFailureObjectKey,
  type FailureCondition,
  type LastInvocation,
} from './on-failure-record';
import {
  MAX_INVOCATION_PAYLOAD_BYTES,
  type KinesisEventSourceMappingConfig,
  type StartingPosition,
} from './settings';

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
      type: 'records-read';
      shardId: string;
      records: number;
      buffered: number;
      /** The last record read, so a listener can tell when a given record was read. */
      lastSequenceNumber: string;
    }
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
  | { type: 'on-failure-write-failed'; shardId: string; error: unknown }
  | { type: 'on-failure-notification-failed'; shardId: string; objectKey: string; error: unknown };

/** What a poller shares with its mapping: settings, clients, counters and the mapping's lifecycle. */
export interface ShardPollerContext {
  config: KinesisEventSourceMappingConfig;
  kinesis: KinesisClient;
  s3?: S3Client;
  streamName: string;
  streamArn: string;
  region: string;
  functionArn: string;
  invokeIdentityArn: string;
  mappingUuid: string;
  invoke: (event: KinesisStreamEvent) => Promise<unknown>;
  /** The bucket's "Object Created" notification, after each on-failure object is written. */
  onFailureObjectCreated?: (bucket: string, key: string) => Promise<void>;
  pollIntervalMs: number;
  /** Wall clock, epoch ms: record age, batching window, on-failure timestamps. */
  now: () => number;
  counters: EventSourceMappingStats;
  emit: (progress: EventSourceMappingProgress) => void;
  isRunning: () => boolean;
  /** Waits `ms`, or less when the mapping stops. */
  pause: (ms: number) => Promise<void>;
  /** Tells catch-up waiters that a shard caught up or finished. */
  caughtUp: () => void;
  /** A shard was delivered to its end: its children may start. */
  shardEnded: () => Promise<void>;
}

interface PolledRecord {
  sequenceNumber: string;
  /** Its lane: records of one partition key always share one, so their order is kept. */
  lane: number;
  arrivalMs: number;
  /** The record as it appears in the event. */
  entry: KinesisStreamRecord;
  /** Its share of the JSON payload. */
  bytes: number;
}

type InvocationOutcome =
  | { kind: 'success' }
  | { kind: 'partial'; redeliverFrom: number }
  | { kind: 'error'; functionError: boolean };

const EVENT_OVERHEAD_BYTES = Buffer.byteLength(JSON.stringify({ Records: [] }));

/**
 * One of a shard's `parallelizationFactor` concurrent batchers: its own buffer and batching window, and
 * at most one batch in flight.
 */
interface Lane {
  buffer: PolledRecord[];
  /** `now()` when the first buffered record was read. */
  bufferedSince: number;
  /** The delivery of its batch in flight, until it is acknowledged or discarded. */
  inFlight: Promise<void> | undefined;
}

/**
 * The lane of a partition key among `lanes`: a hash of the key, as Kinesis hashes it to a shard (MD5),
 * so a key keeps its lane for the life of the mapping.
 */
export function laneOfPartitionKey(partitionKey: string, lanes: number): number {
  if (lanes === 1) return 0;
  return createHash('md5').update(partitionKey).digest().readUInt32BE(0) % lanes;
}

/**
 * The shard's checkpoint when batches finish out of order: records settle (acknowledged or discarded)
 * lane by lane, and the checkpoint is the last record before the oldest one still unsettled, as Lambda
 * checkpoints a shard processed with a parallelization factor: a restart resumes there and redelivers
 * the later records other lanes had already finished (the function sees them again: at least once).
 */
class SettledPrefix {
  private readonly unsettled: PolledRecord[] = [];
  private head = 0;
  private readonly settled = new Set<PolledRecord>();

  /** A record read, in shard order. */
  track(record: PolledRecord): void {
    this.unsettled.push(record);
  }

  /** Settles `records`; returns the new checkpoint when it moved. */
  settle(records: readonly PolledRecord[]): string | undefined {
    for (const record of records) this.settled.add(record);
    let checkpoint: string | undefined;
    while (this.head < this.unsettled.length && this.settled.has(this.unsettled[this.head]!)) {
      const record = this.unsettled[this.head]!;
      this.settled.delete(record);
      checkpoint = record.sequenceNumber;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.unsettled.length) {
      this.unsettled.splice(0, this.head);
      this.head = 0;
    }
    return checkpoint;
  }

  /** Forgets everything read (a restart reads again from the checkpoint). */
  clear(): void {
    this.unsettled.length = 0;
    this.head = 0;
    this.settled.clear();
  }
}

/** Polls one shard; its state (checkpoint, end of shard) survives a stop and restart of the mapping. */
export class ShardPoller {
  private iterator: string | undefined;
  /** Last sequence number the mapping moved past (acknowledged or discarded). */
  private checkpointed: string | undefined;
  /** Last sequence number read, to renew an expired iterator without losing the buffer. */
  private lastRead: string | undefined;
  private readonly lanes: Lane[];
  private readonly prefix = new SettledPrefix();
  /** performance.now() at the start of the latest read that found nothing and left nothing pending. */
  caughtUpAt = Number.NEGATIVE_INFINITY;
  /** The shard is closed and read to its end. */
  private ended = false;
  /** The poller has delivered everything and exited (only for a closed shard). */
  finished = false;

  /**
   * @param startingPosition - where to read when nothing is checkpointed; a child shard found after a
   *   reshard starts at its beginning. @default the mapping's `startingPosition`
   */
  constructor(
    readonly shardId: string,
    private readonly context: ShardPollerContext,
    private readonly startingPosition: StartingPosition = context.config.startingPosition,
  ) {
    this.lanes = Array.from({ length: context.config.parallelizationFactor ?? 1 }, () => ({
      buffer: [],
      bufferedSince: 0,
      inFlight: undefined,
    }));
  }

  /** Opens an iterator after the checkpoint (else at the starting position) for a (re)start. */
  async prepare(): Promise<void> {
    // Records read but not acknowledged before a stop are read again, as after an ESM restart.
    for (const lane of this.lanes) lane.buffer = [];
    this.prefix.clear();
    this.lastRead = this.checkpointed;
    this.iterator = await this.openIterator();
  }

  /** Records read and not yet taken into a batch, over every lane. */
  private get buffered(): number {
    let count = 0;
    for (const lane of this.lanes) count += lane.buffer.length;
    return count;
  }

  private get inFlight(): Promise<void>[] {
    return this.lanes.flatMap((lane) => (lane.inFlight === undefined ? [] : [lane.inFlight]));
  }

  /** Reads stop while this many records are buffered: one full batch per lane. */
  private get readCapacity(): number {
    return this.context.config.batchSize * this.lanes.length;
  }

  /** Starts a batch in every idle lane whose batch is ready. */
  private dispatchReadyBatches(): void {
    for (const lane of this.lanes) {
      if (lane.inFlight !== undefined || !this.batchReady(lane)) continue;
      lane.inFlight = this.deliver(this.takeBatch(lane), 0, 0).finally(() => {
        lane.inFlight = undefined;
      });
    }
  }

  /**
   * Delivers ready batches until a read could feed a lane: with every lane busy (always, with one lane)
   * it waits for one to finish, so one lane reads and delivers strictly in turn as Lambda does.
   */
  private async deliverReadyBatches(): Promise<void> {
    const { context } = this;
    while (context.isRunning()) {
      this.dispatchReadyBatches();
      const inFlight = this.inFlight;
      if (inFlight.length === 0) return;
      const laneIdle = inFlight.length < this.lanes.length;
      if (laneIdle && !this.ended && this.buffered < this.readCapacity) return;
      await Promise.race(inFlight);
    }
  }

  /** Waits `ms`, or less when the mapping stops or a batch in flight finishes (its lane may have more). */
  private async pauseOrLaneDone(ms: number): Promise<void> {
    const inFlight = this.inFlight;
    await (inFlight.length === 0
      ? this.context.pause(ms)
      : Promise.race([this.context.pause(ms), ...inFlight]));
  }

  /** Polls until the mapping stops or the closed shard is delivered to its end. */
  async run(): Promise<void> {
    const { context } = this;
    while (context.isRunning()) {
      let readNothing = false;
      if (!this.ended && this.buffered < this.readCapacity) {
        try {
          readNothing = await this.read();
        } catch (error) {
          if (error instanceof ExpiredIteratorException) {
            // The next read opens a fresh iterator after the last record read.
            this.iterator = undefined;
          } else {
            context.emit({ type: 'poll-failed', shardId: this.shardId, error });
          }
          await this.pauseOrLaneDone(context.pollIntervalMs);
          continue;
        }
      }
      await this.deliverReadyBatches();
      if (this.ended && this.buffered === 0 && this.inFlight.length === 0) {
        this.finished = true;
        // Children first, then the waiters: a waiter must not see this shard done and its children unknown.
        try {
          await context.shardEnded();
        } catch (error) {
          context.emit({ type: 'poll-failed', shardId: this.shardId, error });
        }
        context.caughtUp();
        break;
      }
      if (!context.isRunning()) break;
      const windowLeft = this.batchingWindowLeft();
      if (windowLeft !== undefined) {
        await this.pauseOrLaneDone(Math.max(0, Math.min(context.pollIntervalMs, windowLeft)));
      } else if (readNothing || this.ended) {
        await this.pauseOrLaneDone(context.pollIntervalMs);
      }
    }
    // An invocation in flight completes and its result is applied (stop() waits for this loop).
    await Promise.all(this.inFlight);
  }

  /**
   * Until the earliest batching window of an idle lane with records ends, in ms; undefined when no
   * idle lane holds records (a busy lane's records wait for its batch, which wakes the loop).
   */
  private batchingWindowLeft(): number | undefined {
    const { context } = this;
    let left: number | undefined;
    for (const lane of this.lanes) {
      if (lane.inFlight !== undefined || lane.buffer.length === 0) continue;
      const laneLeft =
        lane.bufferedSince + context.config.maximumBatchingWindowInSeconds * 1000 - context.now();
      left = left === undefined ? laneLeft : Math.min(left, laneLeft);
    }
    return left;
  }

  /** One GetRecords call; true when it found nothing. */
  private async read(): Promise<boolean> {
    const { context } = this;
    if (this.iterator === undefined) this.iterator = await this.openIterator();
    const startedAt = performance.now();
    const response = await context.kinesis.send(
      new GetRecordsCommand({
        ShardIterator: this.iterator,
        Limit: Math.max(1, this.readCapacity - this.buffered),
      }),
    );
    this.iterator = response.NextShardIterator;
    const records = response.Records ?? [];
    for (const record of records) {
      const polled = this.toPolledRecord(record);
      const lane = this.lanes[polled.lane]!;
      if (lane.buffer.length === 0) lane.bufferedSince = context.now();
      lane.buffer.push(polled);
      this.prefix.track(polled);
      this.lastRead = polled.sequenceNumber;
    }
    // A closed shard (after resharding) has no next iterator once it is read to the end.
    if (response.NextShardIterator === undefined) this.ended = true;
    if (records.length > 0) {
      context.emit({
        type: 'records-read',
        shardId: this.shardId,
        records: records.length,
        buffered: this.buffered,
        lastSequenceNumber: this.lastRead ?? '',
      });
    } else if (this.buffered === 0 && this.inFlight.length === 0) {
      this.caughtUpAt = startedAt;
      context.caughtUp();
    }
    return records.length === 0;
  }

  private batchReady(lane: Lane): boolean {
    const { buffer } = lane;
    const { config } = this.context;
    if (buffer.length === 0) return false;
    const windowMs = config.maximumBatchingWindowInSeconds * 1000;
    return (
      windowMs === 0 ||
      this.ended ||
      buffer.length >= config.batchSize ||
      bytesOf(buffer) >= MAX_INVOCATION_PAYLOAD_BYTES ||
      this.context.now() - lane.bufferedSince >= windowMs
    );
  }

  private takeBatch(lane: Lane): PolledRecord[] {
    let bytes = EVENT_OVERHEAD_BYTES;
    let count = 0;
    for (const record of lane.buffer) {
      if (count === this.context.config.batchSize) break;
      if (count > 0 && bytes + record.bytes > MAX_INVOCATION_PAYLOAD_BYTES) break;
      bytes += record.bytes;
      count += 1;
    }
    const batch = lane.buffer.splice(0, count);
    lane.bufferedSince = this.context.now();
    return batch;
  }

  /**
   * Delivers a batch until it is acknowledged or discarded (or the mapping stops). `retriesUsed` and
   * `invokeCount` carry over into the halves of a bisected batch.
   */
  private async deliver(batch: PolledRecord[], retriesUsed: number, invokeCount: number): Promise<void> {
    const { context } = this;
    let pending = batch;
    let lastOutcome: InvocationOutcome | undefined;
    while (pending.length > 0) {
      const expired = this.expiredRecords(pending);
      if (expired.length > 0) {
        await this.discard(expired, 'RecordAgeExceeded', invokeCount, lastOutcome);
        pending = pending.filter((record) => !expired.includes(record));
        continue;
      }
      invokeCount += 1;
      lastOutcome = await this.invokeOnce(pending, invokeCount);
      if (lastOutcome.kind === 'success') {
        this.checkpoint(pending);
        return;
      }
      if (lastOutcome.kind === 'partial') {
        this.checkpoint(pending.slice(0, lastOutcome.redeliverFrom));
        pending = pending.slice(lastOutcome.redeliverFrom);
      } else if (context.config.bisectBatchOnFunctionError && pending.length > 1 && context.isRunning()) {
        const half = Math.ceil(pending.length / 2);
        const [first, second] = [pending.slice(0, half), pending.slice(half)];
        context.counters.bisections += 1;
        context.emit({ type: 'batch-bisected', shardId: this.shardId, sizes: [first.length, second.length] });
        await this.deliver(first, retriesUsed, invokeCount);
        if (context.isRunning()) await this.deliver(second, retriesUsed, invokeCount);
        return;
      }
      if (!context.isRunning()) return;
      const { maximumRetryAttempts } = context.config;
      if (maximumRetryAttempts !== -1 && retriesUsed >= maximumRetryAttempts) {
        await this.discard(pending, 'RetryAttemptsExhausted', invokeCount, lastOutcome);
        return;
      }
      retriesUsed += 1;
      context.counters.retries += 1;
      await context.pause(context.pollIntervalMs);
      if (!context.isRunning()) return;
    }
  }

  private expiredRecords(records: PolledRecord[]): PolledRecord[] {
    const maxAgeSeconds = this.context.config.maximumRecordAgeInSeconds;
    if (maxAgeSeconds === -1) return [];
    const oldestAllowedMs = this.context.now() - maxAgeSeconds * 1000;
    return records.filter((record) => record.arrivalMs < oldestAllowedMs);
  }

  private async invokeOnce(batch: PolledRecord[], invokeCount: number): Promise<InvocationOutcome> {
    const { context, shardId } = this;
    const first = batch[0] as PolledRecord;
    context.counters.invocations += 1;
    context.counters.recordsDelivered += batch.length;
    context.emit({
      type: 'batch-invoked',
      shardId,
      records: batch.length,
      firstSequenceNumber: first.sequenceNumber,
      invokeCount,
    });
    let response: unknown;
    try {
      response = await context.invoke(toEvent(batch));
    } catch (error) {
      context.counters.functionErrors += 1;
      context.emit({ type: 'batch-failed', shardId, records: batch.length, error });
      return { kind: 'error', functionError: true };
    }
    if (!context.config.reportBatchItemFailures) return this.succeeded(batch);
    const failure = parseBatchItemFailures(response, batch);
    if (failure === 'none') return this.succeeded(batch);
    if (failure === 'invalid') {
      context.counters.functionErrors += 1;
      const error = new Error('batchItemFailures holds an empty, null or unknown itemIdentifier');
      context.emit({ type: 'batch-failed', shardId, records: batch.length, error });
      return { kind: 'error', functionError: false };
    }
    context.counters.partialFailures += 1;
    context.emit({
      type: 'batch-partially-failed',
      shardId,
      checkpointed: failure,
      redeliverFrom: (batch[failure] as PolledRecord).sequenceNumber,
    });
    return { kind: 'partial', redeliverFrom: failure };
  }

  private succeeded(batch: PolledRecord[]): InvocationOutcome {
    this.context.emit({ type: 'batch-succeeded', shardId: this.shardId, records: batch.length });
    return { kind: 'success' };
  }

  private checkpoint(acknowledged: PolledRecord[]): void {
    if (acknowledged.length === 0) return;
    this.settle(acknowledged);
    this.context.counters.recordsCheckpointed += acknowledged.length;
  }

  /** Acknowledged or discarded records: the checkpoint moves past every record settled in shard order. */
  private settle(records: readonly PolledRecord[]): void {
    this.checkpointed = this.prefix.settle(records) ?? this.checkpointed;
  }

  private async discard(
    records: PolledRecord[],
    condition: FailureCondition,
    invokeCount: number,
    lastOutcome: InvocationOutcome | undefined,
  ): Promise<void> {
    const { context, shardId } = this;
    this.settle(records);
    context.counters.recordsDiscarded += records.length;
    const { onFailure } = context.config;
    let objectKey: string | undefined;
    if (onFailure !== undefined && context.s3 !== undefined) {
      const failedAt = new Date(context.now());
      const lastInvocation: LastInvocation = lastOutcome && {
        functionError: lastOutcome.kind === 'error' && lastOutcome.functionError,
      };
      const invocationRecord = onFailureInvocationRecord({
        functionArn: context.functionArn,
        streamArn: context.streamArn,
        shardId,
        records,
        event: toEvent(records),
        condition,
        invokeCount,
        lastInvocation,
        failedAt,
      });
      objectKey = onFailureObjectKey(context.mappingUuid, shardId, failedAt);
      try {
        await context.s3.send(
          new PutObjectCommand({
            Bucket: onFailure.bucket,
            Key: objectKey,
            Body: JSON.stringify(invocationRecord),
            ContentType: 'application/json',
          }),
        );
        context.counters.recordsSentToOnFailure += records.length;
      } catch (error) {
        // Lambda's own retries of the destination are not modelled: report and move on, as Lambda does
        // once the destination keeps failing.
        context.emit({ type: 'on-failure-write-failed', shardId, error });
        objectKey = undefined;
      }
      // Awaited (S3 → EventBridge is asynchronous in the cloud) so that a drained mapping has no
      // on-failure object left unscrubbed.
      if (objectKey !== undefined && context.onFailureObjectCreated !== undefined) {
        await context.onFailureObjectCreated(onFailure.bucket, objectKey).catch((error: unknown) => {
          context.emit({ type: 'on-failure-notification-failed', shardId, objectKey: objectKey!, error });
        });
      }
    }
    context.emit({ type: 'records-discarded', shardId, records: records.length, condition, objectKey });
  }

  private async openIterator(): Promise<string | undefined> {
    const { context } = this;
    const after = this.lastRead ?? this.checkpointed;
    const { ShardIterator: iterator } = await context.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: context.streamName,
        ShardId: this.shardId,
        ...(after === undefined
          ? { ShardIteratorType: this.startingPosition }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }),
      }),
    );
    return iterator;
  }

  private toPolledRecord(record: KinesisRecord): PolledRecord {
    const { context } = this;
    const sequenceNumber = record.SequenceNumber ?? '';
    const arrivalMs = record.ApproximateArrivalTimestamp?.getTime() ?? context.now();
    const entry = kinesisStreamRecordOf(
      {
        shardId: this.shardId,
        sequenceNumber,
        partitionKey: record.PartitionKey ?? '',
        data: record.Data ?? new Uint8Array(),
        arrivalMs,
      },
      { streamArn: context.streamArn, region: context.region, invokeIdentityArn: context.invokeIdentityArn },
    );
    const lane = laneOfPartitionKey(record.PartitionKey ?? '', this.lanes.length);
    // +1 for the comma between records in the payload.
    return { sequenceNumber, lane, arrivalMs, entry, bytes: Buffer.byteLength(JSON.stringify(entry)) + 1 };
  }
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
