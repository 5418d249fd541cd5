/**
 * The profile state: what the ingest function keeps per profile, its bounds and its policies.
 *
 * Every list is bounded and kept in a canonical order, so two states built from the same events are
 * deep-equal (see `applyEventsToProfile` for exactly when). Times inside the lists are epoch SECONDS
 * (epoch MINUTES in the dedupe window): coarse enough to store in few bytes, and canonical because
 * every event maps to exactly one value.
 *
 * Missing values: what the update rules do when a field they read is missing (or unusable). Each row
 * is tested by its effect on a profile in `test/unit/profile/apply-events.test.ts` ("missing-values policy").
 *
 * | field | when missing |
 * |---|---|
 * | categoryId / categoryPath | product events (view, cart add, wishlist, purchase) count in the `unknown` bucket; other events add no affinity |
 * | price | left out of revenue (unless `revenue` is given) and of cart value; the product still counts in the cart |
 * | quantity | 1 |
 * | revenue | purchase revenue is `price × quantity` |
 * | orderId (purchase) | cannot happen (contract requires it) |
 * | sessionId | sessions split on {@link SESSION_GAP_SECONDS} of inactivity |
 * | currency | ignored: amounts are summed as sent (one currency per shop is assumed) |
 * | query (search) | cannot happen; a query that is blank after normalisation is not listed |
 * | productId (product events) | cannot happen; on other events it is not needed |
 * | userId | the profile is `anon:<anonymousId>` |
 * | anonymousId | no alias is recorded |
 *
 * Identity (see `profile-merge.ts`): a user profile lists the anonymous profiles folded into it
 * (`merges`, with the anonymous key's own sequence marks) and the merges it refused
 * (`mergeRefusals`); an anonymous profile folded into a user keeps its frozen state and a `redirect`.
 */
import { EVENT_TYPES, type EventType } from '../contract/event-contract';
import { cloneRiskState, emptyRiskState, type RiskState } from '../risk/risk-signals';
import type { RecentEntry } from './recent-set';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Half-lives of the decayed activity counters, in milliseconds: 1 hour, 1 day, 30 days. */
export const HALF_LIVES_MS = [HOUR_MS, DAY_MS, 30 * DAY_MS] as const;
/** Labels of {@link HALF_LIVES_MS}, used in feature and attribute names. */
export const HALF_LIFE_LABELS = ['1h', '1d', '30d'] as const;

/**
 * Event types that keep decayed activity (lifetime counts are kept for all types). Logins, identifies,
 * checkouts and cart removals are rare or redundant (a checkout is followed by a purchase or shows in
 * the cart): their lifetime counts are enough, and leaving their
 * decays out keeps the item within one write unit.
 */
export const DECAYED_EVENT_TYPES = [
  'page_view',
  'product_view',
  'search',
  'add_to_cart',
  'add_to_wishlist',
  'purchase',
] as const satisfies readonly EventType[];

/** Half-life of category affinity: 7 days (taste changes slower than activity bursts). */
export const AFFINITY_HALF_LIFE_MS = 7 * DAY_MS;

/** How much one event of each type says about interest in its category (0 = never counted). */
export const CATEGORY_WEIGHTS: Readonly<Record<EventType, number>> = {
  page_view: 1,
  product_view: 1,
  search: 1,
  add_to_cart: 3,
  remove_from_cart: 0,
  add_to_wishlist: 2,
  begin_checkout: 0,
  purchase: 5,
  login: 0,
  identify: 0,
};

/** Bounds of every list in the state; together they keep the item ≤ 1 KB (one write unit). */
export const PROFILE_LIMITS = {
  /** Categories with an affinity score (top-K by decayed score). */
  categories: 8,
  /** Longest category key kept (longer ids/paths are truncated). */
  categoryKeyLength: 32,
  /** Distinct products most recently viewed. */
  recentProducts: 6,
  /** Distinct normalised search terms most recently used. */
  recentSearches: 3,
  /** Longest search term kept, after normalisation. */
  searchTermLength: 24,
  /** Cart add/remove events kept since the last purchase (the cart is derived from them). */
  cartEvents: 4,
  /** Anonymous ids linked to this (user) profile. */
  aliases: 2,
  /** Shards with a sequence-number high-water mark (more than one only after resharding). */
  shards: 4,
  /** Anonymous profiles folded into one user profile (later ones stay separate and are counted). */
  mergedAliases: 4,
  /** Refused merges remembered for the audit (most recent first). */
  mergeRefusals: 2,
  /** Event/order ids in the dedupe window. */
  dedupeWindow: 16,
  /** Oldest dedupe entry kept, in minutes before the latest event. */
  dedupeMaxAgeMinutes: 255,
} as const;

/** Inactivity that ends a session when events carry no `sessionId`: 30 minutes, in seconds. */
export const SESSION_GAP_SECONDS = 30 * 60;

