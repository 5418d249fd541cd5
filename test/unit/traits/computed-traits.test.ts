import fc from 'fast-check';
import { emptyProfile, type ProfileState } from '../../../shared/profile/profile-state';
import {
  computeTraits,
  DEFAULT_POPULATION,
  DEFAULT_TRAIT_THRESHOLDS,
  LIFECYCLE_STAGES,
  lifecycleStageOf,
  type PopulationStats,
  quantileScore,
} from '../../../shared/traits/computed-traits';
import { computePopulationStats, RECENT_BUYERS_CENTROID } from '../../../shared/traits/population-stats';
import { FEATURE_COUNT, FEATURE_NAMES, featurizeMany } from '../../../shared/features/feature-vector';
import { populationStatsSchema } from '../../../shared/traits/computed-traits';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 12);

/** A profile first seen `tenureDays` ago, last active now, with its purchase history. */
function buyer(opts: {
  tenureDays?: number;
  daysSincePurchase?: number;
  orders?: number;
  revenueCents?: number;
}): ProfileState {
  const state = emptyProfile('u-1');
  state.firstSeenAt = NOW - (opts.tenureDays ?? 365) * DAY_MS;
  state.lastEventAt = NOW;
  if (opts.daysSincePurchase !== undefined) {
    state.lastPurchaseAt = Math.floor((NOW - opts.daysSincePurchase * DAY_MS) / 1000);
    state.orderCount = opts.orders ?? 1;
    state.revenueCents = opts.revenueCents ?? 5000;
  }
  return state;
}

const rank = (stage: string) => LIFECYCLE_STAGES.indexOf(stage as never);

describe('computed traits', () => {
  it('places a profile in the lifecycle by tenure and days since its last purchase', () => {
    expect(computeTraits(buyer({ tenureDays: 3 })).lifecycle).toBe('new');
    expect(computeTraits(buyer({ daysSincePurchase: 2 })).lifecycle).toBe('active');
    expect(computeTraits(buyer({ daysSincePurchase: 45 })).lifecycle).toBe('at_risk');
    expect(computeTraits(buyer({ daysSincePurchase: 120 })).lifecycle).toBe('lapsed');
    expect(computeTraits(buyer({ daysSincePurchase: 400 })).lifecycle).toBe('churned');
    // Never bought: the first visit is the last conversion.
    expect(computeTraits(buyer({ tenureDays: 60 })).lifecycle).toBe('at_risk');
  });

  it('lets the churn head move an active profile to at risk, and only an active one', () => {
    const active = buyer({ daysSincePurchase: 2 });
    expect(computeTraits(active, { churnRisk: 0.7 }).lifecycle).toBe('at_risk');
    expect(computeTraits(active, { churnRisk: 0.2 }).lifecycle).toBe('active');
    expect(computeTraits(buyer({ tenureDays: 3 }), { churnRisk: 0.9 }).lifecycle).toBe('new');
    expect(computeTraits(buyer({ daysSincePurchase: 400 }), { churnRisk: 0.9 }).lifecycle).toBe('churned');
  });

  it('honours configured thresholds', () => {
    const thresholds = { ...DEFAULT_TRAIT_THRESHOLDS, activeDays: 7 };
    expect(computeTraits(buyer({ daysSincePurchase: 10 }), { thresholds }).lifecycle).toBe('at_risk');
  });

  it('orders the stages totally: a longer time without converting never gives an earlier stage', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        (tenure, a, b) => {
          const [near, far] = a <= b ? [a, b] : [b, a];
          expect(rank(lifecycleStageOf(tenure, near))).toBeLessThanOrEqual(
            rank(lifecycleStageOf(tenure, far)),
          );
        },
      ),
    );
  });

  it('scores RFM 1–5, monotone in each input (recency decreasing, frequency and monetary increasing)', () => {
    const population: PopulationStats = {
      ...DEFAULT_POPULATION,
      rfm: { recencyHours: [24, 100, 500, 2000], orders: [1, 2, 3, 6], revenue: [10, 40, 90, 300] },
    };
    const input = fc.record({
      days: fc.integer({ min: 0, max: 500 }),
      orders: fc.integer({ min: 1, max: 40 }),
      cents: fc.integer({ min: 1, max: 1_000_000 }),
    });
    fc.assert(
      fc.property(input, input, (x, y) => {
        const rfm = (v: typeof x) =>
          computeTraits(buyer({ daysSincePurchase: v.days, orders: v.orders, revenueCents: v.cents }), {
            population,
          }).rfm;
        const [rx, fx, mx] = rfm(x);
        for (const s of [rx, fx, mx]) expect(s >= 1 && s <= 5).toBe(true);
        if (x.days <= y.days) expect(rx).toBeGreaterThanOrEqual(rfm({ ...x, days: y.days })[0]);
        if (x.orders <= y.orders) expect(fx).toBeLessThanOrEqual(rfm({ ...x, orders: y.orders })[1]);
        if (x.cents <= y.cents) expect(mx).toBeLessThanOrEqual(rfm({ ...x, cents: y.cents })[2]);
      }),
    );
  });

  it('maps against the cut points: above all four is 5, below all is 1', () => {
    expect(quantileScore(10, [1, 2, 3, 4], true)).toBe(5);
    expect(quantileScore(0, [1, 2, 3, 4], true)).toBe(1);
    expect(quantileScore(0, [1, 2, 3, 4], false)).toBe(5);
    expect(quantileScore(2, [1, 2, 3, 4], true)).toBe(2);
    expect(computeTraits(buyer({})).rfm).toEqual([1, 1, 1]);
  });

  it('derives value tier, price band, preferred categories, abandoned cart and days since purchase', () => {
    const state = buyer({ daysSincePurchase: 3.5, orders: 2, revenueCents: 120_00 });
    state.categories = [
      { key: 'unknown', score: 900 },
      { key: 'shoes', score: 500 },
      { key: 'bags', score: 300 },
      { key: 'hats', score: 100 },
    ];
    const nowSec = Math.floor(NOW / 1000);
    state.cart = [{ at: nowSec - 90 * 60, productId: 'p1', quantity: 2, priceCents: 1999 }];
    const traits = computeTraits(state);
    expect(traits).toMatchObject({
      valueTier: 'medium',
      priceBand: 'mid',
      preferredCategories: ['shoes', 'bags'],
      abandonedCart: { valueCents: 3998, ageMinutes: 90 },
      daysSinceLastPurchase: 3,
    });
    state.cart[0]!.at = nowSec - 10 * 60;
    expect(computeTraits(state).abandonedCart).toBeUndefined();
    expect(computeTraits(buyer({ daysSincePurchase: 1, orders: 2, revenueCents: 2000_00 }))).toMatchObject({
      valueTier: 'high',
      priceBand: 'premium',
    });
    expect(computeTraits(buyer({})).valueTier).toBe('none');
    expect(computeTraits(buyer({})).daysSinceLastPurchase).toBeUndefined();
  });
});

