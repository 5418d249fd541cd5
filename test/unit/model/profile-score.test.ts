import fc from 'fast-check';
import type { BatchScores } from '../../../shared/model/model-outputs';
import { quantiseEmbedding, toProfileScores } from '../../../shared/model/profile-score';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { makeEvent, sequenced, T0 } from '../../support/factories';

const SCORED_AT = 1_800_000_000_000;

describe('toProfileScores', () => {
  it("ranks next categories by the profile's own affinity when the model says so, filled up by the model", () => {
    // Prepare: a profile that viewed hats most, then bags, plus one product without a category
    const views = (categoryId: string | undefined, n: number, from: number) =>
      Array.from({ length: n }, (_, i) =>
        makeEvent({
          type: 'product_view',
          productId: `p-${from + i}`,
          ...(categoryId === undefined ? {} : { categoryId }),
          occurredAt: T0 + (from + i) * 1000,
        }),
      );
    const state = applyEventsToProfile(
      undefined,
      sequenced([...views('hats', 3, 0), ...views('bags', 1, 3), ...views(undefined, 5, 4)]),
      'u-1',
    ).state;
    const batch = (rankedBy?: 'model' | 'profile-affinity'): BatchScores => ({
      modelVersion: 'v-affinity',
      purchase: Float32Array.from([0.5]),
      nextCategories: {
        categories: ['bags', 'socks', 'shoes', 'other'],
        probabilities: Float32Array.from([0.1, 0.4, 0.3, 0.2]),
        ...(rankedBy === undefined ? {} : { rankedBy }),
      },
    });
    // Act
    const [byAffinity] = toProfileScores(batch('profile-affinity'), 1, SCORED_AT, [state]);
    const [byModel] = toProfileScores(batch(), 1, SCORED_AT, [state]);
    // Assess: hats then bags from the profile (shares of its affinity, `unknown` skipped), then the
    // model's best category the profile does not have; the model's own order otherwise
    expect(byAffinity!.nextCategories!.map((c) => c.category)).toEqual(['hats', 'bags', 'socks']);
    const [hats, bags] = byAffinity!.nextCategories!;
    expect(hats!.probability).toBeGreaterThan(bags!.probability);
    expect(hats!.probability + bags!.probability).toBeLessThan(1);
    expect(byModel!.nextCategories!.map((c) => c.category)).toEqual(['socks', 'shoes', 'bags']);
  });

  it('maps every head of a two-row batch to each profile', () => {
    // Prepare
    const batch: BatchScores = {
      modelVersion: 'v-heads',
      purchase: Float32Array.from([0.25, 0.75]),
      churn: Float32Array.from([0.5, 0.125]),
      nextCategories: {
        categories: ['shoes', 'bags', 'hats', 'socks', 'other'],
        // Row 0: `other` is the most likely but names nothing to recommend; row 1: a tie (lower index first).
        probabilities: Float32Array.from([0.1, 0.05, 0.15, 0.2, 0.5, 0.25, 0.25, 0.125, 0.25, 0.125]),
      },
      embedding: { size: 2, values: Float32Array.from([1.27, -0.5, 0, 0]) },
      contributions: {
        featureNames: ['a', 'b', 'c', 'd'],
        purchase: Float32Array.from([0.5, -2, 0.25, 1, 0, 0, 0, -0.5]),
        churn: Float32Array.from([1, 1, -1, 0.5, 3, -2, 1, 0]),
      },
    };
    // Act
    const [first, second] = toProfileScores(batch, 2, SCORED_AT);
    // Assess
    expect(first).toEqual({
      propensity: 0.25,
      churnRisk: 0.5,
      nextCategories: [
        { category: 'socks', probability: expect.closeTo(0.2, 6) },
        { category: 'hats', probability: expect.closeTo(0.15, 6) },
        { category: 'shoes', probability: expect.closeTo(0.1, 6) },
      ],
      reasons: {
        purchase: [
          { feature: 'b', contribution: -2 },
          { feature: 'd', contribution: 1 },
          { feature: 'a', contribution: 0.5 },
        ],
        churn: [
          { feature: 'a', contribution: 1 },
          { feature: 'b', contribution: 1 },
          { feature: 'c', contribution: -1 },
        ],
      },
      embedding: { scale: expect.closeTo(0.01, 6), bytes: Int8Array.from([127, -50]) },
      modelVersion: 'v-heads',
      scoredAt: SCORED_AT,
    });
    expect(second?.nextCategories?.map((c) => c.category)).toEqual(['shoes', 'bags', 'socks']);
    // A zero contribution is no reason.
    expect(second?.reasons?.purchase).toEqual([{ feature: 'd', contribution: -0.5 }]);
    expect(second?.embedding).toEqual({ scale: 1, bytes: Int8Array.from([0, 0]) });
  });

  it('leaves out every head the model does not have', () => {
    // Act
    const [score] = toProfileScores({ modelVersion: 'v1', purchase: Float32Array.from([0.5]) }, 1, SCORED_AT);
    // Assess
    expect(score).toEqual({ propensity: 0.5, modelVersion: 'v1', scoredAt: SCORED_AT });
  });
});

