/**
 * The profile update rules: fold a batch of sequenced events into one profile.
 *
 * Deduplication, in this order:
 * 1. Redelivery (Lambda retry, bisect, partial-batch checkpoint): the record's sequence number is at
 *    or below the profile's high-water mark for its shard. Exact, always: a profile's events all use
 *    one partition key, so they sit on one shard in sequence order; after a reshard the child shard
 *    gets its own mark (at most `PROFILE_LIMITS.shards`, the lowest mark evicted first).
 * 2. Producer duplicate (a retried PutRecord stored twice, new sequence number): the FNV-1a hash of
 *    `eventId` is in the dedupe window = the 16 most recent distinct ids by event minute (ties by
 *    hash) within 255 minutes of the latest event. Event ids are hashed as `e:<eventId>`; purchases also store `o:<orderId>` there, so
 *    "distinct orders" is exact within the same horizon. Beyond it a duplicate is applied again. A
 *    false positive needs a 32-bit collision with one of ≤ 16 entries: ≤ 16 / 2^32 ≈ 3.7e-9 per event.
 *
 * Order independence (property-tested). Guaranteed deep-equal state for every arrival order and
 * every batching (sequence numbers assigned in arrival order, as Kinesis does), duplicates included,
 * for any set of distinct events that (a) spans at most 255 minutes, (b) fills at most 16 window
 * entries (events + distinct orders), (c) forms one session (one sessionId, or none and a span of at
 * most 30 minutes) and (d) names at most 8 categories.
 * Order independent for ANY event set: identity times, lifetime counts, the recent products /
 * searches / aliases, the dedupe window itself and the cart log (all "top-N by time" summaries).
 * Not, and why:
 * - decays: exact while all events lie within 9 half-lives of the latest; beyond, the two orders
 *   differ by fewer than m + 2 units of 2^-16, m = events beyond that span (see `fixed-point-decay`);
 * - categories beyond K distinct: an evicted category's mass is lost, so which K survive depends on
 *   the order;
 * - order count and revenue beyond the dedupe horizon: a re-sent event or order counts again;
 * - sessions: an event older than the current session is counted but never opens a session, so a
 *   late event that would have split or bridged past sessions is not reflected;
 * - cart: derived from the last 4 cart events after the last purchase; older ones are forgotten;
 * - risk: the smoothed inter-event gap follows ARRIVAL order (a late event measures no gap); the
 *   other risk signals are order independent as `shared/risk/risk-signals.ts` states. So the
 *   guarantee above holds for the risk state when events arrive in event-time order, however batched.
 *
 * Batching is never part of the envelope, merges on identify included: ingest stores exactly the
 * record-by-record fold of the records in the order they were processed, for ANY events, however the
 * batches cut them (`test/unit/ingest/merge-batch-cuts.property.test.ts`). What the envelope bounds is
 * the order. A user and its cookie sit on two shards whose consumers interleave as they will, so a
 * cookie record is folded either into the anonymous state before the freeze or through the redirect
 * after it; outside the envelope the merged sessions (an earlier or gap-delimited cookie session, a
 * late identify), decays beyond the exact span and categories beyond K then depend on which. A
 * reference fold in delivery order (`infra/local/reference-fold.ts`) is therefore exact for merged
 * profiles inside the envelope, and for keys on one shard; across shards, outside it, it agrees as
 * far as the consumers keep to the delivery order.
 */
import { EVENT_TYPES, profileIdOf, type ContractEvent, type EventType } from '../contract/event-contract';
import {
  contributionInPeriod,
  decayAnchor,
  decayScaleOf,
  rescaleDecay,
  type DecayScale,
} from './fixed-point-decay';
import { fnv1a32 } from './hashing';
import {
  AFFINITY_HALF_LIFE_MS,
  CATEGORY_WEIGHTS,
  cloneProfile,
  DECAYED_EVENT_TYPES,
  emptyProfile,
  HALF_LIVES_MS,
  PROFILE_LIMITS,
  SESSION_GAP_SECONDS,
  UNKNOWN_CATEGORY,
  type CartEvent,
  type MergedAlias,
  type ProfileState,
  type SessionFields,
  type ShardMark,
} from './profile-state';
import { foldRiskEvent } from '../risk/risk-signals';
import {
  indexOfRecent,
  insertNewestFirst,
  insertRecent,
  pruneRecent,
  touchRecent,
  type RecentEntry,
  insertionSort,
} from './recent-set';
import { canonicalSequenceNumber, compareSequenceNumbers } from './sequence-number';

