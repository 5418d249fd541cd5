/**
 * The erasure use case: one request (profile ids of a person) in, the person gone from every store,
 * a tombstone left so that later and replayed events are dropped, and a receipt that names no raw id.
 *
 * Flow: validate the request → map the requested (raw) ids to the stored ones (their keyed hash when ids
 * are pseudonymised) → read the requested profiles and add the anonymous profiles they link
 * (aliases) → write a tombstone per profile id (before anything is deleted, so ingest and the archive
 * consumer start dropping at once) → delete the profiles (redirects of merged anonymous profiles are
 * keyed by the same profile id and go with them) → delete their audience members rows (in every
 * audience the definitions' history names, and any other their items name) → rewrite every archive,
 * quarantine and on-failure
 * object holding their records → delete the profiles once more (a batch that read before the tombstone
 * and wrote after the first delete), and the members rows those late items name → the receipt.
 */
import { bucketOfArchiveKey, profileBucketOf } from '../archive/profile-bucket';
import { z } from 'zod';
import { fieldRuleFromZod, FieldRuleError } from '../errors';
import { decodeProfileItem } from '../profile/profile-item-codec';
import type {
  AudienceHistory,
  ErasableObjectStore,
  ErasureMembersIndex,
  ErasureProfileStore,
} from './erasure-ports';
import type { StoredProfileItem } from '../ingest/ingest-ports';
import {
  ErasureSubject,
  scrubArchiveText,
  scrubFailureRecordText,
  scrubQuarantineText,
  type ScrubResult,
} from './erasure-subject';
import { isTombstoneKey, type TombstoneKeys } from './tombstones';
import { storedProfileIdOf, type DecodePrivacy } from '../privacy/pseudonymise';

/** Where erasure requests are put in the erasure bucket (S3 announces them to the erase function). */
export const ERASURE_REQUESTS_PREFIX = 'requests/';
/** Where the erase function writes each request's receipt, `receipts/<requestId>.json`. */
export const ERASURE_RECEIPTS_PREFIX = 'receipts/';

/** Largest number of ids one request may name (a receipt stays small; split bigger jobs). */
export const MAX_IDS_PER_REQUEST = 100;

/** An erasure request as the CLI writes it (`requests/<requestId>.json` in the erasure bucket). */
export const erasureRequestSchema = z.object({
  requestId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be 1–64 letters, digits or hyphens'),
  /**
   * Profile ids: a `userId`, or `anon:<anonymousId>` for an anonymous visitor; raw, also when ids are
   * pseudonymised (the erase function hashes them).
   */
  profileIds: z.array(z.string().min(1).max(133)).min(1).max(MAX_IDS_PER_REQUEST),
  /** Epoch ms. */
  requestedAt: z.number().int().min(0),
});
/** A validated erasure request. */
export type ErasureRequest = z.infer<typeof erasureRequestSchema>;

/** A request that does not follow {@link erasureRequestSchema}; names the field and the rule. */
export class ErasureRequestViolation extends FieldRuleError {
  override readonly name = 'ErasureRequestViolation';
}

/** Parse a request object's JSON. @throws {@link ErasureRequestViolation} */
export function parseErasureRequest(input: unknown): ErasureRequest {
  const parsed = erasureRequestSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const { field, rule, value } = fieldRuleFromZod(parsed.error, input, 'request');
  // Ids are personal data: describe the value, never echo it.
  const described = typeof value === 'string' ? `a string of ${value.length} characters` : typeof value;
  throw new ErasureRequestViolation(field, rule, described);
}

/** What was removed from one bucket area. */
export interface AreaReceipt {
  objectsScanned: number;
  /** Objects not read: archive objects of profile-hash buckets that hold none of the subject's ids. */
  objectsSkipped: number;
  objectsRewritten: number;
  objectsDeleted: number;
  recordsRemoved: number;
}

/** The erasure receipt (`receipts/<requestId>.json`): what was removed where; keyed hashes, no raw id. */
export interface ErasureReceipt {
  receiptVersion: 1;
  requestId: string;
  requestedAt: string;
  startedAt: string;
  completedAt: string;
  durationMs: number;
  /**
   * HMAC-SHA256 (hex) of each erased profile id as stored (of its pseudonym when ids are pseudonymised);
   * `requested` false for linked anonymous profiles.
   */
  subjects: { keyedId: string; requested: boolean; profileFound: boolean }[];
  table: {
    tombstonesWritten: number;
    profilesDeleted: number;
    /** Events folded into the deleted profiles. */
    eventsInDeletedProfiles: number;
    /** Profiles written again between the tombstone and the first delete, removed by the second. */
    lateWritesDeleted: number;
    /** Rows of the audience members table removed (members and exited rows of the erased profiles). */
    membersRemoved: number;
  };
  archive: AreaReceipt;
  quarantine: AreaReceipt;
  failures: AreaReceipt;
}

/** What the use case needs from the outside world. */
export interface EraseDependencies {
  profiles: ErasureProfileStore;
  /** The audience members table (activation feed index). */
  members: ErasureMembersIndex;
  /**
   * Every audience id ever defined: each erased profile's row is deleted in all of them, found or not,
   * so an exit older than the item's log (or a profile already gone) leaves no row behind.
   * @default only the audiences the items name (current membership and the log of recent transitions)
   */
  audienceHistory?: AudienceHistory;
  tombstones: TombstoneKeys;
  archive: ErasableObjectStore;
  quarantine: ErasableObjectStore;
  failures: ErasableObjectStore;
  now: () => number;
  /**
   * How ingest and archive decode: when they pseudonymise ids, the requested raw ids are hashed with the
   * same key before anything is looked up, and raw records (quarantine, on-failure) are recognised by
   * the hash of their ids. @default ids stored raw
   */
  privacy?: DecodePrivacy;
  /** Objects read at once per area. @default 16 */
  concurrency?: number;
}

