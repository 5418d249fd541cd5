/**
 * The one way this code base runs an ONNX model: onnxruntime-node loaded on first use, a session per
 * model, ONE inference per batch fetching every output the metadata declares, and each answer checked
 * (shape, float32, finite, probabilities in [0, 1]). Used by the ingest scorer (a session kept across
 * batches) and the trainer's champion scoring (one run, released).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { FeatureMatrix } from '../../shared/model/matrix';
import { graphIncompatibility } from '../../shared/model/model-compatibility';
import type { ModelMetadata, ServingContract } from '../../shared/model/model-metadata';
import type { BatchScores } from '../../shared/model/model-outputs';
import { ModelScoringError } from '../../shared/model/model-scoring-error';
import type { OnnxRowScorer } from '../../shared/training/training-ports';

/** The input, the declared outputs and the feature names (which name the contribution columns). */
export type OnnxModelIo = Pick<ServingContract, 'inputName' | 'outputs' | 'featureNames'>;
/** The input and single output of a v1 model, as its metadata records them. */
export type OnnxModelIoV1 = Pick<ModelMetadata, 'inputName' | 'outputName'>;

/** Everything one inference gives, before the scorer stamps the model version on it. */
export type HeadScores = Omit<BatchScores, 'modelVersion'>;

function servingIoOf(io: OnnxModelIo | OnnxModelIoV1): OnnxModelIo {
  if ('outputs' in io) return io;
  return { inputName: io.inputName, outputs: { purchase: { name: io.outputName } }, featureNames: [] };
}

/**
 * How ingest runs its one inference per batch: on the calling thread, with no intra-op thread pool.
 * onnxruntime's defaults start one intra-op thread per physical core, which spin between the graph's
 * small ops waiting for work: on this 2-core machine that doubled the CPU time of a 100-row run of
 * the bench model (0.53 against 0.25 ms) for no gain in wall time, and an ingest Lambda (1,024 MB)
 * has about 0.6 of a vCPU to spend. The graph optimisation level stays onnxruntime's default, `all`
 * (it fuses MatMul + Add + Relu into one node, which the exporter relies on).
 */
export const SERVING_SESSION_OPTIONS: Readonly<InferenceSession.SessionOptions> = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
};

// Importing onnxruntime-node costs tens of ms, and a container with no published model never needs it.
let ort: typeof import('onnxruntime-node') | undefined;
const loadOrt = async () => (ort ??= await import('onnxruntime-node'));

/** What a declared output must hold: its columns and whether every value is a probability. */
interface OutputExpectation {
  name: string;
  columns: number;
  probabilities: boolean;
}

/** Every output `io` declares, in fetch order: the purchase head first, then what else the model serves. */
function outputExpectationsOf(io: OnnxModelIo): OutputExpectation[] {
  const { outputs, featureNames } = io;
  const { purchase, churn, nextCategories, embedding, contributions } = outputs;
  return [
    { name: purchase.name, columns: 1, probabilities: true },
    ...(churn === undefined ? [] : [{ name: churn.name, columns: 1, probabilities: true }]),
    ...(nextCategories === undefined
      ? []
      : [{ name: nextCategories.name, columns: nextCategories.categories.length, probabilities: true }]),
    ...(embedding === undefined
      ? []
      : [{ name: embedding.name, columns: embedding.size, probabilities: false }]),
    ...[contributions?.purchase?.name, contributions?.churn?.name]
      .filter((name): name is string => name !== undefined)
      .map((name) => ({ name, columns: featureNames.length, probabilities: false })),
  ];
}

/** The output's values, refused unless float32 of shape `[rows, columns]`, finite (and in [0, 1]). */
function checkedValues(output: InferenceSession.ReturnType, expected: OutputExpectation, rows: number) {
  const { name, columns, probabilities } = expected;
  const tensor: Tensor | undefined = output[name];
  const values = tensor?.data;
  if (!(values instanceof Float32Array)) throw new ModelScoringError(`output ${name} is not float32`);
  const dims = tensor!.dims;
  if (dims.length !== 2 || dims[0] !== rows || dims[1] !== columns) {
    throw new ModelScoringError(
      `output ${name} has shape [${dims.join(', ')}], expected [${rows}, ${columns}]`,
    );
  }
  if (probabilities ? !allProbabilities(values) : !allFinite(values)) {
    throw new ModelScoringError(`output ${name} is not ${probabilities ? 'a probability' : 'finite'}`);
  }
  return values;
}

// The checks below read every value of every output (≈ 13,000 per 100-row batch of the bench model), so
// they are indexed loops: `for…of` over a Float32Array measured ≈ 5× slower (≈ 110 µs per batch,
// about as much as the inference itself).

/** Every value in [0, 1] (NaN is not). */
function allProbabilities(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 1)) return false;
  }
  return true;
}

