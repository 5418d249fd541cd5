/**
 * The multi-task graph computes what the plain TypeScript forward pass computes, for every head and
 * shape (real onnxruntime-node), and declares the outputs its metadata section says.
 */
import fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { ModelInputError } from '../../../shared/model/model-input-error';
import { ONNX_OUTPUTS } from '../../../shared/model/model-outputs';
import { forwardMultiTask } from '../../../shared/model/multi-task-network';
import type { MultiTaskWeights } from '../../../shared/model/multi-task-weights';
import {
  BATCH_DIM,
  exportMultiTaskToOnnx,
  inspectOnnxModel,
  multiTaskServingOutputs,
  tensorValueInfo,
} from '../../../shared/model/onnx-export';
import { declaredOutputNames } from '../../../shared/model/model-metadata';
import {
  randomFeatures,
  randomMultiTaskWeights,
  type MultiTaskShape,
} from '../../support/multi-task-fixtures';

const options = (features: number) => ({
  featureNames: Array.from({ length: features }, (_, i) => `f${i}`),
  producer: 'unit-test',
  modelVersion: 'v-multi',
});

async function runAll(bytes: Uint8Array, features: Float32Array, rows: number, columns: number) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run({ features: new ort.Tensor('float32', features, [rows, columns]) });
  } finally {
    await session.release();
  }
}

function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

const input = fc.constantFrom<'embedding' | 'features'>('embedding', 'features');
const shapeArbitrary: fc.Arbitrary<MultiTaskShape> = fc
  .record({
    features: fc.integer({ min: 1, max: 9 }),
    trunk: fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 2 }),
    purchaseInput: input,
    churnInput: fc.option(input, { nil: undefined }),
    categoryCount: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    categoriesInput: input,
  })
  .map(({ categoryCount, ...shape }) => {
    // A head may read the embedding only when there is a trunk.
    const fix = (i: 'embedding' | 'features') => (shape.trunk.length === 0 ? 'features' : i);
    return {
      ...shape,
      purchaseInput: fix(shape.purchaseInput),
      ...(shape.churnInput === undefined ? {} : { churnInput: fix(shape.churnInput) }),
      categoriesInput: fix(shape.categoriesInput),
      ...(categoryCount === undefined
        ? {}
        : { categories: [...Array.from({ length: categoryCount }, (_, i) => `c${i}`), 'other'] }),
    };
  });

