/**
 * Computed traits: what marketing and CRM read off a profile, derived from its state (and the model's
 * outputs where one serves) at every write, and stored as plain attributes of the item (`traits`).
 *
 * Every trait is computed "as of" the profile's latest event, like its features and scores: a replay
 * stores exactly what the live run stored, and a stage describes the customer relationship at the
 * moment the profile last acted (a lapsed buyer who browses again is still a lapsed buyer: that is the
 * win-back audience). A dormant profile's stage advances when it is next written.
 *
 * | trait | rule |
 * |---|---|
 * | lifecycle | `new` while tenure ≤ `newDays`; otherwise by days since the last purchase (since the first visit for a profile that never bought): ≤ `activeDays` active, ≤ `atRiskDays` at_risk, ≤ `lapsedDays` lapsed, else churned. An active profile whose churn probability is ≥ `churnRiskAtRisk` is at_risk |
 * | rfm | recency (hours since the last purchase), frequency (orders), monetary (revenue) scored 1–5 against 4 ascending cut points each: the trainer's population quantiles when a model serves them, {@link DEFAULT_POPULATION} otherwise. A profile that never bought scores 1/1/1 |
 * | valueTier | from the monetary score: none (no revenue), low (1–2), medium (3–4), high (5) |
 * | priceBand | average order value (mean cart unit price before a first order) against 2 cut points: budget, mid, premium |
 * | preferredCategories | the top {@link PREFERRED_CATEGORY_COUNT} categories by 7-day affinity (the `unknown` bucket left out) |
 * | abandonedCart | the cart's value and the minutes since its last change, when it holds products and was last changed ≥ `abandonedAfterMinutes` before the latest event |
 * | daysSinceLastPurchase | whole days, absent for a profile that never bought |
 */
import { z } from 'zod';
import { cartView, type ProfileState, UNKNOWN_CATEGORY } from '../profile/profile-state';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Lifecycle stages, in their total order (each later stage is a longer time without converting). */
export const LIFECYCLE_STAGES = ['new', 'active', 'at_risk', 'lapsed', 'churned'] as const;
/** A lifecycle stage. */
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];
/** Value tiers, lowest first. */
export const VALUE_TIERS = ['none', 'low', 'medium', 'high'] as const;
/** A value tier. */
export type ValueTier = (typeof VALUE_TIERS)[number];
/** Price bands, cheapest first. */
export const PRICE_BANDS = ['budget', 'mid', 'premium'] as const;
/** A price band. */
export type PriceBand = (typeof PRICE_BANDS)[number];
/** How many preferred categories a profile keeps. */
export const PREFERRED_CATEGORY_COUNT = 2;

/** Thresholds of the lifecycle stages and the abandoned cart. */
export interface TraitThresholds {
  /** Tenure (days since the first event) during which a profile is `new`. @default 14 */
  newDays: number;
  /** Days since the last purchase (first visit when none) up to which a profile is `active`. @default 30 */
  activeDays: number;
  /** … up to which it is `at_risk`. @default 90 */
  atRiskDays: number;
  /** … up to which it is `lapsed`; beyond, `churned`. @default 180 */
  lapsedDays: number;
  /** Churn probability from which an `active` profile counts as `at_risk` (when a churn head serves). @default 0.5 */
  churnRiskAtRisk: number;
  /** Minutes without a cart change (before the latest event) after which a non-empty cart is abandoned. @default 60 */
  abandonedAfterMinutes: number;
}

/** Defaults of {@link TraitThresholds}. */
export const DEFAULT_TRAIT_THRESHOLDS: TraitThresholds = {
  newDays: 14,
  activeDays: 30,
  atRiskDays: 90,
  lapsedDays: 180,
  churnRiskAtRisk: 0.5,
  abandonedAfterMinutes: 60,
};

const cutPoints = (n: number) =>
  z
    .array(z.number().min(0))
    .length(n)
    .refine((v) => v.every((x, i) => i === 0 || v[i - 1]! <= x), 'must be ascending');

/**
 * Population statistics the trainer computes over its rows and ships in the model metadata
 * (`population`), so ingest maps each profile against the population in real time.
 */
export const populationStatsSchema = z
  .object({
    /** 4 ascending cut points (20/40/60/80 % quantiles over the buyers) of each RFM input. */
    rfm: z
      .object({
        recencyHours: cutPoints(4).describe('hours since the last purchase'),
        orders: cutPoints(4).describe('lifetime distinct orders'),
        revenue: cutPoints(4).describe('lifetime revenue, currency units'),
      })
      .strict(),
    /** 2 ascending cut points (33/67 % quantiles over the buyers) of the average order value, currency units. */
    averageOrderValue: cutPoints(2),
    /**
     * Named centroids in the model's embedding space (mean of L2-normalised embeddings), for
     * look-alike audiences: `recent-buyers` = rows with a purchase in the 7 days before their cutoff.
     */
    centroids: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/), z.array(z.number()).min(1)).optional(),
    /** Rows the statistics were computed over. */
    rows: z.number().int().min(0),
  })
  .strict();
/** Population statistics shipped with a model. */
export type PopulationStats = z.infer<typeof populationStatsSchema>;

/** The cut points used when no model serves population statistics (documented in the README). */
export const DEFAULT_POPULATION: PopulationStats = {
  rfm: {
    recencyHours: [24 * 7, 24 * 30, 24 * 90, 24 * 180],
    orders: [1, 2, 4, 8],
    revenue: [20, 50, 150, 500],
  },
  averageOrderValue: [20, 100],
  rows: 0,
};

