import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { modelIncompatibility, sha256Hex } from '../../shared/model/model-compatibility';
import {
  createModelPointer,
  CURRENT_POINTER_KEY,
  type MetricSummary,
  type ModelMetadataV2,
  ModelMetadataViolation,
  modelObjectKeys,
  type ModelObjectKeys,
  type ModelPointer,
  modelPointerSchema,
  parseModelPointer,
  parsePublishedMetadata,
  publishedHeadMetrics,
  parseServingContract,
  type ServingContract,
} from '../../shared/model/model-metadata';
import {
  type ModelCandidateFiles,
  ModelNotFoundError,
  type ModelRegistry,
} from '../../shared/training/training-ports';
import { readObjectIfExists } from './s3-objects';

/**
 * Key of the promotion history: `{ "pointers": [ModelPointer, …] }`, oldest first, the last entry equal
 * to `models/current.json`. `previous` inside a pointer names a version only; the history keeps the
 * whole pointer objects so a rollback writes back exactly the pointer that served before.
 */
export const MODEL_HISTORY_KEY = 'models/history.json';
/** Pointers the history keeps (a rollback can go back this many promotions, minus one). */
export const MODEL_HISTORY_LIMIT = 100;

const MODELS_PREFIX = 'models/';
const historySchema = z.object({ pointers: z.array(modelPointerSchema) }).strict();

/** One row of {@link S3ModelRegistry.list}. */
export interface ModelListing {
  modelVersion: string;
  /** Whether `models/current.json` points at this version. */
  current: boolean;
  /** From the version's metadata; absent when it is missing or does not parse (see `problem`). */
  createdAt?: string;
  /** Test-split metrics of the published purchase scorer, from its provenance. */
  metrics?: MetricSummary;
  /** Row counts per split, from its provenance. */
  exampleCounts?: Record<string, number>;
  /** The heads its graph serves (`purchase`, `churn`, `nextCategories`, `embedding`, `contributions`). */
  heads?: string[];
  /** Why the metadata could not be read. */
  problem?: string;
}

/** A model's files disagree with each other (checksum, version), or a request does not fit the state. */
export class ModelRegistryError extends Error {
  override readonly name = 'ModelRegistryError';
  constructor(
    /** What was attempted: `putCandidate`, `promote`, `rollback`. */
    readonly operation: string,
    /** The rule that was broken, in words. */
    readonly rule: string,
    /** The offending value (model versions and checksums only). */
    readonly value: string,
  ) {
    super(`${operation}: ${rule} (got ${value})`);
  }
}

/**
 * The models bucket: versioned model files under `models/<version>/`, the pointer
 * `models/current.json` that the ingest function polls, and the promotion history.
 *
 * Writes are ordered so a crash never leaves the pointer on an incomplete model: a candidate's
 * `metadata.json` is written after its ONNX file and report, a pointer only after its model's files
 * were read back and checked, and the history after the pointer (the pointer is what serves; a history
 * that lags behind is repaired at the next promotion). Promotions are not atomic across writers: the
 * scheduled training function and an operator's CLI should not promote at the same second.
 * `promote` checks the `previous` its caller saw, which catches the common race.
 */
export class S3ModelRegistry implements ModelRegistry {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Store a trained model under `models/<version>/` without promoting it. */
  async putCandidate(modelVersion: string, files: ModelCandidateFiles): Promise<ModelObjectKeys> {
    const keys = modelObjectKeys(modelVersion);
    if (files.metadata.modelVersion !== modelVersion) {
      throw new ModelRegistryError(
        'putCandidate',
        `metadata must describe ${modelVersion}`,
        files.metadata.modelVersion,
      );
    }
    if (modelIncompatibility(files.metadata, { onnx: files.onnx }) !== undefined) {
      throw new ModelRegistryError(
        'putCandidate',
        'ONNX bytes must match metadata.sha256',
        sha256Hex(files.onnx),
      );
    }
    await Promise.all([
      this.put(keys.onnxKey, files.onnx, 'application/octet-stream'),
      this.put(keys.reportKey, files.reportHtml, 'text/html; charset=utf-8'),
    ]);
    await this.put(keys.metadataKey, JSON.stringify(files.metadata, null, 2), 'application/json');
    return keys;
  }

