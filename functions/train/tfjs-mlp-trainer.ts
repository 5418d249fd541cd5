/**
 * The TensorFlow.js side of training: the {@link NetworkTrainer} port implemented with tfjs-core on
 * the wasm backend (cpu as fallback). Everything else of the pipeline (split, normalisation,
 * baselines, per-head choice, calibration, evaluation, export) is in `shared/training/multi-task-model.ts`.
 *
 * The network: standardised features → shared ReLU trunk (dropout while training; its last layer is
 * the user embedding) → one logit per binary head (purchase, churn) and K + 1 logits for the next
 * category. Loss = Σ head weight × head loss (class-weighted cross-entropy for the binary heads,
 * soft-max cross-entropy over the rows that have a next category) + L2 on the kernels.
 *
 * Flow of one fit: select the backend once per process → seeded Glorot kernels → per epoch: seeded
 * shuffle, one pass of mini-batch Adam, validation loss (no dropout, no penalty) → keep the best epoch's
 * weights, stop after `patience` epochs without improvement → return them as plain
 * {@link MultiTaskWeights}. A hand-written loop rather than tfjs-layers' `fit`: that one cannot mask
 * rows per output, seed its dropout, or restore the best epoch.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's CommonJS bundle registers no gradients; loading tfjs-layers registers them all.
import '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import path from 'node:path';
import { takeRows } from '../../shared/model/matrix';
import {
  type DenseLayerWeights,
  type FeatureNormalisation,
  normaliseMatrix,
} from '../../shared/model/mlp-weights';
import { ModelInputError } from '../../shared/model/model-input-error';
import { dpSgdTrainer } from '../../shared/privacy/dp-sgd';
import type { MultiTaskWeights } from '../../shared/model/multi-task-weights';
import { createRandom, randomPermutation, type RandomSource } from '../../shared/model/seeded-random';
import type {
  EpochRecord,
  FittedNetwork,
  MlpTrainingOptions,
  MultiTaskRows,
  NetworkTrainer,
} from '../../shared/training/training-ports';

/** TF.js backends the trainer can run on. */
export const TRAINING_BACKENDS = ['wasm', 'cpu'] as const;
/** One of {@link TRAINING_BACKENDS}. */
export type TrainingBackend = (typeof TRAINING_BACKENDS)[number];

let activeBackend: Promise<TrainingBackend> | undefined;

/**
 * Select the TF.js backend once per process. WebAssembly trains about 2.5–4× faster than the pure-JS
 * CPU kernels here; if its binaries cannot be loaded (e.g. a bundle that left out the `.wasm` files)
 * training still works on `cpu`, only slower. TF.js backends are process-global, so the first call
 * decides and later calls return the same promise whatever they ask for.
 *
 * @param preferred @default 'wasm'
 * @param wasmDirectory folder holding `tfjs-backend-wasm*.wasm`, with a trailing slash.
 *   @default the package's own `dist/` folder
 */
