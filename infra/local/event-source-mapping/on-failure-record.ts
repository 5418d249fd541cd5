/**
 * What Lambda writes to an S3 on-failure destination when it discards Kinesis records: the whole
 * invocation record, payload included, under `aws/lambda/<ESM-UUID>/<shardId>/YYYY/MM/DD/...`.
 */
import { randomUUID } from 'node:crypto';
import type { KinesisStreamEvent } from 'aws-lambda';

/** Why records were discarded; the `condition` Lambda writes into the on-failure invocation record. */
export const FAILURE_CONDITIONS = ['RetryAttemptsExhausted', 'RecordAgeExceeded'] as const;
/** One of {@link FAILURE_CONDITIONS}. */
export type FailureCondition = (typeof FAILURE_CONDITIONS)[number];

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

/** One discarded record, as far as the invocation record needs it. */
export interface DiscardedRecord {
  sequenceNumber: string;
  arrivalMs: number;
}

/** How the last invocation of the discarded records ended, if there was one. */
export type LastInvocation = { functionError: boolean } | undefined;

/** The invocation record for `records`, discarded from `shardId` at `failedAt`. */
export function onFailureInvocationRecord(input: {
  functionArn: string;
  streamArn: string;
  shardId: string;
  records: readonly DiscardedRecord[];
  event: KinesisStreamEvent;
  condition: FailureCondition;
  invokeCount: number;
  lastInvocation: LastInvocation;
  failedAt: Date;
}): OnFailureInvocationRecord {
  const { records, lastInvocation } = input;
  const first = records[0] as DiscardedRecord;
  const last = records.at(-1) as DiscardedRecord;
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.invokeCount,
    },
    ...(lastInvocation && {
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(lastInvocation.functionError && { functionError: 'Unhandled' }),
      },
    }),
    version: '1.0',
    timestamp: input.failedAt.toISOString(),
    KinesisBatchInfo: {
      shardId: input.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.arrivalMs).toISOString(),
      batchSize: records.length,
      streamArn: input.streamArn,
    },
    payload: JSON.stringify(input.event),
  };
}

/** The S3 key Lambda uses for an on-failure invocation record. */
export function onFailureObjectKey(mappingUuid: string, shardId: string, failedAt: Date): string {
  const iso = failedAt.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ, always UTC
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19).replaceAll(':', '.');
  return `aws/lambda/${mappingUuid}/${shardId}/${day.replaceAll('-', '/')}/${day}T${time}-${randomUUID()}`;
}
