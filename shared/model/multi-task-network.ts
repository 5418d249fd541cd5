/**
 * Checks and a reference forward pass for {@link MultiTaskWeights}: what the ONNX exporter refuses, and
 * what its graph must compute (the parity test runs onnxruntime against {@link forwardMultiTask}).
 */
import type { FeatureMatrix } from './matrix';
import {
  activate,
  assertLayerChain,
  assertNormalisation,
  type DenseLayerWeights,
  sigmoid,
} from './mlp-weights';
import { ModelInputError } from './model-input-error';
import type { MultiTaskWeights } from './multi-task-weights';

type HeadName = keyof MultiTaskWeights['heads'];

/**
 * Check that `weights` describe a network over `inputSize` features: normalisation of that width,
 * layers that chain, a trunk under any head that reads the embedding, binary heads ending in one
 * sigmoid unit and the category head in one linear unit per category. Throws {@link ModelInputError}.
 */
export function assertMultiTaskWeights(weights: MultiTaskWeights, inputSize: number): void {
  assertNormalisation(weights.normalisation, inputSize);
  const embeddingSize = assertLayerChain(weights.trunk, inputSize, 'trunk');
  const heads = Object.entries(weights.heads) as [HeadName, MultiTaskWeights['heads'][HeadName]][];
  for (const [name, head] of heads) {
    if (head === undefined) continue;
    const path = `heads.${name}`;
    if (head.input === 'embedding' && weights.trunk.length === 0) {
      throw new ModelInputError(
        `${path}.input`,
        'can read the embedding only when the trunk has layers',
        'embedding',
      );
    }
    if (head.layers.length === 0)
      throw new ModelInputError(`${path}.layers`, 'needs at least one layer', '0');
    const width = assertLayerChain(
      head.layers,
      head.input === 'embedding' ? embeddingSize : inputSize,
      `${path}.layers`,
    );
    const last = head.layers[head.layers.length - 1] as DenseLayerWeights;
    if (!('categories' in head)) {
      if (width !== 1 || last.activation !== 'sigmoid') {
        throw new ModelInputError(
          `${path}.layers`,
          'must end in one sigmoid unit',
          `${width} ${last.activation}`,
        );
      }
      continue;
    }
    const { categories } = head;
    if (categories.length < 2 || new Set(categories).size !== categories.length) {
      throw new ModelInputError(
        `${path}.categories`,
        'must be at least 2 unique names',
        String(categories.length),
      );
    }
    if (width !== categories.length || last.activation !== 'linear') {
      throw new ModelInputError(
        `${path}.layers`,
        `must end in ${categories.length} linear units (one per category)`,
        `${width} ${last.activation}`,
      );
    }
  }
}

/** What {@link forwardMultiTask} computes, row-major, in float64. */
export interface MultiTaskForward {
  purchase: Float64Array;
  /** The purchase head's logit per row (the value attributions explain). */
  purchaseLogit: Float64Array;
  churn?: Float64Array;
  churnLogit?: Float64Array;
  /** B × (K + 1), soft-maxed. */
  nextCategories?: Float64Array;
  /** B × E, when the trunk has layers. */
  embedding?: Float64Array;
}

function applyLayers(layers: readonly DenseLayerWeights[], input: number[]): number[] {
  let activations = input;
  for (const layer of layers) {
    const next = layer.bias.slice();
    activations.forEach((a, i) => {
      const row = layer.weights[i] as number[];
      for (let j = 0; j < next.length; j++) next[j] = (next[j] as number) + a * (row[j] as number);
    });
    activations = next.map((z) => activate(layer.activation, z));
  }
  return activations;
}

/** The last layer's pre-activation: every layer but the last applied, then the last one's affine part. */
function logitsOf(layers: readonly DenseLayerWeights[], input: number[]): number[] {
  const last = layers[layers.length - 1] as DenseLayerWeights;
  return applyLayers([...layers.slice(0, -1), { ...last, activation: 'linear' }], input);
}

function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/**
 * Reference forward pass of the multi-task network in plain float64 arithmetic: the numbers the
 * exported ONNX graph must reproduce (within float32 rounding). Serving goes through onnxruntime.
 */
export function forwardMultiTask(weights: MultiTaskWeights, matrix: FeatureMatrix): MultiTaskForward {
  assertMultiTaskWeights(weights, matrix.columns);
  const { rows, columns, values } = matrix;
  const { mean, std } = weights.normalisation;
  const { purchase, churn, nextCategories } = weights.heads;
  const embeddingSize = weights.trunk.at(-1)?.bias.length ?? 0;
  const out: MultiTaskForward = {
    purchase: new Float64Array(rows),
    purchaseLogit: new Float64Array(rows),
    ...(churn === undefined ? {} : { churn: new Float64Array(rows), churnLogit: new Float64Array(rows) }),
    ...(nextCategories === undefined
      ? {}
      : { nextCategories: new Float64Array(rows * nextCategories.categories.length) }),
    ...(embeddingSize === 0 ? {} : { embedding: new Float64Array(rows * embeddingSize) }),
  };
  for (let r = 0; r < rows; r++) {
    const normalised = Array.from(
      values.subarray(r * columns, (r + 1) * columns),
      (v, c) => (v - (mean[c] as number)) / (std[c] as number),
    );
    const embedding = applyLayers(weights.trunk, normalised);
    const inputOf = (input: 'embedding' | 'features') => (input === 'embedding' ? embedding : normalised);
    out.embedding?.set(embedding, r * embeddingSize);
    const purchaseLogit = logitsOf(purchase.layers, inputOf(purchase.input))[0] as number;
    out.purchaseLogit[r] = purchaseLogit;
    out.purchase[r] = sigmoid(purchaseLogit);
    if (churn !== undefined && out.churn !== undefined && out.churnLogit !== undefined) {
      const churnLogit = logitsOf(churn.layers, inputOf(churn.input))[0] as number;
      out.churnLogit[r] = churnLogit;
      out.churn[r] = sigmoid(churnLogit);
    }
    if (nextCategories !== undefined && out.nextCategories !== undefined) {
      const probabilities = softmax(logitsOf(nextCategories.layers, inputOf(nextCategories.input)));
      out.nextCategories.set(probabilities, r * probabilities.length);
    }
  }
  return out;
}
