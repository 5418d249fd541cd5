import fc from 'fast-check';
import {
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SCHEMA_VERSION,
  featurize,
  featurizeMany,
  MISSING_RECENCY_HOURS,
} from '../../../shared/features/feature-vector';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { emptyProfile } from '../../../shared/profile/profile-state';
import { makeEvent, sequenced, T0 } from '../../support/factories';
import { envelopedEvents, heavyEvents } from '../../support/profile-fixtures';

const HOUR = 3_600_000;
const feature = (vector: Float32Array, name: string) => vector[FEATURE_NAMES.indexOf(name)]!;

const anyState = fc.tuple(envelopedEvents, fc.integer({ min: 1, max: 2000 })).map(([events, stretch]) => {
  const stretched = events.map((e) => ({ ...e, occurredAt: T0 + (e.occurredAt - T0) * stretch }));
  return applyEventsToProfile(undefined, sequenced(stretched), 'u-1').state;
});

describe('feature vector', () => {
  it('has a fixed, named, versioned layout', () => {
    // Prepare, Act
    const vector = featurize(emptyProfile('u-1'), T0);
    // Assess
    expect(FEATURE_SCHEMA_VERSION).toBe(2);
    expect(vector).toHaveLength(FEATURE_COUNT);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_COUNT);
    expect(FEATURE_COUNT).toBeGreaterThanOrEqual(30);
    expect(FEATURE_COUNT).toBeLessThanOrEqual(50);
  });

  it('never yields NaN or Infinity, and is deterministic', () => {
    fc.assert(
      fc.property(anyState, fc.integer({ min: -HOUR, max: 1000 * 24 * HOUR }), (state, delta) => {
        // Prepare
        const asOf = state.lastEventAt + delta;
        // Act
        const a = featurize(state, asOf);
        const b = featurize(state, asOf);
        // Assess
        expect(a.every(Number.isFinite)).toBe(true);
        expect(a).toEqual(b);
      }),
    );
  });

  it('lays out featurizeMany as row-major rows equal to featurize', () => {
    fc.assert(
      fc.property(fc.array(anyState, { minLength: 1, maxLength: 5 }), (states) => {
        // Prepare
        const asOfs = states.map((s) => s.lastEventAt);
        // Act
        const matrix = featurizeMany(states, asOfs);
        // Assess
        states.forEach((s, r) => {
          expect(matrix.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT)).toEqual(
            featurize(s, asOfs[r]!),
          );
        });
      }),
    );
  });

  it('fills missing recencies with the documented value and decays activity to asOf', () => {
    // Prepare
    const state = applyEventsToProfile(
      undefined,
      sequenced([makeEvent({ type: 'product_view', productId: 'p', occurredAt: T0 })]),
      'u-1',
    ).state;
    // Act
    const now = featurize(state, T0);
    const twoHoursLater = featurize(state, T0 + 2 * HOUR);
    // Assess
    expect(feature(now, 'hours_since_last_purchase_log1p')).toBeCloseTo(Math.log1p(MISSING_RECENCY_HOURS), 5);
    expect(feature(now, 'hours_since_last_event_log1p')).toBe(0);
    expect(feature(now, 'decay_1h_product_view_log1p')).toBeCloseTo(Math.log1p(1), 2);
    expect(feature(twoHoursLater, 'decay_1h_product_view_log1p')).toBeCloseTo(Math.log1p(0.25), 2);
    expect(feature(now, 'carts_per_view_smoothed')).toBeCloseTo(1 / 3, 6);
  });

  it('encodes time of day of asOf (UTC) on the unit circle, and no day of week (it extrapolates)', () => {
    // Prepare: Monday 2026-11-23 06:00 UTC
    const monday6am = Date.UTC(2026, 10, 23, 6, 0, 0);
    // Act
    const vector = featurize(emptyProfile('anon:a'), monday6am);
    // Assess
    expect(feature(vector, 'hour_of_day_sin')).toBeCloseTo(1, 6);
    expect(feature(vector, 'hour_of_day_cos')).toBeCloseTo(0, 6);
    expect(FEATURE_NAMES.filter((name) => name.startsWith('day_of_week'))).toEqual([]);
    expect(feature(vector, 'is_anonymous')).toBe(1);
  });

  it('describes a heavy profile: cart, monetary, categories, aliases', () => {
    // Prepare
    const state = applyEventsToProfile(undefined, heavyEvents(), 'u-1').state;
    // Act
    const vector = featurize(state, state.lastEventAt);
    // Assess
    expect(feature(vector, 'cart_products')).toBe(4);
    expect(feature(vector, 'order_count_log1p')).toBeCloseTo(Math.log1p(2), 6);
    expect(feature(vector, 'top_category_share')).toBeGreaterThan(0);
    expect(feature(vector, 'category_entropy_normalised')).toBeLessThanOrEqual(1);
    expect(feature(vector, 'has_linked_alias')).toBe(1);
  });
});
