import * as ort from 'onnxruntime-node';
import { fitLogisticRegressionModel } from '../../../shared/model/logistic-regression';
import { computeNormalisation, type MlpWeights, predictMlp } from '../../../shared/model/mlp-weights';
import { ModelInputError } from '../../../shared/model/model-input-error';
import { exportMlpToOnnx, inspectOnnxModel, ONNX_OPSET_VERSION } from '../../../shared/model/onnx-export';
import { syntheticPropensityData } from './synthetic-data';

const handWeights: MlpWeights = {
  normalisation: { mean: [1, 2, 3], std: [2, 1, 0.5] },
  layers: [
    {
      weights: [
        [0.1, -0.2],
        [0.3, 0.4],
        [-0.5, 0.6],
      ],
      bias: [0.1, -0.1],
      activation: 'relu',
    },
    { weights: [[1], [-1]], bias: [0.2], activation: 'sigmoid' },
  ],
};
const exportOptions = { featureNames: ['a', 'b', 'c'], producer: 'unit-test', modelVersion: 'v-hand' };

/** How the ingest side runs a model: one session, one run per batch. */
async function runOnnx(
  bytes: Uint8Array,
  features: Float32Array,
  rows: number,
  columns: number,
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const output = await session.run({ features: new ort.Tensor('float32', features, [rows, columns]) });
  return output.purchase_probability?.data as Float32Array;
}

describe('exportMlpToOnnx', () => {
  it('writes the agreed interface: opset ≥ 17, dynamic batch, normalisation baked in, metadata', () => {
    // Act
    const summary = inspectOnnxModel(exportMlpToOnnx(handWeights, exportOptions));
    // Assess
    expect(summary.opsetVersion).toBeGreaterThanOrEqual(17);
    expect(summary.opsetVersion).toBe(ONNX_OPSET_VERSION);
    expect([8, 9]).toContain(summary.irVersion);
    expect(summary.inputs).toEqual([{ name: 'features', shape: ['batch', 3] }]);
    expect(summary.outputs).toEqual([{ name: 'purchase_probability', shape: ['batch', 1] }]);
    expect(summary.operators).toEqual(['Sub', 'Div', 'MatMul', 'Add', 'Relu', 'MatMul', 'Add', 'Sigmoid']);
    expect(summary.metadata).toEqual({ model_version: 'v-hand', feature_names: '["a","b","c"]' });
    expect(summary.producer).toBe('unit-test');
  });

  it('computes in onnxruntime what the reference forward pass computes, for any batch size', async () => {
    // Prepare
    const bytes = exportMlpToOnnx(handWeights, exportOptions);
    const features = new Float32Array([1, 2, 3, 4, 5, 6, -1, 0, 9]);
    // Act
    const single = await runOnnx(bytes, features.subarray(0, 3), 1, 3);
    const batch = await runOnnx(bytes, features, 3, 3);
    // Assess
    const expected = predictMlp(handWeights, { values: features, rows: 3, columns: 3 });
    expect(single).toHaveLength(1);
    expect(single[0]).toBeCloseTo(expected[0] as number, 6);
    Array.from(batch).forEach((p, i) => expect(p).toBeCloseTo(expected[i] as number, 6));
  });

  it('exports a logistic regression (one sigmoid layer) that onnxruntime runs', async () => {
    // Prepare
    const data = syntheticPropensityData({ rows: 500, columns: 5, seed: 3 });
    const matrix = { values: data.features, rows: data.rows, columns: data.columns };
    const weights = fitLogisticRegressionModel(matrix, data.labels, computeNormalisation(matrix));
    // Act
    const bytes = exportMlpToOnnx(weights, { ...exportOptions, featureNames: data.featureNames });
    const onnxProbabilities = await runOnnx(bytes, data.features, data.rows, data.columns);
    // Assess
    const expected = predictMlp(weights, matrix);
    expect(inspectOnnxModel(bytes).operators).toEqual(['Sub', 'Div', 'MatMul', 'Add', 'Sigmoid']);
    const maxDifference = Math.max(
      ...Array.from(onnxProbabilities, (p, i) => Math.abs(p - (expected[i] as number))),
    );
    expect(maxDifference).toBeLessThan(1e-5);
  });

  it.each<[string, MlpWeights, string]>([
    [
      'a normalisation of the wrong width',
      { ...handWeights, normalisation: { mean: [0], std: [1] } },
      'normalisation',
    ],
    [
      'a zero std',
      { ...handWeights, normalisation: { mean: [0, 0, 0], std: [1, 0, 1] } },
      'normalisation.std[1]',
    ],
    [
      'layers that do not chain',
      { ...handWeights, layers: handWeights.layers.slice(1) },
      'layers[0].weights',
    ],
    [
      'a network not ending in one sigmoid',
      { ...handWeights, layers: handWeights.layers.slice(0, 1) },
      'layers',
    ],
  ])('refuses %s with a typed error', (_, weights, field) => {
    // Act
    const attempt = () => exportMlpToOnnx(weights, exportOptions);
    // Assess
    expect(attempt).toThrow(ModelInputError);
    try {
      attempt();
    } catch (error) {
      if (!(error instanceof ModelInputError)) throw error;
      expect(error.field).toBe(field);
    }
  });
});
