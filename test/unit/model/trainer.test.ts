import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import {
  fitMlp,
  initialiseTrainingBackend,
  predictWithTf,
  tfjsMlpTrainer,
} from '../../../functions/train/tfjs-mlp-trainer';
import { splitStratified } from '../../../shared/model/dataset-split';
import { takeLabels, takeRows, toFeatureMatrix } from '../../../shared/model/matrix';
import { computeNormalisation, predictMlp } from '../../../shared/model/mlp-weights';
import { parseModelMetadata } from '../../../shared/model/model-metadata';
import { exportMlpToOnnx, inspectOnnxModel } from '../../../shared/model/onnx-export';
import { balancedClassWeights, trainPropensityModel } from '../../../shared/training/propensity-model';
import type { LabelledRows } from '../../../shared/training/training-ports';
import { syntheticPropensityData, type SyntheticOptions } from './synthetic-data';

/** Train/validation/test rows of a synthetic problem plus the train-split normalisation. */
function prepare(options: SyntheticOptions) {
  const data = syntheticPropensityData(options);
  const matrix = toFeatureMatrix(data.features, data.columns);
  const split = splitStratified(data.labels, { seed: options.seed });
  const rows = (indices: number[]): LabelledRows => ({
    matrix: takeRows(matrix, indices),
    labels: takeLabels(data.labels, indices),
  });
  const train = rows(split.train);
  return {
    data,
    train,
    validation: rows(split.validation),
    test: rows(split.test),
    normalisation: computeNormalisation(train.matrix),
  };
}

function recallAtHalf(labels: Uint8Array, probabilities: ArrayLike<number>): number {
  let truePositives = 0;
  let positives = 0;
  labels.forEach((label, i) => {
    positives += label;
    if (label === 1 && (probabilities[i] as number) >= 0.5) truePositives++;
  });
  return truePositives / positives;
}

