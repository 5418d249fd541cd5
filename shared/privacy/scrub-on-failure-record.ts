/**
 * Remove personal data from an on-failure invocation record: what Lambda writes to an S3 on-failure
 * destination when an event source mapping discards a batch — the whole invocation event, every
 * record's `kinesis.data` (base64) with its personal fields.
 *
 * Each record's data goes through {@link scrubPersonalData}, the quarantine's scrub; everything else
 * is kept as it is, because replay (`infra/cli/replay-records.ts`) needs it: the batch info (shard,
 * start/end sequence numbers), every record's sequence number, partition key and arrival time. Ids are
 * kept raw too: replay republishes the records and ingest pseudonymises them again at decode.
 */
import { scrubPersonalData } from './scrub-personal-data';

/** What {@link scrubOnFailureRecord} returns. */
export interface ScrubbedOnFailureRecord {
  /** The bytes to keep: the input itself when nothing was removed. */
  data: Uint8Array;
  /** Records of the payload whose data lost at least one personal field. */
  recordsScrubbed: number;
  /** Personal fields removed over all records. */
  personalFieldsRemoved: number;
  /**
   * `false` when the object is not an invocation record with a Kinesis payload (e.g. an SQS/SNS-style
   * record without one): it is kept as it is.
   */
  recognised: boolean;
}

interface KinesisPayload {
  Records?: Array<{ kinesis?: { data?: unknown } }>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Scrub one on-failure invocation record's bytes (see the module comment). */
export function scrubOnFailureRecord(bytes: Uint8Array): ScrubbedOnFailureRecord {
  const unchanged = (recognised: boolean): ScrubbedOnFailureRecord => ({
    data: bytes,
    recordsScrubbed: 0,
    personalFieldsRemoved: 0,
    recognised,
  });
  let record: { payload?: unknown };
  let payload: KinesisPayload;
  try {
    record = JSON.parse(utf8.decode(bytes)) as { payload?: unknown };
    if (typeof record.payload !== 'string') return unchanged(false);
    payload = JSON.parse(record.payload) as KinesisPayload;
  } catch {
    return unchanged(false);
  }
  if (!Array.isArray(payload.Records)) return unchanged(false);

  let recordsScrubbed = 0;
  let personalFieldsRemoved = 0;
  for (const entry of payload.Records) {
    const kinesis = entry.kinesis;
    if (typeof kinesis?.data !== 'string') continue;
    const scrubbed = scrubPersonalData(Buffer.from(kinesis.data, 'base64'));
    if (scrubbed.personalFieldsRemoved === 0) continue;
    kinesis.data = Buffer.from(scrubbed.data).toString('base64');
    recordsScrubbed++;
    personalFieldsRemoved += scrubbed.personalFieldsRemoved;
  }
  if (recordsScrubbed === 0) return unchanged(true);
  return {
    data: encoder.encode(JSON.stringify({ ...record, payload: JSON.stringify(payload) })),
    recordsScrubbed,
    personalFieldsRemoved,
    recognised: true,
  };
}

/** The on-failure destination, as the scrub needs it (`functions/commons/s3-on-failure-objects.ts`). */
export interface OnFailureObjects {
  /** The object's bytes, or undefined when it is gone (expired, erased) by the time it is scrubbed. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Replace the object's bytes (same key: replay lists the destination as Lambda wrote it). */
  write(key: string, data: Uint8Array): Promise<void>;
}

/** What {@link scrubOnFailureObject} did with one object. */
export interface OnFailureObjectScrub extends Omit<ScrubbedOnFailureRecord, 'data'> {
  /** Whether the object was rewritten; `false` when nothing was left to remove (or it is gone). */
  rewritten: boolean;
}

/**
 * Scrub one object of the on-failure destination in place. Writes only when something was removed:
 * the rewrite notifies "Object Created" again, and the second scrub, finding nothing, ends the loop.
 */
export async function scrubOnFailureObject(
  key: string,
  objects: OnFailureObjects,
): Promise<OnFailureObjectScrub> {
  const bytes = await objects.read(key);
  if (bytes === undefined) {
    return { rewritten: false, recordsScrubbed: 0, personalFieldsRemoved: 0, recognised: false };
  }
  const { data, ...scrub } = scrubOnFailureRecord(bytes);
  const rewritten = scrub.personalFieldsRemoved > 0;
  if (rewritten) await objects.write(key, data);
  return { ...scrub, rewritten };
}
