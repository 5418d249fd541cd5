import type { Activation, DenseLayerWeights } from '../../shared/model/mlp-weights';
import type { MultiTaskWeights } from '../../shared/model/multi-task-weights';
import { createRandom, type RandomSource } from '../../shared/model/seeded-random';

/** The shape of a random multi-task network; omitted heads are absent. */
export interface MultiTaskShape {
  features: number;
  /** Widths of the trunk layers (the last one is the embedding size); empty: no trunk. */
  trunk: readonly number[];
  purchaseInput: 'embedding' | 'features';
  churnInput?: 'embedding' | 'features';
  /** Category names, `other` last by convention. */
  categories?: readonly string[];
  categoriesInput?: 'embedding' | 'features';
}

function denseLayer(
  random: RandomSource,
  inputs: number,
  outputs: number,
  activation: Activation,
): DenseLayerWeights {
  // Glorot-ish scale keeps activations finite and probabilities away from 0 and 1.
  const scale = Math.sqrt(2 / (inputs + outputs));
  return {
    weights: Array.from({ length: inputs }, () =>
      Array.from({ length: outputs }, () => (random() * 2 - 1) * scale),
    ),
    bias: Array.from({ length: outputs }, () => (random() * 2 - 1) * 0.3),
    activation,
  };
}

/** Seeded random weights of `shape`: relu trunk, one hidden relu layer of 4 then the output per head. */
export function randomMultiTaskWeights(shape: MultiTaskShape, seed = 1): MultiTaskWeights {
  const random = createRandom(seed);
  const trunk: DenseLayerWeights[] = [];
  let width = shape.features;
  for (const out of shape.trunk) {
    trunk.push(denseLayer(random, width, out, 'relu'));
    width = out;
  }
  const embeddingSize = width;
  const head = (input: 'embedding' | 'features', outputs: number, last: Activation) => {
    const inputs = input === 'embedding' ? embeddingSize : shape.features;
    return [denseLayer(random, inputs, 4, 'relu'), denseLayer(random, 4, outputs, last)];
  };
  return {
    normalisation: {
      mean: Array.from({ length: shape.features }, () => random() * 4 - 2),
      std: Array.from({ length: shape.features }, () => 0.5 + random() * 3),
    },
    trunk,
    heads: {
      purchase: { input: shape.purchaseInput, layers: head(shape.purchaseInput, 1, 'sigmoid') },
      ...(shape.churnInput === undefined
        ? {}
        : { churn: { input: shape.churnInput, layers: head(shape.churnInput, 1, 'sigmoid') } }),
      ...(shape.categories === undefined
        ? {}
        : {
            nextCategories: {
              input: shape.categoriesInput ?? 'embedding',
              categories: [...shape.categories],
              layers: head(shape.categoriesInput ?? 'embedding', shape.categories.length, 'linear'),
            },
          }),
    },
  };
}

/** `rows` × `columns` seeded feature values in [-5, 5). */
export function randomFeatures(rows: number, columns: number, seed = 2): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: rows * columns }, () => random() * 10 - 5);
}
