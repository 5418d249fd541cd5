/**
 * Profile item codec: `ProfileState` ⇄ the DynamoDB item (a plain object for `marshall`).
 *
 * Attributes are readable and compact. Times inside lists are stored as AGES in seconds (minutes in
 * the dedupe window) before `lastEventAt`, which are short numbers and decode exactly. Fixed-point
 * decays and affinities are integers. The only opaque attribute is `dedup` (binary: 5 bytes per
 * entry, a 32-bit FNV-1a hash big-endian and an age in minutes), since hashes mean nothing to a
 * reader. `profile-item.v1.schema.json` is generated from {@link profileItemSchema} for downstream
 * readers.
 */
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../contract/event-contract';
import { byScore, byShardId, cartEventIsNewer } from './apply-events';
import {
  DECAYED_EVENT_TYPES,
  emptyProfile,
  HALF_LIVES_MS,
  PROFILE_LIMITS,
  type CartEvent,
  type ProfileState,
} from './profile-state';
import type { RecentEntry } from './recent-set';

/** Version of the item layout below; bump it (and add a new schema file) on any breaking change. */
export const ITEM_SCHEMA_VERSION = 1 as const;
/** Items expire this long after the profile's latest event. */
export const PROFILE_TTL_SECONDS = 400 * 24 * 3600;

/** Short keys of the `act` map, one per event type. */
export const EVENT_TYPE_CODES = {
  page_view: 'pv',
  product_view: 'vw',
  search: 'sr',
  add_to_cart: 'ac',
  remove_from_cart: 'rc',
  add_to_wishlist: 'wl',
  begin_checkout: 'co',
  purchase: 'pu',
  login: 'li',
  identify: 'id',
} as const satisfies Record<EventType, string>;

const DEDUPE_ENTRY_BYTES = 5;
const KINESIS_SHARD_ID = /^shardId-(\d{12})$/;
const SEQUENCE_BYTES = 24;
const nonNegativeInt = z.number().int().min(0);
const binary = z.instanceof(Uint8Array);
const ageMap = z.record(z.string().min(1), nonNegativeInt);

/** Zod schema of the stored item (v1); the JSON Schema file is generated from it. */
export const profileItemSchema = z
  .object({
    profileId: z.string().min(1).describe('userId, or anon:<anonymousId>'),
    version: nonNegativeInt.describe('optimistic-locking counter, +1 per write'),
    itemSchemaVersion: z.literal(ITEM_SCHEMA_VERSION),
    expiresAt: nonNegativeInt.describe('TTL, epoch seconds: lastEventAt + 400 days'),
    scoreStatus: z.enum(['scored', 'unscored']),
    propensity: z.number().min(0).max(1).optional().describe('purchase propensity, 4 decimals'),
    modelVersion: z.string().min(1).optional(),
    scoredAt: nonNegativeInt.optional().describe('epoch ms'),
    firstSeenAt: nonNegativeInt.describe('event time of the first event, epoch ms'),
    lastEventAt: nonNegativeInt.describe(
      'event time of the latest event, epoch ms; ages below count back from it',
    ),
    act: z
      .partialRecord(
        z.enum(Object.values(EVENT_TYPE_CODES)),
        z.union([nonNegativeInt, z.array(nonNegativeInt).length(4)]),
      )
      .describe(
        'per event type code: lifetime count, or for decayed types [count, decay1h, decay1d, decay30d]; ' +
          'decays are fixed point (2^-16 units) at the start of the half-life period holding lastEventAt',
      ),
    cat: z.record(z.string().min(1), nonNegativeInt).describe('category → 7-day affinity, fixed point 2^-16'),
    views: ageMap.describe('recently viewed productId → age in seconds'),
    searches: ageMap.describe('recent normalised search term → age in seconds'),
    aliases: ageMap.optional().describe('linked anonymousId → age in seconds'),
    orders: z
      .tuple([nonNegativeInt, nonNegativeInt, nonNegativeInt])
      .optional()
      .describe('[order count, revenue in cents, age of last purchase in seconds]'),
    cart: z
      .array(z.tuple([z.string().min(1), z.number().int(), z.number().int().min(-1), nonNegativeInt]))
      .describe(
        'cart events since the last purchase: [productId, +qty add / -qty remove, unit price cents or -1, age s]',
      ),
    session: z
      .tuple([nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt])
      .optional()
      .describe('[session count, events in current, sessionId hash or 0, start age s, end age s]'),
    seq: z
      .record(
        z.string().min(1),
        binary.refine((b) => b.byteLength === SEQUENCE_BYTES, 'must be 24 bytes'),
      )
      .describe(
        'shard → last applied sequence number as a 24-byte big-endian unsigned integer (a 56-digit ' +
          'string would take 56 bytes); Kinesis shard ids shortened to their number, others prefixed with "="',
      ),
    dedup: binary
      .refine((b) => b.byteLength % DEDUPE_ENTRY_BYTES === 0, 'must hold whole 5-byte entries')
      .describe('recent event/order id hashes: 5 bytes each (uint32 FNV-1a BE, uint8 age in minutes)'),
  })
  .strict()
  .meta({
    title: `ProfileItem v${ITEM_SCHEMA_VERSION}`,
    description: 'One profile in the profiles table (DynamoDB item, shown as unmarshalled JSON).',
  });

