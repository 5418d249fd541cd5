/**
 * Audience membership: a validated set compiled once into closures (it is evaluated for every changed
 * profile of every batch), then applied to one profile's state, traits and model outputs.
 *
 * Membership is stored as a map audience id → `enteredAt` (epoch ms, the profile's latest event when
 * the audience started to hold): an audience that still holds keeps its `enteredAt`, one that stops
 * holding leaves the map, one that is no longer defined leaves it too.
 */
import { assessRisk } from '../risk/anomaly-score';
import { EVENT_TYPES } from '../contract/event-contract';
import type { ProfileScore } from '../model/model-outputs';
import { DECAYED_EVENT_TYPES, HALF_LIVES_MS, type ProfileState } from '../profile/profile-state';
import { decayAnchor, decayValueAt } from '../profile/fixed-point-decay';
import type { ComputedTraits } from '../traits/computed-traits';
import type { AudienceCondition, AudienceSet, NUMERIC_FIELDS } from './audience-definition';

/** Audience id → when the profile entered it (epoch ms). */
export type AudienceMembership = Record<string, number>;

/** What an audience is evaluated over. */
export interface AudienceSubject {
  state: ProfileState;
  traits: ComputedTraits;
  /** The model's outputs, when a model scored the profile. */
  score?: ProfileScore;
  /** Look-alike centroids of the serving model (`population.centroids`). */
  centroids?: Readonly<Record<string, readonly number[]>>;
  /**
   * `assessRisk(state).anomalyScore` (default scoring) when the caller computed it already (the write
   * stores it too); absent: computed when a condition reads `risk.anomalyScore`.
   */
  anomalyScore?: number;
}

type NumericField = (typeof NUMERIC_FIELDS)[number];
type Getter = (s: AudienceSubject) => number | undefined;

const HALF_LIFE_INDEX = { '1h': 0, '1d': 1, '30d': 2 } as const;

function numericGetter(field: NumericField): Getter {
  switch (field) {
    case 'purchaseProbability':
      return (s) => s.score?.propensity;
    case 'churnProbability':
      return (s) => s.score?.churnRisk;
    case 'rfm.recency':
      return (s) => s.traits.rfm[0];
    case 'rfm.frequency':
      return (s) => s.traits.rfm[1];
    case 'rfm.monetary':
      return (s) => s.traits.rfm[2];
    case 'daysSinceLastPurchase':
      return (s) => s.traits.daysSinceLastPurchase;
    case 'abandonedCart.valueCents':
      return (s) => s.traits.abandonedCart?.valueCents;
    case 'abandonedCart.ageMinutes':
      return (s) => s.traits.abandonedCart?.ageMinutes;
    case 'orders':
      return (s) => s.state.orderCount;
    case 'revenueCents':
      return (s) => s.state.revenueCents;
    case 'sessions':
      return (s) => s.state.sessionCount;
    case 'risk.anomalyScore':
      return (s) => s.anomalyScore ?? assessRisk(s.state).anomalyScore;
  }
  const [kind, type, halfLife] = field.split('.') as [string, string, keyof typeof HALF_LIFE_INDEX];
  if (kind === 'count') {
    const index = EVENT_TYPES.indexOf(type as (typeof EVENT_TYPES)[number]);
    return (s) => s.state.counts[index];
  }
  const slot =
    DECAYED_EVENT_TYPES.indexOf(type as (typeof DECAYED_EVENT_TYPES)[number]) * HALF_LIVES_MS.length +
    HALF_LIFE_INDEX[halfLife];
  const halfLifeMs = HALF_LIVES_MS[HALF_LIFE_INDEX[halfLife]];
  return (s) => {
    const { lastEventAt } = s.state;
    return decayValueAt(s.state.decays[slot]!, halfLifeMs, decayAnchor(lastEventAt, halfLifeMs), lastEventAt);
  };
}

/** Epoch seconds of the latest event of `type` the state remembers, or undefined. */
function lastAt(state: ProfileState, type: 'purchase' | 'add_to_cart' | 'product_view'): number | undefined {
  if (type === 'purchase') return state.lastPurchaseAt > 0 ? state.lastPurchaseAt : undefined;
  if (type === 'product_view') return state.recentProducts[0]?.at;
  for (const e of state.cart) if (e.quantity > 0) return e.at;
  return undefined;
}

