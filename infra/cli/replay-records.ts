/**
 * Exact replay, the library behind `npm run replay`: read refused or discarded records back (the
 * quarantine's NDJSON, or Lambda's on-failure invocation records), repair them (`--fix`), validate
 * them, and republish them with the replay envelope (`replayOf`: original shard and sequence number),
 * so the ingest function's high-water marks recognise every record that was already applied.
 *
 * The marks decide exactly while a profile has not applied a LATER record of the same shard since the
 * failure ("moved on"): after that, a mark at or past a record means "applied or skipped", which no
 * profile can tell apart. So before publishing, each record's profile is read and:
 * - mark absent or below the record: published with the envelope (applied once, a rerun is dropped);
 * - on-failure record at or below a mark that is still within its batch: published with the envelope
 *   (Lambda applies a profile's records of one batch all or none: these were applied, ingest drops them);
 * - on-failure record whose profile moved on: held back and listed (`movedOn: 'fresh'` publishes it
 *   without the envelope, protected only by the 16-id window, as before this tool);
 * - quarantined record whose profile moved on: published without the envelope (never applied, so it
 *   is applied once; only a rerun of the replay is then protected by the id window alone).
 */
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent } from 'aws-lambda';
import {
  ContractViolation,
  profileIdOf,
  validateEvent,
  type EventInput,
} from '../../shared/contract/event-contract';
import type { QuarantinedRecord } from '../../shared/ingest/ingest-ports';
import type { ProfileState } from '../../shared/profile/profile-state';
import { canonicalSequenceNumber, compareSequenceNumbers } from '../../shared/profile/sequence-number';
import { EventProducer } from '../client/event-producer';
import type { OnFailureInvocationRecord } from '../local/event-source-mapping/on-failure-record';

/** The two sources `npm run replay` reads. */
export const REPLAY_SOURCES = ['quarantine', 'failures'] as const;
/** One of {@link REPLAY_SOURCES}. */
export type ReplaySource = (typeof REPLAY_SOURCES)[number];

/** A record read back from the quarantine or an on-failure record, before repair. */
export interface ReplayCandidate {
  shardId: string;
  sequenceNumber: string;
  data: Uint8Array;
  /** On-failure records: the last sequence number of the discarded batch. */
  batchEnd?: string;
  /** Quarantined records: why the ingest refused it. */
  refusal?: Pick<QuarantinedRecord, 'kind' | 'field' | 'rule'>;
}

/**
 * A `--fix` module's default (or `fix`) export: gets the record (parsed JSON, or the UTF-8 text when
 * it is not JSON) and returns the repaired value, or undefined to leave the record out.
 */
export type RepairFunction = (
  record: unknown,
  context: Omit<ReplayCandidate, 'data'>,
) => unknown | Promise<unknown>;

/** An S3 location `s3://bucket/prefix` that names no bucket. */
export class InvalidS3Prefix extends Error {
  override readonly name = 'InvalidS3Prefix';
  readonly field = 's3Prefix';
  readonly rule = 'must be s3://<bucket>/<prefix>';
  constructor(readonly value: string) {
    super(`s3Prefix: must be s3://<bucket>/<prefix> (got ${JSON.stringify(value)})`);
  }
}

/** Split `s3://bucket/prefix`. */
export function parseS3Prefix(location: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (match === null) throw new InvalidS3Prefix(location);
  return { bucket: match[1]!, prefix: match[2]! };
}

async function* objectBodies(s3: S3Client, bucket: string, prefix: string): AsyncGenerator<string> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const { Key: key } of page.Contents ?? []) {
      if (key === undefined) continue;
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      yield (await object.Body?.transformToString('utf-8')) ?? '';
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);
}

