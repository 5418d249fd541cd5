/**
 * The model format shared by the trainer, the ONNX exporter and the tests: plain arrays, no tensors,
 * so it can be inspected, serialised as JSON and checked without any ML runtime.
 */
import type { FeatureMatrix } from './matrix';
import { ModelInputError } from './model-input-error';

/**
 * Activations a dense layer may use. `linear` (no activation) only ends the next-category head, whose
 * logits the graph soft-maxes; an {@link MlpWeights} is relu/sigmoid only.
 */
export const ACTIVATIONS = ['relu', 'sigmoid', 'linear'] as const;
/** One of {@link ACTIVATIONS}. */
export type Activation = (typeof ACTIVATIONS)[number];

/** Per-feature standardisation applied before the first layer: `(x - mean) / std`. */
export interface FeatureNormalisation {
  mean: number[];
  std: number[];
}

/** One dense layer: `activation(x · weights + bias)`, with `weights` laid out `[in][out]`. */
export interface DenseLayerWeights {
  weights: number[][];
  bias: number[];
  activation: Activation;
}

/** A trained multi-layer perceptron (a logistic regression is the one-layer case). */
export interface MlpWeights {
  normalisation: FeatureNormalisation;
  layers: DenseLayerWeights[];
}

/** Smallest standard deviation used for scaling, so constant features do not divide by zero. @default 1e-3 */
export const DEFAULT_STD_FLOOR = 1e-3;

/**
 * Mean and standard deviation (population) of every column, with `std` floored at `stdFloor`.
 * Call it on the training split only so validation and test rows never leak into the scaling.
 */
export function computeNormalisation(
  matrix: FeatureMatrix,
  stdFloor = DEFAULT_STD_FLOOR,
): FeatureNormalisation {
  const { rows, columns, values } = matrix;
  if (rows === 0) throw new ModelInputError('features', 'needs at least one row', '0 rows');
  const sum = new Float64Array(columns);
  const sumSquares = new Float64Array(columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const v = values[r * columns + c] as number;
      sum[c] = (sum[c] as number) + v;
      sumSquares[c] = (sumSquares[c] as number) + v * v;
    }
  }
  const mean = Array.from(sum, (s) => s / rows);
  const std = Array.from(sumSquares, (s, c) => {
    const m = mean[c] as number;
    return Math.max(Math.sqrt(Math.max(s / rows - m * m, 0)), stdFloor);
  });
  return { mean, std };
}

/** Standardise every row with `normalisation` (float32 arithmetic, same as the ONNX graph). */
export function normaliseMatrix(matrix: FeatureMatrix, normalisation: FeatureNormalisation): FeatureMatrix {
  const { rows, columns, values } = matrix;
  const mean = Float32Array.from(normalisation.mean);
  const std = Float32Array.from(normalisation.std);
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      out[i] = ((values[i] as number) - (mean[c] as number)) / (std[c] as number);
    }
  }
  return { values: out, rows, columns };
}

/** Check that layer shapes chain from `inputSize` down to one output, throwing {@link ModelInputError}. */
export function assertMlpWeights(weights: MlpWeights, inputSize: number): void {
  const { mean, std } = weights.normalisation;
  if (mean.length !== inputSize || std.length !== inputSize) {
    throw new ModelInputError(
      'normalisation',
      `mean and std must both have ${inputSize} entries`,
      `${mean.length}/${std.length}`,
    );
  }
  const badStd = std.findIndex((s) => !(s > 0) || !Number.isFinite(s));
  if (badStd >= 0)
    throw new ModelInputError(`normalisation.std[${badStd}]`, 'must be positive', String(std[badStd]));
  if (weights.layers.length === 0) throw new ModelInputError('layers', 'needs at least one layer', '0');
  let width = inputSize;
  weights.layers.forEach((layer, l) => {
    const out = layer.bias.length;
    if (layer.weights.length !== width) {
      throw new ModelInputError(
        `layers[${l}].weights`,
        `must have ${width} rows`,
        String(layer.weights.length),
      );
    }
    const badRow = layer.weights.findIndex((row) => row.length !== out);
    if (badRow >= 0) {
      throw new ModelInputError(`layers[${l}].weights[${badRow}]`, `must have ${out} columns`, 'other');
    }
    if (layer.activation !== 'relu' && layer.activation !== 'sigmoid') {
      throw new ModelInputError(`layers[${l}].activation`, 'must be relu or sigmoid', layer.activation);
    }
    width = out;
  });
  const last = weights.layers[weights.layers.length - 1] as DenseLayerWeights;
  if (width !== 1 || last.activation !== 'sigmoid') {
    throw new ModelInputError('layers', 'must end in one sigmoid unit', `${width} ${last.activation}`);
  }
}

/** Numerically stable logistic function. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** One unit's activation. */
export function activate(activation: Activation, z: number): number {
  return activation === 'relu' ? Math.max(z, 0) : activation === 'sigmoid' ? sigmoid(z) : z;
}

/**
 * Reference forward pass in float64: probability per row. Used for the logistic-regression baseline
 * and to cross-check the ONNX graph without a runtime; serving goes through onnxruntime.
 */
export function predictMlp(weights: MlpWeights, matrix: FeatureMatrix): Float64Array {
  assertMlpWeights(weights, matrix.columns);
  const { mean, std } = weights.normalisation;
  const out = new Float64Array(matrix.rows);
  for (let r = 0; r < matrix.rows; r++) {
    let activations = Array.from(
      matrix.values.subarray(r * matrix.columns, (r + 1) * matrix.columns),
      (v, c) => (v - (mean[c] as number)) / (std[c] as number),
    );
    for (const layer of weights.layers) {
      const next = layer.bias.slice();
      activations.forEach((a, i) => {
        const row = layer.weights[i] as number[];
        for (let j = 0; j < next.length; j++) next[j] = (next[j] as number) + a * (row[j] as number);
      });
      activations = next.map((z) => activate(layer.activation, z));
    }
    out[r] = activations[0] as number;
  }
  return out;
}