/** The stored item, as passed to / returned from `marshall` / `unmarshall`. */
export type ProfileItem = z.infer<typeof profileItemSchema>;

/** A model score stored with the profile. */
export interface ProfileScore {
  /** 0..1 */
  propensity: number;
  modelVersion: string;
  /** Epoch ms. */
  scoredAt: number;
}

/** Metadata stored beside the state. */
export interface ProfileItemMeta {
  /** Optimistic-locking version to write. */
  version: number;
  /** Absent = the profile is stored unscored. */
  score?: ProfileScore;
}

/** What {@link decodeProfileItem} returns. */
export interface DecodedProfileItem {
  state: ProfileState;
  version: number;
  itemSchemaVersion: typeof ITEM_SCHEMA_VERSION;
  scoreStatus: 'scored' | 'unscored';
  score?: ProfileScore;
}

/** A stored item that does not match the schema (corrupt or from an unknown layout). */
export class ProfileItemViolation extends Error {
  override readonly name = 'ProfileItemViolation';
  constructor(
    readonly field: string,
    readonly rule: string,
    readonly redactedValue: string,
  ) {
    super(`${field}: ${rule} (got ${redactedValue})`);
  }
}

const TYPE_BY_CODE = new Map<string, EventType>(
  EVENT_TYPES.map((type) => [EVENT_TYPE_CODES[type], type] as const),
);
const DECAY_SLOT = new Map<EventType, number>(DECAYED_EVENT_TYPES.map((t, i) => [t, i]));
const HALF_LIFE_COUNT = HALF_LIVES_MS.length;

function encodeShardId(shardId: string): string {
  const match = KINESIS_SHARD_ID.exec(shardId);
  return match ? String(Number(match[1])) : `=${shardId}`;
}

function decodeShardId(key: string): string {
  return key.startsWith('=') ? key.slice(1) : `shardId-${key.padStart(12, '0')}`;
}

function encodeAges(list: readonly RecentEntry[], now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of list) out[e.key] = now - e.at;
  return out;
}

