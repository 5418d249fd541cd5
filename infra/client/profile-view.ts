/**
 * A profile as people and downstream services read it: named counts, decayed activity brought to a
 * given time, the cart, orders, the score. Derived from the stored state, never stored itself.
 */
import { EVENT_TYPES, type EventType } from '../../shared/contract/event-contract';
import type { ScoreReason } from '../../shared/model/model-outputs';
import { decayAnchor, decayValueAt } from '../../shared/profile/fixed-point-decay';
import type { ProfileScore } from '../../shared/model/model-outputs';
import { profileItemSchemaV1, type DecodedProfileItem } from '../../shared/profile/profile-item-codec';
import {
  AFFINITY_HALF_LIFE_MS,
  cartView,
  DECAYED_EVENT_TYPES,
  HALF_LIFE_LABELS,
  HALF_LIVES_MS,
} from '../../shared/profile/profile-state';

/** The readable profile. Times are ISO 8601 strings. */
export interface ProfileView {
  profileId: string;
  anonymous: boolean;
  firstSeenAt: string | undefined;
  lastEventAt: string | undefined;
  /** How old the newest event is at `asOf`, ms. */
  stalenessMs: number;
  counts: Partial<Record<EventType, number>>;
  /** Decayed event counts at `asOf`, per type and half-life (e.g. `product_view.1d`), 3 decimals. */
  activity: Record<string, number>;
  /** Top categories with their 7-day decayed affinity at `asOf`, 3 decimals. */
  categories: { category: string; affinity: number }[];
  recentProducts: string[];
  recentSearches: string[];
  linkedAnonymousIds: string[];
  orders: {
    count: number;
    revenue: number;
    averageOrderValue: number | undefined;
    lastPurchaseAt: string | undefined;
  };
  cart: { products: number; units: number; value: number };
  session: { count: number; currentEvents: number; currentMinutes: number };
  /** The model outputs as stored (ranked lists, largest first); the embedding dequantised, 4 decimals. */
  score:
    | (Omit<ProfileScore, 'embedding' | 'scoredAt'> & {
        embedding?: number[];
        scoredAt: string;
        /** The stored reasons in words, when the model explains its scores. */
        explanations?: { purchase?: string[]; churn?: string[] };
      })
    | 'unscored';
  version: number;
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : undefined);
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Describe a decoded profile item as of `asOfMs` (decays are brought to that time). */
export function describeProfile(item: DecodedProfileItem, asOfMs: number): ProfileView {
  const { state } = item;
  const at = Math.max(asOfMs, state.lastEventAt);
  const counts: Partial<Record<EventType, number>> = {};
  EVENT_TYPES.forEach((type, i) => {
    if (state.counts[i]! > 0) counts[type] = state.counts[i]!;
  });
  const activity: Record<string, number> = {};
  DECAYED_EVENT_TYPES.forEach((type, slot) => {
    HALF_LIVES_MS.forEach((halfLife, h) => {
      const value = state.decays[slot * HALF_LIVES_MS.length + h]!;
      const decayed = decayValueAt(value, halfLife, decayAnchor(state.lastEventAt, halfLife), at);
      if (decayed > 0.0005) activity[`${type}.${HALF_LIFE_LABELS[h]}`] = round3(decayed);
    });
  });
  const affinityAnchor = decayAnchor(state.lastEventAt, AFFINITY_HALF_LIFE_MS);
  const cart = cartView(state);
  return {
    profileId: state.profileId,
    anonymous: state.profileId.startsWith('anon:'),
    firstSeenAt: iso(state.firstSeenAt),
    lastEventAt: iso(state.lastEventAt),
    stalenessMs: Math.max(0, asOfMs - state.lastEventAt),
    counts,
    activity,
    categories: state.categories.map((c) => ({
      category: c.key,
      affinity: round3(decayValueAt(c.score, AFFINITY_HALF_LIFE_MS, affinityAnchor, at)),
    })),
    recentProducts: state.recentProducts.map((e) => e.key),
    recentSearches: state.recentSearches.map((e) => e.key),
    linkedAnonymousIds: state.aliases.map((e) => e.key),
    orders: {
      count: state.orderCount,
      revenue: state.revenueCents / 100,
      averageOrderValue:
        state.orderCount > 0 ? Math.round(state.revenueCents / state.orderCount) / 100 : undefined,
      lastPurchaseAt: iso(state.lastPurchaseAt * 1000),
    },
    cart: { products: cart.products, units: cart.units, value: cart.valueCents / 100 },
    session: {
      count: state.sessionCount,
      currentEvents: state.sessionEvents,
      currentMinutes: Math.round((state.sessionEnd - state.sessionStart) / 6) / 10,
    },
    score: item.score === undefined ? 'unscored' : scoreView(item.score),
    version: item.version,
  };
}

/** What each explained head's probability is called in words. */
const HEAD_WORDS = { purchase: 'the purchase probability', churn: 'the churn risk' } as const;