describe('trainer', () => {
  beforeAll(async () => {
    await initialiseTrainingBackend();
  });

  it('exports an ONNX graph that onnxruntime evaluates like TF.js model.predict (max |Δ| ≤ 1e-5)', async () => {
    // Prepare
    const { data, train, validation, normalisation } = prepare({ rows: 2000, columns: 20, seed: 1 });
    const fitted = await fitMlp(train, validation, normalisation, { maxEpochs: 5, seed: 1 });
    const rows = takeRows(
      toFeatureMatrix(data.features, data.columns),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    // Act
    const bytes = exportMlpToOnnx(fitted.weights, {
      featureNames: data.featureNames,
      producer: 'test',
      modelVersion: 'v1',
    });
    const session = await ort.InferenceSession.create(bytes);
    const output = await session.run({
      features: new ort.Tensor('float32', rows.values, [rows.rows, rows.columns]),
    });
    const onnxProbabilities = output.purchase_probability?.data as Float32Array;
    const tfProbabilities = predictWithTf(fitted.model, normalisation, rows);
    fitted.model.dispose();
    // Assess
    const summary = inspectOnnxModel(bytes);
    expect(summary.opsetVersion).toBeGreaterThanOrEqual(17);
    expect(summary.outputs[0]?.name).toBe('purchase_probability');
    expect(onnxProbabilities).toHaveLength(1000);
    const maxDifference = Math.max(
      ...Array.from(onnxProbabilities, (p, i) => Math.abs(p - (tfProbabilities[i] as number))),
    );
    expect(maxDifference).toBeLessThanOrEqual(1e-5);
  });

  it('is deterministic: the same seed gives identical weights, another seed different ones', async () => {
    // Prepare
    const { train, validation, normalisation } = prepare({ rows: 1000, columns: 8, seed: 2 });
    const fitWithSeed = async (seed: number) => {
      const fitted = await fitMlp(train, validation, normalisation, { maxEpochs: 3, seed });
      fitted.model.dispose();
      return fitted;
    };
    // Act
    const first = await fitWithSeed(7);
    const second = await fitWithSeed(7);
    const other = await fitWithSeed(8);
    // Assess
    expect(second.weights).toEqual(first.weights);
    expect(second.history).toEqual(first.history);
    expect(other.weights).not.toEqual(first.weights);
  });

  it('stops early on a noisy problem and restores the best epoch', async () => {
    // Prepare: labels independent of the features, so validation loss can only get worse once the net overfits.
    const { train, validation, normalisation } = prepare({ rows: 1500, columns: 10, seed: 3, signal: 0 });
    // Act
    const fitted = await fitMlp(train, validation, normalisation, {
      maxEpochs: 100,
      patience: 3,
      learningRate: 0.01,
      hiddenUnits: [64, 32],
      seed: 3,
    });
    fitted.model.dispose();
    // Assess
    expect(fitted.stoppedEarly).toBe(true);
    expect(fitted.history.length).toBeLessThan(100);
    expect(fitted.history.length).toBe(fitted.bestEpoch + 3);
    const best = Math.min(...fitted.history.map((h) => h.validationLoss));
    expect(fitted.history[fitted.bestEpoch - 1]?.validationLoss).toBe(best);
  });

  it('raises recall at the 0.5 threshold on an imbalanced problem when classes are weighted', async () => {
    // Prepare
    const { train, validation, test, normalisation } = prepare({
      rows: 3000,
      columns: 10,
      seed: 4,
      offset: -5,
      signal: 1.5,
    });
    const recallWith = async (classWeights: readonly [number, number]) => {
      const fitted = await fitMlp(train, validation, normalisation, { maxEpochs: 8, seed: 4, classWeights });
      fitted.model.dispose();
      return recallAtHalf(test.labels, predictMlp(fitted.weights, test.matrix));
    };
    // Act
    const unweighted = await recallWith([1, 1]);
    const weighted = await recallWith(balancedClassWeights(train.labels));
    // Assess
    expect(weighted).toBeGreaterThan(unweighted);
  });

  it('packages a calibrated model with valid metadata, a matching checksum and a report', async () => {
    // Prepare
    const data = syntheticPropensityData({ rows: 3000, columns: 12, seed: 5, offset: -2 });
    // Act
    const trained = await trainPropensityModel(
      tfjsMlpTrainer,
      {
        features: data.features,
        labels: data.labels,
        featureNames: data.featureNames,
        featureSchemaVersion: 1,
        heuristicFeature: 'cart_adds_decayed',
        modelVersion: 'v-unit',
        trainingWindow: { fromMs: 0, toMs: 86_400_000 },
        createdAtMs: Date.UTC(2026, 10, 27),
      },
      { maxEpochs: 10, bootstrapResamples: 50, seed: 5 },
    );
    const session = await ort.InferenceSession.create(trained.onnx);
    const output = await session.run({
      features: new ort.Tensor('float32', data.features.subarray(0, 12 * 100), [100, 12]),
    });
    // Assess
    const metadata = parseModelMetadata(JSON.parse(JSON.stringify(trained.metadata)));
    expect(metadata.sha256).toBe(createHash('sha256').update(trained.onnx).digest('hex'));
    expect(metadata.sizeBytes).toBe(trained.onnx.byteLength);
    expect(
      metadata.exampleCounts.train + metadata.exampleCounts.validation + metadata.exampleCounts.test,
    ).toBe(3000);
    expect(metadata.exampleCounts.positives).toBe(data.labels.reduce((sum, l) => sum + l, 0));
    expect(metadata.training.calibrated).toBe(true);
    expect(metadata.metrics.model.rocAuc).toBeGreaterThan(metadata.metrics.heuristic.rocAuc);
    const expected = predictMlp(trained.weights, toFeatureMatrix(data.features.subarray(0, 12 * 100), 12));
    Array.from(output.purchase_probability?.data as Float32Array).forEach((p, i) => {
      expect(Math.abs(p - (expected[i] as number))).toBeLessThan(1e-5);
    });
    expect(trained.reportHtml).toContain('Logistic regression');
  });
});
