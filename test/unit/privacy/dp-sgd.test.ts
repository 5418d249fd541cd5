import fc from 'fast-check';
import { toFeatureMatrix } from '../../../shared/model/matrix';
import { computeNormalisation } from '../../../shared/model/mlp-weights';
import { ModelInputError } from '../../../shared/model/model-input-error';
import { createRandom } from '../../../shared/model/seeded-random';
import {
  addGaussianNoise,
  clipToNorm,
  DP_SGD_BACKEND,
  dpSgdTrainer,
  type GradientRows,
  initialParameters,
  type LossWeights,
  parameterLayout,
  planDpSgd,
  rowLoss,
  secureRandom,
  unitGradient,
} from '../../../shared/privacy/dp-sgd';
import { dpSgdEpsilon } from '../../../shared/privacy/rdp-accountant';
import type { MultiTaskRows } from '../../../shared/training/training-ports';

const WEIGHTS: LossWeights = { purchase: [1, 3], churn: [0.5, 0.5], nextCategory: 0.5 };

/** Random standardised rows with every head's label (a quarter without a next category). */
function randomRows(rows: number, columns: number, classes: number, seed: number): GradientRows {
  const random = createRandom(seed);
  return {
    x: Float32Array.from({ length: rows * columns }, () => 4 * random() - 2),
    columns,
    purchase: Uint8Array.from({ length: rows }, () => (random() < 0.3 ? 1 : 0)),
    churn: Uint8Array.from({ length: rows }, () => (random() < 0.5 ? 1 : 0)),
    nextCategory: Int16Array.from({ length: rows }, () =>
      random() < 0.25 ? -1 : Math.floor(random() * classes),
    ),
  };
}

const norm = (vector: Float64Array) => Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));

describe('DP-SGD per-unit gradients', () => {
  it('equal the finite-difference gradient of the unit’s mean loss through trunk and every head', () => {
    // Prepare
    const layout = parameterLayout(5, [6, 4], { churn: true, categories: 3 });
    const params = initialParameters(layout, createRandom(3));
    // Non-zero biases so no ReLU sits exactly at its kink.
    for (let k = 0; k < params.length; k++) params[k] = params[k]! + 0.05 * Math.sin(k + 1);
    const rows = randomRows(4, 5, 3, 7);
    const unitRows = [0, 1, 3];
    const meanLoss = (p: Float64Array) =>
      unitRows.reduce((sum, r) => sum + rowLoss(layout, p, rows, r, WEIGHTS), 0) / unitRows.length;
    // Act
    const gradient = unitGradient(layout, params, rows, unitRows, WEIGHTS, new Float64Array(layout.size));
    // Assess
    for (let k = 0; k < layout.size; k++) {
      const up = Float64Array.from(params);
      const down = Float64Array.from(params);
      up[k] = up[k]! + 1e-6;
      down[k] = down[k]! - 1e-6;
      expect(gradient[k]).toBeCloseTo((meanLoss(up) - meanLoss(down)) / 2e-6, 5);
    }
  });

  it('are bounded by the clip norm after clipping, and left alone when already inside it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 1e-3, max: 10, noNaN: true }),
        fc.double({ min: 0.1, max: 20, noNaN: true }),
        (unitSize, seed, clipNorm, weightScale) => {
          const layout = parameterLayout(4, [5], { churn: true, categories: 3 });
          const params = initialParameters(layout, createRandom(seed)).map((w) => w * weightScale);
          const rows = randomRows(unitSize, 4, 3, seed + 1);
          const gradient = unitGradient(
            layout,
            params,
            rows,
            Array.from({ length: unitSize }, (_, r) => r),
            WEIGHTS,
            new Float64Array(layout.size),
          );
          const before = Float64Array.from(gradient);
          const normBefore = clipToNorm(gradient, clipNorm);
          expect(norm(gradient)).toBeLessThanOrEqual(clipNorm * (1 + 1e-12));
          if (normBefore <= clipNorm) expect(gradient).toEqual(before);
        },
      ),
    );
  });
});