/** Category bucket for product events that name no category. */
export const UNKNOWN_CATEGORY = 'unknown';

/** One category with its decayed affinity (fixed point, see `fixed-point-decay`). */
export interface CategoryScore {
  key: string;
  score: number;
}

/** One cart add (positive quantity) or remove (negative quantity) since the last purchase. */
export interface CartEvent {
  /** Epoch seconds. */
  at: number;
  productId: string;
  /** Signed: +quantity for an add, -quantity for a remove. */
  quantity: number;
  /** Unit price in cents, -1 when unknown. */
  priceCents: number;
}

/** The last sequence number applied from one shard. */
export interface ShardMark {
  shardId: string;
  /** Canonical decimal string (no leading zeros). */
  sequenceNumber: string;
}

/** The session bookkeeping of a profile (and of each merged alias's own stream). */
export type SessionFields = Pick<
  ProfileState,
  'sessionCount' | 'sessionKey' | 'sessionStart' | 'sessionEnd' | 'sessionEvents'
>;

/** An anonymous profile folded into this (user) profile by an `identify`. */
export interface MergedAlias {
  anonymousId: string;
  /** Event time of the identify that linked it, epoch SECONDS (absolute: it may follow `lastEventAt`). */
  at: number;
  /**
   * High-water marks of the anonymous id's own partition key, continued here: its later events arrive
   * on its own shard and are checked against these, never against the profile's own marks.
   */
  shardMarks: ShardMark[];
  /** The alias's own current session, continued by its later events (they count sessions in their own order). */
  session: SessionFields;
  /** FNV-1a of the identify's `sessionId` (0: none): the session both streams share, counted once. */
  sharedSessionKey: number;
  /** The alias's own dedupe window (minutes), aged by its own latest event, not the user's. */
  dedupe: RecentEntry<number>[];
}

/** Why an identify did not merge its anonymous profile. */
export const MERGE_REFUSAL_REASONS = ['shared-device', 'alias-limit'] as const;
/** `shared-device`: the anonymous id is already merged into another user; `alias-limit`: this user has `PROFILE_LIMITS.mergedAliases`. */
export type MergeRefusalReason = (typeof MERGE_REFUSAL_REASONS)[number];

/** A merge this profile refused, kept for the audit. */
export interface MergeRefusal {
  anonymousId: string;
  /** Event time of the identify, epoch seconds. */
  at: number;
  reason: MergeRefusalReason;
}

/** On a frozen anonymous profile: where its events go now. */
export interface ProfileRedirect {
  /** The user profile it was merged into. */
  into: string;
  /** Event time of the identify that linked it, epoch ms. */
  linkedAt: number;
  /** FNV-1a of the identify's `sessionId`, 0 when it had none. */
  linkedSessionKey: number;
}

/** Everything the profile engine keeps about one profile. Plain data: deep-equality comparable. */
export interface ProfileState {
  profileId: string;
  /** Event time of the earliest event, epoch ms; 0 before any event. */
  firstSeenAt: number;
  /** Event time of the latest event, epoch ms; 0 before any event. Anchors every decayed value. */
  lastEventAt: number;
  /** Lifetime counts, indexed like `EVENT_TYPES`. */
  counts: number[];
  /** Fixed-point decayed activity, `[typeIndex * 3 + halfLifeIndex]` over `DECAYED_EVENT_TYPES`. */
  decays: number[];
  /** Top categories by affinity, sorted by score desc then key asc. */
  categories: CategoryScore[];
  /** Recently viewed products; `at` in epoch seconds. */
  recentProducts: RecentEntry[];
  /** Recent normalised search terms; `at` in epoch seconds. */
  recentSearches: RecentEntry[];
  /** Distinct orders (orderIds deduplicated within the dedupe window). */
  orderCount: number;
  /** Sum of purchase revenue in cents. */
  revenueCents: number;
  /** Latest purchase, epoch seconds; 0 when none. */
  lastPurchaseAt: number;
  /** Cart events after the last purchase, sorted newest first; the cart is derived from them. */
  cart: CartEvent[];
  sessionCount: number;
  /** FNV-1a of the current `sessionId`, or 0 for a gap-delimited session. */
  sessionKey: number;
  /** Current session start / end, epoch seconds. */
  sessionStart: number;
  sessionEnd: number;
  sessionEvents: number;
  /** Anonymous ids linked to this profile; `at` in epoch seconds. */
  aliases: RecentEntry[];
  /** Sequence-number high-water marks, at most `PROFILE_LIMITS.shards`. */
  shardMarks: ShardMark[];
  /** FNV-1a hashes of recent event ids and order ids; `at` in epoch MINUTES. */
  dedupe: RecentEntry<number>[];
  /** Security-risk signals (`shared/risk/risk-signals.ts`). */
  risk: RiskState;
  /** Anonymous profiles folded in, sorted by `anonymousId`; at most `PROFILE_LIMITS.mergedAliases`. */
  merges: MergedAlias[];
  /** Refused merges, newest first; at most `PROFILE_LIMITS.mergeRefusals`. */
  mergeRefusals: MergeRefusal[];
  /** Present only on an anonymous profile that was merged: its state is frozen, its events go `into`. */
  redirect?: ProfileRedirect;
}