/** A validated event with where it came from in the stream. */
export interface SequencedEvent {
  event: ContractEvent;
  shardId: string;
  /** Kinesis sequence number (decimal string, up to 56 digits); a replay's original one. */
  sequenceNumber: string;
  /** A replay's own sequence number in the stream now, which a partial batch failure must report. */
  streamSequenceNumber?: string;
}

/** Result of {@link applyEventsToProfile}. */
export interface ApplyResult {
  state: ProfileState;
  /** Events that changed the profile. */
  applied: number;
  /** Redeliveries plus producer duplicates that were dropped. */
  duplicates: number;
  /** Whether anything but shard marks changed (when false, the write can be skipped). */
  changed: boolean;
}

/** An event handed to the wrong profile: a caller bug, never data to fold in. */
export class ProfileMismatchError extends Error {
  override readonly name = 'ProfileMismatchError';
  constructor(
    readonly field: 'profileId',
    readonly rule: string,
    readonly expected: string,
  ) {
    super(`${field}: ${rule} (expected ${expected})`);
  }
}

/** What the fold does per event type, looked up once per event. */
interface TypeRule {
  /** Index in `counts`. */
  count: number;
  /** First index in `decays`, or -1 when the type keeps no decayed activity. */
  decaySlot: number;
  /** {@link CATEGORY_WEIGHTS} of the type. */
  categoryWeight: number;
}
const TYPE_RULES = new Map<EventType, TypeRule>(
  EVENT_TYPES.map((type, count) => {
    const decayIndex = (DECAYED_EVENT_TYPES as readonly EventType[]).indexOf(type);
    const decaySlot = decayIndex < 0 ? -1 : decayIndex * HALF_LIVES_MS.length;
    return [type, { count, decaySlot, categoryWeight: CATEGORY_WEIGHTS[type] }];
  }),
);
/** Hash states of the dedupe window's prefixes (`e:` event ids, `o:` order ids): no joined string per event. */
const EVENT_ID_SEED = fnv1a32('e:');
const ORDER_ID_SEED = fnv1a32('o:');
const PRODUCT_EVENTS: ReadonlySet<EventType> = new Set([
  'product_view',
  'add_to_cart',
  'add_to_wishlist',
  'purchase',
]);
const HALF_LIFE_COUNT = HALF_LIVES_MS.length;
const HALF_LIVES: readonly number[] = [...HALF_LIVES_MS];
/** Index of the affinity half-life in {@link Periods}, after the decays' half-lives. */
const AFFINITY = HALF_LIFE_COUNT;
const DECAY_SCALES: readonly DecayScale[] = [...HALF_LIVES, AFFINITY_HALF_LIFE_MS].map(decayScaleOf);

/** `floor(t / h)` of one time `t` for every half-life of {@link DECAY_SCALES}, in its order. */
type Periods = Float64Array;

function periodsOf(atMs: number, periods: Periods): Periods {
  for (let h = 0; h <= AFFINITY; h++) periods[h] = decayAnchor(atMs, DECAY_SCALES[h]!.halfLifeMs);
  return periods;
}

/**
 * The anchors of the latest `lastEventAt` folded (a pure function of it, remembered): a profile's next
 * event finds them here instead of dividing again (4 divisions per event), and an event that advances
 * the profile leaves its own periods, which are the new anchors.
 */
let anchors: Periods = new Float64Array(AFFINITY + 1);
let anchorsAt = 0;
/** Scratch: the periods of the event being folded. */
let eventPeriods: Periods = new Float64Array(AFFINITY + 1);

function anchorsOf(lastEventAt: number): Periods {
  if (lastEventAt !== anchorsAt) {
    periodsOf(lastEventAt, anchors);
    anchorsAt = lastEventAt;
  }
  return anchors;
}

/**
 * After an event at `atMs` advanced its profile, its periods are the profile's anchors: the two scratch
 * arrays trade places (no copy).
 */
function periodsBecomeAnchors(atMs: number): Periods {
  const previous = anchors;
  anchors = eventPeriods;
  eventPeriods = previous;
  anchorsAt = atMs;
  return anchors;
}

