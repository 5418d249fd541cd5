/**
 * Reference forward pass of a {@link MultiTaskWeights} in float64 (trainer, baselines, tests; serving
 * runs the ONNX graph), and the one seam from a trained multi-task model to what an exporter needs.
 */
import type { FeatureMatrix } from './matrix';
import { activate, type DenseLayerWeights, type MlpWeights } from './mlp-weights';
import { ModelInputError } from './model-input-error';
import type { MultiTaskWeights } from './multi-task-weights';

/** What one forward pass gives, row-major. */
export interface MultiTaskPrediction {
  rows: number;
  /** The trunk's output per row (`rows × embeddingSize`); size 0 when the trunk is empty. */
  embedding: { size: number; values: Float64Array };
  purchase: Float64Array;
  churn?: Float64Array;
  /** Soft-maxed `rows × (K + 1)` probabilities. */
  nextCategories?: Float64Array;
}

/** `layers` applied to one input vector. */
export function applyLayers(layers: readonly DenseLayerWeights[], input: readonly number[]): number[] {
  let activations = input as number[];
  layers.forEach((layer, l) => {
    if (layer.weights.length !== activations.length) {
      throw new ModelInputError(
        `layers[${l}].weights`,
        `must have ${activations.length} rows`,
        String(layer.weights.length),
      );
    }
    const next = layer.bias.slice();
    activations.forEach((a, i) => {
      const row = layer.weights[i]!;
      for (let j = 0; j < next.length; j++) next[j] = next[j]! + a * row[j]!;
    });
    activations = next.map((z) => activate(layer.activation, z));
  });
  return activations;
}

/** Soft-max in place over `values[from, from + size)`, shifted by the maximum for stability. */
function softmaxInPlace(values: Float64Array, from: number, size: number): void {
  let max = -Infinity;
  for (let k = 0; k < size; k++) max = Math.max(max, values[from + k]!);
  let sum = 0;
  for (let k = 0; k < size; k++) sum += values[from + k] = Math.exp(values[from + k]! - max);
  for (let k = 0; k < size; k++) values[from + k] = values[from + k]! / sum;
}

/** Every head of `weights` on raw (unstandardised) rows. */
export function predictMultiTask(weights: MultiTaskWeights, matrix: FeatureMatrix): MultiTaskPrediction {
  const { mean, std } = weights.normalisation;
  if (mean.length !== matrix.columns) {
    throw new ModelInputError('normalisation', `must have ${matrix.columns} entries`, String(mean.length));
  }
  const { purchase, churn, nextCategories } = weights.heads;
  const embeddingSize = weights.trunk.length === 0 ? 0 : weights.trunk[weights.trunk.length - 1]!.bias.length;
  const categoryCount = nextCategories?.categories.length ?? 0;
  const out: MultiTaskPrediction = {
    rows: matrix.rows,
    embedding: { size: embeddingSize, values: new Float64Array(matrix.rows * embeddingSize) },
    purchase: new Float64Array(matrix.rows),
    ...(churn === undefined ? {} : { churn: new Float64Array(matrix.rows) }),
    ...(nextCategories === undefined
      ? {}
      : { nextCategories: new Float64Array(matrix.rows * categoryCount) }),
  };
  for (let r = 0; r < matrix.rows; r++) {
    const features = Array.from(
      matrix.values.subarray(r * matrix.columns, (r + 1) * matrix.columns),
      (v, c) => (v - mean[c]!) / std[c]!,
    );
    const embedding = weights.trunk.length === 0 ? [] : applyLayers(weights.trunk, features);
    out.embedding.values.set(embedding, r * embeddingSize);
    const inputOf = (input: 'embedding' | 'features') => (input === 'embedding' ? embedding : features);
    out.purchase[r] = applyLayers(purchase.layers, inputOf(purchase.input))[0]!;
    if (churn !== undefined) out.churn![r] = applyLayers(churn.layers, inputOf(churn.input))[0]!;
    if (nextCategories !== undefined) {
      const logits = applyLayers(nextCategories.layers, inputOf(nextCategories.input));
      if (logits.length !== categoryCount) {
        throw new ModelInputError(
          'heads.nextCategories.layers',
          `must end in ${categoryCount} units`,
          String(logits.length),
        );
      }
      out.nextCategories!.set(logits, r * categoryCount);
      softmaxInPlace(out.nextCategories!, r * categoryCount, categoryCount);
    }
  }
  return out;
}

/**
 * The purchase head alone as an {@link MlpWeights} (trunk + head when it reads the embedding, the head
 * alone when it reads the features): what the single-output exporter (`exportMlpToOnnx`) and metadata
 * v1 serve until the multi-task exporter takes the whole {@link MultiTaskWeights}.
 */
export function purchaseMlpWeights(weights: MultiTaskWeights): MlpWeights {
  const { purchase } = weights.heads;
  return {
    normalisation: weights.normalisation,
    layers: purchase.input === 'embedding' ? [...weights.trunk, ...purchase.layers] : [...purchase.layers],
  };
}
