import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import {
  fitMultiTaskNetwork,
  initialiseTrainingBackend,
  tfjsMlpTrainer,
} from '../../../functions/train/tfjs-mlp-trainer';
import { splitStratified } from '../../../shared/model/dataset-split';
import { takeRows, toFeatureMatrix } from '../../../shared/model/matrix';
import { rocAuc } from '../../../shared/model/metrics';
import { computeNormalisation, predictMlp } from '../../../shared/model/mlp-weights';
import {
  declaredOutputNames,
  parseModelMetadataV2,
  publishedHeadMetrics,
} from '../../../shared/model/model-metadata';
import { predictMultiTask, purchaseMlpWeights } from '../../../shared/model/multi-task-forward';
import type { MultiTaskWeights } from '../../../shared/model/multi-task-weights';
import { exportMlpToOnnx, inspectOnnxModel } from '../../../shared/model/onnx-export';
import { createRandom } from '../../../shared/model/seeded-random';
import { balancedClassWeights, trainMultiTaskModel } from '../../../shared/training/multi-task-model';
import type { MultiTaskRows, NetworkTrainer } from '../../../shared/training/training-ports';
import { syntheticPropensityData, type SyntheticOptions } from './synthetic-data';

/**
 * A synthetic problem with every head: purchase from the generator; churn from feature 1 (high
 * values churn); next category from the sign of features 0 and 2 (four classes), drawn at random for
 * a fifth of the rows, and no category (−1) for a quarter.
 */
function multiTaskProblem(options: SyntheticOptions) {
  const data = syntheticPropensityData(options);
  const random = createRandom(options.seed + 100);
  const column = (r: number, c: number) => (data.features[r * data.columns + c]! - 10 * c) / (c + 1);
  const churn = Uint8Array.from({ length: data.rows }, (_, r) =>
    random() < 1 / (1 + Math.exp(-3 * column(r, 1))) ? 1 : 0,
  );
  const nextCategory = Int16Array.from({ length: data.rows }, (_, r) => {
    const draw = random();
    if (draw < 0.25) return -1;
    if (draw < 0.45) return Math.floor(random() * 4);
    return (column(r, 0) > 0 ? 1 : 0) + (column(r, 2) > 0 ? 2 : 0);
  });
  return { data, churn, nextCategory, categories: ['a', 'b', 'c', 'other'] };
}

