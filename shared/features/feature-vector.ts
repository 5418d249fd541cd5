/**
 * The feature vector: one pure function from a profile state to a fixed-length Float32Array.
 *
 * The ingest function calls it with "as of" = the profile's `lastEventAt` (event time, never the wall
 * clock), and the trainer calls the very same function on replayed states, so serving and training
 * cannot drift apart. Any change to names, order or formulas bumps {@link FEATURE_SCHEMA_VERSION};
 * a model trained on another version is refused at load time.
 */
import { EVENT_TYPES, type EventType } from '../contract/event-contract';
import { decayAnchor, decayedValue, decayFactorAt } from '../profile/fixed-point-decay';
import {
  cartView,
  DECAYED_EVENT_TYPES,
  HALF_LIFE_LABELS,
  HALF_LIVES_MS,
  PROFILE_LIMITS,
  type ProfileState,
} from '../profile/profile-state';

/** Version of the feature layout below. */
export const FEATURE_SCHEMA_VERSION = 2 as const;

/** Lifetime counts that enter the vector (log1p). */
const COUNTED_TYPES = [
  'page_view',
  'product_view',
  'search',
  'add_to_cart',
  'purchase',
] as const satisfies readonly EventType[];

/** Recency (hours) used when the thing never happened: 400 days, the profile TTL. */
export const MISSING_RECENCY_HOURS = 400 * 24;

/** Feature names, in vector order. */
export const FEATURE_NAMES: readonly string[] = Object.freeze([
  ...DECAYED_EVENT_TYPES.flatMap((type) => HALF_LIFE_LABELS.map((label) => `decay_${label}_${type}_log1p`)),
  ...COUNTED_TYPES.map((type) => `count_${type}_log1p`),
  'hours_since_last_event_log1p',
  'hours_since_last_purchase_log1p',
  'hours_since_last_cart_add_log1p',
  'tenure_hours_log1p',
  'carts_per_view_smoothed',
  'purchases_per_view_smoothed',
  'purchases_per_cart_smoothed',
  'revenue_log1p',
  'average_order_value_log1p',
  'order_count_log1p',
  'cart_products',
  'cart_units_log1p',
  'cart_value_log1p',
  'session_count_log1p',
  'session_events_log1p',
  'session_minutes_log1p',
  'top_category_share',
  'category_entropy_normalised',
  'hour_of_day_sin',
  'hour_of_day_cos',
  'is_anonymous',
  'has_linked_alias',
]);

/** Length of one feature vector. */
export const FEATURE_COUNT = FEATURE_NAMES.length;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const TWO_PI = 2 * Math.PI;
const COUNT_INDEX = COUNTED_TYPES.map((type) => EVENT_TYPES.indexOf(type));
const VIEW = EVENT_TYPES.indexOf('product_view');
const CART = EVENT_TYPES.indexOf('add_to_cart');
const PURCHASE = EVENT_TYPES.indexOf('purchase');
const LOG_K = Math.log(PROFILE_LIMITS.categories);
const HALF_LIFE_COUNT = HALF_LIVES_MS.length;
/**
 * Scratch for one profile's decay factors, per half-life: computed once per profile (3 powers), not per
 * decayed feature (18).
 */
const factors = new Float64Array(HALF_LIFE_COUNT);

/** Laplace-smoothed ratio: stays finite and near 1/2 with no evidence. */
function smoothedRatio(numerator: number, denominator: number): number {
  return (numerator + 1) / (denominator + 2);
}

function recencyHours(fromMs: number | undefined, asOfMs: number): number {
  if (fromMs === undefined) return Math.log1p(MISSING_RECENCY_HOURS);
  return Math.log1p(Math.min(MISSING_RECENCY_HOURS, Math.max(0, (asOfMs - fromMs) / HOUR_MS)));
}

