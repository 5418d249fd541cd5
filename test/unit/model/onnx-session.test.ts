/**
 * The one onnxruntime helper (scorer and champion scoring): real onnxruntime-node, tiny graphs from the
 * production exporter.
 */
import { OnnxModelSession, scoreRowsOnce } from '../../../functions/commons/onnx-session';
import { toFeatureMatrix } from '../../../shared/model/matrix';
import type { MlpWeights } from '../../../shared/model/mlp-weights';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../../../shared/model/model-metadata';
import { ModelScoringError } from '../../../shared/model/model-scoring-error';
import { exportMlpToOnnx } from '../../../shared/model/onnx-export';

const io = { inputName: ONNX_INPUT_NAME, outputName: ONNX_OUTPUT_NAME };
/** One sigmoid unit over two features: sigmoid(x0). */
const graph = () => {
  const weights: MlpWeights = {
    normalisation: { mean: [0, 0], std: [1, 1] },
    layers: [{ weights: [[1], [0]], bias: [0], activation: 'sigmoid' }],
  };
  return exportMlpToOnnx(weights, { featureNames: ['x0', 'x1'], producer: 'test', modelVersion: 'v-test' });
};

describe('OnnxModelSession', () => {
  it('scores every row in one run: sigmoid(x0)', async () => {
    // Prepare
    const matrix = toFeatureMatrix(Float32Array.from([0, 5, 2, 5, -2, 5]), 2);
    // Act
    const probabilities = await scoreRowsOnce(graph(), io, matrix);
    // Assess
    expect(Array.from(probabilities)).toEqual(
      [0, 2, -2].map((x) => expect.closeTo(1 / (1 + Math.exp(-x)), 6)),
    );
  });

  it('refuses an output that is not one finite probability per row, and bytes that are not a graph', async () => {
    // Prepare: a NaN feature flows through to a NaN output.
    const session = await OnnxModelSession.load(graph(), io);
    const zeroRow = toFeatureMatrix(new Float32Array(2), 2);
    // Act / Assess (one at a time: a rejection nobody awaits yet would fail the test on its own)
    await expect(session.run(Float32Array.from([Number.NaN, 0]), 1, 2)).rejects.toThrow(
      new ModelScoringError(`output ${ONNX_OUTPUT_NAME} is not a probability`),
    );
    await expect(scoreRowsOnce(graph(), { ...io, outputName: 'other' }, zeroRow)).rejects.toThrow(
      new ModelScoringError('output other is not 1 float32 values'),
    );
    const garbage = new TextEncoder().encode('not a graph');
    await expect(OnnxModelSession.load(garbage, io)).rejects.toThrow(
      expect.objectContaining({
        name: 'ModelScoringError',
        message: expect.stringMatching(/onnxruntime cannot load it/),
      }),
    );
    await session.release();
  });
});