  /** The pointer that serves, or `undefined` when nothing was ever promoted. */
  async getCurrentPointer(): Promise<ModelPointer | undefined> {
    const text = await this.readText(CURRENT_POINTER_KEY);
    return text === undefined ? undefined : parseModelPointer(JSON.parse(text));
  }

  /** A version's metadata, v2 or v1 read as v2; throws {@link ModelNotFoundError} or `ModelMetadataViolation`. */
  async getMetadata(modelVersion: string): Promise<ModelMetadataV2> {
    const { metadataKey } = modelObjectKeys(modelVersion);
    const text = await this.readText(metadataKey);
    if (text === undefined) throw new ModelNotFoundError(modelVersion, metadataKey);
    return parsePublishedMetadata(JSON.parse(text));
  }

  /** A version's serving contract (metadata v2 or v1); throws {@link ModelNotFoundError} or `ModelMetadataViolation`. */
  async getServingContract(modelVersion: string): Promise<ServingContract> {
    const { metadataKey } = modelObjectKeys(modelVersion);
    const text = await this.readText(metadataKey);
    if (text === undefined) throw new ModelNotFoundError(modelVersion, metadataKey);
    return parseServingContract(JSON.parse(text));
  }

  /** A version's ONNX bytes; throws {@link ModelNotFoundError}. */
  async getOnnx(modelVersion: string): Promise<Uint8Array> {
    const { onnxKey } = modelObjectKeys(modelVersion);
    const bytes = await this.readBytes(onnxKey);
    if (bytes === undefined) throw new ModelNotFoundError(modelVersion, onnxKey);
    return bytes;
  }

  /**
   * Point `models/current.json` at `modelVersion` and append the pointer to the history.
   *
   * @param previous - the version the caller saw serving (`undefined`: none). When the pointer has moved
   *   since, nothing is written and a {@link ModelRegistryError} is thrown.
   * @throws {ModelNotFoundError} when the version's files are missing; {@link ModelRegistryError} when
   *   its ONNX file does not match its metadata's checksum.
   */
  async promote(modelVersion: string, previous: string | undefined): Promise<ModelPointer> {
    await this.assertComplete(modelVersion);
    const [current, history] = await Promise.all([this.getCurrentPointer(), this.readHistory()]);
    if (current?.modelVersion !== previous) {
      throw new ModelRegistryError(
        'promote',
        `expected ${previous ?? 'no model'} to serve; the pointer moved`,
        current?.modelVersion ?? 'no model',
      );
    }
    if (current?.modelVersion === modelVersion) {
      throw new ModelRegistryError('promote', 'version must not be the one serving', modelVersion);
    }
    const pointer = createModelPointer(modelVersion, this.now(), current?.modelVersion);
    await this.writePointer(pointer);
    // A pointer written before the history existed (or a write that crashed) is folded in first.
    const known =
      current === undefined || samePointer(history.at(-1), current) ? history : [...history, current];
    await this.writeHistory([...known, pointer]);
    return pointer;
  }

