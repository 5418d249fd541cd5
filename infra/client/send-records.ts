/**
 * The PutRecords retry loop, written against a one-function port so it runs the same with the AWS
 * SDK (see `event-producer.ts`) and with a scripted fake in tests.
 */
import { backoffDelayMs } from '../../functions/commons/backoff';
import {
  type FailedRecord,
  planPutRecordsBatches,
  type PutRecordsResultEntry,
  type RawRecord,
  splitPutRecordsOutcome,
} from './put-records-plan';

/**
 * Sends one PutRecords call and returns its per-entry results in request order. Throws when the
 * call as a whole fails (after the client's own retries).
 */
export type PutRecordsPort = (records: readonly RawRecord[]) => Promise<readonly PutRecordsResultEntry[]>;

/** Retry settings of {@link sendRecords}. */
export interface SendRecordsOptions {
  /** Attempts per record, the first one included. @default 5 */
  maxAttempts?: number;
  /** Backoff base. @default 100 */
  baseDelayMs?: number;
  /** Backoff cap. @default 5000 */
  maxDelayMs?: number;
  /** Uniform source in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
  /** How to wait. @default a setTimeout promise */
  sleep?: (ms: number) => Promise<void>;
}

/** Result of {@link sendRecords}. */
export interface SendRecordsResult<T extends RawRecord> {
  /** Records Kinesis acknowledged. */
  sent: number;
  /** Records that could not be sent, with the last reason. */
  failed: FailedRecord<T>[];
  /** PutRecords calls made, retries included. */
  calls: number;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Send records in planned batches, one call after another (which keeps each partition key's
 * records in order unless a partial failure forces a resend). After a partial failure only the
 * failed entries with a retryable code are sent again, after a jittered backoff.
 *
 * A call that fails as a whole has already been retried by the client (the SDK retries throttling
 * and network errors itself); retrying again here would multiply attempts, and what remains
 * (missing stream, no permission, no connection) fails every later call too: so that batch and
 * all later ones are reported failed with that error.
 */
export async function sendRecords<T extends RawRecord>(
  records: readonly T[],
  putRecords: PutRecordsPort,
  options: SendRecordsOptions = {},
): Promise<SendRecordsResult<T>> {
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepFor;

  const plan = planPutRecordsBatches(records);
  const result: SendRecordsResult<T> = {
    sent: 0,
    failed: plan.unsendable.map(({ record, reason }) => ({
      record,
      errorCode: 'Unsendable',
      errorMessage: reason,
    })),
    calls: 0,
  };
  for (const [batchIndex, batch] of plan.batches.entries()) {
    let pending: FailedRecord<T>[] = batch.map((record) => ({ record, errorCode: '', errorMessage: '' }));
    for (let attempt = 1; attempt <= maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(backoffDelayMs(attempt - 1, baseDelayMs, maxDelayMs, random));
      let entries: readonly PutRecordsResultEntry[];
      try {
        result.calls++;
        entries = await putRecords(pending.map((p) => p.record));
      } catch (error) {
        const errorCode = error instanceof Error ? error.name : 'UnknownError';
        const errorMessage = error instanceof Error ? error.message : String(error);
        const unsent = [...pending.map((p) => p.record), ...plan.batches.slice(batchIndex + 1).flat()];
        result.failed.push(...unsent.map((record) => ({ record, errorCode, errorMessage })));
        return result;
      }
      const outcome = splitPutRecordsOutcome(
        pending.map((p) => p.record),
        entries,
      );
      result.sent += outcome.succeeded;
      result.failed.push(...outcome.failed);
      pending = outcome.retry;
    }
    result.failed.push(...pending);
  }
  return result;
}
