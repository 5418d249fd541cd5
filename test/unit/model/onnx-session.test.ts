/**
 * The one onnxruntime helper (scorer and champion scoring): real onnxruntime-node, tiny graphs from the
 * production exporter.
 */
import { onnx } from 'onnx-proto';
import { OnnxModelSession, scoreRowsOnce } from '../../../functions/commons/onnx-session';
import { toFeatureMatrix } from '../../../shared/model/matrix';
import type { MlpWeights } from '../../../shared/model/mlp-weights';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../../../shared/model/model-metadata';
import { ModelScoringError } from '../../../shared/model/model-scoring-error';
import { ONNX_OUTPUTS } from '../../../shared/model/model-outputs';
import { forwardMultiTask } from '../../../shared/model/multi-task-network';
import {
  exportMultiTaskToOnnx,
  exportMlpToOnnx,
  multiTaskServingOutputs,
  ONNX_IR_VERSION,
  ONNX_OPSET_VERSION,
  tensorValueInfo,
} from '../../../shared/model/onnx-export';
import { randomFeatures, randomMultiTaskWeights } from '../../support/multi-task-fixtures';

const io = { inputName: ONNX_INPUT_NAME, outputName: ONNX_OUTPUT_NAME };
/** The same model's contract as the train function's scorer takes it. */
const servingIo = {
  inputName: ONNX_INPUT_NAME,
  outputs: { purchase: { name: ONNX_OUTPUT_NAME } },
  featureNames: ['x0', 'x1'],
};
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
    const { purchase: probabilities } = await scoreRowsOnce(graph(), servingIo, matrix);
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
    await expect(
      scoreRowsOnce(graph(), { ...servingIo, outputs: { purchase: { name: 'other' } } }, zeroRow),
    ).rejects.toThrow(
      new ModelScoringError('the graph lacks declared output other (it has purchase_probability)'),
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

describe('OnnxModelSession with every head', () => {
  const featureNames = ['f0', 'f1', 'f2'];
  const weights = randomMultiTaskWeights({
    features: 3,
    trunk: [6, 5],
    purchaseInput: 'embedding',
    churnInput: 'features',
    categories: ['a', 'b', 'c', 'other'],
  });
  const bytes = exportMultiTaskToOnnx(weights, { featureNames, producer: 'test', modelVersion: 'v-all' });
  const outputs = multiTaskServingOutputs(weights, { labelHorizonHours: 6, churnHorizonDays: 7 });

  it('fetches every declared output in one run, in the shapes BatchScores carries', async () => {
    // Prepare
    const session = await OnnxModelSession.load(bytes, { inputName: ONNX_INPUT_NAME, outputs, featureNames });
    const features = randomFeatures(4, 3);
    // Act
    const heads = await session.runHeads(features, 4, 3);
    await session.release();
    // Assess
    const expected = forwardMultiTask(weights, { values: features, rows: 4, columns: 3 });
    expect(Array.from(heads.purchase)).toEqual(Array.from(expected.purchase, (p) => expect.closeTo(p, 5)));
    expect(Array.from(heads.churn!)).toEqual(Array.from(expected.churn!, (p) => expect.closeTo(p, 5)));
    expect(heads.nextCategories?.categories).toEqual(['a', 'b', 'c', 'other']);
    expect(heads.nextCategories?.probabilities).toHaveLength(16);
    expect(heads.embedding?.size).toBe(5);
    expect(heads.embedding?.values).toHaveLength(20);
    expect(heads.contributions).toBeUndefined();
  });

  it('refuses a graph missing a declared output at load, and an output of another width at run', async () => {
    // Prepare
    const withContributions = {
      ...outputs,
      contributions: {
        purchase: {
          name: ONNX_OUTPUTS.purchaseContributions,
          method: 'rescale',
          steps: 1,
          units: 'logit' as const,
          baseline: { description: 'training mean', features: [0, 0, 0], logit: 0 },
        },
      },
    };
    const wrongSize = { ...outputs, embedding: { name: ONNX_OUTPUTS.embedding, size: 4 } };
    const session = await OnnxModelSession.load(bytes, {
      inputName: ONNX_INPUT_NAME,
      outputs: wrongSize,
      featureNames,
    });
    // Act / Assess
    await expect(
      OnnxModelSession.load(bytes, { inputName: ONNX_INPUT_NAME, outputs: withContributions, featureNames }),
    ).rejects.toThrow(
      new ModelScoringError(
        'the graph lacks declared output purchase_contributions ' +
          '(it has purchase_probability, churn_probability, next_category_probabilities, embedding)',
      ),
    );
    await expect(OnnxModelSession.load(bytes, { inputName: 'rows', outputs, featureNames })).rejects.toThrow(
      new ModelScoringError('the graph has no input rows (it has features)'),
    );
    await expect(session.runHeads(new Float32Array(6), 2, 3)).rejects.toThrow(
      new ModelScoringError('output embedding has shape [2, 5], expected [2, 4]'),
    );
    await session.release();
  });
});

describe('OnnxModelSession output checks', () => {
  /** A graph that hands its input back: purchase = column 0 as is, embedding = both columns. */
  const passThrough = () => {
    const model: onnx.IModelProto = {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET_VERSION }],
      graph: {
        name: 'pass_through',
        node: [
          {
            opType: 'Gather',
            input: [ONNX_INPUT_NAME, 'first_column'],
            output: [ONNX_OUTPUTS.purchase],
            attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
          },
          { opType: 'Identity', input: [ONNX_INPUT_NAME], output: [ONNX_OUTPUTS.embedding] },
        ],
        initializer: [
          { name: 'first_column', dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [0] },
        ],
        input: [tensorValueInfo(ONNX_INPUT_NAME, ['batch', 2])],
        output: [
          tensorValueInfo(ONNX_OUTPUTS.purchase, ['batch', 1]),
          tensorValueInfo(ONNX_OUTPUTS.embedding, ['batch', 2]),
        ],
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  };
  const outputs = {
    purchase: { name: ONNX_OUTPUTS.purchase },
    embedding: { name: ONNX_OUTPUTS.embedding, size: 2 },
  };

  it('accepts probabilities in [0, 1] and finite values, however large; refuses anything else', async () => {
    // Prepare
    const session = await OnnxModelSession.load(passThrough(), {
      inputName: ONNX_INPUT_NAME,
      outputs,
      featureNames: ['p', 'e'],
    });
    const run = (rows: number[][]) => session.runHeads(Float32Array.from(rows.flat()), rows.length, 2);
    const notProbability = new ModelScoringError(`output ${ONNX_OUTPUTS.purchase} is not a probability`);
    const notFinite = new ModelScoringError(`output ${ONNX_OUTPUTS.embedding} is not finite`);
    // Act / Assess (one at a time: a rejection nobody awaits yet would fail the test on its own)
    const accepted = await run([
      [0, 3e38],
      [1, -3e38],
      [-0, 0],
      [0.5, 1e-45],
    ]);
    expect(Array.from(accepted.purchase)).toEqual([0, 1, -0, 0.5]);
    for (const p of [1.0000001, -1e-45, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(
        run([
          [0.5, 0],
          [p, 0],
        ]),
      ).rejects.toThrow(notProbability);
    }
    for (const e of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      await expect(
        run([
          [0.5, 0],
          [0.5, e],
        ]),
      ).rejects.toThrow(notFinite);
    }
    await session.release();
  });
});
