/**
 * Who an erasure request is about, and how to recognise their records wherever they are kept. A person
 * is a set of profile ids: the requested ones plus the anonymous profiles a requested user profile has
 * linked as aliases (`identify`). A record is theirs when its profile id is, or — for records that do
 * not parse — when its partition key (userId, else anonymousId) names one of their profiles.
 */
import { profileIdOf } from '../contract/event-contract';

/** The profile ids of one erasure, raw (held in memory only, never written). */
export class ErasureSubject {
  readonly profileIds: ReadonlySet<string>;

  constructor(profileIds: Iterable<string>) {
    this.profileIds = new Set(profileIds);
  }

  /** Whether an event (or anything carrying `userId` / `anonymousId`) belongs to the subject. */
  ownsEvent(event: { userId?: unknown; anonymousId?: unknown }): boolean {
    const userId = typeof event.userId === 'string' ? event.userId : undefined;
    const anonymousId = typeof event.anonymousId === 'string' ? event.anonymousId : undefined;
    if (userId === undefined && anonymousId === undefined) return false;
    return this.profileIds.has(profileIdOf({ userId, anonymousId }));
  }

  /** Whether a Kinesis partition key (userId, else anonymousId) names one of the subject's profiles. */
  ownsPartitionKey(partitionKey: string): boolean {
    return this.profileIds.has(partitionKey) || this.profileIds.has(`anon:${partitionKey}`);
  }

  /** Whether a record's raw bytes (a JSON event, or anything else) belong to the subject. */
  ownsRecordBytes(data: Uint8Array, partitionKey: string): boolean {
    if (this.ownsPartitionKey(partitionKey)) return true;
    const parsed = parseJsonObject(new TextDecoder().decode(data));
    return parsed !== undefined && this.ownsEvent(parsed);
  }
}

/** What one rewrite of an object's text removed and kept. */
export interface ScrubResult {
  /** The text without the subject's records; `undefined` when nothing was removed. */
  text: string | undefined;
  removed: number;
  kept: number;
}

/** Archive NDJSON (one contract event per line): drop the subject's events. */
export function scrubArchiveText(text: string, subject: ErasureSubject): ScrubResult {
  return scrubLines(text, (line) => {
    const event = parseJsonObject(line);
    return event !== undefined && subject.ownsEvent(event);
  });
}

/** Quarantine NDJSON (one refused record per line, bytes in `dataBase64`): drop the subject's records. */
export function scrubQuarantineText(text: string, subject: ErasureSubject): ScrubResult {
  return scrubLines(text, (line) => {
    const record = parseJsonObject(line);
    if (record === undefined) return false;
    const partitionKey = typeof record.partitionKey === 'string' ? record.partitionKey : '';
    const data =
      typeof record.dataBase64 === 'string' ? Buffer.from(record.dataBase64, 'base64') : new Uint8Array();
    return subject.ownsRecordBytes(data, partitionKey);
  });
}

/**
 * An on-failure invocation record (Lambda's S3 destination format: `payload` is the invocation event
 * as a JSON string): drop the subject's Kinesis records from the payload.
 */
export function scrubFailureRecordText(text: string, subject: ErasureSubject): ScrubResult {
  const invocation = parseJsonObject(text);
  const payload = typeof invocation?.payload === 'string' ? parseJsonObject(invocation.payload) : undefined;
  const records = Array.isArray(payload?.Records) ? (payload.Records as unknown[]) : undefined;
  if (invocation === undefined || payload === undefined || records === undefined) {
    return { text: undefined, removed: 0, kept: 0 };
  }
  const kept = records.filter((record) => !ownsKinesisRecord(record, subject));
  const removed = records.length - kept.length;
  if (removed === 0) return { text: undefined, removed, kept: kept.length };
  const rewritten = { ...invocation, payload: JSON.stringify({ ...payload, Records: kept }) };
  return { text: JSON.stringify(rewritten), removed, kept: kept.length };
}

function ownsKinesisRecord(record: unknown, subject: ErasureSubject): boolean {
  const kinesis = isObject(record) && isObject(record.kinesis) ? record.kinesis : undefined;
  if (kinesis === undefined) return false;
  const partitionKey = typeof kinesis.partitionKey === 'string' ? kinesis.partitionKey : '';
  const data = typeof kinesis.data === 'string' ? Buffer.from(kinesis.data, 'base64') : new Uint8Array();
  return subject.ownsRecordBytes(data, partitionKey);
}

function scrubLines(text: string, owned: (line: string) => boolean): ScrubResult {
  let out = '';
  let removed = 0;
  let kept = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (owned(line)) removed++;
    else {
      kept++;
      out += line + '\n';
    }
  }
  return { text: removed === 0 ? undefined : out, removed, kept };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
