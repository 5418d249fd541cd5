/**
 * The TensorFlow.js side of training: the {@link NetworkTrainer} port implemented with tfjs-layers on
 * the wasm backend (cpu as fallback). Everything else of the pipeline (split, normalisation,
 * calibration, baselines, evaluation, export) is in `shared/training/propensity-model.ts`.
 *
 * Flow of one fit: select the backend once per process → build the dense network (seeded Glorot
 * initialisers) → per epoch: seeded shuffle, one pass of mini-batch Adam, class-weighted validation
 * loss → keep the best epoch's weights, stop after `patience` epochs without improvement → restore the
 * best weights → read them out as plain {@link MlpWeights}.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import path from 'node:path';
import { type FeatureMatrix, takeRows } from '../../shared/model/matrix';
import { LOG_LOSS_EPSILON } from '../../shared/model/metrics';
import { type FeatureNormalisation, type MlpWeights, normaliseMatrix } from '../../shared/model/mlp-weights';
import { ModelInputError } from '../../shared/model/model-input-error';
import { createRandom, randomPermutation } from '../../shared/model/seeded-random';
import type {
  EpochRecord,
  LabelledRows,
  MlpTrainingOptions,
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

/** Result of {@link fitMlp}. The caller owns `model` and must `dispose()` it. */
export interface FittedMlp {
  model: tfl.Sequential;
  /** Weights of the best epoch, which `model` also holds. */
  weights: MlpWeights;
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
}

/** Class-weighted mean cross-entropy, the quantity the optimiser minimises, used for early stopping. */
function weightedLogLoss(
  labels: Uint8Array,
  probabilities: Float32Array,
  classWeights: readonly [number, number],
): number {
  let loss = 0;
  let weight = 0;
  labels.forEach((label, i) => {
    const p = Math.min(Math.max(probabilities[i] as number, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
    const w = classWeights[label] as number;
    loss -= w * (label === 1 ? Math.log(p) : Math.log(1 - p));
    weight += w;
  });
  return loss / weight;
}

function buildModel(inputSize: number, hiddenUnits: readonly number[], seed: number): tfl.Sequential {
  const model = tfl.sequential();
  [...hiddenUnits, 1].forEach((units, l) => {
    model.add(
      tfl.layers.dense({
        ...(l === 0 ? { inputShape: [inputSize] } : {}),
        units,
        activation: l === hiddenUnits.length ? 'sigmoid' : 'relu',
        // One seed per layer: the same seed everywhere would give layers of equal shape identical weights.
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + l }),
        biasInitializer: 'zeros',
      }),
    );
  });
  return model;
}

/** Probabilities from a TF.js model for raw (unstandardised) rows. */
export function predictWithTf(
  model: tfl.LayersModel,
  normalisation: FeatureNormalisation,
  matrix: FeatureMatrix,
): Float32Array {
  const standardised = normaliseMatrix(matrix, normalisation);
  return tf.tidy(() => {
    const output = model.predict(
      tf.tensor2d(standardised.values, [matrix.rows, matrix.columns]),
    ) as tf.Tensor;
    return output.dataSync() as Float32Array;
  });
}

/** Read a dense model's weights into the plain {@link MlpWeights} format. */
export function exportTfWeights(model: tfl.LayersModel, normalisation: FeatureNormalisation): MlpWeights {
  return {
    normalisation,
    layers: model.layers.map((layer, l) => {
      const [kernel, bias] = layer.getWeights();
      if (kernel === undefined || bias === undefined) {
        throw new ModelInputError(`layers[${l}]`, 'must be a dense layer with a bias', layer.name);
      }
      return {
        weights: kernel.arraySync() as number[][],
        bias: bias.arraySync() as number[],
        activation: l === model.layers.length - 1 ? ('sigmoid' as const) : ('relu' as const),
      };
    }),
  };
}

/**
 * Train the MLP with mini-batch Adam. Rows are shuffled every epoch by a seeded permutation (not
 * TF.js's own shuffle, which is not seedable); the weights of the epoch with the lowest validation
 * loss are restored at the end (TF.js's EarlyStopping cannot restore them).
 */
export async function fitMlp(
  train: LabelledRows,
  validation: LabelledRows,
  normalisation: FeatureNormalisation,
  options: MlpTrainingOptions = {},
): Promise<FittedMlp> {
  const {
    hiddenUnits = [32, 16],
    maxEpochs = 60,
    patience = 5,
    minDelta = 1e-4,
    batchSize = 256,
    learningRate = 1e-3,
    classWeights = [1, 1],
    seed = 42,
  } = options;
  await initialiseTrainingBackend();
  const { columns } = train.matrix;
  const model = buildModel(columns, hiddenUnits, seed);
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'binaryCrossentropy' });
  const standardised = normaliseMatrix(train.matrix, normalisation);
  const random = createRandom(seed);
  const history: EpochRecord[] = [];
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  let epochsWithoutImprovement = 0;
  let stoppedEarly = false;

  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    const order = randomPermutation(train.matrix.rows, random);
    const xs = tf.tensor2d(takeRows(standardised, order).values, [order.length, columns]);
    const ys = tf.tensor2d(
      Float32Array.from(order, (i) => train.labels[i] as number),
      [order.length, 1],
    );
    const fitted = await model.fit(xs, ys, {
      epochs: 1,
      batchSize,
      shuffle: false,
      verbose: 0,
      classWeight: { 0: classWeights[0], 1: classWeights[1] },
    });
    tf.dispose([xs, ys]);
    const validationLoss = weightedLogLoss(
      validation.labels,
      predictWithTf(model, normalisation, validation.matrix),
      classWeights,
    );
    history.push({ epoch, trainLoss: Number(fitted.history.loss?.[0]), validationLoss });
    if (best === undefined || validationLoss < best.loss - minDelta) {
      if (best) tf.dispose(best.weights);
      best = { loss: validationLoss, epoch, weights: model.getWeights().map((w) => w.clone()) };
      epochsWithoutImprovement = 0;
    } else if (++epochsWithoutImprovement >= patience) {
      stoppedEarly = true;
      break;
    }
  }
  if (best === undefined) throw new ModelInputError('maxEpochs', 'must be at least 1', String(maxEpochs));
  model.setWeights(best.weights);
  tf.dispose(best.weights);
  return {
    model,
    weights: exportTfWeights(model, normalisation),
    history,
    bestEpoch: best.epoch,
    stoppedEarly,
  };
}

/**
 * The {@link NetworkTrainer} of the train function: {@link fitMlp} on the process's TF.js backend,
 * the TF.js model disposed once its weights are read out.
 */
export const tfjsMlpTrainer: NetworkTrainer = {
  async fit(train, validation, normalisation, options) {
    const backend = await initialiseTrainingBackend();
    const { model, ...fitted } = await fitMlp(train, validation, normalisation, options);
    model.dispose();
    return { ...fitted, backend };
  },
};