  /**
   * Put back the pointer that served before the current one, exactly as it was (same `promotedAt`, same
   * `previous`), and drop the current one from the history.
   *
   * @throws {ModelRegistryError} when nothing serves, when the history holds no earlier pointer, or when
   *   its last entry is not the current pointer (someone wrote the pointer by hand; use `promote`).
   */
  async rollback(): Promise<{ from: ModelPointer; to: ModelPointer }> {
    const [current, history] = await Promise.all([this.getCurrentPointer(), this.readHistory()]);
    if (current === undefined) throw new ModelRegistryError('rollback', 'a model must serve', 'no pointer');
    if (!samePointer(history.at(-1), current)) {
      throw new ModelRegistryError(
        'rollback',
        'the history must end with the current pointer (promote a version explicitly instead)',
        current.modelVersion,
      );
    }
    const to = history.at(-2);
    if (to === undefined) {
      throw new ModelRegistryError('rollback', 'an earlier promotion must exist', current.modelVersion);
    }
    await this.assertComplete(to.modelVersion);
    await this.writePointer(to);
    await this.writeHistory(history.slice(0, -1));
    return { from: current, to };
  }

  /** Every stored version with its headline metrics, oldest first, the serving one marked. */
  async list(): Promise<ModelListing[]> {
    const [versions, current] = await Promise.all([this.listVersions(), this.getCurrentPointer()]);
    const rows = await Promise.all(
      versions.map(async (modelVersion): Promise<ModelListing> => {
        const row = { modelVersion, current: modelVersion === current?.modelVersion };
        try {
          const metadata = await this.getMetadata(modelVersion);
          const metrics = publishedHeadMetrics(metadata);
          const exampleCounts = metadata.provenance?.exampleCounts;
          return {
            ...row,
            createdAt: metadata.createdAt,
            heads: Object.keys(metadata.outputs),
            ...(metrics === undefined ? {} : { metrics }),
            ...(exampleCounts === undefined ? {} : { exampleCounts }),
          };
        } catch (error) {
          if (!(error instanceof ModelNotFoundError || error instanceof ModelMetadataViolation)) throw error;
          return { ...row, problem: error.message };
        }
      }),
    );
    return rows.sort(
      (a, b) =>
        (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.modelVersion.localeCompare(b.modelVersion),
    );
  }

  /** The promotion history, oldest first (empty when none was written). */
  async readHistory(): Promise<ModelPointer[]> {
    const text = await this.readText(MODEL_HISTORY_KEY);
    if (text === undefined) return [];
    const parsed = historySchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new ModelRegistryError(
        'readHistory',
        `${MODEL_HISTORY_KEY} must match its schema`,
        parsed.error.message,
      );
    }
    return parsed.data.pointers;
  }

  private async assertComplete(modelVersion: string): Promise<void> {
    // The serving contract is what must hold to serve: v2 metadata (e.g. a model built elsewhere) or v1.
    const [metadata, onnx] = await Promise.all([
      this.getServingContract(modelVersion),
      this.getOnnx(modelVersion),
    ]);
    if (modelIncompatibility(metadata, { onnx }) !== undefined) {
      throw new ModelRegistryError(
        'promote',
        `ONNX file of ${modelVersion} must match its checksum`,
        sha256Hex(onnx),
      );
    }
  }

  private async listVersions(): Promise<string[]> {
    const versions: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: MODELS_PREFIX,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      );
      for (const { Prefix: prefix } of page.CommonPrefixes ?? []) {
        if (prefix !== undefined) versions.push(prefix.slice(MODELS_PREFIX.length, -1));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return versions;
  }

  private writePointer(pointer: ModelPointer): Promise<void> {
    return this.put(CURRENT_POINTER_KEY, JSON.stringify(pointer), 'application/json');
  }

  private writeHistory(pointers: readonly ModelPointer[]): Promise<void> {
    const kept = pointers.slice(-MODEL_HISTORY_LIMIT);
    return this.put(MODEL_HISTORY_KEY, JSON.stringify({ pointers: kept }), 'application/json');
  }

  private async put(key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  private async readText(key: string): Promise<string | undefined> {
    const bytes = await readObjectIfExists(this.s3, this.bucket, key);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  }

  private readBytes(key: string): Promise<Uint8Array | undefined> {
    return readObjectIfExists(this.s3, this.bucket, key);
  }
}

function samePointer(a: ModelPointer | undefined, b: ModelPointer): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
