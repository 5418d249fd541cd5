import fc from 'fast-check';
import { splitStratified } from '../../../shared/model/dataset-split';
import { renderEvaluationReportHtml } from '../../../shared/model/evaluation-report';
import { fitFeatureHeuristic, scoreFeatureHeuristic } from '../../../shared/model/feature-heuristic';
import { fitLogisticRegression } from '../../../shared/model/logistic-regression';
import { toFeatureMatrix } from '../../../shared/model/matrix';
import { evaluateScores, rocAuc } from '../../../shared/model/metrics';
import {
  computeNormalisation,
  type MlpWeights,
  predictMlp,
  sigmoid,
} from '../../../shared/model/mlp-weights';
import { ModelInputError } from '../../../shared/model/model-input-error';
import { applyPlattScaling, fitPlattScaling } from '../../../shared/model/platt-scaling';
import { createRandom, randomNormal } from '../../../shared/model/seeded-random';
import { syntheticPropensityData } from './synthetic-data';

describe('fitLogisticRegression', () => {
  it('recovers the coefficients of a logistic model from a large sample', () => {
    // Prepare
    const random = createRandom(11);
    const rows = 20_000;
    const values = new Float32Array(rows * 2);
    const labels = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      const a = randomNormal(random);
      const b = randomNormal(random);
      values.set([a, b], r * 2);
      labels[r] = random() < sigmoid(-0.5 + 1.5 * a - 1 * b) ? 1 : 0;
    }
    // Act
    const fit = fitLogisticRegression(toFeatureMatrix(values, 2), labels, { l2: 0 });
    // Assess
    expect(fit.converged).toBe(true);
    expect(fit.intercept).toBeCloseTo(-0.5, 1);
    expect(fit.coefficients[0]).toBeCloseTo(1.5, 1);
    expect(fit.coefficients[1]).toBeCloseTo(-1, 1);
  });
});

describe('Platt scaling', () => {
  it('folds into the last layer: scaled network output equals sigmoid(slope · logit + intercept)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        (slope, intercept) => {
          // Prepare
          const weights: MlpWeights = {
            normalisation: { mean: [0, 0], std: [1, 1] },
            layers: [
              {
                weights: [
                  [1, -1],
                  [0.5, 2],
                ],
                bias: [0, 0.1],
                activation: 'relu',
              },
              { weights: [[0.7], [-0.4]], bias: [0.3], activation: 'sigmoid' },
            ],
          };
          const matrix = toFeatureMatrix(new Float32Array([1, 2, -1, 0.5, 3, -2]), 2);
          // Act
          const scaled = predictMlp(applyPlattScaling(weights, { slope, intercept }), matrix);
          // Assess
          predictMlp(weights, matrix).forEach((p, i) => {
            expect(scaled[i]).toBeCloseTo(sigmoid(slope * Math.log(p / (1 - p)) + intercept), 9);
          });
        },
      ),
    );
  });

  it('undoes an inflation of the probabilities', () => {
    // Prepare: true p = sigmoid(z); reported = sigmoid(z + 2), as a class-weighted model would.
    const random = createRandom(2);
    const labels: number[] = [];
    const inflated: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const z = 2 * randomNormal(random) - 1;
      labels.push(random() < sigmoid(z) ? 1 : 0);
      inflated.push(sigmoid(z + 2));
    }
    // Act
    const scaling = fitPlattScaling(labels, inflated);
    // Assess
    expect(scaling.slope).toBeCloseTo(1, 0);
    expect(scaling.intercept).toBeCloseTo(-2, 0);
  });
});

describe('splitStratified', () => {
  it('partitions every row once, keeps the positive rate, and is reproducible', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 20, maxLength: 300 }),
        fc.integer(),
        (labels, seed) => {
          // Act
          const split = splitStratified(labels, { seed });
          // Assess
          const all = [...split.train, ...split.validation, ...split.test].sort((a, b) => a - b);
          expect(all).toEqual(labels.map((_, i) => i));
          expect(splitStratified(labels, { seed })).toEqual(split);
          const positives = labels.filter((l) => l === 1).length;
          const testPositives = split.test.filter((i) => labels[i] === 1).length;
          expect(Math.abs(testPositives - 0.15 * positives)).toBeLessThanOrEqual(0.5);
        },
      ),
    );
  });

  it('rejects fractions that leave no training rows', () => {
    expect(() => splitStratified([0, 1], { validationFraction: 0.5, testFraction: 0.5 })).toThrow(
      ModelInputError,
    );
  });
});

describe('feature heuristic', () => {
  it('scores by the named feature, in [0, 1], ranking like the feature itself', () => {
    // Prepare
    const data = syntheticPropensityData({ rows: 2000, columns: 4, seed: 9 });
    const matrix = toFeatureMatrix(data.features, data.columns);
    const cart = Array.from({ length: data.rows }, (_, r) => data.features[r * data.columns] as number);
    // Act
    const heuristic = fitFeatureHeuristic(matrix, data.featureNames, 'cart_adds_decayed');
    const scores = scoreFeatureHeuristic(heuristic, matrix);
    // Assess
    expect(heuristic.featureIndex).toBe(0);
    expect(Math.min(...scores)).toBe(0);
    expect(Math.max(...scores)).toBe(1);
    expect(rocAuc(data.labels, scores)).toBeCloseTo(rocAuc(data.labels, cart), 2);
  });

  it('names an unknown feature in its error', () => {
    const matrix = toFeatureMatrix(new Float32Array([1, 2]), 2);
    expect(() => fitFeatureHeuristic(matrix, ['a', 'b'], 'cart')).toThrow(/cart/);
  });
});

describe('computeNormalisation', () => {
  it('floors the std of constant columns', () => {
    // Act
    const normalisation = computeNormalisation(toFeatureMatrix(new Float32Array([1, 5, 3, 5]), 2), 0.01);
    // Assess
    expect(normalisation).toEqual({ mean: [2, 5], std: [1, 0.01] });
  });
});

describe('renderEvaluationReportHtml', () => {
  it('builds one self-contained page with a metrics row per scorer and two SVG plots, escaping names', () => {
    // Prepare
    const labels = [0, 1, 0, 1, 1, 0, 0, 1];
    const report = evaluateScores(labels, [0.1, 0.8, 0.3, 0.6, 0.4, 0.2, 0.5, 0.9], {
      seed: 1,
      bootstrapResamples: 20,
    });
    // Act
    const html = renderEvaluationReportHtml({
      title: 'Eval <test>',
      modelVersion: 'v1',
      createdAt: '2026-01-01T00:00:00.000Z',
      scorers: [
        { name: 'MLP', report },
        { name: 'Heuristic "cart"', report },
      ],
      facts: [['Backend', 'wasm']],
    });
    // Assess
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('Eval &#60;test&#62;');
    expect(html).toContain('Heuristic &#34;cart&#34;');
    expect(html).toContain(report.rocAuc.toFixed(4));
    expect(html).not.toMatch(/<(script|link)\b|src=|href=/);
  });
});