/** Normalise a search term: trimmed, lower case, single spaces, bounded length. */
export function normaliseSearchTerm(query: string): string {
  // Most queries arrive normalised: one scan instead of five string operations (a regex among them).
  if (isNormalisedAscii(query)) return query;
  return query.trim().toLowerCase().replace(/\s+/g, ' ').slice(0, PROFILE_LIMITS.searchTermLength).trimEnd();
}

/**
 * Whether every step of {@link normaliseSearchTerm} would leave `query` as it is: short enough, printable
 * ASCII without capitals (anything else may be changed by `toLowerCase` or be a Unicode space), single
 * spaces, none at either end.
 */
function isNormalisedAscii(query: string): boolean {
  const length = query.length;
  if (length > PROFILE_LIMITS.searchTermLength) return false;
  let previous = SPACE;
  for (let i = 0; i < length; i++) {
    const code = query.charCodeAt(i);
    if (code === SPACE ? previous === SPACE : code < 0x21 || code > 0x7e || (code >= 0x41 && code <= 0x5a)) {
      return false;
    }
    previous = code;
  }
  return previous !== SPACE || length === 0;
}
const SPACE = 0x20;

/** The affinity bucket of an event, or undefined when the event says nothing about categories. */
export function categoryKeyOf(event: ContractEvent): string | undefined {
  const key = event.categoryId ?? event.categoryPath;
  if (key !== undefined) return key.slice(0, PROFILE_LIMITS.categoryKeyLength);
  return PRODUCT_EVENTS.has(event.type) && (event.productId !== undefined || event.type !== 'purchase')
    ? UNKNOWN_CATEGORY
    : undefined;
}

/** Cents, rounded once per event so that sums are exact integers. */
function toCents(amount: number): number {
  return Math.round(amount * 100);
}

/** Canonical order of cart events: whether `a` sorts before (is newer than) `b`. */
export function cartEventIsNewer(a: CartEvent, b: CartEvent): boolean {
  if (a.at !== b.at) return a.at > b.at;
  if (a.productId !== b.productId) return a.productId > b.productId;
  // Within one second a remove sorts after an add of the same product, so it is replayed last.
  if (a.quantity !== b.quantity) return a.quantity < b.quantity;
  return a.priceCents > b.priceCents;
}

/** Insert `entry` into `cart` (kept newest first) at its place, keeping the newest `PROFILE_LIMITS.cartEvents`. */
export function addCartEvent(cart: CartEvent[], entry: CartEvent): void {
  insertNewestFirst(cart, entry, PROFILE_LIMITS.cartEvents, cartEventIsNewer);
}

export function pruneCart(cart: CartEvent[], lastPurchaseAt: number): void {
  while (cart.length > 0 && cart[cart.length - 1]!.at <= lastPurchaseAt) cart.pop();
}

/** Move every decay anchor to a later `lastEventAt` (exact integer rescaling); `state` is mutated. */
export function advanceTo(state: ProfileState, atMs: number): void {
  advanceByPeriods(state, atMs, anchorsOf(state.lastEventAt), periodsOf(atMs, eventPeriods));
}

/** {@link advanceTo}, given the anchors of `state.lastEventAt` and the periods of `atMs`. */
function advanceByPeriods(state: ProfileState, atMs: number, from: Periods, to: Periods): void {
  const decays = state.decays;
  for (let h = 0; h < HALF_LIFE_COUNT; h++) {
    const periods = to[h]! - from[h]!;
    if (periods === 0) continue;
    for (let i = h; i < decays.length; i += HALF_LIFE_COUNT) decays[i] = rescaleDecay(decays[i]!, periods);
  }
  const affinityPeriods = to[AFFINITY]! - from[AFFINITY]!;
  if (affinityPeriods > 0) {
    for (const c of state.categories) c.score = rescaleDecay(c.score, affinityPeriods);
    insertionSort(state.categories, byScore);
  }
  state.lastEventAt = atMs;
  pruneRecent(state.dedupe, Math.floor(atMs / 60_000) - PROFILE_LIMITS.dedupeMaxAgeMinutes);
}