describe('DP-SGD noise', () => {
  it('adds zero-mean Gaussian noise of the asked standard deviation to every coordinate', () => {
    // Prepare
    const vector = new Float64Array(200_001);
    // Act
    addGaussianNoise(vector, 2.5, createRandom(11));
    // Assess
    const mean = vector.reduce((sum, v) => sum + v, 0) / vector.length;
    const std = Math.sqrt(vector.reduce((sum, v) => sum + (v - mean) ** 2, 0) / vector.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std / 2.5 - 1)).toBeLessThan(0.01);
    const beyondThreeSigma = vector.filter((v) => Math.abs(v) > 7.5).length / vector.length;
    expect(beyondThreeSigma).toBeGreaterThan(0.0015);
    expect(beyondThreeSigma).toBeLessThan(0.0035);
  });

  it('draws from the platform CSPRNG by default, uniformly in [0, 1)', () => {
    const random = secureRandom();
    const draws = Array.from({ length: 20_000 }, () => random());
    expect(draws.every((u) => u >= 0 && u < 1)).toBe(true);
    expect(Math.abs(draws.reduce((a, b) => a + b, 0) / draws.length - 0.5)).toBeLessThan(0.01);
  });
});

describe('planDpSgd', () => {
  it('picks σ for a target ε over ⌈1/q⌉ steps per epoch, or reports the ε of a given σ', () => {
    // Act
    const targeted = planDpSgd({ targetEpsilon: 3, expectedBatchUnits: 100 }, 1000, 20, 'profile');
    const given = planDpSgd(
      { noiseMultiplier: 1.2, clipNorm: 0.5, expectedBatchUnits: 100 },
      1000,
      20,
      'row',
    );
    // Assess
    expect(targeted.samplingProbability).toBe(0.1);
    expect(targeted.steps).toBe(200);
    expect(targeted.record.epsilon).toBeLessThanOrEqual(3);
    expect(targeted.record.epsilon).toBeGreaterThan(2.9);
    expect(targeted.record).toMatchObject({ delta: 1e-5, unit: 'profile', units: 1000, targetEpsilon: 3 });
    expect(given.record.epsilon).toBeCloseTo(
      dpSgdEpsilon({ samplingProbability: 0.1, noiseMultiplier: 1.2, steps: 200 }, 1e-5).epsilon,
      12,
    );
    expect(given.clipNorm).toBe(0.5);
  });

  it('needs exactly one of targetEpsilon and noiseMultiplier', () => {
    expect(() => planDpSgd({}, 100, 1, 'row')).toThrow(ModelInputError);
    expect(() => planDpSgd({ targetEpsilon: 1, noiseMultiplier: 1 }, 100, 1, 'row')).toThrow(
      /differentialPrivacy: needs exactly one of targetEpsilon or noiseMultiplier/,
    );
  });
});

describe('dpSgdTrainer', () => {
  /** A learnable problem: purchase from feature 0, churn from feature 1; profiles of 4 rows. */
  function problem(rows: number, seed: number): MultiTaskRows {
    const random = createRandom(seed);
    const values = Float32Array.from({ length: rows * 3 }, () => 2 * random() - 1);
    return {
      matrix: toFeatureMatrix(values, 3),
      purchase: Uint8Array.from({ length: rows }, (_, r) =>
        values[r * 3]! + 0.3 * (random() - 0.5) > 0.3 ? 1 : 0,
      ),
      churn: Uint8Array.from({ length: rows }, (_, r) => (values[r * 3 + 1]! > 0 ? 1 : 0)),
      units: Int32Array.from({ length: rows }, (_, r) => Math.floor(r / 4)),
    };
  }

  it('learns under noise, runs every epoch and records the guarantee per profile', async () => {
    // Prepare
    const train = problem(2000, 1);
    const validation = problem(400, 2);
    const normalisation = computeNormalisation(train.matrix);
    // Act
    const fitted = await dpSgdTrainer.trainNetwork(train, validation, normalisation, {
      hiddenUnits: [8],
      maxEpochs: 8,
      learningRate: 1e-2,
      differentialPrivacy: { targetEpsilon: 8, expectedBatchUnits: 100, random: createRandom(5) },
    });
    // Assess
    expect(fitted.backend).toBe(DP_SGD_BACKEND);
    expect(fitted.history).toHaveLength(8);
    expect(fitted.bestEpoch).toBe(8);
    expect(fitted.differentialPrivacy).toMatchObject({ unit: 'profile', units: 500, steps: 40, epochs: 8 });
    expect(fitted.differentialPrivacy!.epsilon).toBeLessThanOrEqual(8);
    expect(fitted.history.at(-1)!.validationLoss).toBeLessThan(fitted.history[0]!.validationLoss);
  });

  it('refuses options without differentialPrivacy', async () => {
    const rows = problem(8, 1);
    await expect(
      dpSgdTrainer.trainNetwork(rows, rows, computeNormalisation(rows.matrix), {}),
    ).rejects.toThrow(/differentialPrivacy: is required/);
  });
});