/** Cosine similarity of int8 bytes (any scale: cosine ignores it) to a float centroid. */
export function cosineToCentroid(bytes: Int8Array, centroid: readonly number[]): number | undefined {
  if (bytes.length !== centroid.length) return undefined;
  let dot = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i]!;
    const y = centroid[i]!;
    dot += x * y;
    a += x * x;
    b += y * y;
  }
  return a === 0 || b === 0 ? undefined : dot / Math.sqrt(a * b);
}

type Predicate = (s: AudienceSubject) => boolean;

function compile(condition: AudienceCondition): Predicate {
  if ('all' in condition) {
    const parts = condition.all.map(compile);
    return (s) => parts.every((p) => p(s));
  }
  if ('any' in condition) {
    const parts = condition.any.map(compile);
    return (s) => parts.some((p) => p(s));
  }
  if ('not' in condition) {
    const inner = compile(condition.not);
    return (s) => !inner(s);
  }
  if ('event' in condition) {
    const { event, withinHours } = condition;
    const windowSeconds = withinHours * 3600;
    return (s) => {
      const at = lastAt(s.state, event);
      return at !== undefined && Math.floor(s.state.lastEventAt / 1000) - at <= windowSeconds;
    };
  }
  if ('similarTo' in condition) {
    const { similarTo, gte } = condition;
    return (s) => {
      const centroid = s.centroids?.[similarTo];
      const bytes = s.score?.embedding?.bytes;
      if (centroid === undefined || bytes === undefined) return false;
      const similarity = cosineToCentroid(bytes, centroid);
      return similarity !== undefined && similarity >= gte;
    };
  }
  if ('in' in condition) {
    const allowed = new Set<string>(condition.in);
    const field = condition.field;
    return (s) => {
      const value = s.traits[field];
      return value !== undefined && allowed.has(value);
    };
  }
  if ('containsAny' in condition) {
    const wanted = new Set(condition.containsAny);
    return condition.field === 'preferredCategories'
      ? (s) => s.traits.preferredCategories.some((c) => wanted.has(c))
      : (s) => (s.score?.nextCategories ?? []).some((c) => wanted.has(c.category));
  }
  const get = numericGetter(condition.field);
  const { gt, gte, lt, lte, eq } = condition;
  return (s) => {
    const v = get(s);
    return (
      v !== undefined &&
      (gt === undefined || v > gt) &&
      (gte === undefined || v >= gte) &&
      (lt === undefined || v < lt) &&
      (lte === undefined || v <= lte) &&
      (eq === undefined || v === eq)
    );
  };
}

/** A set compiled for evaluation. */
export interface CompiledAudienceSet {
  /** The published version the set came from (absent for an unpublished set, e.g. in tests). */
  version?: string;
  ids: readonly string[];
  /** Whether each audience holds for `subject`, in `ids` order. */
  holds(subject: AudienceSubject): boolean[];
}

/** Compile a validated set (see `parseAudienceSet`). */
export function compileAudienceSet(set: AudienceSet, version?: string): CompiledAudienceSet {
  const predicates = set.audiences.map((a) => compile(a.condition));
  return {
    ...(version === undefined ? {} : { version }),
    ids: set.audiences.map((a) => a.id),
    holds: (subject) => predicates.map((p) => p(subject)),
  };
}

/**
 * The profile's membership after evaluating `set`: entries of audiences that still hold keep their
 * `enteredAt`; new ones enter at `enteredAt`.
 */
export function evaluateMembership(
  set: CompiledAudienceSet,
  subject: AudienceSubject,
  previous: AudienceMembership | undefined,
  enteredAt: number,
): AudienceMembership {
  const holds = set.holds(subject);
  const next: AudienceMembership = {};
  for (let i = 0; i < set.ids.length; i++) {
    if (!holds[i]) continue;
    const id = set.ids[i]!;
    next[id] = previous?.[id] ?? enteredAt;
  }
  return next;
}
