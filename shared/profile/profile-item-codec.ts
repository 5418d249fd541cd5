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
import { FieldRuleError } from '../errors';
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../contract/event-contract';
import { byScore, byShardId, cartEventIsNewer } from './apply-events';
import {
  DECAYED_EVENT_TYPES,
  emptyProfile,
  HALF_LIVES_MS,
  type CartEvent,
  type ProfileState,
} from './profile-state';
import type { RecentEntry } from './recent-set';
import type { ProfileScore } from '../model/model-outputs';

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
/** A canonical decimal Kinesis sequence number (no leading zeros). */
const SEQUENCE_NUMBER = /^(0|[1-9][0-9]{0,56})$/;
const nonNegativeInt = z.number().int().min(0);
const binary = z.instanceof(Uint8Array);
const ageMap = z.record(z.string().min(1), nonNegativeInt);

/** Zod schema of the stored item (v1); the JSON Schema file is generated from it. */
export const profileItemSchema = z
  .object({
    profileId: z.string().min(1).describe('userId, or anon:<anonymousId>'),
    version: nonNegativeInt.describe('optimistic-locking counter, +1 per write'),
    itemSchemaVersion: z.literal(ITEM_SCHEMA_VERSION),
    expiresAt: nonNegativeInt.describe(
      'TTL, epoch seconds: 400 days after the later of lastEventAt and the write',
    ),
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
      .record(z.string().min(1), z.string().regex(SEQUENCE_NUMBER, 'must be a decimal sequence number'))
      .describe(
        'shard → last applied Kinesis sequence number, a decimal string (up to 56 digits: more than a ' +
          'DynamoDB Number holds); Kinesis shard ids shortened to their number, others prefixed with "="',
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

/** Metadata stored beside the state. */
export interface ProfileItemMeta {
  /** Optimistic-locking version to write. */
  version: number;
  /** Absent = the profile is stored unscored. */
  score?: ProfileScore;
  /**
   * When the item is written (epoch ms). The TTL counts from the later of this and the latest event,
   * so a backfill of old history is not expired the moment it lands. @default lastEventAt
   */
  writtenAt?: number;
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
export class ProfileItemViolation extends FieldRuleError {
  override readonly name = 'ProfileItemViolation';
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
  const seq: Record<string, string> = {};
  for (const m of state.shardMarks) seq[encodeShardId(m.shardId)] = m.sequenceNumber;
  const dedup = new Uint8Array(state.dedupe.length * DEDUPE_ENTRY_BYTES);
  for (let i = 0, o = 0; i < state.dedupe.length; i++, o += DEDUPE_ENTRY_BYTES) {
    const { key, at } = state.dedupe[i]!;
    dedup[o] = key >>> 24;
    dedup[o + 1] = (key >>> 16) & 0xff;
    dedup[o + 2] = (key >>> 8) & 0xff;
    dedup[o + 3] = key & 0xff;
    dedup[o + 4] = nowMin - at;
  }

  const item: ProfileItem = {
    profileId: state.profileId,
    version: meta.version,
    itemSchemaVersion: ITEM_SCHEMA_VERSION,
    expiresAt: Math.floor(Math.max(state.lastEventAt, meta.writtenAt ?? 0) / 1000) + PROFILE_TTL_SECONDS,
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

// Hand-written checks: the decoder runs once per profile per batch, and zod's generic parse cost
// more than the rest of the decode; `profileItemSchema` stays the documented contract, and a
// property test asserts that every encoded item satisfies it.
// Field paths are `field` or `field.key`, built only on failure (this runs per attribute per decode).
type Key = string | number | undefined;
function fail(field: string, rule: string, value: unknown, key?: Key): never {
  const shape = Array.isArray(value) ? `an array of ${value.length}` : value === null ? 'null' : typeof value;
  throw new ProfileItemViolation(key === undefined ? field : `${field}.${key}`, rule, shape);
}
function int(value: unknown, field: string, key?: Key, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(field, `must be an integer ≥ ${min}`, value, key);
  }
  return value;
}
function text(value: unknown, field: string, key?: Key): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'must be a non-empty string', value, key);
  return value;
}
function bytes(value: unknown, field: string, multipleOf: number, key?: Key): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength % multipleOf !== 0) {
    fail(field, `must be binary, a multiple of ${multipleOf} bytes`, value, key);
  }
  return value;
}
function sequenceString(value: unknown, key: string): string {
  if (typeof value !== 'string' || !SEQUENCE_NUMBER.test(value)) {
    fail('seq', 'must be a decimal sequence number', value, key);
  }
  return value;
}

function map(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    fail(field, 'must be a map', value);
  }
  return value as Record<string, unknown>;
}
function list(value: unknown, field: string, length?: number, key?: Key): unknown[] {
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    fail(field, length === undefined ? 'must be a list' : `must be a list of ${length}`, value, key);
  }
  return value;
}
function ages(value: unknown, field: string, now: number): RecentEntry[] {
  const entries: RecentEntry[] = [];
  if (value === undefined) return entries;
  for (const [key, age] of Object.entries(map(value, field)))
    entries.push({ key, at: now - int(age, field, key) });
  return entries.sort((a, b) => b.at - a.at || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
}

/**
 * Decode a stored item (as returned by `unmarshall`). Exact inverse of {@link encodeProfileItem}
 * for the state; `propensity` comes back rounded to 4 decimals.
 *
 * @throws {ProfileItemViolation} when the item does not match schema v1
 */
export function decodeProfileItem(raw: unknown): DecodedProfileItem {
  const item = map(raw, '(item)');
  if (item.itemSchemaVersion !== ITEM_SCHEMA_VERSION) {
    fail('itemSchemaVersion', `must be ${ITEM_SCHEMA_VERSION}`, item.itemSchemaVersion);
  }
  const lastEventAt = int(item.lastEventAt, 'lastEventAt');
  const nowSec = Math.floor(lastEventAt / 1000);
  const nowMin = Math.floor(lastEventAt / 60_000);
  const state = emptyProfile(text(item.profileId, 'profileId'));
  state.firstSeenAt = int(item.firstSeenAt, 'firstSeenAt');
  state.lastEventAt = lastEventAt;
  for (const [code, entry] of Object.entries(map(item.act, 'act'))) {
    const type = TYPE_BY_CODE.get(code);
    if (type === undefined) fail('act', 'must be a known event type code', code, code);
    const slot = DECAY_SLOT.get(type);
    const typeIndex = EVENT_TYPES.indexOf(type);
    if (slot === undefined) {
      state.counts[typeIndex] = int(entry, 'act', code);
      continue;
    }
    const values = list(entry, 'act', 1 + HALF_LIFE_COUNT, code);
    state.counts[typeIndex] = int(values[0], 'act', code);
    for (let h = 0; h < HALF_LIFE_COUNT; h++) {
      state.decays[slot * HALF_LIFE_COUNT + h] = int(values[h + 1], 'act', code);
    }
  }
  state.categories = Object.entries(map(item.cat, 'cat'))
    .map(([key, score]) => ({ key, score: int(score, 'cat', key) }))
    .sort(byScore);
  state.recentProducts = ages(item.views, 'views', nowSec);
  state.recentSearches = ages(item.searches, 'searches', nowSec);
  state.aliases = ages(item.aliases, 'aliases', nowSec);
  if (item.orders !== undefined) {
    const [count, revenueCents, age] = list(item.orders, 'orders', 3);
    state.orderCount = int(count, 'orders.0');
    state.revenueCents = int(revenueCents, 'orders.1');
    state.lastPurchaseAt =
      state.orderCount === 0 && state.revenueCents === 0 && age === 0 ? 0 : nowSec - int(age, 'orders.2');
  }
  state.cart = list(item.cart, 'cart')
    .map((entry, i): CartEvent => {
      const [productId, quantity, priceCents, age] = list(entry, 'cart', 4, i);
      return {
        at: nowSec - int(age, 'cart', i),
        productId: text(productId, 'cart', i),
        quantity: int(quantity, 'cart', i, -Number.MAX_SAFE_INTEGER),
        priceCents: int(priceCents, 'cart', i, -1),
      };
    })
    .sort((a, b) => (cartEventIsNewer(a, b) ? -1 : cartEventIsNewer(b, a) ? 1 : 0));
  if (item.session !== undefined) {
    const [count, events, key, startAge, endAge] = list(item.session, 'session', 5);
    state.sessionCount = int(count, 'session.0');
    state.sessionEvents = int(events, 'session.1');
    state.sessionKey = int(key, 'session.2');
    state.sessionStart = nowSec - int(startAge, 'session.3');
    state.sessionEnd = nowSec - int(endAge, 'session.4');
  }
  state.shardMarks = Object.entries(map(item.seq, 'seq'))
    .map(([key, value]) => ({
      shardId: decodeShardId(key),
      sequenceNumber: sequenceString(value, key),
    }))
    .sort(byShardId);
  const dedup = bytes(item.dedup, 'dedup', DEDUPE_ENTRY_BYTES);
  for (let o = 0; o < dedup.byteLength; o += DEDUPE_ENTRY_BYTES) {
    const key = ((dedup[o]! << 24) | (dedup[o + 1]! << 16) | (dedup[o + 2]! << 8) | dedup[o + 3]!) >>> 0;
    state.dedupe.push({ key, at: nowMin - dedup[o + 4]! });
  }
  state.dedupe.sort((a, b) => b.at - a.at || b.key - a.key);

  const scoreStatus = item.scoreStatus;
  if (scoreStatus !== 'scored' && scoreStatus !== 'unscored')
    fail('scoreStatus', "must be 'scored' or 'unscored'", scoreStatus);
  const decoded: DecodedProfileItem = {
    state,
    version: int(item.version, 'version'),
    itemSchemaVersion: ITEM_SCHEMA_VERSION,
    scoreStatus,
  };
  if (scoreStatus === 'scored') {
    const propensity = item.propensity;
    if (typeof propensity !== 'number' || !(propensity >= 0 && propensity <= 1)) {
      fail('propensity', 'must be a number in [0, 1]', propensity);
    }
    decoded.score = {
      propensity,
      modelVersion: text(item.modelVersion, 'modelVersion'),
      scoredAt: int(item.scoredAt, 'scoredAt'),
    };
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
