/**
 * A model for the benchmarks: an MLP of the trainer's default shape (FEATURE_COUNT → 32 → 16 → 1)
 * with seeded random weights, exported through the production ONNX exporter, so inference costs what
 * a trained model costs. It is either run from memory or published to S3 the way training publishes.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { OnnxModelSession } from '../../functions/commons/onnx-session';
import { FEATURE_NAMES, FEATURE_SCHEMA_VERSION } from '../../shared/features/feature-vector';
import type { ProfileScorer } from '../../shared/ingest/ingest-ports';
import type { DenseLayerWeights, MlpWeights } from '../../shared/model/mlp-weights';
import { sha256Hex } from '../../shared/model/model-compatibility';
import {
  CURRENT_POINTER_KEY,
  createModelPointer,
  modelObjectKeys,
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  parseModelMetadata,
  type MetricSummary,
} from '../../shared/model/model-metadata';
import type { BatchScores } from '../../shared/model/model-outputs';
import { exportMlpToOnnx } from '../../shared/model/onnx-export';
import { createRandom, type RandomSource } from '../../shared/model/seeded-random';

/** Version string of the benchmark model. */
export const BENCH_MODEL_VERSION = 'bench-mlp-32-16';
/** Hidden layer widths: the trainer's defaults. */
const HIDDEN_UNITS = [32, 16] as const;

function denseLayer(random: RandomSource, inputs: number, outputs: number, last: boolean): DenseLayerWeights {
  // Glorot-ish scale keeps activations finite and outputs spread over (0, 1).
  const scale = Math.sqrt(2 / (inputs + outputs));
  return {
    weights: Array.from({ length: inputs }, () =>
      Array.from({ length: outputs }, () => (random() * 2 - 1) * scale),
    ),
    bias: Array.from({ length: outputs }, () => (random() * 2 - 1) * 0.1),
    activation: last ? 'sigmoid' : 'relu',
  };
}

/** ONNX bytes of the benchmark model. */
export function benchModelBytes(seed = 11): Uint8Array {
  const random = createRandom(seed);
  const widths = [FEATURE_NAMES.length, ...HIDDEN_UNITS, 1];
  const weights: MlpWeights = {
    normalisation: {
      mean: FEATURE_NAMES.map(() => 0),
      std: FEATURE_NAMES.map(() => 1 + random() * 10),
    },
    layers: widths
      .slice(1)
      .map((outputs, l) => denseLayer(random, widths[l]!, outputs, l === widths.length - 2)),
  };
  return exportMlpToOnnx(weights, {
    featureNames: FEATURE_NAMES,
    producer: 'profile-stream-bench',
    modelVersion: BENCH_MODEL_VERSION,
  });
}

/**
 * A scorer around an in-memory ONNX session, one run per call like `S3ModelScorer` but without S3.
 * Single-threaded by default, to measure one core (a 1,769 MB Lambda has one vCPU).
 */
export class InMemoryOnnxScorer implements ProfileScorer {
  private constructor(private readonly session: OnnxModelSession) {}

  /** Load `bytes` into onnxruntime-node. */
  static async create(bytes: Uint8Array, threads = 1): Promise<InMemoryOnnxScorer> {
    const session = await OnnxModelSession.load(
      bytes,
      { inputName: ONNX_INPUT_NAME, outputName: ONNX_OUTPUT_NAME },
      { intraOpNumThreads: threads, interOpNumThreads: threads },
    );
    return new InMemoryOnnxScorer(session);
  }

  async score(features: Float32Array, rows: number, width: number): Promise<BatchScores> {
    return { modelVersion: BENCH_MODEL_VERSION, ...(await this.session.runHeads(features, rows, width)) };
  }
}

const PLACEHOLDER_METRICS: MetricSummary = {
  rocAuc: 0.5,
  rocAucCi95: { lower: 0.5, upper: 0.5 },
  prAuc: 0.5,
  logLoss: 0.6931,
  brierScore: 0.25,
  expectedCalibrationError: 0,
};

/** Publish the model like training does: ONNX file, metadata (checksum, feature schema), then the pointer. */
export async function publishBenchModel(s3: S3Client, bucket: string, bytes: Uint8Array): Promise<void> {
  const { onnxKey, metadataKey } = modelObjectKeys(BENCH_MODEL_VERSION);
  const metadata = parseModelMetadata({
    modelVersion: BENCH_MODEL_VERSION,
    featureSchemaVersion: FEATURE_SCHEMA_VERSION,
    featureNames: [...FEATURE_NAMES],
    inputName: ONNX_INPUT_NAME,
    outputName: ONNX_OUTPUT_NAME,
    trainingWindow: { fromMs: 0, toMs: 0 },
    exampleCounts: { train: 0, validation: 0, test: 0, positives: 0 },
    metrics: {
      model: PLACEHOLDER_METRICS,
      heuristic: PLACEHOLDER_METRICS,
      logisticRegression: PLACEHOLDER_METRICS,
    },
    training: {
      seed: 11,
      backend: 'none (random weights for benchmarking)',
      hiddenUnits: [...HIDDEN_UNITS],
      epochsRun: 0,
      bestEpoch: 0,
      maxEpochs: 0,
      stoppedEarly: false,
      classWeights: [1, 1],
      calibrated: false,
      heuristicFeature: FEATURE_NAMES[0]!,
    },
    createdAt: new Date().toISOString(),
    sizeBytes: bytes.byteLength,
    sha256: sha256Hex(bytes),
  });
  const put = (Key: string, Body: Uint8Array | string) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
  await put(onnxKey, bytes);
  await put(metadataKey, JSON.stringify(metadata));
  await put(CURRENT_POINTER_KEY, JSON.stringify(createModelPointer(BENCH_MODEL_VERSION, Date.now())));
}