/** Carry out one erasure request and answer its receipt. */
export async function eraseSubject(
  request: ErasureRequest,
  deps: EraseDependencies,
): Promise<ErasureReceipt> {
  const startedAt = deps.now();
  const storedIdOf = storedProfileIdOf(deps.privacy);
  const requested = [...new Set(request.profileIds.filter((id) => !isTombstoneKey(id)).map(storedIdOf))];
  const found = await deps.profiles.getMany(requested);
  const linked = new Set<string>();
  for (const item of found.values()) {
    for (const alias of decodeProfileItem(item).state.aliases) linked.add(`anon:${alias.key}`);
  }
  for (const id of requested) linked.delete(id);
  const all = [...requested, ...linked];
  const linkedFound = await deps.profiles.getMany([...linked]);
  const stored = new Map([...found, ...linkedFound]);

  await deps.profiles.putTombstones(
    all.map((id) => ({
      profileId: deps.tombstones.keyOf(id),
      version: 0,
      erasedAt: startedAt,
      requestId: request.requestId,
    })),
  );
  await deps.profiles.deleteMany([...stored.keys()]);
  const everDefined = (await deps.audienceHistory?.audienceIdsEverDefined()) ?? [];
  let membersRemoved = await removeMembers(deps.members, all, stored, everDefined);
  let eventsInDeletedProfiles = 0;
  for (const item of stored.values()) {
    for (const count of decodeProfileItem(item).state.counts) eventsInDeletedProfiles += count;
  }

  const subject = new ErasureSubject(all, storedIdOf);
  const concurrency = deps.concurrency ?? 16;
  const [archive, quarantine, failures] = await Promise.all([
    scrubArea(deps.archive, (text) => scrubArchiveText(text, subject), concurrency, inBucketsOf(all)),
    scrubArea(deps.quarantine, (text) => scrubQuarantineText(text, subject), concurrency),
    scrubArea(deps.failures, (text) => scrubFailureRecordText(text, subject), concurrency),
  ]);

  const late = await deps.profiles.getMany(all);
  await deps.profiles.deleteMany([...late.keys()]);
  membersRemoved += await removeMembers(deps.members, [...late.keys()], late, []);

  const completedAt = deps.now();
  return {
    receiptVersion: 1,
    requestId: request.requestId,
    requestedAt: new Date(request.requestedAt).toISOString(),
    startedAt: new Date(startedAt).toISOString(),
    completedAt: new Date(completedAt).toISOString(),
    durationMs: completedAt - startedAt,
    subjects: all.map((id) => ({
      keyedId: deps.tombstones.hashOf(id),
      requested: !linked.has(id),
      profileFound: stored.has(id),
    })),
    table: {
      tombstonesWritten: all.length,
      profilesDeleted: stored.size,
      eventsInDeletedProfiles,
      lateWritesDeleted: late.size,
      membersRemoved,
    },
    archive,
    quarantine,
    failures,
  };
}

/**
 * Delete the members rows of each of `profileIds`: in every audience of `everDefined`, and in those its
 * item (if stored) names — the audiences it is in (`audiences`) and those it entered or exited recently
 * (`audienceLog`, which also names the exited rows still awaiting their TTL).
 */
async function removeMembers(
  members: ErasureMembersIndex,
  profileIds: readonly string[],
  items: ReadonlyMap<string, StoredProfileItem>,
  everDefined: readonly string[],
): Promise<number> {
  const removed = await Promise.all(
    profileIds.map((profileId) => {
      const item = items.get(profileId);
      const named = item === undefined ? undefined : decodeProfileItem(item);
      const audienceIds = new Set([
        ...everDefined,
        ...Object.keys(named?.audiences ?? {}),
        ...Object.keys(named?.audienceLog ?? {}),
      ]);
      return audienceIds.size === 0 ? Promise.resolve(0) : members.removeProfile(profileId, [...audienceIds]);
    }),
  );
  return removed.reduce((sum, n) => sum + n, 0);
}

/**
 * Which archive keys can hold the subject's events: the objects of the profile-hash buckets of its ids
 * (the user's and each alias's: an anonymous profile's events sit in its own bucket), and objects
 * written before buckets (no `bucket=` part: any profile). An erasure of one person reads at most
 * (1 + aliases) / 16 of the archive.
 */
function inBucketsOf(profileIds: readonly string[]): (key: string) => boolean {
  const buckets = new Set(profileIds.map((id) => profileBucketOf(id)));
  return (key) => {
    const bucket = bucketOfArchiveKey(key);
    return bucket === undefined || buckets.has(bucket);
  };
}

/** Read every (relevant) object of an area, rewrite those holding the subject's records, delete emptied ones. */
async function scrubArea(
  store: ErasableObjectStore,
  scrub: (text: string) => ScrubResult,
  concurrency: number,
  relevant: (key: string) => boolean = () => true,
): Promise<AreaReceipt> {
  const listed = await store.listKeys();
  const keys = listed.filter(relevant);
  const receipt: AreaReceipt = {
    objectsScanned: keys.length,
    objectsSkipped: listed.length - keys.length,
    objectsRewritten: 0,
    objectsDeleted: 0,
    recordsRemoved: 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const result = scrub(await store.read(key));
      if (result.text === undefined) continue;
      receipt.recordsRemoved += result.removed;
      if (result.kept === 0) {
        await store.delete(key);
        receipt.objectsDeleted++;
      } else {
        await store.write(key, result.text);
        receipt.objectsRewritten++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  return receipt;
}
