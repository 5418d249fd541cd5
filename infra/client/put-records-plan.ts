/**
 * Pure planning for Kinesis PutRecords: how to cut records into calls, which per-entry failures are
 * worth retrying, and how long to wait. No SDK here, so the rules are testable on their own.
 */

/** One record as it goes onto the stream. */
export interface RawRecord {
  data: Uint8Array;
  partitionKey: string;
}

/** Most entries in one PutRecords call. */
export const PUT_RECORDS_MAX_ENTRIES = 500;
/** Most bytes in one PutRecords call, data and partition keys together (5 MiB). */
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;
/** Most bytes in one record, data and partition key together (1 MiB). */
export const RECORD_MAX_BYTES = 1024 * 1024;
/** Longest partition key, in Unicode characters. */
export const PARTITION_KEY_MAX_CHARS = 256;

/**
 * Per-entry error codes of a PutRecords response that a later attempt can fix. The KMS codes that
 * mean "not allowed" or "not found" are absent on purpose: retrying them only wastes time.
 */
export const RETRYABLE_ENTRY_ERROR_CODES: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'InternalFailure',
  'KMSThrottlingException',
]);

const utf8 = new TextEncoder();

/** Bytes a record counts for against the call and record limits: data plus UTF-8 partition key. */
export function recordSizeBytes(record: RawRecord): number {
  return record.data.byteLength + utf8.encode(record.partitionKey).byteLength;
}

/** Why a record can never be sent, whatever the batching. */
export interface UnsendableRecord<T extends RawRecord> {
  record: T;
  reason: string;
}

/** Result of {@link planPutRecordsBatches}. */
export interface PutRecordsPlan<T extends RawRecord> {
  /** Calls to make, in order; each within the entry and byte limits. */
  batches: T[][];
  /** Records Kinesis would refuse in any call (too large, bad partition key). */
  unsendable: UnsendableRecord<T>[];
}

/**
 * Cut records into PutRecords calls of at most {@link PUT_RECORDS_MAX_ENTRIES} entries and
 * {@link PUT_RECORDS_MAX_BYTES} bytes, keeping their order (so a partition key's records stay in
 * order across calls made one after another).
 */
export function planPutRecordsBatches<T extends RawRecord>(records: readonly T[]): PutRecordsPlan<T> {
  const batches: T[][] = [];
  const unsendable: UnsendableRecord<T>[] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const record of records) {
    const reason = unsendableReason(record);
    if (reason !== undefined) {
      unsendable.push({ record, reason });
      continue;
    }
    const size = recordSizeBytes(record);
    if (current.length === PUT_RECORDS_MAX_ENTRIES || currentBytes + size > PUT_RECORDS_MAX_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(record);
    currentBytes += size;
  }
  if (current.length > 0) batches.push(current);
  return { batches, unsendable };
}

function unsendableReason(record: RawRecord): string | undefined {
  const keyChars = [...record.partitionKey].length;
  if (keyChars < 1 || keyChars > PARTITION_KEY_MAX_CHARS) {
    return `partition key must be 1 to ${PARTITION_KEY_MAX_CHARS} characters (got ${keyChars})`;
  }
  const size = recordSizeBytes(record);
  if (size > RECORD_MAX_BYTES) return `record must be at most ${RECORD_MAX_BYTES} bytes (got ${size})`;
  return undefined;
}

/** One entry of a PutRecords response, as far as planning cares. */
export interface PutRecordsResultEntry {
  ErrorCode?: string;
  ErrorMessage?: string;
  SequenceNumber?: string;
}

/** A record that did not make it, with the last reason Kinesis gave. */
export interface FailedRecord<T extends RawRecord = RawRecord> {
  record: T;
  errorCode: string;
  errorMessage: string;
}

/** Outcome of one call, split by what to do next. */
export interface PutRecordsOutcome<T extends RawRecord> {
  succeeded: number;
  /** Failed with a retryable code: send again (alone) after a backoff. */
  retry: FailedRecord<T>[];
  /** Failed for good. */
  failed: FailedRecord<T>[];
}

/**
 * Split a call's records by the per-entry results: the response lists one result per request entry,
 * in request order, and only entries with an `ErrorCode` failed.
 */
export function splitPutRecordsOutcome<T extends RawRecord>(
  sent: readonly T[],
  results: readonly PutRecordsResultEntry[],
): PutRecordsOutcome<T> {
  const outcome: PutRecordsOutcome<T> = { succeeded: 0, retry: [], failed: [] };
  sent.forEach((record, i) => {
    const result = results[i];
    if (result === undefined) {
      // A response shorter than the request cannot be trusted for these entries: resend them.
      outcome.retry.push({ record, errorCode: 'MissingResult', errorMessage: 'no result entry returned' });
      return;
    }
    if (result.ErrorCode === undefined) {
      outcome.succeeded++;
      return;
    }
    const failure = { record, errorCode: result.ErrorCode, errorMessage: result.ErrorMessage ?? '' };
    (RETRYABLE_ENTRY_ERROR_CODES.has(result.ErrorCode) ? outcome.retry : outcome.failed).push(failure);
  });
  return outcome;
}