/** No NaN or ±Infinity: `v * 0` is 0 for every finite v and NaN otherwise, so one sum tells, branch-free. */
function allFinite(values: Float32Array): boolean {
  let zero = 0;
  for (let i = 0; i < values.length; i++) zero += values[i]! * 0;
  return zero === 0;
}

/** A loaded model. Call {@link OnnxModelSession.release} when it is no longer used. */
export class OnnxModelSession {
  /** What each declared output must hold, and their names: the same for every run of the session. */
  private readonly expectations: readonly OutputExpectation[];
  private readonly fetches: string[];

  /** Where each fetched output's values sit in a run's checked values (fetch order). */
  private readonly positions: ReadonlyMap<string, number>;

  private constructor(
    private readonly session: InferenceSession,
    private readonly io: OnnxModelIo,
    // Kept from load, so a run does not await the module again (one promise hop per batch less).
    private readonly Tensor: typeof import('onnxruntime-node').Tensor,
  ) {
    this.expectations = outputExpectationsOf(io);
    this.fetches = this.expectations.map((e) => e.name);
    this.positions = new Map(this.fetches.map((name, i) => [name, i]));
  }

  /**
   * Load `onnx` into onnxruntime-node; rejects with {@link ModelScoringError} when it cannot, or when
   * the graph lacks the input or an output that `io` declares.
   *
   * @param options - session options, e.g. thread counts @default onnxruntime's
   */
  static async load(
    onnx: Uint8Array,
    io: OnnxModelIo | OnnxModelIoV1,
    options?: InferenceSession.SessionOptions,
  ): Promise<OnnxModelSession> {
    const { InferenceSession, Tensor } = await loadOrt();
    let session: InferenceSession;
    try {
      session = await (options === undefined
        ? InferenceSession.create(onnx)
        : InferenceSession.create(onnx, options));
    } catch (error) {
      throw new ModelScoringError(`onnxruntime cannot load it: ${String(error)}`);
    }
    const serving = servingIoOf(io);
    const misfit = graphIncompatibility(serving, session);
    if (misfit !== undefined) {
      await session.release();
      throw new ModelScoringError(misfit);
    }
    return new OnnxModelSession(session, serving, Tensor);
  }

  /**
   * ONE inference over `rows` row-major feature vectors of width `width`, fetching every declared
   * output. Rejects with {@link ModelScoringError} when the run fails or an output is not what the
   * contract says (`[rows, 1]` probabilities, `[rows, K + 1]` category probabilities, `[rows, E]`
   * finite embedding, `[rows, F]` finite contributions).
   */
  async runHeads(features: Float32Array, rows: number, width: number): Promise<HeadScores> {
    const { Tensor, positions } = this;
    const { inputName, outputs, featureNames } = this.io;
    const { purchase, churn, nextCategories, embedding, contributions } = outputs;
    const { expectations, fetches } = this;
    let output: InferenceSession.ReturnType;
    try {
      output = await this.session.run(
        { [inputName]: new Tensor('float32', features, [rows, width]) },
        fetches,
      );
    } catch (error) {
      throw new ModelScoringError(`onnxruntime cannot run it: ${String(error)}`);
    }
    const values = expectations.map((e) => checkedValues(output, e, rows));
    const valuesOf = (name: string) => values[positions.get(name)!]!;
    return {
      purchase: valuesOf(purchase.name),
      ...(churn === undefined ? {} : { churn: valuesOf(churn.name) }),
      ...(nextCategories === undefined
        ? {}
        : {
            nextCategories: {
              categories: nextCategories.categories,
              probabilities: valuesOf(nextCategories.name),
              ...(nextCategories.rankedBy === undefined ? {} : { rankedBy: nextCategories.rankedBy }),
            },
          }),
      ...(embedding === undefined
        ? {}
        : { embedding: { size: embedding.size, values: valuesOf(embedding.name) } }),
      ...(contributions === undefined
        ? {}
        : {
            contributions: {
              featureNames,
              ...(contributions.purchase === undefined
                ? {}
                : { purchase: valuesOf(contributions.purchase.name) }),
              ...(contributions.churn === undefined ? {} : { churn: valuesOf(contributions.churn.name) }),
            },
          }),
    };
  }

  /** {@link runHeads}, keeping the purchase probabilities only (one per row). */
  async run(features: Float32Array, rows: number, width: number): Promise<Float32Array> {
    return (await this.runHeads(features, rows, width)).purchase;
  }

  /** Free the native session. */
  release(): Promise<void> {
    return this.session.release();
  }
}

/** The {@link OnnxRowScorer} of the train function: load, run once over every row (every head), release. */
export const scoreRowsOnce: OnnxRowScorer = async (onnx, io, matrix: FeatureMatrix) => {
  const session = await OnnxModelSession.load(onnx, io);
  try {
    return await session.runHeads(matrix.values, matrix.rows, matrix.columns);
  } finally {
    await session.release();
  }
};
