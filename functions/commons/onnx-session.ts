/**
 * The one way this code base runs an ONNX model: onnxruntime-node loaded on first use, a session per
 * model, one inference per batch, and the answer checked to be one probability per row. Used by the
 * ingest scorer (a session kept across batches) and the trainer's champion scoring (one run, released).
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { FeatureMatrix } from '../../shared/model/matrix';
import type { ModelMetadata } from '../../shared/model/model-metadata';
import { ModelScoringError } from '../../shared/model/model-scoring-error';
import type { OnnxRowScorer } from '../../shared/training/training-ports';

/** Input and output tensor names of a model, as its metadata records them. */
export type OnnxModelIo = Pick<ModelMetadata, 'inputName' | 'outputName'>;

// Importing onnxruntime-node costs tens of ms, and a container with no published model never needs it.
let ort: typeof import('onnxruntime-node') | undefined;
const loadOrt = async () => (ort ??= await import('onnxruntime-node'));

/** A loaded model. Call {@link OnnxModelSession.release} when it is no longer used. */
export class OnnxModelSession {
  private constructor(
    private readonly session: InferenceSession,
    private readonly io: OnnxModelIo,
  ) {}

  /**
   * Load `onnx` into onnxruntime-node; rejects with {@link ModelScoringError} when it cannot.
   *
   * @param options - session options, e.g. thread counts @default onnxruntime's
   */
  static async load(
    onnx: Uint8Array,
    io: OnnxModelIo,
    options?: InferenceSession.SessionOptions,
  ): Promise<OnnxModelSession> {
    const { InferenceSession } = await loadOrt();
    try {
      const session = await (options === undefined
        ? InferenceSession.create(onnx)
        : InferenceSession.create(onnx, options));
      return new OnnxModelSession(session, io);
    } catch (error) {
      throw new ModelScoringError(`onnxruntime cannot load it: ${String(error)}`);
    }
  }

  /**
   * One inference over `rows` row-major feature vectors of width `width`. Rejects with
   * {@link ModelScoringError} when the run fails or the output is not one probability in [0, 1] per row.
   */
  async run(features: Float32Array, rows: number, width: number): Promise<Float32Array> {
    const { Tensor } = await loadOrt();
    const { inputName, outputName } = this.io;
    let output: InferenceSession.ReturnType;
    try {
      output = await this.session.run({ [inputName]: new Tensor('float32', features, [rows, width]) });
    } catch (error) {
      throw new ModelScoringError(`onnxruntime cannot run it: ${String(error)}`);
    }
    const probabilities = output[outputName]?.data;
    if (!(probabilities instanceof Float32Array) || probabilities.length !== rows) {
      throw new ModelScoringError(`output ${outputName} is not ${rows} float32 values`);
    }
    for (const p of probabilities) {
      if (!(p >= 0 && p <= 1)) throw new ModelScoringError(`output ${outputName} is not a probability`);
    }
    return probabilities;
  }

  /** Free the native session. */
  release(): Promise<void> {
    return this.session.release();
  }
}

/** The {@link OnnxRowScorer} of the train function: load, run once over every row, release. */
export const scoreRowsOnce: OnnxRowScorer = async (onnx, io, matrix: FeatureMatrix) => {
  const session = await OnnxModelSession.load(onnx, io);
  try {
    return await session.run(matrix.values, matrix.rows, matrix.columns);
  } finally {
    await session.release();
  }
};
