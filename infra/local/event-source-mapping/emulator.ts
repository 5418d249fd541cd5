/**
 * Emulates Lambda's Kinesis event source mapping (ESM) for one function on one stream, against any
 * Kinesis endpoint (kinesalite locally). Pure platform emulation: it knows nothing about the events.
 *
 * Behaviour follows the AWS documentation (Lambda developer guide: "Using Lambda with Kinesis",
 * "Configuring partial batch response", "Retain discarded batch records"):
 * - One poller per shard, shards concurrently. Within a shard, `parallelizationFactor` lanes (1–10,
 *   default 1): a record's lane is a hash of its partition key, each lane batches on its own with one
 *   batch in flight, so records of one key are processed in order while other keys' batches run
 *   concurrently. The shard's checkpoint is the last record before the oldest one not yet acknowledged
 *   or discarded in any lane: a restart redelivers what other lanes had finished after it.
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
 * - Resharding: a child shard (after SplitShard or MergeShards) is read, from its start, only once each
 *   of its parents still in the stream is read to its end and every record of it acknowledged or
 *   discarded, so one partition key's records stay in order across the reshard, as Lambda (like the
 *   KCL) processes parents before children. Shards are listed again whenever a shard ends and at each
 *   catch-up wait, so shards created mid-run are found.
 *
 * Local differences, on purpose: idle shards are polled every `pollIntervalMs` (Lambda: about once a
 * second) and retries wait `pollIntervalMs` instead of Lambda's backoff, so local runs stay fast.
 * Not emulated: tumbling windows, filters, throttling; enhanced fan-out's push (SubscribeToShard) is a
 * short poll interval (`ENHANCED_FAN_OUT_POLL_INTERVAL_MS`), kinesalite having no stream consumers.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent } from 'aws-lambda';
import {
  DEFAULT_POLL_INTERVAL_MS,
  InvalidEventSourceMappingConfig,
  validateConfig,
  type KinesisEventSourceMappingConfig,
} from './settings';
import {
  ShardPoller,
  type EventSourceMappingProgress,
  type EventSourceMappingStats,
  type ShardPollerContext,
} from './shard-poller';

/** Default for {@link EventSourceMappingEmulator.waitUntilCaughtUp}. */
export const DEFAULT_CATCH_UP_TIMEOUT_MS = 30_000;

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
  /** Wall clock in epoch ms: record age, batching window, on-failure timestamps. @default Date.now */
  now?: () => number;
  /** Region in ARNs and events. @default 'us-east-1' */
  region?: string;
  /** Account in ARNs. @default '000000000000' */
  accountId?: string;
  /** The mapping's UUID (on-failure object keys). @default a random UUID */
  uuid?: string;
  /**
   * Called after each on-failure object is written, as the bucket's "Object Created" notification
   * would be (the local pipeline runs the scrub-failures function). @default undefined
   */
  onFailureObjectCreated?: (bucket: string, key: string) => Promise<void>;
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

