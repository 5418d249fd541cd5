/**
 * A profile as people and downstream services read it: named counts, decayed activity brought to a
 * given time, the cart, orders, the score. Derived from the stored state, never stored itself.
 */
import { EVENT_TYPES, type EventType } from '../../shared/contract/event-contract';
import { decayAnchor, decayValueAt } from '../../shared/profile/fixed-point-decay';
import type { ProfileScore } from '../../shared/model/model-outputs';
import type { DecodedProfileItem } from '../../shared/profile/profile-item-codec';
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
    (Omit<ProfileScore, 'embedding' | 'scoredAt'> & { embedding?: number[]; scoredAt: string }) | 'unscored';
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

function scoreView({
  embedding,
  scoredAt,
  ...outputs
}: ProfileScore): Exclude<ProfileView['score'], 'unscored'> {
  const view: Exclude<ProfileView['score'], 'unscored'> = { ...outputs, scoredAt: iso(scoredAt)! };
  if (embedding !== undefined) {
    view.embedding = Array.from(embedding.bytes, (b) => Math.round(b * embedding.scale * 1e4) / 1e4);
  }
  return view;
}