function decodeAges(ages: Readonly<Record<string, number>> | undefined, now: number): RecentEntry[] {
  const list: RecentEntry[] = [];
  for (const [key, age] of Object.entries(ages ?? {})) list.push({ key, at: now - age });
  return list.sort((a, b) => b.at - a.at || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
}

/** A decimal sequence number (< 10^56 < 2^192) as 24 big-endian bytes. */
function sequenceToBytes(sequenceNumber: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(SEQUENCE_BYTES);
  let value = BigInt(sequenceNumber);
  for (let i = SEQUENCE_BYTES - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  if (value > 0n) {
    throw new ProfileItemViolation(
      'seq',
      'a sequence number must fit in 24 bytes (57 digits)',
      `${sequenceNumber.length} digits`,
    );
  }
  return bytes;
}

function sequenceFromBytes(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value.toString();
}

function roundTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/**
 * Encode a profile for storage.
 *
 * @param state - the profile
 * @param meta - optimistic-locking version and the optional score
 */
export function encodeProfileItem(state: ProfileState, meta: ProfileItemMeta): ProfileItem {
  const nowSec = Math.floor(state.lastEventAt / 1000);
  const nowMin = Math.floor(state.lastEventAt / 60_000);
  const act: Record<string, number | number[]> = {};
  for (let t = 0; t < EVENT_TYPES.length; t++) {
    const count = state.counts[t]!;
    if (count === 0) continue;
    const type = EVENT_TYPES[t]!;
    const slot = DECAY_SLOT.get(type);
    if (slot === undefined) {
      act[EVENT_TYPE_CODES[type]] = count;
      continue;
    }
    const entry = [count];
    for (let h = 0; h < HALF_LIFE_COUNT; h++) entry.push(state.decays[slot * HALF_LIFE_COUNT + h]!);
    act[EVENT_TYPE_CODES[type]] = entry;
  }
  const cat: Record<string, number> = {};
  for (const c of state.categories) cat[c.key] = c.score;
  const seq: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const m of state.shardMarks) seq[encodeShardId(m.shardId)] = sequenceToBytes(m.sequenceNumber);
  const dedup = new Uint8Array(state.dedupe.length * DEDUPE_ENTRY_BYTES);
  const view = new DataView(dedup.buffer);
  state.dedupe.forEach((e, i) => {
    view.setUint32(i * DEDUPE_ENTRY_BYTES, e.key);
    view.setUint8(i * DEDUPE_ENTRY_BYTES + 4, nowMin - e.at);
  });

  const item: ProfileItem = {
    profileId: state.profileId,
    version: meta.version,
    itemSchemaVersion: ITEM_SCHEMA_VERSION,
    expiresAt: nowSec + PROFILE_TTL_SECONDS,
    scoreStatus: meta.score === undefined ? 'unscored' : 'scored',
    firstSeenAt: state.firstSeenAt,
    lastEventAt: state.lastEventAt,
    act,
    cat,
    views: encodeAges(state.recentProducts, nowSec),
    searches: encodeAges(state.recentSearches, nowSec),
    cart: state.cart.map((e) => [e.productId, e.quantity, e.priceCents, nowSec - e.at]),
    seq,
    dedup,
  };
  if (meta.score !== undefined) {
    item.propensity = roundTo(Math.min(1, Math.max(0, meta.score.propensity)), 4);
    item.modelVersion = meta.score.modelVersion;
    item.scoredAt = meta.score.scoredAt;
  }
  if (state.aliases.length > 0) item.aliases = encodeAges(state.aliases, nowSec);
  if (state.orderCount > 0 || state.revenueCents > 0 || state.lastPurchaseAt > 0) {
    item.orders = [
      state.orderCount,
      state.revenueCents,
      state.lastPurchaseAt === 0 ? 0 : nowSec - state.lastPurchaseAt,
    ];
  }
  if (state.sessionCount > 0) {
    item.session = [
      state.sessionCount,
      state.sessionEvents,
      state.sessionKey,
      nowSec - state.sessionStart,
      nowSec - state.sessionEnd,
    ];
  }
  return item;
}

/**
 * Decode a stored item (as returned by `unmarshall`). Exact inverse of {@link encodeProfileItem}
 * for the state; `propensity` comes back rounded to 4 decimals.
 *
 * @throws {ProfileItemViolation} when the item does not match schema v1
 */
export function decodeProfileItem(raw: unknown): DecodedProfileItem {
  const parsed = profileItemSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(item)';
    throw new ProfileItemViolation(field, issue.message, issue.code);
  }
  const item = parsed.data;
  const nowSec = Math.floor(item.lastEventAt / 1000);
  const nowMin = Math.floor(item.lastEventAt / 60_000);
  const state = emptyProfile(item.profileId);
  state.firstSeenAt = item.firstSeenAt;
  state.lastEventAt = item.lastEventAt;
  for (const [code, entry] of Object.entries(item.act)) {
    const type = TYPE_BY_CODE.get(code)!;
    const slot = DECAY_SLOT.get(type);
    if (typeof entry === 'number' || slot === undefined) {
      // A count stored for a type this build decays (or vice versa) is a layout error, not data.
      if ((typeof entry === 'number') !== (slot === undefined)) {
        throw new ProfileItemViolation(
          `act.${code}`,
          'must be [count, d1h, d1d, d30d] exactly for decayed types',
          typeof entry,
        );
      }
      state.counts[EVENT_TYPES.indexOf(type)] = entry as number;
      continue;
    }
    state.counts[EVENT_TYPES.indexOf(type)] = entry[0]!;
    for (let h = 0; h < HALF_LIFE_COUNT; h++) state.decays[slot * HALF_LIFE_COUNT + h] = entry[h + 1]!;
  }
  state.categories = Object.entries(item.cat)
    .map(([key, score]) => ({ key, score }))
    .sort(byScore);
  state.recentProducts = decodeAges(item.views, nowSec);
  state.recentSearches = decodeAges(item.searches, nowSec);
  state.aliases = decodeAges(item.aliases, nowSec);
  if (item.orders !== undefined) {
    const [count, revenueCents, age] = item.orders;
    state.orderCount = count;
    state.revenueCents = revenueCents;
    state.lastPurchaseAt = count === 0 && revenueCents === 0 && age === 0 ? 0 : nowSec - age;
  }
  state.cart = item.cart
    .map(([productId, quantity, priceCents, age]): CartEvent => ({
      at: nowSec - age,
      productId,
      quantity,
      priceCents,
    }))
    .sort((a, b) => (cartEventIsNewer(a, b) ? -1 : cartEventIsNewer(b, a) ? 1 : 0));
  if (item.session !== undefined) {
    const [count, events, key, startAge, endAge] = item.session;
    state.sessionCount = count;
    state.sessionEvents = events;
    state.sessionKey = key;
    state.sessionStart = nowSec - startAge;
    state.sessionEnd = nowSec - endAge;
  }
  state.shardMarks = Object.entries(item.seq)
    .map(([key, bytes]) => ({ shardId: decodeShardId(key), sequenceNumber: sequenceFromBytes(bytes) }))
    .sort(byShardId);
  const view = new DataView(item.dedup.buffer, item.dedup.byteOffset, item.dedup.byteLength);
  for (let offset = 0; offset < item.dedup.byteLength; offset += DEDUPE_ENTRY_BYTES) {
    state.dedupe.push({ key: view.getUint32(offset), at: nowMin - view.getUint8(offset + 4) });
  }
  state.dedupe.sort((a, b) => b.at - a.at || b.key - a.key);

  const decoded: DecodedProfileItem = {
    state,
    version: item.version,
    itemSchemaVersion: item.itemSchemaVersion,
    scoreStatus: item.scoreStatus,
  };
  if (item.propensity !== undefined && item.modelVersion !== undefined && item.scoredAt !== undefined) {
    decoded.score = { propensity: item.propensity, modelVersion: item.modelVersion, scoredAt: item.scoredAt };
  }
  return decoded;
}

/**
 * The JSON Schema (draft 2020-12) of the item, as committed in `profile-item.v1.schema.json`.
 * Binary attributes appear as base64 strings, as in DynamoDB JSON.
 */
export function profileItemJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(profileItemSchema, {
    unrepresentable: 'any',
    override: (ctx) => {
      if (ctx.zodSchema instanceof z.ZodCustom) {
        ctx.jsonSchema.type = 'string';
        ctx.jsonSchema.contentEncoding = 'base64';
      }
    },
  }) as Record<string, unknown>;
}

/** Bound check used by tests and the bench: the dedupe window never exceeds its documented size. */
export const MAX_DEDUPE_BYTES = PROFILE_LIMITS.dedupeWindow * DEDUPE_ENTRY_BYTES;