/** The computed traits of one profile. */
export interface ComputedTraits {
  lifecycle: LifecycleStage;
  /** Recency, frequency, monetary, each 1–5 (5 best). */
  rfm: [number, number, number];
  valueTier: ValueTier;
  /** Absent when nothing was bought or carted with a price. */
  priceBand?: PriceBand;
  preferredCategories: string[];
  /** Present only when the cart is abandoned. */
  abandonedCart?: { valueCents: number; ageMinutes: number };
  /** Whole days; absent when the profile never bought. */
  daysSinceLastPurchase?: number;
}

/**
 * Score `value` 1–5 against 4 ascending cut points: 1 + the cut points it exceeds (`higherIsBetter`),
 * or 1 + the cut points it is below (recency: fewer hours is better).
 */
export function quantileScore(value: number, cuts: readonly number[], higherIsBetter: boolean): number {
  let score = 1;
  for (const cut of cuts) if (higherIsBetter ? value > cut : value < cut) score++;
  return score;
}

/** The stage for `tenureDays` and days without converting (`daysSinceConversion`), before the churn head. */
export function lifecycleStageOf(
  tenureDays: number,
  daysSinceConversion: number,
  thresholds: TraitThresholds = DEFAULT_TRAIT_THRESHOLDS,
): LifecycleStage {
  if (tenureDays <= thresholds.newDays) return 'new';
  if (daysSinceConversion <= thresholds.activeDays) return 'active';
  if (daysSinceConversion <= thresholds.atRiskDays) return 'at_risk';
  if (daysSinceConversion <= thresholds.lapsedDays) return 'lapsed';
  return 'churned';
}

/** What besides the state the traits read. */
export interface TraitInputs {
  /** The serving model's population statistics. @default DEFAULT_POPULATION */
  population?: PopulationStats;
  /** The churn head's probability for this profile, when one serves. */
  churnRisk?: number;
  thresholds?: TraitThresholds;
}

/** Compute every trait of `state` as of its latest event. */
export function computeTraits(state: ProfileState, inputs: TraitInputs = {}): ComputedTraits {
  const thresholds = inputs.thresholds ?? DEFAULT_TRAIT_THRESHOLDS;
  const population = inputs.population ?? DEFAULT_POPULATION;
  const asOf = state.lastEventAt;
  const bought = state.lastPurchaseAt > 0;
  const sincePurchaseMs = bought ? Math.max(0, asOf - state.lastPurchaseAt * 1000) : undefined;
  const tenureDays = Math.max(0, asOf - state.firstSeenAt) / DAY_MS;
  const sinceConversionDays = (sincePurchaseMs ?? Math.max(0, asOf - state.firstSeenAt)) / DAY_MS;
  let lifecycle = lifecycleStageOf(tenureDays, sinceConversionDays, thresholds);
  if (
    lifecycle === 'active' &&
    inputs.churnRisk !== undefined &&
    inputs.churnRisk >= thresholds.churnRiskAtRisk
  )
    lifecycle = 'at_risk';

  const revenue = state.revenueCents / 100;
  const { rfm: cuts } = population;
  const rfm: [number, number, number] =
    bought || state.orderCount > 0
      ? [
          sincePurchaseMs === undefined
            ? 1
            : quantileScore(sincePurchaseMs / HOUR_MS, cuts.recencyHours, false),
          quantileScore(state.orderCount, cuts.orders, true),
          quantileScore(revenue, cuts.revenue, true),
        ]
      : [1, 1, 1];
  const monetary = rfm[2];
  const valueTier: ValueTier =
    state.revenueCents <= 0 ? 'none' : monetary >= 5 ? 'high' : monetary >= 3 ? 'medium' : 'low';

  const traits: ComputedTraits = {
    lifecycle,
    rfm,
    valueTier,
    preferredCategories: preferredCategoriesOf(state),
  };
  const unitPrice = typicalPrice(state);
  if (unitPrice !== undefined) {
    const [mid, premium] = population.averageOrderValue;
    traits.priceBand = unitPrice >= premium! ? 'premium' : unitPrice >= mid! ? 'mid' : 'budget';
  }
  const cart = cartView(state);
  const lastCartChange = state.cart[0]?.at;
  if (cart.products > 0 && lastCartChange !== undefined) {
    const ageMinutes = Math.floor((Math.floor(asOf / 1000) - lastCartChange) / 60);
    if (ageMinutes >= thresholds.abandonedAfterMinutes)
      traits.abandonedCart = { valueCents: cart.valueCents, ageMinutes };
  }
  if (sincePurchaseMs !== undefined) traits.daysSinceLastPurchase = Math.floor(sincePurchaseMs / DAY_MS);
  return traits;
}

function preferredCategoriesOf(state: ProfileState): string[] {
  const out: string[] = [];
  for (const c of state.categories) {
    if (out.length === PREFERRED_CATEGORY_COUNT) break;
    if (c.key !== UNKNOWN_CATEGORY && c.score > 0) out.push(c.key);
  }
  return out;
}

/** Average order value, or before any order the mean unit price of the priced cart events (currency units). */
function typicalPrice(state: ProfileState): number | undefined {
  if (state.orderCount > 0 && state.revenueCents > 0) return state.revenueCents / 100 / state.orderCount;
  let sum = 0;
  let n = 0;
  for (const e of state.cart) {
    if (e.priceCents < 0 || e.quantity <= 0) continue;
    sum += e.priceCents;
    n++;
  }
  return n === 0 ? undefined : sum / n / 100;
}
