/**
 * A model for the benchmarks, of the trainer's shape and published the trainer's way: a 32 → 16 trunk
 * (the embedding), purchase, churn and next-category (20 + other) heads, and the contributions behind
 * the purchase and churn logits — seeded random weights through the production exporter
 * (`exportServedModel`), so inference costs what a trained model with every head and its
 * explanations costs. It is either run from memory or published to S3 as training publishes.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { OnnxModelSession, SERVING_SESSION_OPTIONS } from '../../functions/commons/onnx-session';
import { FEATURE_NAMES, FEATURE_SCHEMA_VERSION } from '../../shared/features/feature-vector';
import type { ProfileScorer } from '../../shared/ingest/ingest-ports';
import {
  CURRENT_POINTER_KEY,
  createModelPointer,
  modelObjectKeys,
  OTHER_CATEGORY,
} from '../../shared/model/model-metadata';
import type { BatchScores } from '../../shared/model/model-outputs';
import { exportServedModel, type ServedModel } from '../../shared/model/served-model';
import { randomMultiTaskWeights } from '../support/multi-task-fixtures';

/** Version string of the benchmark model. */
export const BENCH_MODEL_VERSION = 'bench-multitask-32-16';

/** The benchmark model: graph and metadata v2. */
export function benchModel(seed = 11): ServedModel {
  const categories = [
    ...Array.from({ length: 20 }, (_, i) => `cat-${String(i).padStart(2, '0')}`),
    OTHER_CATEGORY,
  ];
  const weights = randomMultiTaskWeights(
    {
      features: FEATURE_NAMES.length,
      trunk: [32, 16],
      purchaseInput: 'embedding',
      churnInput: 'embedding',
      categories,
    },
    seed,
  );
  return exportServedModel(weights, {
    featureNames: FEATURE_NAMES,
    featureSchemaVersion: FEATURE_SCHEMA_VERSION,
    modelVersion: BENCH_MODEL_VERSION,
    producer: 'profile-stream-bench',
    createdAt: new Date().toISOString(),
    labelHorizonHours: 24,
    churnHorizonDays: 1,
  });
}

/**
 * A scorer around an in-memory ONNX session, one run per call like `S3ModelScorer` but without S3,
 * with the session options it serves with (`SERVING_SESSION_OPTIONS`: one thread) unless `threads` says
 * otherwise.
 */
export class InMemoryOnnxScorer implements ProfileScorer {
  private constructor(private readonly session: OnnxModelSession) {}

  /** Load the model into onnxruntime-node. */
  static async create(model: ServedModel, threads = 1): Promise<InMemoryOnnxScorer> {
    const session = await OnnxModelSession.load(model.onnx, model.metadata, {
      ...SERVING_SESSION_OPTIONS,
      intraOpNumThreads: threads,
      interOpNumThreads: threads,
    });
    return new InMemoryOnnxScorer(session);
  }

  async score(features: Float32Array, rows: number, width: number): Promise<BatchScores> {
    return { modelVersion: BENCH_MODEL_VERSION, ...(await this.session.runHeads(features, rows, width)) };
  }
}

/** Publish the model like training does: ONNX file, metadata (checksum, feature schema), then the pointer. */
export async function publishBenchModel(s3: S3Client, bucket: string, model: ServedModel): Promise<void> {
  const { onnxKey, metadataKey } = modelObjectKeys(BENCH_MODEL_VERSION);
  const put = (Key: string, Body: Uint8Array | string) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
  await put(onnxKey, model.onnx);
  await put(metadataKey, JSON.stringify(model.metadata));
  await put(CURRENT_POINTER_KEY, JSON.stringify(createModelPointer(BENCH_MODEL_VERSION, Date.now())));
}