/** Train/validation/test rows of a synthetic problem plus the train-split normalisation. */
function prepare(options: SyntheticOptions) {
  const { data, churn, nextCategory, categories } = multiTaskProblem(options);
  const matrix = toFeatureMatrix(data.features, data.columns);
  const split = splitStratified(data.labels, { seed: options.seed });
  const rows = (indices: number[], heads: 'purchase' | 'all' = 'purchase'): MultiTaskRows => ({
    matrix: takeRows(matrix, indices),
    purchase: Uint8Array.from(indices, (i) => data.labels[i]!),
    ...(heads === 'all'
      ? {
          churn: Uint8Array.from(indices, (i) => churn[i]!),
          nextCategory: Int16Array.from(indices, (i) => nextCategory[i]!),
        }
      : {}),
  });
  const train = rows(split.train);
  return {
    data,
    categories,
    train,
    validation: rows(split.validation),
    test: rows(split.test),
    all: {
      train: rows(split.train, 'all'),
      validation: rows(split.validation, 'all'),
      test: rows(split.test, 'all'),
    },
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

/** The unweighted purchase log loss of read-out weights, in float64. */
function purchaseLogLoss(weights: MultiTaskWeights, rows: MultiTaskRows): number {
  const p = predictMultiTask(weights, rows.matrix).purchase;
  let loss = 0;
  rows.purchase.forEach((y, i) => {
    loss -= y === 1 ? Math.log(p[i]!) : Math.log(1 - p[i]!);
  });
  return loss / rows.purchase.length;
}

describe('trainer', () => {
  beforeAll(async () => {
    await initialiseTrainingBackend();
  });

  it('reads out the weights it trained: the plain forward pass reproduces its validation loss, and ONNX the forward pass', async () => {
    // Prepare: purchase only, unweighted classes, so the validation loss is the plain log loss
    const { data, train, validation, normalisation } = prepare({ rows: 2000, columns: 20, seed: 1 });
    const fitted = await fitMultiTaskNetwork(train, validation, normalisation, { maxEpochs: 5, seed: 1 });
    const rows = takeRows(
      toFeatureMatrix(data.features, data.columns),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    // Act
    const bytes = exportMlpToOnnx(purchaseMlpWeights(fitted.weights), {
      featureNames: data.featureNames,
      producer: 'test',
      modelVersion: 'v1',
    });
    const session = await ort.InferenceSession.create(bytes);
    const output = await session.run({
      features: new ort.Tensor('float32', rows.values, [rows.rows, rows.columns]),
    });
    const onnxProbabilities = output.purchase_probability?.data as Float32Array;
    const reference = predictMultiTask(fitted.weights, rows).purchase;
    // Assess
    expect(purchaseLogLoss(fitted.weights, validation)).toBeCloseTo(
      fitted.history[fitted.bestEpoch - 1]!.validationLoss,
      4,
    );
    const summary = inspectOnnxModel(bytes);
    expect(summary.opsetVersion).toBeGreaterThanOrEqual(17);
    expect(summary.outputs[0]?.name).toBe('purchase_probability');
    expect(onnxProbabilities).toHaveLength(1000);
    const maxDifference = Math.max(
      ...Array.from(onnxProbabilities, (p, i) => Math.abs(p - (reference[i] as number))),
    );
    expect(maxDifference).toBeLessThanOrEqual(1e-5);
  });

  it('is deterministic: the same seed gives identical weights, another seed different ones', async () => {
    // Prepare
    const { all, normalisation, categories } = prepare({ rows: 1000, columns: 8, seed: 2 });
    const fitWithSeed = (seed: number) =>
      fitMultiTaskNetwork(all.train, all.validation, normalisation, { maxEpochs: 3, seed, categories });
    // Act
    const first = await fitWithSeed(7);
    const second = await fitWithSeed(7);
    const other = await fitWithSeed(8);
    // Assess
    expect(second.weights).toEqual(first.weights);
    expect(second.history).toEqual(first.history);
    expect(other.weights).not.toEqual(first.weights);
  });

  it('learns every head from one trunk: churn and next category from the embedding', async () => {
    // Prepare
    const { all, normalisation, categories } = prepare({ rows: 4000, columns: 8, seed: 6 });
    // Act
    const fitted = await fitMultiTaskNetwork(all.train, all.validation, normalisation, {
      maxEpochs: 30,
      seed: 6,
      hiddenUnits: [32, 12],
      categories,
    });
    const predicted = predictMultiTask(fitted.weights, all.test.matrix);
    // Assess: a 12-value embedding, a sigmoid churn head and a soft-max over the 4 classes
    expect(predicted.embedding.size).toBe(12);
    expect(fitted.weights.heads.nextCategories?.categories).toEqual(categories);
    expect(rocAuc(all.test.churn!, predicted.churn!)).toBeGreaterThan(0.75);
    let hits = 0;
    let labelled = 0;
    all.test.nextCategory!.forEach((label, r) => {
      if (label < 0) return;
      labelled++;
      const probabilities = Array.from(predicted.nextCategories!.subarray(r * 4, r * 4 + 4));
      expect(probabilities.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 6);
      if (probabilities.indexOf(Math.max(...probabilities)) === label) hits++;
    });
    // four roughly equal classes: chance is 0.25, the best possible about 0.8
    expect(hits / labelled).toBeGreaterThan(0.55);
  });

  it('stops early on a noisy problem and returns the best epoch', async () => {
    // Prepare: labels independent of the features, so validation loss can only get worse once the net overfits.
    const { train, validation, normalisation } = prepare({ rows: 1500, columns: 10, seed: 3, signal: 0 });
    // Act
    const fitted = await fitMultiTaskNetwork(train, validation, normalisation, {
      maxEpochs: 100,
      patience: 3,
      learningRate: 0.01,
      hiddenUnits: [64, 32],
      dropout: 0,
      l2: 0,
      seed: 3,
    });
    // Assess
    expect(fitted.stoppedEarly).toBe(true);
    expect(fitted.history.length).toBeLessThan(100);
    expect(fitted.history.length).toBe(fitted.bestEpoch + 3);
    const best = Math.min(...fitted.history.map((h) => h.validationLoss));
    expect(fitted.history[fitted.bestEpoch - 1]?.validationLoss).toBe(best);
    expect(purchaseLogLoss(fitted.weights, validation)).toBeCloseTo(best, 4);
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
      const fitted = await fitMultiTaskNetwork(train, validation, normalisation, {
        maxEpochs: 8,
        seed: 4,
        classWeights: { purchase: classWeights },
      });
      return recallAtHalf(test.purchase, predictMlp(purchaseMlpWeights(fitted.weights), test.matrix));
    };
    // Act
    const unweighted = await recallWith([1, 1]);
    const weighted = await recallWith(balancedClassWeights(train.purchase));
    // Assess
    expect(weighted).toBeGreaterThan(unweighted);
  });

  it('packages a calibrated model with valid metadata, a matching checksum and a report', async () => {
    // Prepare
    const data = syntheticPropensityData({ rows: 3000, columns: 12, seed: 5, offset: -2 });
    // Act
    const trained = await trainMultiTaskModel(
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
    const metadata = parseModelMetadataV2(JSON.parse(JSON.stringify(trained.metadata)));
    expect(metadata.sha256).toBe(createHash('sha256').update(trained.onnx).digest('hex'));
    expect(metadata.sizeBytes).toBe(trained.onnx.byteLength);
    const counts = metadata.provenance!.exampleCounts!;
    expect(counts['train']! + counts['validation']! + counts['test']!).toBe(3000);
    expect(counts['positives']).toBe(data.labels.reduce((sum, l) => sum + l, 0));
    expect(metadata.provenance!.training!['calibrated']).toBe(true);
    const purchase = metadata.provenance!.heads!.purchase!;
    expect(publishedHeadMetrics(metadata)!.rocAuc).toBeGreaterThan(
      purchase.metrics['heuristic']!['rocAuc'] as number,
    );
    const expected = predictMultiTask(
      trained.multiTask,
      toFeatureMatrix(data.features.subarray(0, 12 * 100), 12),
    ).purchase;
    Array.from(output.purchase_probability?.data as Float32Array).forEach((p, i) => {
      expect(Math.abs(p - (expected[i] as number))).toBeLessThan(1e-5);
    });
    expect(trained.reportHtml).toContain('Logistic regression');
  });

  it('publishes a baseline as a head over the features when the network loses on validation', async () => {
    // Prepare: a "network" whose every head is constant, so any baseline beats it
    const { data, churn, nextCategory, categories } = multiTaskProblem({
      rows: 3000,
      columns: 12,
      seed: 8,
      offset: -1,
    });
    const constant: NetworkTrainer = {
      trainNetwork: async (train, _validation, normalisation) => {
        const width = 4;
        const zeros = (rows: number, columns: number) =>
          Array.from({ length: rows }, () => new Array<number>(columns).fill(0));
        return {
          weights: {
            normalisation,
            trunk: [
              {
                weights: zeros(train.matrix.columns, width),
                bias: new Array<number>(width).fill(0),
                activation: 'relu',
              },
            ],
            heads: {
              purchase: {
                input: 'embedding',
                layers: [{ weights: zeros(width, 1), bias: [0], activation: 'sigmoid' }],
              },
              churn: {
                input: 'embedding',
                layers: [{ weights: zeros(width, 1), bias: [0], activation: 'sigmoid' }],
              },
              nextCategories: {
                input: 'embedding',
                categories: [...categories],
                // constant logits that rank the rarest class first: popularity must win
                layers: [{ weights: zeros(width, 4), bias: [0, 0, 0, 5], activation: 'linear' }],
              },
            },
          },
          history: [{ epoch: 1, trainLoss: 0.7, validationLoss: 0.7 }],
          bestEpoch: 1,
          stoppedEarly: false,
          backend: 'fake',
        };
      },
    };
    const rare = Int16Array.from(nextCategory, (c) => (c === 3 ? 0 : c));
    // Act
    const trained = await trainMultiTaskModel(
      constant,
      {
        features: data.features,
        labels: data.labels,
        churnLabels: churn,
        nextCategory: {
          labels: rare,
          categories,
          affinity: new Float32Array(data.rows * 4),
          lastCategory: new Int16Array(data.rows).fill(-1),
        },
        featureNames: data.featureNames,
        featureSchemaVersion: 2,
        heuristicFeature: 'cart_adds_decayed',
        churnHeuristicFeature: 'feature_1',
        modelVersion: 'v-baselines',
        trainingWindow: { fromMs: 0, toMs: 1 },
        createdAtMs: 0,
      },
      { bootstrapResamples: 20 },
    );
    // Assess: every head is a baseline over the features; the trunk stays for the embedding
    const { heads, multiTask } = trained;
    expect(heads.purchase.chosen).not.toBe('network');
    expect(heads.churn?.chosen).not.toBe('network');
    expect(heads.nextCategories?.chosen).toBe('popularity');
    expect(multiTask.trunk.length).toBeGreaterThan(0);
    expect(multiTask.heads.purchase.input).toBe('features');
    expect(multiTask.heads.churn?.input).toBe('features');
    expect(multiTask.heads.nextCategories?.input).toBe('features');
    for (const head of [heads.purchase, heads.churn!]) {
      expect(head.validationRocAuc[head.chosen]).toBeGreaterThan(head.validationRocAuc.network);
      expect(head.test[head.chosen].rocAuc).toBeGreaterThan(0.6);
    }
    // the metadata names the chosen baseline and carries its test metrics as the published ones
    const provenance = trained.metadata.provenance!.heads!;
    expect(provenance.purchase!.chosen).toBe(heads.purchase.chosen);
    expect(provenance.churn!.chosen).toBe(heads.churn!.chosen);
    expect(publishedHeadMetrics(trained.metadata)!.rocAuc).toBe(
      heads.purchase.test[heads.purchase.chosen].rocAuc,
    );
    // baselines read the features: exact attributions; the trunk still serves the embedding
    expect(trained.metadata.outputs.contributions?.purchase?.method).toBe('exact-linear');
    expect(trained.metadata.outputs.embedding).toEqual({
      name: 'embedding',
      size: multiTask.trunk[multiTask.trunk.length - 1]!.bias.length,
    });
  });

  it('trains, chooses and evaluates every head; the exported graph serves the published purchase head', async () => {
    // Prepare
    const { data, churn, nextCategory, categories } = multiTaskProblem({ rows: 3000, columns: 8, seed: 9 });
    const affinity = new Float32Array(data.rows * 4);
    // a profile state that knows every answer, the random ones included: the features cannot
    nextCategory.forEach((c, r) => {
      if (c >= 0) affinity[r * 4 + c] = 1;
    });
    // Act
    const trained = await trainMultiTaskModel(
      tfjsMlpTrainer,
      {
        features: data.features,
        labels: data.labels,
        churnLabels: churn,
        nextCategory: {
          labels: nextCategory,
          categories,
          affinity,
          lastCategory: new Int16Array(data.rows).fill(-1),
        },
        featureNames: data.featureNames,
        featureSchemaVersion: 2,
        heuristicFeature: 'cart_adds_decayed',
        churnHeuristicFeature: 'feature_1',
        modelVersion: 'v-heads',
        trainingWindow: { fromMs: 0, toMs: 1 },
        createdAtMs: 0,
      },
      { maxEpochs: 15, bootstrapResamples: 20, seed: 9 },
    );
    // Assess
    const { heads } = trained;
    const category = heads.nextCategories!;
    expect(category.test.network.recall).toBeGreaterThan(category.test.popularity.recall);
    expect(category.test.affinity.recall).toBeGreaterThan(category.test.network.recall);
    expect(category.stateBaselineAhead).toBe('affinity');
    expect(category.test.network.recallCi95.lower).toBeLessThanOrEqual(category.test.network.recall);
    expect(category.test.network.recallCi95.upper).toBeGreaterThanOrEqual(category.test.network.recall);
    expect(heads.churn!.test[heads.churn!.chosen].rocAuc).toBeGreaterThan(0.7);
    const session = await ort.InferenceSession.create(trained.onnx);
    const rows = toFeatureMatrix(data.features.subarray(0, 8 * 200), 8);
    const output = await session.run({ features: new ort.Tensor('float32', rows.values, [200, 8]) });
    const expected = predictMultiTask(trained.multiTask, rows);
    Array.from(output.purchase_probability?.data as Float32Array).forEach((p, i) => {
      expect(Math.abs(p - expected.purchase[i]!)).toBeLessThan(1e-5);
    });
    Array.from(output.churn_probability?.data as Float32Array).forEach((p, i) => {
      expect(Math.abs(p - expected.churn![i]!)).toBeLessThan(1e-5);
    });
    // ONE graph with every head it has, declared in the v2 serving contract
    const { outputs, provenance } = parseModelMetadataV2(JSON.parse(JSON.stringify(trained.metadata)));
    expect(Object.keys(output).sort()).toEqual(declaredOutputNames(outputs).sort());
    expect(outputs.nextCategories?.categories).toEqual(categories);
    expect(outputs.churn?.horizonDays).toBe(1);
    expect(output.purchase_contributions?.dims).toEqual([200, 8]);
    expect(output.churn_contributions?.dims).toEqual([200, 8]);
    // the state baseline that ranks better is recorded, not served
    expect(provenance!.heads!.nextCategories!.aheadOnValidation).toBe('affinity');
    expect(trained.reportHtml).toContain('Next categories');
    expect(trained.reportHtml).toContain('Churn (test split)');
  });
});