describe('population statistics (trainer side)', () => {
  it('gives cut points over the buyers that ingest maps live profiles against, and a recent-buyers centroid', () => {
    // Prepare: 100 buyers with 1..100 orders and £1..£100 a order, bought 1..100 days ago
    const states = Array.from({ length: 100 }, (_, i) =>
      buyer({ daysSincePurchase: i + 1, orders: i + 1, revenueCents: (i + 1) * (i + 1) * 100 }),
    );
    const features = featurizeMany(
      states,
      states.map((s) => s.lastEventAt),
    );
    const embeddings = {
      size: 2,
      values: Float32Array.from(states.flatMap((_, i) => (i < 7 ? [1, 0] : [0, 1]))),
      rows: states.map((_, i) => i),
    };
    // Act
    const stats = computePopulationStats(features, FEATURE_NAMES, states.length, embeddings)!;
    // Assess
    expect(populationStatsSchema.parse(stats)).toEqual(stats);
    expect(stats.rfm.orders.map(Math.round)).toEqual([20, 40, 60, 80]);
    expect(stats.centroids?.[RECENT_BUYERS_CENTROID]).toEqual([1, 0]);
    // Quintiles: a profile with more orders than 80 % of buyers scores 5, fewer than 20 % scores 1.
    expect(computeTraits(buyer({ daysSincePurchase: 1, orders: 95 }), { population: stats }).rfm[1]).toBe(5);
    expect(computeTraits(buyer({ daysSincePurchase: 1, orders: 5 }), { population: stats }).rfm[1]).toBe(1);
    expect(computeTraits(buyer({ daysSincePurchase: 99, orders: 5 }), { population: stats }).rfm[0]).toBe(1);
    expect(FEATURE_COUNT).toBe(FEATURE_NAMES.length);
  });

  it('ships nothing when the rows hold too few buyers', () => {
    const states = [buyer({ daysSincePurchase: 1 }), buyer({})];
    const features = featurizeMany(
      states,
      states.map((s) => s.lastEventAt),
    );
    expect(computePopulationStats(features, FEATURE_NAMES, states.length)).toBeUndefined();
  });
});