describe('exportMultiTaskToOnnx', () => {
  it('matches the TypeScript forward pass on every output within 1e-5, for random shapes and weights', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArbitrary, fc.integer({ min: 1, max: 1000 }), async (shape, seed) => {
        // Prepare
        const weights = randomMultiTaskWeights(shape, seed);
        const rows = 17;
        const features = randomFeatures(rows, shape.features, seed + 1);
        // Act
        const bytes = exportMultiTaskToOnnx(weights, options(shape.features));
        const outputs = await runAll(bytes, features, rows, shape.features);
        // Assess
        const expected = forwardMultiTask(weights, { values: features, rows, columns: shape.features });
        const got = (name: string) => outputs[name]?.data as Float32Array;
        expect(maxAbsDifference(got(ONNX_OUTPUTS.purchase), expected.purchase)).toBeLessThanOrEqual(1e-5);
        expect(outputs[ONNX_OUTPUTS.purchase]?.dims).toEqual([rows, 1]);
        if (expected.churn !== undefined) {
          expect(maxAbsDifference(got(ONNX_OUTPUTS.churn), expected.churn)).toBeLessThanOrEqual(1e-5);
        }
        if (expected.nextCategories !== undefined) {
          expect(outputs[ONNX_OUTPUTS.nextCategories]?.dims).toEqual([rows, shape.categories!.length]);
          expect(
            maxAbsDifference(got(ONNX_OUTPUTS.nextCategories), expected.nextCategories),
          ).toBeLessThanOrEqual(1e-5);
        }
        if (expected.embedding !== undefined) {
          expect(outputs[ONNX_OUTPUTS.embedding]?.dims).toEqual([rows, shape.trunk.at(-1)]);
          expect(maxAbsDifference(got(ONNX_OUTPUTS.embedding), expected.embedding)).toBeLessThanOrEqual(1e-5);
        }
        // Exactly the heads the weights have, and what the metadata section declares.
        const declared = declaredOutputNames(
          multiTaskServingOutputs(weights, { labelHorizonHours: 6, churnHorizonDays: 7 }),
        );
        expect(Object.keys(outputs).sort()).toEqual([...declared].sort());
      }),
      { numRuns: 30 },
    );
  });

  it('writes the agreed interface: one input, named outputs with their shapes, Softmax on the categories', () => {
    // Prepare
    const weights = randomMultiTaskWeights({
      features: 3,
      trunk: [5, 4],
      purchaseInput: 'embedding',
      churnInput: 'features',
      categories: ['a', 'b', 'other'],
    });
    // Act
    const summary = inspectOnnxModel(exportMultiTaskToOnnx(weights, options(3)));
    // Assess
    expect(summary.inputs).toEqual([{ name: 'features', shape: [BATCH_DIM, 3] }]);
    expect(summary.outputs).toEqual([
      { name: 'purchase_probability', shape: [BATCH_DIM, 1] },
      { name: 'churn_probability', shape: [BATCH_DIM, 1] },
      { name: 'next_category_probabilities', shape: [BATCH_DIM, 3] },
      { name: 'embedding', shape: [BATCH_DIM, 4] },
    ]);
    expect(summary.operators.filter((op) => op === 'Softmax')).toHaveLength(1);
  });

  it('lets an extension append nodes and outputs that read the named tensors', async () => {
    // Prepare: an extra output equal to the purchase logit, as the attribution subgraph would read it.
    const weights = randomMultiTaskWeights({ features: 2, trunk: [3], purchaseInput: 'embedding' });
    const bytes = exportMultiTaskToOnnx(weights, {
      ...options(2),
      extend: (graph, tensors) => {
        // The shape `attributionNodes` returns: nodes, initializers, outputs.
        graph.append({
          nodes: [
            {
              name: 'copy',
              opType: 'Identity',
              input: [tensors.purchaseLogit],
              output: ['purchase_logit_copy'],
            },
          ],
          initializers: [],
          outputs: [tensorValueInfo('purchase_logit_copy', [BATCH_DIM, 1])],
        });
        // A piece that would overwrite a tensor of the forward pass is refused.
        expect(() =>
          graph.append({
            nodes: [{ opType: 'Identity', input: ['features'], output: ['embedding'] }],
            initializers: [],
            outputs: [],
          }),
        ).toThrow(expect.objectContaining({ name: 'ModelInputError', value: 'embedding' }));
      },
    });
    const features = randomFeatures(4, 2);
    // Act
    const outputs = await runAll(bytes, features, 4, 2);
    // Assess
    const expected = forwardMultiTask(weights, { values: features, rows: 4, columns: 2 });
    expect(
      maxAbsDifference(outputs.purchase_logit_copy?.data as Float32Array, expected.purchaseLogit),
    ).toBeLessThanOrEqual(1e-5);
  });

  it.each<[string, (w: MultiTaskWeights) => MultiTaskWeights, string]>([
    ['a head reading an embedding that does not exist', (w) => ({ ...w, trunk: [] }), 'heads.purchase.input'],
    [
      'a binary head not ending in one sigmoid unit',
      (w) => ({
        ...w,
        heads: { purchase: { ...w.heads.purchase, layers: w.heads.purchase.layers.slice(0, 1) } },
      }),
      'heads.purchase.layers',
    ],
    [
      'a category head with one unit fewer than categories',
      (w) => ({
        ...w,
        heads: { ...w.heads, nextCategories: { ...w.heads.nextCategories!, categories: ['a', 'other'] } },
      }),
      'heads.nextCategories.layers',
    ],
    [
      'a trunk that does not chain from the features',
      (w) => ({ ...w, normalisation: { mean: [0, 0], std: [1, 1] } }),
      'normalisation',
    ],
  ])('refuses %s with a typed error naming the field', (_, mutate, field) => {
    // Prepare
    const weights = mutate(
      randomMultiTaskWeights({
        features: 3,
        trunk: [4],
        purchaseInput: 'embedding',
        categories: ['a', 'b', 'other'],
      }),
    );
    // Act
    const attempt = () => exportMultiTaskToOnnx(weights, options(3));
    // Assess
    expect(attempt).toThrow(expect.objectContaining({ name: 'ModelInputError', field }));
    expect(attempt).toThrow(ModelInputError);
  });
});
