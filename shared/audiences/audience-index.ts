/**
 * The audience index: one row per (audience, profile), written only on transitions, so an audience's
 * members are one Query of its partition. Rows are order-safe and idempotent by version: a row is only
 * replaced by a transition of a higher profile version, so a re-emitted or late event changes nothing.
 * An exit marks the row (kept until its TTL) instead of deleting it: a deleted row could not stop an
 * older entry, delivered late, from coming back. An erased profile's rows are deleted by erasure; with
 * a tombstone lookup, transitions of erased profiles still in the stream (put before the erasure,
 * indexed after it) are skipped, so nothing brings the rows back.
 */
import { z } from 'zod';
import { FieldRuleError, fieldRuleFromZod } from '../errors';
import { ACTIVATION_KINDS, ACTIVATION_SCHEMA_VERSION, type ActivationEvent } from './activation';
import { erasedProfilesAmong, type TombstoneLookup } from '../erasure/tombstones';

/** How long an exited row stays before its TTL removes it: past any re-emission of an older entry. */
export const EXITED_ROW_TTL_SECONDS = 8 * 24 * 3600;

/** The activation event layout, validated where the stream is read. */
export const activationEventSchema = z
  .object({
    schemaVersion: z.literal(ACTIVATION_SCHEMA_VERSION, 'must be 1'),
    id: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex digits'),
    kind: z.enum(ACTIVATION_KINDS, 'must be entered or exited'),
    audienceId: z.string().min(1, 'is required'),
    profileId: z.string().min(1, 'is required'),
    profileVersion: z.number().int().min(1, 'must be an integer ≥ 1'),
    at: z.number().int().min(0, 'must be epoch ms'),
  })
  .strict();

/** An activation record that does not match {@link activationEventSchema}. */
export class ActivationEventViolation extends FieldRuleError {
  override readonly name = 'ActivationEventViolation';
}

/** Parse one activation record's bytes. @throws {@link ActivationEventViolation} naming the field and rule */
export function decodeActivationEvent(data: Uint8Array): ActivationEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new ActivationEventViolation('(record)', 'must be UTF-8 JSON', `${data.byteLength} bytes`);
  }
  const parsed = activationEventSchema.safeParse(raw);
  if (!parsed.success) {
    const { field, rule, value } = fieldRuleFromZod(parsed.error, raw, '(record)');
    throw new ActivationEventViolation(field, rule, typeof value);
  }
  return parsed.data;
}

/** One row of the index: the latest transition of a profile in an audience. */
export interface MemberRow {
  audienceId: string;
  profileId: string;
  /** The profile version of the transition; a row only moves to a higher one. */
  version: number;
  /** When the profile entered (epoch ms); set on members. */
  enteredAt?: number;
  /** When it exited (epoch ms); set on exited rows, which expire (TTL). */
  exitedAt?: number;
}

/** The index table, as the use case sees it. */
export interface AudienceIndex {
  /** Write `row` unless the stored row has this version or a higher one. Resolves whether it was written. */
  putIfNewer(row: MemberRow): Promise<boolean>;
}

/** What indexing one batch did. */
export interface IndexBatchStats {
  events: number;
  /** Rows written (one write each). */
  written: number;
  /** Transitions superseded within the batch or by the stored row (re-emissions, late events). */
  stale: number;
  /** Transitions of erased profiles (a tombstone in the profiles table), skipped. */
  erased: number;
  /** Records that are not activation events, with why (logged by the handler, never retried). */
  invalid: ActivationEventViolation[];
}

/** The row an event leads to. */
export function memberRowOf(event: ActivationEvent): MemberRow {
  const row = { audienceId: event.audienceId, profileId: event.profileId, version: event.profileVersion };
  return event.kind === 'entered' ? { ...row, enteredAt: event.at } : { ...row, exitedAt: event.at };
}

/** How {@link indexActivationBatch} runs. */
export interface IndexBatchOptions {
  /** Rows written at once. @default 16 */
  concurrency?: number;
  /** Where tombstones are found; absent: none is looked up. */
  erasure?: TombstoneLookup;
}

/**
 * Index one batch of activation records: decode, keep the highest version per (audience, profile) (one
 * write per row and batch), drop the rows of erased profiles (one tombstone read per batch), write each
 * under the version condition.
 *
 * @throws when the index fails unexpectedly: the event source retries the batch, which is idempotent
 */
export async function indexActivationBatch(
  records: readonly { data: Uint8Array }[],
  index: AudienceIndex,
  { concurrency = 16, erasure }: IndexBatchOptions = {},
): Promise<IndexBatchStats> {
  const stats: IndexBatchStats = { events: records.length, written: 0, stale: 0, erased: 0, invalid: [] };
  const latest = new Map<string, MemberRow>();
  for (const record of records) {
    let event: ActivationEvent;
    try {
      event = decodeActivationEvent(record.data);
    } catch (error) {
      if (!(error instanceof ActivationEventViolation)) throw error;
      stats.invalid.push(error);
      continue;
    }
    const key = `${event.audienceId}\u001f${event.profileId}`;
    const seen = latest.get(key);
    if (seen === undefined || seen.version < event.profileVersion) {
      if (seen !== undefined) stats.stale++;
      latest.set(key, memberRowOf(event));
    } else stats.stale++;
  }
  let rows = [...latest.values()];
  if (erasure !== undefined && rows.length > 0) {
    const erased = await erasedProfilesAmong(
      rows.map((row) => row.profileId),
      erasure,
    );
    const kept = rows.filter((row) => !erased.has(row.profileId));
    stats.erased = rows.length - kept.length;
    rows = kept;
  }
  for (let i = 0; i < rows.length; i += concurrency) {
    const written = await Promise.all(rows.slice(i, i + concurrency).map((row) => index.putIfNewer(row)));
    for (const ok of written) {
      if (ok) stats.written++;
      else stats.stale++;
    }
  }
  return stats;
}