/** A fresh profile with no events. */
export function emptyProfile(profileId: string): ProfileState {
  return {
    profileId,
    firstSeenAt: 0,
    lastEventAt: 0,
    counts: new Array<number>(EVENT_TYPES.length).fill(0),
    decays: new Array<number>(DECAYED_EVENT_TYPES.length * HALF_LIVES_MS.length).fill(0),
    categories: [],
    recentProducts: [],
    recentSearches: [],
    orderCount: 0,
    revenueCents: 0,
    lastPurchaseAt: 0,
    cart: [],
    sessionCount: 0,
    sessionKey: 0,
    sessionStart: 0,
    sessionEnd: 0,
    sessionEvents: 0,
    aliases: [],
    shardMarks: [],
    dedupe: [],
    risk: emptyRiskState(),
    merges: [],
    mergeRefusals: [],
  };
}

/** A deep copy, so that applying events never mutates the caller's state. */
export function cloneProfile(state: ProfileState): ProfileState {
  // Every field named (no spread): one object shape for every clone, and no per-entry spread.
  const copy: ProfileState = {
    profileId: state.profileId,
    firstSeenAt: state.firstSeenAt,
    lastEventAt: state.lastEventAt,
    counts: state.counts.slice(),
    decays: state.decays.slice(),
    categories: state.categories.map(({ key, score }) => ({ key, score })),
    recentProducts: state.recentProducts.map(copyEntry),
    recentSearches: state.recentSearches.map(copyEntry),
    orderCount: state.orderCount,
    revenueCents: state.revenueCents,
    lastPurchaseAt: state.lastPurchaseAt,
    cart: state.cart.map(({ at, productId, quantity, priceCents }) => ({
      at,
      productId,
      quantity,
      priceCents,
    })),
    sessionCount: state.sessionCount,
    sessionKey: state.sessionKey,
    sessionStart: state.sessionStart,
    sessionEnd: state.sessionEnd,
    sessionEvents: state.sessionEvents,
    aliases: state.aliases.map(copyEntry),
    shardMarks: state.shardMarks.map(copyMark),
    dedupe: state.dedupe.map(copyEntry),
    risk: cloneRiskState(state.risk),
    merges: state.merges.map((m) => ({
      anonymousId: m.anonymousId,
      at: m.at,
      shardMarks: m.shardMarks.map(copyMark),
      session: { ...m.session },
      sharedSessionKey: m.sharedSessionKey,
      dedupe: m.dedupe.map(copyEntry),
    })),
    mergeRefusals: state.mergeRefusals.map(({ anonymousId, at, reason }) => ({ anonymousId, at, reason })),
  };
  if (state.redirect !== undefined) copy.redirect = { ...state.redirect };
  return copy;
}

const copyEntry = <K extends string | number>({ key, at }: RecentEntry<K>): RecentEntry<K> => ({ key, at });
const copyMark = ({ shardId, sequenceNumber }: ShardMark): ShardMark => ({ shardId, sequenceNumber });

/** The cart as a shopper sees it, derived from {@link ProfileState.cart}. */
export interface CartView {
  /** Products with a positive quantity. */
  products: number;
  /** Units across products. */
  units: number;
  /** Σ quantity × latest known unit price, in cents (products without a price are left out). */
  valueCents: number;
}

/** Replay the cart events oldest first: quantities never go below zero; the latest price wins. */
export function cartView(state: Pick<ProfileState, 'cart'>): CartView {
  // At most `PROFILE_LIMITS.cartEvents` entries: a nested scan per product instead of two Maps per call.
  const cart = state.cart;
  let products = 0;
  let units = 0;
  let valueCents = 0;
  for (let i = cart.length - 1; i >= 0; i--) {
    const productId = cart[i]!.productId;
    if (hasOlderEvent(cart, i, productId)) continue; // replayed from its oldest event already
    let quantity = 0;
    let price = -1;
    for (let j = i; j >= 0; j--) {
      const e = cart[j]!;
      if (e.productId !== productId) continue;
      quantity = Math.max(0, quantity + e.quantity);
      if (e.priceCents >= 0) price = e.priceCents;
    }
    if (quantity <= 0) continue;
    products++;
    units += quantity;
    if (price >= 0) valueCents += price * quantity;
  }
  return { products, units, valueCents };
}

/** Whether `cart` (newest first) holds an event of `productId` older than `cart[index]`. */
function hasOlderEvent(cart: readonly CartEvent[], index: number, productId: string): boolean {
  for (let j = cart.length - 1; j > index; j--) if (cart[j]!.productId === productId) return true;
  return false;
}
