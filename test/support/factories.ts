/**
 * Test record factories: contract events, stream records as the ingest and archive use cases take
 * them (`IngestRecord`), and whole Lambda Kinesis events, built on the very function the event source
 * mapping emulator uses ({@link kinesisStreamEventOf}), so a test's event cannot drift from Lambda's shape.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import {
  kinesisStreamEventOf,
  LOCAL_STREAM_SOURCE,
  type StreamSource,
} from '../../infra/local/kinesis-stream-event';
import type { ContractEvent } from '../../shared/contract/event-contract';
import type { IngestRecord } from '../../shared/ingest/ingest-ports';
import type { SequencedEvent } from '../../shared/profile/apply-events';

/** 2026-11-27T12:00:00Z */
export const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
/** The first shard of a stream, as Kinesis names it. */
export const SHARD = 'shardId-000000000000';

let eventCounter = 0;

/** A valid normalised event with sensible defaults (a `page_view` of user `u-1` at {@link T0}). */
export function makeEvent(overrides: Partial<ContractEvent> = {}): ContractEvent {
  eventCounter++;
  return {
    schemaVersion: 1,
    eventId: `evt-${eventCounter}`,
    type: 'page_view',
    userId: 'u-1',
    occurredAt: T0,
    ...overrides,
  };
}

/** A realistic 56-digit Kinesis sequence number; larger `position`s give larger numbers. */
export function sequenceNumberOf(position: bigint | number): string {
  return (
    49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n + BigInt(position)
  ).toString();
}

/** Wrap events as records of one shard with increasing sequence numbers (arrival order). */
export function sequenced(
  events: readonly ContractEvent[],
  shardId = SHARD,
  firstSequence = 1000n,
): SequencedEvent[] {
  return events.map((event, i) => ({
    event,
    shardId,
    sequenceNumber: sequenceNumberOf(firstSequence + BigInt(i)),
  }));
}

/** Where and when the records of {@link ingestRecords} and {@link kinesisEvent} sit on the stream. */
export interface StreamRecordOptions<T> {
  /** @default {@link SHARD} */
  shardId?: string;
  /** The first record's sequence number; the rest follow. @default the next unused one of this test file */
  firstSequenceNumber?: bigint;
  /** A fixed key, or one per body. @default 'pk' */
  partitionKey?: string | ((body: T) => string);
  /** When Kinesis accepted the records, epoch ms. @default {@link T0} */
  arrivalMs?: number;
}

let nextSequenceNumber = BigInt(sequenceNumberOf(1_000_000));

/**
 * Stream records of `bodies` on one shard with increasing sequence numbers. A string or byte body is
 * taken as is (for malformed records), anything else is written as JSON.
 */
export function ingestRecords<T>(bodies: readonly T[], options: StreamRecordOptions<T> = {}): IngestRecord[] {
  const first = options.firstSequenceNumber ?? nextSequenceNumber;
  nextSequenceNumber = first + BigInt(bodies.length);
  const { partitionKey = 'pk' } = options;
  return bodies.map((body, i) => ({
    shardId: options.shardId ?? SHARD,
    sequenceNumber: String(first + BigInt(i)),
    partitionKey: typeof partitionKey === 'string' ? partitionKey : partitionKey(body),
    data: bytesOf(body),
    approximateArrivalMs: options.arrivalMs ?? T0,
  }));
}

/** One stream record of `body`; see {@link ingestRecords}. */
export function ingestRecord<T>(body: T, options: StreamRecordOptions<T> = {}): IngestRecord {
  return ingestRecords([body], options)[0] as IngestRecord;
}

/** The Lambda Kinesis event delivering `bodies` as one batch of one shard; see {@link ingestRecords}. */
export function kinesisEvent<T>(
  bodies: readonly T[],
  options: StreamRecordOptions<T> = {},
  source: StreamSource = LOCAL_STREAM_SOURCE,
): KinesisStreamEvent {
  return kinesisStreamEventOf(
    ingestRecords(bodies, options).map(({ approximateArrivalMs, ...record }) => ({
      ...record,
      arrivalMs: approximateArrivalMs,
    })),
    source,
  );
}

function bytesOf(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  return new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));
}