/** Canonical order of categories: score desc, then key asc. */
export function byScore(a: { key: string; score: number }, b: { key: string; score: number }): number {
  return b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Add `contribution` (already weighted and at the profile's anchor) to the affinity of `key`. */
function addAffinity(state: ProfileState, key: string, contribution: number): void {
  const categories = state.categories;
  let index = 0;
  while (index < categories.length && categories[index]!.key !== key) index++;
  let entry = categories[index];
  if (entry !== undefined) entry.score += contribution;
  else categories.push((entry = { key, score: contribution }));
  // The list is in canonical order and a contribution is never negative, so only this entry can be out
  // of place, behind where it belongs: move it forward (what a full sort would give, without one).
  while (index > 0 && byScore(entry, categories[index - 1]!) < 0) {
    categories[index] = categories[index - 1]!;
    index--;
  }
  categories[index] = entry;
  // Deterministic eviction: the lowest (score, then greatest key) of the K + 1 goes.
  if (categories.length > PROFILE_LIMITS.categories) categories.pop();
}

/**
 * The session key of a `sessionId` (0: none), as sessions hash it. The last one is remembered: a
 * profile's events mostly share their session, and a string comparison is cheaper than the hash.
 */
export function sessionKeyOf(sessionId: string | undefined): number {
  if (sessionId === undefined) return 0;
  if (sessionId !== lastSessionId) {
    lastSessionKey = fnv1a32(sessionId) || 1;
    lastSessionId = sessionId;
  }
  return lastSessionKey;
}
let lastSessionId: string | undefined;
let lastSessionKey = 0;

/** Returns how the event related to the current session: `same`, `new` (it opened one) or `earlier`. */
function updateSession(state: SessionFields, atSec: number, sessionId: string | undefined): SessionOutcome {
  const key = sessionKeyOf(sessionId);
  const sameSession =
    state.sessionCount > 0 &&
    (key !== 0
      ? key === state.sessionKey
      : atSec >= state.sessionStart - SESSION_GAP_SECONDS && atSec <= state.sessionEnd + SESSION_GAP_SECONDS);
  if (sameSession) {
    state.sessionStart = Math.min(state.sessionStart, atSec);
    state.sessionEnd = Math.max(state.sessionEnd, atSec);
    state.sessionEvents++;
    return 'same';
  }
  if (state.sessionCount === 0 || atSec > state.sessionEnd) {
    state.sessionCount++;
    state.sessionKey = key;
    state.sessionStart = atSec;
    state.sessionEnd = atSec;
    state.sessionEvents = 1;
    return 'new';
  }
  // Otherwise the event belongs to an earlier session that was already counted.
  return 'earlier';
}

type SessionOutcome = 'same' | 'new' | 'earlier';

/** What a merged alias's own stream keeps (see `MergedAlias`). */
type AliasStream = Pick<MergedAlias, 'session' | 'sharedSessionKey' | 'dedupe'>;

/**
 * An event of a merged alias (`profile-merge.ts`): its sessions are followed in the alias's own stream
 * (`alias`), which arrives in its own order on its own shard, and counted on the profile when they are
 * not the profile's current session. So an alias's earlier sessions still count when they arrive
 * after the merge. The session the identify shares with its cookie is one session of the profile
 * whoever meets it first: its cookie events join it as the profile's own events would, so it counts
 * once and holds all its events, also when the cookie's consumer completed the merge before the
 * identify itself was applied (then the identify joins the session its cookie events opened).
 */
function updateAliasSession(
  state: ProfileState,
  { session: alias, sharedSessionKey }: AliasStream,
  atSec: number,
  sessionId: string | undefined,
): void {
  const outcome = updateSession(alias, atSec, sessionId);
  if (sharedSessionKey !== 0 && alias.sessionKey === sharedSessionKey && outcome !== 'earlier') {
    updateSession(state, atSec, sessionId);
    return;
  }
  if (outcome === 'earlier') return;
  const current =
    state.sessionCount > 0 &&
    (alias.sessionKey !== 0
      ? alias.sessionKey === state.sessionKey
      : alias.sessionStart <= state.sessionEnd + SESSION_GAP_SECONDS &&
        state.sessionStart <= alias.sessionEnd + SESSION_GAP_SECONDS);
  if (current) {
    state.sessionStart = Math.min(state.sessionStart, atSec);
    state.sessionEnd = Math.max(state.sessionEnd, atSec);
    state.sessionEvents++;
    return;
  }
  if (outcome === 'same') return;
  state.sessionCount++;
  if (state.sessionCount === 1 || atSec > state.sessionEnd) {
    state.sessionKey = alias.sessionKey;
    state.sessionStart = atSec;
    state.sessionEnd = atSec;
    state.sessionEvents = 1;
  }
}

/** Returns whether the record is a redelivery; otherwise records its sequence number in `marks`. */
function isRedelivery(marks: ShardMark[], shardId: string, rawSequenceNumber: string): boolean {
  const sequenceNumber = canonicalSequenceNumber(rawSequenceNumber);
  for (const mark of marks) {
    if (mark.shardId !== shardId) continue;
    if (compareSequenceNumbers(sequenceNumber, mark.sequenceNumber) <= 0) return true;
    mark.sequenceNumber = sequenceNumber;
    return false;
  }
  marks.push({ shardId, sequenceNumber });
  if (marks.length > PROFILE_LIMITS.shards) {
    // After a reshard the parent's mark has the lowest number and is the one no longer written to.
    let lowest = 0;
    for (let i = 1; i < marks.length; i++) {
      if (compareSequenceNumbers(marks[i]!.sequenceNumber, marks[lowest]!.sequenceNumber) < 0) lowest = i;
    }
    marks.splice(lowest, 1);
  }
  insertionSort(marks, byShardId);
  return false;
}

/** Canonical order of shard marks. */
export function byShardId(a: ShardMark, b: ShardMark): number {
  return a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0;
}

/**
 * Remember an event or order hash in the dedupe window, unless it is older than the window's age limit.
 *
 * @param absent - the caller knows `hash` is not in the window (no search needed)
 */
function rememberId(state: ProfileState, hash: number, atMs: number, absent = false): void {
  const minute = Math.floor(atMs / 60_000);
  const oldest = Math.floor(state.lastEventAt / 60_000) - PROFILE_LIMITS.dedupeMaxAgeMinutes;
  if (minute < oldest) return;
  if (absent) insertRecent(state.dedupe, hash, minute, PROFILE_LIMITS.dedupeWindow);
  else touchRecent(state.dedupe, hash, minute, PROFILE_LIMITS.dedupeWindow);
}

function applyOne(state: ProfileState, event: ContractEvent, alias: AliasStream | undefined): void {
  const atMs = event.occurredAt;
  const atSec = Math.floor(atMs / 1000);
  if (state.firstSeenAt === 0 || atMs < state.firstSeenAt) state.firstSeenAt = atMs;
  // Each half-life's period of the event and anchor of the profile, divided out once for the anchor
  // moves and the contributions below.
  const periods = periodsOf(atMs, eventPeriods);
  let anchor = anchorsOf(state.lastEventAt);
  if (atMs > state.lastEventAt) {
    advanceByPeriods(state, atMs, anchor, periods);
    anchor = periodsBecomeAnchors(atMs);
  }

  const type = event.type;
  const rule = TYPE_RULES.get(type)!;
  state.counts[rule.count]!++;
  if (rule.decaySlot >= 0) {
    const decays = state.decays;
    for (let h = 0; h < HALF_LIFE_COUNT; h++) {
      decays[rule.decaySlot + h]! += contributionInPeriod(DECAY_SCALES[h]!, atMs, periods[h]!, anchor[h]!);
    }
  }
  const weight = rule.categoryWeight;
  if (weight > 0) {
    const category = categoryKeyOf(event);
    if (category !== undefined) {
      const scale = DECAY_SCALES[AFFINITY]!;
      addAffinity(
        state,
        category,
        contributionInPeriod(scale, atMs, periods[AFFINITY]!, anchor[AFFINITY]!, weight),
      );
    }
  }
  if (alias === undefined) updateSession(state, atSec, event.sessionId);
  else updateAliasSession(state, alias, atSec, event.sessionId);
  if (event.userId !== undefined && event.anonymousId !== undefined) {
    touchRecent(state.aliases, event.anonymousId, atSec, PROFILE_LIMITS.aliases);
  }

  switch (type) {
    case 'product_view':
      touchRecent(state.recentProducts, event.productId!, atSec, PROFILE_LIMITS.recentProducts);
      break;
    case 'search': {
      const term = normaliseSearchTerm(event.query!);
      if (term.length > 0) touchRecent(state.recentSearches, term, atSec, PROFILE_LIMITS.recentSearches);
      break;
    }
    case 'add_to_cart':
    case 'remove_from_cart':
      if (atSec > state.lastPurchaseAt) {
        const quantity = event.quantity ?? 1;
        addCartEvent(state.cart, {
          at: atSec,
          productId: event.productId!,
          quantity: type === 'add_to_cart' ? quantity : -quantity,
          priceCents: event.price === undefined ? -1 : toCents(event.price),
        });
      }
      break;
    case 'purchase':
      applyPurchase(state, event, atSec);
      break;
    default:
      break;
  }
}

function applyPurchase(state: ProfileState, event: ContractEvent, atSec: number): void {
  const orderHash = fnv1a32(event.orderId!, ORDER_ID_SEED);
  if (indexOfRecent(state.dedupe, orderHash) < 0) state.orderCount++;
  rememberId(state, orderHash, event.occurredAt);
  if (event.revenue !== undefined) state.revenueCents += toCents(event.revenue);
  else if (event.price !== undefined) state.revenueCents += toCents(event.price) * (event.quantity ?? 1);
  if (atSec > state.lastPurchaseAt) {
    state.lastPurchaseAt = atSec;
    pruneCart(state.cart, atSec);
  }
}

/**
 * Fold `events` (in arrival order) into the profile `profileId`. Pure: `state` is not mutated.
 *
 * @param state - the stored profile, or undefined for a new one
 * @param events - this profile's records from one batch, in stream order
 * @throws {ProfileMismatchError} when an event belongs to another profile
 */
export function applyEventsToProfile(
  state: ProfileState | undefined,
  events: readonly SequencedEvent[],
  profileId: string,
): ApplyResult {
  const next = state === undefined ? emptyProfile(profileId) : cloneProfile(state);
  let applied = 0;
  let duplicates = 0;
  for (const sequenced of events) {
    if (profileIdOf(sequenced.event) !== profileId) {
      throw new ProfileMismatchError('profileId', 'every event must belong to the profile', profileId);
    }
    if (foldEvent(next, sequenced, next.shardMarks)) applied++;
    else duplicates++;
  }
  return { state: next, applied, duplicates, changed: applied > 0 };
}

/**
 * Fold one record into `state` (mutated) unless it is a redelivery by `marks` (the profile's own, or a
 * merged alias's: see `profile-merge.ts`) or a producer duplicate by the dedupe window. A merged
 * alias's record passes its session tracker too.
 *
 * @returns whether the event was applied
 */
export function foldEvent(
  state: ProfileState,
  sequenced: SequencedEvent,
  marks: ShardMark[],
  alias?: AliasStream,
): boolean {
  const { event, shardId, sequenceNumber } = sequenced;
  if (isRedelivery(marks, shardId, sequenceNumber)) return false;
  const eventHash = fnv1a32(event.eventId, EVENT_ID_SEED);
  if (indexOfRecent(state.dedupe, eventHash) >= 0) return false;
  if (alias !== undefined && indexOfRecent(alias.dedupe, eventHash) >= 0) return false;
  const previousEventAt = state.lastEventAt;
  applyOne(state, event, alias);
  // Still absent, checked above: applying only removed entries (ageing) or, for a purchase, added its
  // order's hash, which may equal this one (a 32-bit collision) and is then searched for as before.
  rememberId(state, eventHash, event.occurredAt, event.type !== 'purchase');
  if (alias !== undefined) rememberInAliasWindow(alias.dedupe, eventHash, event.occurredAt);
  foldRiskEvent(state.risk, event, previousEventAt, state.dedupe);
  return true;
}

/**
 * An alias's window follows its own stream: aged by its own latest event, which arrives in its own
 * order, so a cookie's late duplicate is still caught however far ahead the user's history is.
 */
function rememberInAliasWindow(dedupe: RecentEntry<number>[], hash: number, atMs: number): void {
  const minute = Math.floor(atMs / 60_000);
  touchRecent(dedupe, hash, minute, PROFILE_LIMITS.dedupeWindow);
  pruneRecent(dedupe, (dedupe[0]?.at ?? minute) - PROFILE_LIMITS.dedupeMaxAgeMinutes);
}