/**
 * The ranking as the ingest path did it before the closure-free rewrite (a comparator per index and a
 * keep predicate): the rewrite must pick exactly the same entries, in the same order, for any values.
 */
function referenceTop(n: number, count: number, key: (i: number) => number, keep: (i: number) => boolean) {
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep(i)) continue;
    const k = key(i);
    if (best.length === count && k <= key(best[count - 1]!)) continue;
    let at = best.length;
    while (at > 0 && key(best[at - 1]!) < k) at--;
    best.splice(at, 0, i);
    if (best.length > count) best.pop();
  }
  return best;
}

describe('toProfileScores, against the reference ranking', () => {
  it('picks the same next categories and reasons as the reference for any scores (ties, zeros, -0, NaN)', () => {
    // Values drawn from a small pool so that ties, zeros and signed zeros are common.
    const value = fc.oneof(
      fc.constantFrom(0, -0, 0.25, -0.25, 0.5, 1, Number.NaN),
      fc.float({ min: -2, max: 2, noDefaultInfinity: true }),
    );
    const batchOf = fc
      .record({
        rows: fc.integer({ min: 1, max: 4 }),
        categories: fc.integer({ min: 1, max: 7 }),
        otherAt: fc.integer({ min: 0, max: 6 }),
        features: fc.integer({ min: 1, max: 8 }),
      })
      .chain(({ rows, categories, otherAt, features }) =>
        fc.record({
          rows: fc.constant(rows),
          names: fc.constant(
            Array.from({ length: categories }, (_, i) => (i === otherAt % categories ? 'other' : `c${i}`)),
          ),
          featureNames: fc.constant(Array.from({ length: features }, (_, i) => `f${i}`)),
          probabilities: fc.array(value, { minLength: rows * categories, maxLength: rows * categories }),
          purchase: fc.array(value, { minLength: rows * features, maxLength: rows * features }),
          churn: fc.array(value, { minLength: rows * features, maxLength: rows * features }),
        }),
      );
    fc.assert(
      fc.property(batchOf, ({ rows, names, featureNames, probabilities, purchase, churn }) => {
        const batch: BatchScores = {
          modelVersion: 'v-prop',
          purchase: new Float32Array(rows),
          nextCategories: { categories: names, probabilities: Float32Array.from(probabilities) },
          contributions: {
            featureNames,
            purchase: Float32Array.from(purchase),
            churn: Float32Array.from(churn),
          },
        };
        const scores = toProfileScores(batch, rows, SCORED_AT);
        const k = names.length;
        const f = featureNames.length;
        const p = batch.nextCategories!.probabilities;
        scores.forEach((score, row) => {
          const at = (i: number) => p[row * k + i]!;
          const categories = referenceTop(k, 3, at, (i) => names[i] !== 'other');
          expect(score.nextCategories).toEqual(
            categories.map((i) => ({ category: names[i], probability: at(i) })),
          );
          for (const head of ['purchase', 'churn'] as const) {
            const values = batch.contributions![head]!;
            const c = (i: number) => values[row * f + i]!;
            const top = referenceTop(
              f,
              3,
              (i) => Math.abs(c(i)),
              (i) => c(i) !== 0,
            );
            expect(score.reasons![head]).toEqual(
              top.map((i) => ({ feature: featureNames[i], contribution: c(i) })),
            );
          }
        });
      }),
    );
  });
});

describe('quantiseEmbedding', () => {
  it('keeps every value within half a step of byte × scale, and the largest at ±127', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 16,
        }),
        (values) => {
          // Act
          const { scale, bytes } = quantiseEmbedding(values);
          // Assess
          expect(scale).toBeGreaterThan(0);
          values.forEach((v, i) =>
            expect(Math.abs(bytes[i]! * scale - v)).toBeLessThanOrEqual(scale / 2 + 1e-9),
          );
          if (values.some((v) => v !== 0)) expect(Math.max(...Array.from(bytes, Math.abs))).toBe(127);
        },
      ),
    );
  });
});