/** Write the features of `state` as of `asOfMs` into `out` at `offset`. */
export function featurizeInto(state: ProfileState, asOfMs: number, out: Float32Array, offset: number): void {
  let i = offset;
  const hasEvents = state.lastEventAt > 0;
  const decayedTo = Math.max(asOfMs, state.lastEventAt);
  for (let h = 0; h < HALF_LIFE_COUNT; h++) {
    const halfLifeMs = HALF_LIVES_MS[h]!;
    factors[h] = decayFactorAt(halfLifeMs, decayAnchor(state.lastEventAt, halfLifeMs), decayedTo);
  }
  const decays = state.decays;
  for (let slot = 0; slot < DECAYED_EVENT_TYPES.length; slot++) {
    for (let h = 0; h < HALF_LIFE_COUNT; h++) {
      const value = decays[slot * HALF_LIFE_COUNT + h]!;
      // Most types have no recent activity: log1p(max(0, 0)) is 0, without the call.
      out[i++] = value === 0 ? 0 : Math.log1p(Math.max(0, decayedValue(value, factors[h]!)));
    }
  }
  for (const index of COUNT_INDEX) out[i++] = Math.log1p(state.counts[index]!);

  let lastCartAdd: number | undefined;
  for (const e of state.cart) {
    if (e.quantity > 0) {
      lastCartAdd = e.at * 1000;
      break;
    }
  }
  out[i++] = recencyHours(hasEvents ? state.lastEventAt : undefined, asOfMs);
  out[i++] = recencyHours(state.lastPurchaseAt > 0 ? state.lastPurchaseAt * 1000 : undefined, asOfMs);
  out[i++] = recencyHours(lastCartAdd, asOfMs);
  out[i++] = hasEvents ? Math.log1p(Math.max(0, (asOfMs - state.firstSeenAt) / HOUR_MS)) : 0;

  const views = state.counts[VIEW]!;
  const carts = state.counts[CART]!;
  const purchases = state.counts[PURCHASE]!;
  out[i++] = smoothedRatio(carts, views);
  out[i++] = smoothedRatio(purchases, views);
  out[i++] = smoothedRatio(purchases, carts);

  const revenue = state.revenueCents / 100;
  out[i++] = Math.log1p(revenue);
  out[i++] = state.orderCount > 0 ? Math.log1p(revenue / state.orderCount) : 0;
  out[i++] = Math.log1p(state.orderCount);

  const cart = cartView(state);
  out[i++] = cart.products;
  out[i++] = Math.log1p(cart.units);
  out[i++] = Math.log1p(cart.valueCents / 100);

  out[i++] = Math.log1p(state.sessionCount);
  out[i++] = Math.log1p(state.sessionEvents);
  out[i++] = Math.log1p((state.sessionEnd - state.sessionStart) / 60);

  // Shares are unaffected by decaying to asOf: every category decays by the same factor.
  let total = 0;
  for (const c of state.categories) total += c.score;
  let entropy = 0;
  for (const c of state.categories) {
    if (c.score <= 0) continue;
    const p = c.score / total;
    entropy -= p * Math.log(p);
  }
  out[i++] = total > 0 ? state.categories[0]!.score / total : 0;
  out[i++] = total > 0 ? entropy / LOG_K : 0;

  // Hour of day only: a day-of-week phase never repeats within a short archive (a 7–9-day history
  // trains on one or two values of each weekday), so the test period sits out of the training range
  // and the network extrapolates (schema v1 had it; measured in the issue 8 note).
  const dayPhase = (((asOfMs % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS;
  out[i++] = Math.sin(TWO_PI * dayPhase);
  out[i++] = Math.cos(TWO_PI * dayPhase);

  out[i++] = state.profileId.startsWith('anon:') ? 1 : 0;
  out[i++] = state.aliases.length > 0 ? 1 : 0;

  // Last line of defence: a model must never see NaN or Infinity.
  for (let j = offset; j < i; j++) if (!Number.isFinite(out[j]!)) out[j] = 0;
}

/**
 * The feature vector of one profile.
 *
 * @param state - the profile
 * @param asOfMs - the time the features describe (at ingest: `state.lastEventAt`)
 */
export function featurize(state: ProfileState, asOfMs: number): Float32Array {
  const out = new Float32Array(FEATURE_COUNT);
  featurizeInto(state, asOfMs, out, 0);
  return out;
}

/**
 * Feature vectors of many profiles as one row-major matrix (`states.length × FEATURE_COUNT`), for a
 * single inference call per batch.
 */
export function featurizeMany(states: readonly ProfileState[], asOfs: readonly number[]): Float32Array {
  const out = new Float32Array(states.length * FEATURE_COUNT);
  for (let r = 0; r < states.length; r++) featurizeInto(states[r]!, asOfs[r]!, out, r * FEATURE_COUNT);
  return out;
}