// Longest first, so `add_to_cart` is not read as `add` + `to_cart` by a shorter type.
const TYPES_LONGEST_FIRST = [...EVENT_TYPES].sort((a, b) => b.length - a.length);
const TYPE_PATTERN = TYPES_LONGEST_FIRST.join('|');
const typeWords = (type: string) => type.replaceAll('_', '-');
const DECAYED_FEATURE = new RegExp(`^decay_(\\w+?)_(${TYPE_PATTERN})_log1p$`);
const COUNTED_FEATURE = new RegExp(`^count_(${TYPE_PATTERN})_log1p$`);
const ANY_TYPE = new RegExp(TYPE_PATTERN, 'g');

/** `1h` → `hour`, `30d` → `30 days`: the span a decayed count mostly covers. */
function spanWords(label: string): string {
  const match = /^(\d+)([hd])$/.exec(label);
  if (match === null) return label;
  const n = Number(match[1]);
  const unit = match[2] === 'h' ? 'hour' : 'day';
  return n === 1 ? unit : `${n} ${unit}s`;
}

/**
 * A feature name in words, e.g. `decay_1h_add_to_cart_log1p` → `add-to-cart activity over about the
 * last hour`. Names this reader does not know (a newer feature schema) fall back to their words with
 * transforms (`log1p`, `smoothed`) dropped, so a reason is never lost for want of a phrase.
 */
export function describeFeature(name: string): string {
  const decayed = DECAYED_FEATURE.exec(name);
  if (decayed) return `${typeWords(decayed[2]!)} activity over about the last ${spanWords(decayed[1]!)}`;
  const counted = COUNTED_FEATURE.exec(name);
  if (counted) return `number of ${typeWords(counted[1]!)} events`;
  const since = /^hours_since_last_(\w+?)(?:_log1p)?$/.exec(name);
  if (since) return `time since the last ${since[1]!.replaceAll('_', ' ')}`;
  return name
    .replace(ANY_TYPE, typeWords)
    .split('_')
    .filter((word) => word !== 'log1p' && word !== 'smoothed')
    .join(' ');
}

/**
 * The reasons behind one probability in words, largest first, e.g. `add-to-cart activity over about
 * the last hour raised the purchase probability (+0.82)`. Contributions are in logit units, measured
 * against the average profile of the training data (the model's attribution baseline).
 */
export function describeReasons(reasons: readonly ScoreReason[], head: keyof typeof HEAD_WORDS): string[] {
  return reasons.map(({ feature, contribution }) => {
    const verb = contribution > 0 ? 'raised' : contribution < 0 ? 'lowered' : 'did not change';
    const signed = `${contribution > 0 ? '+' : ''}${contribution.toFixed(2)}`;
    return `${describeFeature(feature)} ${verb} ${HEAD_WORDS[head]} (${signed})`;
  });
}

function scoreView({
  embedding,
  scoredAt,
  ...outputs
}: ProfileScore): Exclude<ProfileView['score'], 'unscored'> {
  const view: Exclude<ProfileView['score'], 'unscored'> = { ...outputs, scoredAt: iso(scoredAt)! };
  if (embedding !== undefined) {
    view.embedding = Array.from(embedding.bytes, (b) => Math.round(b * embedding.scale * 1e4) / 1e4);
  }
  const { reasons } = outputs;
  if (reasons?.purchase !== undefined || reasons?.churn !== undefined) {
    view.explanations = {
      ...(reasons.purchase && { purchase: describeReasons(reasons.purchase, 'purchase') }),
      ...(reasons.churn && { churn: describeReasons(reasons.churn, 'churn') }),
    };
  }
  return view;
}

/**
 * The stored attributes {@link describeProfile} shows in its own terms: v1's state and v2's model
 * outputs. Named here rather than read off the newest item schema, so attributes a newer writer adds
 * (computed traits, audience membership) stay visible to {@link otherAttributes}.
 */
const DESCRIBED_ATTRIBUTES: ReadonlySet<string> = new Set([
  ...Object.keys(profileItemSchemaV1.shape),
  'churnRisk',
  'nextCategories',
  'reasons',
  'embedding',
  // v5's packed bookkeeping: opaque bytes; the view shows what it holds (session, …) in its own terms.
  'state',
]);

/** An attribute value as JSON: binary attributes become base64 strings, as in DynamoDB JSON. */
export type AttributeValue =
  string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

/**
 * The attributes of a stored item that {@link describeProfile} does not describe, as stored, sorted by
 * name: whatever a newer writer added (e.g. computed traits), so a reader shows them without knowing them.
 */
export function otherAttributes(item: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const others: Record<string, AttributeValue> = {};
  for (const name of Object.keys(item).sort()) {
    // Undefined: an attribute the encoder lists for a stable object shape but does not store.
    if (!DESCRIBED_ATTRIBUTES.has(name) && item[name] !== undefined) others[name] = asJson(item[name]);
  }
  return others;
}

function asJson(value: unknown): AttributeValue {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Set) return [...value].map(asJson);
  if (Array.isArray(value)) return value.map(asJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asJson(v)]));
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return value === undefined || value === null ? null : String(value);
}