/** Quarantined records under a prefix, each (shard, sequence number) once: a redelivery may file one twice. */
export async function readQuarantine(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<ReplayCandidate[]> {
  const byPlace = new Map<string, ReplayCandidate>();
  for await (const body of objectBodies(s3, bucket, prefix)) {
    for (const line of body.split('\n')) {
      if (line.trim() === '') continue;
      const q = JSON.parse(line) as QuarantinedRecord;
      byPlace.set(`${q.shardId}:${q.sequenceNumber}`, {
        shardId: q.shardId,
        sequenceNumber: q.sequenceNumber,
        data: Buffer.from(q.dataBase64, 'base64'),
        refusal: { kind: q.kind, field: q.field, rule: q.rule },
      });
    }
  }
  return [...byPlace.values()];
}

/**
 * The records of every on-failure invocation record under a prefix. An S3 destination holds the
 * payload; a record without one (SQS or SNS destinations carry only the batch's shard and sequence
 * range) is read back from the stream, which works while the records are within its retention.
 */
export async function readOnFailure(
  s3: S3Client,
  bucket: string,
  prefix: string,
  stream: { kinesis: KinesisClient; streamName: string },
): Promise<ReplayCandidate[]> {
  const candidates: ReplayCandidate[] = [];
  for await (const body of objectBodies(s3, bucket, prefix)) {
    const record = JSON.parse(body) as Partial<OnFailureInvocationRecord>;
    const info = record.KinesisBatchInfo;
    if (info === undefined) continue;
    const batchEnd = info.endSequenceNumber;
    if (record.payload !== undefined) {
      const event = JSON.parse(record.payload) as KinesisStreamEvent;
      for (const r of event.Records) {
        candidates.push({
          shardId: r.eventID.slice(0, r.eventID.lastIndexOf(':')),
          sequenceNumber: r.kinesis.sequenceNumber,
          data: Buffer.from(r.kinesis.data, 'base64'),
          batchEnd,
        });
      }
    } else {
      for (const r of await readRange(stream, info.shardId, info.startSequenceNumber, batchEnd)) {
        candidates.push({ shardId: info.shardId, ...r, batchEnd });
      }
    }
  }
  return candidates;
}

async function readRange(
  { kinesis, streamName }: { kinesis: KinesisClient; streamName: string },
  shardId: string,
  first: string,
  last: string,
): Promise<Array<{ sequenceNumber: string; data: Uint8Array }>> {
  const end = canonicalSequenceNumber(last);
  const out: Array<{ sequenceNumber: string; data: Uint8Array }> = [];
  let { ShardIterator: iterator } = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: streamName,
      ShardId: shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      StartingSequenceNumber: first,
    }),
  );
  while (iterator !== undefined) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    for (const r of page.Records ?? []) {
      const sequenceNumber = r.SequenceNumber ?? '';
      if (compareSequenceNumbers(canonicalSequenceNumber(sequenceNumber), end) > 0) return out;
      out.push({ sequenceNumber, data: r.Data ?? new Uint8Array() });
    }
    if ((page.Records ?? []).length === 0 && page.MillisBehindLatest === 0) break;
    iterator = page.NextShardIterator;
  }
  return out;
}

/** What {@link planReplay} decided for each record. */
export interface ReplayPlan {
  /** With the envelope: ingest applies the ones not applied yet, exactly once. */
  withEnvelope: EventInput[];
  /** Without the envelope (see the module comment). */
  fresh: EventInput[];
  /** On-failure records whose profile moved on since: not published. */
  heldBack: Array<{ profileId: string; shardId: string; sequenceNumber: string }>;
  /** Records the contract still refuses after repair: `shard:sequence → reason`. */
  refused: Array<{ shardId: string; sequenceNumber: string; reason: string }>;
  /** Records the repair function left out. */
  dropped: number;
}