/** Emulates one Kinesis event source mapping; see the module comment for the semantics. */
export class EventSourceMappingEmulator {
  private readonly context: ShardPollerContext;
  private readonly shards = new Map<string, ShardPoller>();
  /** Each shard's parents (ParentShardId, AdjacentParentShardId), as listed. */
  private readonly parentsOf = new Map<string, string[]>();
  /** Shards whose poller runs in the current start. */
  private readonly active = new Set<string>();
  private readonly listeners = new Set<(progress: EventSourceMappingProgress) => void>();
  private readonly wakers = new Set<() => void>();
  private readonly catchUpWaiters = new Set<() => void>();
  private loops: Promise<void>[] = [];
  private running = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: EventSourceMappingEmulatorOptions) {
    const config = validateConfig(options.config);
    if (config.onFailure !== undefined && options.s3 === undefined) {
      throw new InvalidEventSourceMappingConfig(
        's3',
        'an S3 client is required for an on-failure bucket',
        undefined,
      );
    }
    const region = options.region ?? 'us-east-1';
    const accountId = options.accountId ?? '000000000000';
    this.context = {
      config,
      kinesis: options.kinesis,
      s3: options.s3,
      streamName: options.streamName,
      streamArn: options.streamArn,
      region,
      functionArn: `arn:aws:lambda:${region}:${accountId}:function:${options.functionName}`,
      invokeIdentityArn: `arn:aws:iam::${accountId}:role/${options.functionName}-role`,
      mappingUuid: options.uuid ?? randomUUID(),
      invoke: options.invoke,
      onFailureObjectCreated: options.onFailureObjectCreated,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      now: options.now ?? Date.now,
      counters: {
        recordsDelivered: 0,
        recordsCheckpointed: 0,
        invocations: 0,
        functionErrors: 0,
        partialFailures: 0,
        retries: 0,
        bisections: 0,
        recordsDiscarded: 0,
        recordsSentToOnFailure: 0,
      } satisfies EventSourceMappingStats,
      emit: (progress) => {
        for (const listener of this.listeners) listener(progress);
      },
      isRunning: () => this.running,
      pause: (ms) => this.pause(ms),
      caughtUp: () => this.notifyCatchUpWaiters(),
      shardEnded: () => this.startReadyShards(),
    };
  }

  /** A snapshot of the counters. */
  get stats(): EventSourceMappingStats {
    return { ...this.context.counters };
  }

  /** The mapping's UUID, as used in on-failure object keys. */
  get mappingUuid(): string {
    return this.context.mappingUuid;
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
    this.running = true;
    this.stopping = undefined;
    await this.startReadyShards(this.shards.size === 0);
  }

  /**
   * Lists the shards and starts every poller whose parents are done (read to the end and delivered).
   * Resolves once those pollers have their iterators.
   *
   * @param initial - the first listing: shards without a listed parent start at the configured
   *   position; every other shard is a continuation of its parents and starts at its beginning
   */
  private async startReadyShards(initial = false): Promise<void> {
    if (!this.running) return;
    for (const shard of await this.listShards()) {
      const shardId = shard.ShardId;
      if (shardId === undefined || this.shards.has(shardId)) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter(
        (id): id is string => id !== undefined,
      );
      this.parentsOf.set(shardId, parents);
      this.shards.set(shardId, new ShardPoller(shardId, this.context, initial ? undefined : 'TRIM_HORIZON'));
    }
    const ready = [...this.shards.values()].filter(
      (poller) =>
        !poller.finished &&
        !this.active.has(poller.shardId) &&
        (this.parentsOf.get(poller.shardId) ?? []).every(
          // A parent no longer listed (trimmed) has nothing left to read.
          (parent) => this.shards.get(parent)?.finished ?? true,
        ),
    );
    for (const poller of ready) this.active.add(poller.shardId);
    await Promise.all(ready.map((poller) => poller.prepare()));
    if (!this.running) return;
    this.loops.push(...ready.map((poller) => poller.run()));
  }

  private async listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.options.kinesis.send(
        new ListShardsCommand(
          nextToken === undefined ? { StreamName: this.options.streamName } : { NextToken: nextToken },
        ),
      );
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return shards;
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
      // A shard that ends while stopping may still add its children's loops: wait until none is left.
      while (this.loops.length > 0) await Promise.all(this.loops.splice(0));
      this.active.clear();
    })();
    return this.stopping;
  }

  /**
   * Resolves when every shard has delivered everything that was in the stream when this was called
   * (a read started afterwards found nothing new and no batch is pending). Rejects with
   * {@link CatchUpTimeout} when a shard is still behind after `timeoutMs` (e.g. a batch retried
   * forever), or {@link EventSourceMappingNotRunning} when the mapping stops meanwhile.
   */
  async waitUntilCaughtUp(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CATCH_UP_TIMEOUT_MS;
    if (!this.running) throw new EventSourceMappingNotRunning('waitUntilCaughtUp');
    const since = performance.now();
    // Shards created by a reshard since the last listing hold records this wait must cover.
    await this.startReadyShards();
    const lagging = (): string[] =>
      [...this.shards.values()]
        .filter((shard) => !shard.finished && shard.caughtUpAt < since)
        .map((shard) => shard.shardId);
    return new Promise<void>((resolve, reject) => {
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
}
