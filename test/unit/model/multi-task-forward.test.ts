import { toFeatureMatrix } from '../../../shared/model/matrix';
import { predictMlp } from '../../../shared/model/mlp-weights';
import { predictMultiTask, purchaseMlpWeights } from '../../../shared/model/multi-task-forward';
import type { MultiTaskWeights } from '../../../shared/model/multi-task-weights';
import { fitPlattScaling } from '../../../shared/model/platt-scaling';

/** Two features → a 2-unit trunk; purchase over the embedding, churn over the features, 3 classes. */
const weights: MultiTaskWeights = {
  normalisation: { mean: [1, 0], std: [2, 1] },
  trunk: [
    {
      weights: [
        [1, -1],
        [0.5, 2],
      ],
      bias: [0, 0.1],
      activation: 'relu',
    },
  ],
  heads: {
    purchase: {
      input: 'embedding',
      layers: [{ weights: [[1], [-0.5]], bias: [0.2], activation: 'sigmoid' }],
    },
    churn: { input: 'features', layers: [{ weights: [[-1], [0]], bias: [0], activation: 'sigmoid' }] },
    nextCategories: {
      input: 'embedding',
      categories: ['a', 'b', 'other'],
      layers: [
        {
          weights: [
            [1, 0, 0],
            [0, 1, 0],
          ],
          bias: [0, 0, 0],
          activation: 'linear',
        },
      ],
    },
  },
};
const rows = toFeatureMatrix(Float32Array.from([3, 1, -1, -2]), 2);

describe('multi-task forward pass', () => {
  it('computes every head from the trunk or the features as the head says', () => {
    // Act
    const out = predictMultiTask(weights, rows);
    // Assess: row 0 standardises to [1, 1] → embedding [relu(1.5), relu(1.1)]
    expect(Array.from(out.embedding.values.subarray(0, 2))).toEqual([1.5, expect.closeTo(1.1, 12)]);
    expect(out.purchase[0]).toBeCloseTo(1 / (1 + Math.exp(-(1.5 - 0.55 + 0.2))), 12);
    expect(out.churn![0]).toBeCloseTo(1 / (1 + Math.exp(1)), 12);
    const [a, b, other] = Array.from(out.nextCategories!.subarray(0, 3));
    expect(a! + b! + other!).toBeCloseTo(1, 12);
    expect(a! / other!).toBeCloseTo(Math.exp(1.5), 9);
  });

  it('turns the purchase head into the single-output MLP the current exporter takes', () => {
    // Act
    const viaEmbedding = predictMlp(purchaseMlpWeights(weights), rows);
    const featureHead = { ...weights, heads: { purchase: weights.heads.churn! } };
    const viaFeatures = purchaseMlpWeights(featureHead);
    // Assess
    expect(Array.from(viaEmbedding)).toEqual(Array.from(predictMultiTask(weights, rows).purchase));
    expect(viaFeatures.layers).toEqual(weights.heads.churn!.layers);
    expect(Array.from(predictMlp(viaFeatures, rows))).toEqual(
      Array.from(predictMultiTask(featureHead, rows).purchase),
    );
  });

  it('recalibrates constant scores to the base rate (no ranking to scale)', () => {
    const scaling = fitPlattScaling([1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]);
    expect(scaling.slope).toBe(0);
    expect(1 / (1 + Math.exp(-scaling.intercept))).toBeCloseTo(0.25, 12);
  });
});