/** Parse, repair and validate the candidates: the events to check against their profiles. */
export async function repairCandidates(
  candidates: readonly ReplayCandidate[],
  repair: RepairFunction | undefined,
  nowMs: number,
): Promise<{
  repaired: Array<{ candidate: ReplayCandidate; input: EventInput; profileId: string }>;
  refused: ReplayPlan['refused'];
  dropped: number;
}> {
  const repaired = [];
  const refused: ReplayPlan['refused'] = [];
  let dropped = 0;
  for (const candidate of candidates) {
    const text = Buffer.from(candidate.data).toString('utf-8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    const { data: _data, ...context } = candidate;
    if (repair !== undefined) value = await repair(value, context);
    if (value === undefined) {
      dropped++;
      continue;
    }
    try {
      const { event } = validateEvent(structuredClone(value), nowMs);
      // A record replayed before keeps its first origin: that is where its profile's mark sits.
      const replayOf = event.replayOf ?? {
        shardId: candidate.shardId,
        sequenceNumber: candidate.sequenceNumber,
      };
      repaired.push({
        candidate,
        input: { ...(value as EventInput), replayOf },
        profileId: profileIdOf(event),
      });
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      refused.push({
        shardId: candidate.shardId,
        sequenceNumber: candidate.sequenceNumber,
        reason: error.message,
      });
    }
  }
  return { repaired, refused, dropped };
}

/**
 * Decide, record by record, how to republish (see the module comment), from the profiles as stored now.
 *
 * @param movedOn - on-failure records of profiles that moved on: `hold` back, or publish them `fresh`
 */
export function planReplay(
  repaired: Awaited<ReturnType<typeof repairCandidates>>,
  profiles: ReadonlyMap<string, ProfileState>,
  movedOn: 'hold' | 'fresh',
): ReplayPlan {
  const plan: ReplayPlan = {
    withEnvelope: [],
    fresh: [],
    heldBack: [],
    refused: repaired.refused,
    dropped: repaired.dropped,
  };
  for (const { candidate, input, profileId } of repaired.repaired) {
    const origin = input.replayOf!;
    const mark = profiles
      .get(profileId)
      ?.shardMarks.find((m) => m.shardId === origin.shardId)?.sequenceNumber;
    const seq = canonicalSequenceNumber(origin.sequenceNumber);
    if (mark === undefined || compareSequenceNumbers(seq, mark) > 0) {
      plan.withEnvelope.push(input);
      continue;
    }
    const batchEnd =
      candidate.batchEnd === undefined ? undefined : canonicalSequenceNumber(candidate.batchEnd);
    if (batchEnd !== undefined && compareSequenceNumbers(mark, batchEnd) <= 0) {
      plan.withEnvelope.push(input);
      continue;
    }
    const { replayOf: _origin, ...withoutEnvelope } = input;
    if (batchEnd === undefined || movedOn === 'fresh') plan.fresh.push(withoutEnvelope);
    else plan.heldBack.push({ profileId, ...origin });
  }
  return plan;
}

/** What {@link replay} needs from the outside world. */
export interface ReplayDependencies {
  s3: S3Client;
  kinesis: KinesisClient;
  streamName: string;
  /** The profiles as stored now (a BatchGetItem over the profiles table). */
  readProfiles(profileIds: readonly string[]): Promise<ReadonlyMap<string, ProfileState>>;
  repair?: RepairFunction;
  movedOn?: 'hold' | 'fresh';
  /** Plan only, publish nothing. @default false */
  dryRun?: boolean;
  /** @default Date.now */
  now?: () => number;
}

/** The plan and what was published. */
export interface ReplaySummary {
  plan: ReplayPlan;
  read: number;
  sent: number;
  /** Records Kinesis did not take after the producer's retries. */
  failed: number;
}

/** Read, repair, plan and republish one source under `s3://bucket/prefix`. */
export async function replay(
  source: ReplaySource,
  location: string,
  deps: ReplayDependencies,
): Promise<ReplaySummary> {
  const { bucket, prefix } = parseS3Prefix(location);
  const candidates =
    source === 'quarantine'
      ? await readQuarantine(deps.s3, bucket, prefix)
      : await readOnFailure(deps.s3, bucket, prefix, deps);
  const repaired = await repairCandidates(candidates, deps.repair, (deps.now ?? Date.now)());
  const profiles = await deps.readProfiles([...new Set(repaired.repaired.map((r) => r.profileId))]);
  const plan = planReplay(repaired, profiles, deps.movedOn ?? 'hold');
  if (deps.dryRun) return { plan, read: candidates.length, sent: 0, failed: 0 };
  const producer = new EventProducer({ kinesis: deps.kinesis, streamName: deps.streamName });
  // In original order, so one profile's replayed records reach it in their first order.
  const result = await producer.send([...plan.withEnvelope, ...plan.fresh]);
  return {
    plan,
    read: candidates.length,
    sent: result.sent,
    failed: result.failed.length + result.rejected.length,
  };
}
