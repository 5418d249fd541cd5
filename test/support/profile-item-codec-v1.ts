/**
 * FROZEN COPY of the v1 profile item codec (`shared/profile/profile-item-codec.ts` at commit 6e81257,
 * before item schema v2), the code that old functions run during a rolling deploy. Only the zod schema and
 * the JSON Schema export are cut; `encodeProfileItem` / `decodeProfileItem` are verbatim. Tests run it
 * against items the current codec writes (and the current codec against items this one writes).
 * Never edit it to make a test pass: it stands for code already deployed.
 */
import { FieldRuleError } from '../../shared/errors';
import { EVENT_TYPES, type EventType } from '../../shared/contract/event-contract';
import { byScore, byShardId, cartEventIsNewer } from '../../shared/profile/apply-events';
import {
  DECAYED_EVENT_TYPES,
  emptyProfile,
  HALF_LIVES_MS,
  type CartEvent,
  type ProfileState,
} from '../../shared/profile/profile-state';
import type { RecentEntry } from '../../shared/profile/recent-set';
import type { ProfileScore } from '../../shared/model/model-outputs';

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

/** The stored item (v1), as passed to / returned from `marshall` / `unmarshall`. */
type ProfileItem = Record<string, unknown> & {
  aliases?: unknown;
  orders?: unknown;
  session?: unknown;
  propensity?: number;
  modelVersion?: string;
  scoredAt?: number;
};

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