export function initialiseTrainingBackend(
  preferred: TrainingBackend = 'wasm',
  wasmDirectory?: string,
): Promise<TrainingBackend> {
  activeBackend ??= (async () => {
    if (preferred === 'wasm') {
      try {
        setWasmPaths(wasmDirectory ?? `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
        if (await tf.setBackend('wasm')) return 'wasm';
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        // Fall through to cpu: a missing wasm binary is a performance problem, not a correctness one.
      }
    }
    await tf.setBackend('cpu');
    return 'cpu';
  })();
  return activeBackend;
}

interface DenseVariables {
  kernel: tf.Variable;
  bias: tf.Variable;
}

/** Glorot-uniform kernel from the seeded source (TF.js initialisers are seeded per call, not per run). */
function denseVariables(inputs: number, units: number, random: RandomSource): DenseVariables {
  const limit = Math.sqrt(6 / (inputs + units));
  const kernel = Float32Array.from({ length: inputs * units }, () => (2 * random() - 1) * limit);
  return {
    kernel: tf.variable(tf.tensor2d(kernel, [inputs, units])),
    bias: tf.variable(tf.zeros([units])),
  };
}

interface Network {
  trunk: DenseVariables[];
  purchase: DenseVariables;
  churn?: DenseVariables;
  nextCategory?: DenseVariables;
}

interface BatchTensors {
  x: tf.Tensor2D;
  purchase: tf.Tensor1D;
  churn?: tf.Tensor1D;
  nextCategory?: tf.Tensor1D;
}

const dense = (x: tf.Tensor2D, layer: DenseVariables): tf.Tensor2D =>
  tf.add(tf.matMul(x, layer.kernel), layer.bias);

/** Class-weighted binary cross-entropy from logits, `Σ w·loss / Σ w` (stable form). */
function weightedBinaryLoss(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  classWeights: readonly [number, number],
): tf.Scalar {
  const z = tf.reshape(logits, [-1]);
  const perRow = tf.add(tf.sub(tf.relu(z), tf.mul(z, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
  const weights = tf.add(tf.mul(labels, classWeights[1] - classWeights[0]), classWeights[0]);
  return tf.div(tf.sum(tf.mul(perRow, weights)), tf.sum(weights));
}

/** Soft-max cross-entropy over the rows with a class (label ≥ 0); 0 when the batch has none. */
function maskedCategoryLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, classes: number): tf.Scalar {
  const mask = tf.cast(tf.greaterEqual(labels, 0), 'float32');
  // oneHot of −1 is an all-zero row, so unlabelled rows contribute nothing even before the mask.
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), classes);
  const perRow = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1));
  return tf.div(tf.sum(tf.mul(perRow, mask)), tf.maximum(tf.sum(mask), 1));
}

interface LossSettings {
  classWeights: { purchase: readonly [number, number]; churn: readonly [number, number] };
  lossWeights: { purchase: number; churn: number; nextCategory: number };
  classes: number;
  dropout: number;
  l2: number;
}

function networkLoss(
  network: Network,
  batch: BatchTensors,
  settings: LossSettings,
  dropoutSeed: number | undefined,
): tf.Scalar {
  let h: tf.Tensor2D = batch.x;
  network.trunk.forEach((layer, l) => {
    h = tf.relu(dense(h, layer));
    if (dropoutSeed !== undefined && settings.dropout > 0)
      h = tf.dropout(h, settings.dropout, undefined, dropoutSeed + l) as tf.Tensor2D;
  });
  const { lossWeights, classWeights } = settings;
  let loss = tf.mul(
    weightedBinaryLoss(dense(h, network.purchase), batch.purchase, classWeights.purchase),
    lossWeights.purchase,
  );
  if (network.churn !== undefined && batch.churn !== undefined) {
    loss = tf.add(
      loss,
      tf.mul(weightedBinaryLoss(dense(h, network.churn), batch.churn, classWeights.churn), lossWeights.churn),
    );
  }
  if (network.nextCategory !== undefined && batch.nextCategory !== undefined) {
    const category = maskedCategoryLoss(dense(h, network.nextCategory), batch.nextCategory, settings.classes);
    loss = tf.add(loss, tf.mul(category, lossWeights.nextCategory));
  }
  if (dropoutSeed !== undefined && settings.l2 > 0) {
    const kernels = [...network.trunk, network.purchase, network.churn, network.nextCategory].flatMap(
      (layer) => (layer === undefined ? [] : [tf.sum(tf.square(layer.kernel))]),
    );
    loss = tf.add(loss, tf.mul(tf.addN(kernels), settings.l2));
  }
  return loss as tf.Scalar;
}

/** Tensors of `rows[from, to)` of standardised, permuted data. */
function batchTensors(
  x: Float32Array,
  columns: number,
  rows: MultiTaskRows,
  order: readonly number[],
  from: number,
  to: number,
): BatchTensors {
  const indices = order.slice(from, to);
  return {
    x: tf.tensor2d(x.subarray(from * columns, to * columns), [to - from, columns]),
    purchase: tf.tensor1d(Float32Array.from(indices, (i) => rows.purchase[i]!)),
    ...(rows.churn === undefined
      ? {}
      : { churn: tf.tensor1d(Float32Array.from(indices, (i) => rows.churn![i]!)) }),
    ...(rows.nextCategory === undefined
      ? {}
      : { nextCategory: tf.tensor1d(Float32Array.from(indices, (i) => rows.nextCategory![i]!)) }),
  };
}

const disposeBatch = (batch: BatchTensors) =>
  tf.dispose([batch.x, batch.purchase, batch.churn, batch.nextCategory].filter((t) => t !== undefined));

function readLayer(layer: DenseVariables, activation: DenseLayerWeights['activation']): DenseLayerWeights {
  return {
    weights: layer.kernel.arraySync() as number[][],
    bias: layer.bias.arraySync() as number[],
    activation,
  };
}

function readWeights(
  network: Network,
  normalisation: FeatureNormalisation,
  categories: readonly string[],
): MultiTaskWeights {
  return {
    normalisation,
    trunk: network.trunk.map((layer) => readLayer(layer, 'relu')),
    heads: {
      purchase: { input: 'embedding', layers: [readLayer(network.purchase, 'sigmoid')] },
      ...(network.churn === undefined
        ? {}
        : { churn: { input: 'embedding' as const, layers: [readLayer(network.churn, 'sigmoid')] } }),
      ...(network.nextCategory === undefined
        ? {}
        : {
            nextCategories: {
              input: 'embedding' as const,
              categories: [...categories],
              layers: [readLayer(network.nextCategory, 'linear')],
            },
          }),
    },
  };
}

/** Result of {@link fitMultiTaskNetwork}: {@link FittedNetwork} without the backend. */
export type FittedMultiTask = Omit<FittedNetwork, 'backend'>;

/**
 * Train the multi-task network with mini-batch Adam (see the module comment). Rows are shuffled every
 * epoch by a seeded permutation; the weights of the epoch with the lowest validation loss are returned.
 */
export async function fitMultiTaskNetwork(
  train: MultiTaskRows,
  validation: MultiTaskRows,
  normalisation: FeatureNormalisation,
  options: MlpTrainingOptions = {},
): Promise<FittedMultiTask> {
  const {
    hiddenUnits = [32, 16],
    maxEpochs = 60,
    patience = 8,
    minDelta = 1e-4,
    batchSize = 256,
    learningRate = 1e-3,
    dropout = 0.1,
    l2 = 1e-4,
    categories = [],
    seed = 42,
  } = options;
  if (hiddenUnits.length === 0) throw new ModelInputError('hiddenUnits', 'needs at least one layer', '[]');
  if (train.nextCategory !== undefined && categories.length < 2) {
    throw new ModelInputError('categories', 'must name at least two classes', String(categories.length));
  }
  await initialiseTrainingBackend();
  const settings: LossSettings = {
    classWeights: {
      purchase: options.classWeights?.purchase ?? [1, 1],
      churn: options.classWeights?.churn ?? [1, 1],
    },
    lossWeights: {
      purchase: options.lossWeights?.purchase ?? 1,
      churn: options.lossWeights?.churn ?? 0.5,
      nextCategory: options.lossWeights?.nextCategory ?? 0.5,
    },
    classes: categories.length,
    dropout,
    l2,
  };
  const { columns } = train.matrix;
  const random = createRandom(seed);
  let width = columns;
  const trunk = hiddenUnits.map((units) => {
    const layer = denseVariables(width, units, random);
    width = units;
    return layer;
  });
  const network: Network = {
    trunk,
    purchase: denseVariables(width, 1, random),
    ...(train.churn === undefined ? {} : { churn: denseVariables(width, 1, random) }),
    ...(train.nextCategory === undefined
      ? {}
      : { nextCategory: denseVariables(width, categories.length, random) }),
  };
  const variables = [...network.trunk, network.purchase, network.churn, network.nextCategory].flatMap(
    (layer) => (layer === undefined ? [] : [layer.kernel, layer.bias]),
  );
  const optimizer = tf.train.adam(learningRate);
  const standardised = normaliseMatrix(train.matrix, normalisation);
  const validationOrder = Array.from({ length: validation.matrix.rows }, (_, i) => i);
  const validationBatch = batchTensors(
    normaliseMatrix(validation.matrix, normalisation).values,
    columns,
    validation,
    validationOrder,
    0,
    validationOrder.length,
  );
  const history: EpochRecord[] = [];
  let best: { loss: number; epoch: number; weights: MultiTaskWeights } | undefined;
  let epochsWithoutImprovement = 0;
  let stoppedEarly = false;
  let step = 0;
  try {
    for (let epoch = 1; epoch <= maxEpochs; epoch++) {
      const order = randomPermutation(train.matrix.rows, random);
      const x = takeRows(standardised, order).values;
      let lossSum = 0;
      let batches = 0;
      for (let from = 0; from < order.length; from += batchSize) {
        const batch = batchTensors(x, columns, train, order, from, Math.min(from + batchSize, order.length));
        const dropoutSeed = seed * 1_000_003 + step++ * 16;
        const cost = optimizer.minimize(
          () => networkLoss(network, batch, settings, dropoutSeed),
          true,
          variables,
        );
        lossSum += cost === null ? Number.NaN : (await cost.data())[0]!;
        cost?.dispose();
        disposeBatch(batch);
        batches++;
      }
      const validationLoss = tf.tidy(
        () => networkLoss(network, validationBatch, settings, undefined).dataSync()[0]!,
      );
      history.push({ epoch, trainLoss: lossSum / batches, validationLoss });
      if (best === undefined || validationLoss < best.loss - minDelta) {
        best = { loss: validationLoss, epoch, weights: readWeights(network, normalisation, categories) };
        epochsWithoutImprovement = 0;
      } else if (++epochsWithoutImprovement >= patience) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    disposeBatch(validationBatch);
    tf.dispose(variables);
    optimizer.dispose();
  }
  if (best === undefined) throw new ModelInputError('maxEpochs', 'must be at least 1', String(maxEpochs));
  return { weights: best.weights, history, bestEpoch: best.epoch, stoppedEarly };
}

/**
 * The {@link NetworkTrainer} of the train function: {@link fitMultiTaskNetwork} on the process's TF.js
 * backend, or DP-SGD (`shared/privacy/dp-sgd.ts`, per-unit gradients by hand) when the options ask for
 * differential privacy.
 */
export const tfjsMlpTrainer: NetworkTrainer = {
  async trainNetwork(train, validation, normalisation, options) {
    if (options.differentialPrivacy !== undefined)
      return dpSgdTrainer.trainNetwork(train, validation, normalisation, options);
    const backend = await initialiseTrainingBackend();
    return { ...(await fitMultiTaskNetwork(train, validation, normalisation, options)), backend };
  },
};
