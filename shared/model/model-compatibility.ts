/**
 * Whether a published model can be used here: the one rule the scorer (serving), the trainer's champion
 * check (comparison) and the registry (storage) share, so they cannot drift apart.
 *
 * A model fits when its metadata names the feature schema version and the feature names (same order)
 * of the rows it will be given, and when its ONNX bytes are the ones the metadata's checksum describes.
 * The two halves are asked for separately on purpose: callers check the features first, so a model
 * that cannot fit is refused before its ONNX file is even downloaded. Once the graph is loaded,
 * {@link graphIncompatibility} checks that it has the input and every output the metadata declares.
 */
import { createHash } from 'node:crypto';
import { declaredOutputNames, type ModelMetadata, type ServingContract } from './model-metadata';

/** The feature layout a consumer computes, and how to name that consumer in a reason. */
export interface ExpectedFeatures {
  featureSchemaVersion: number;
  featureNames: readonly string[];
  /** Who computes these features, in words: `this build`, `the candidate`. */
  computedBy: string;
}

/** What to check; each part is optional so a caller asks only for what it has. */
export interface CompatibilityCheck {
  /** Rows the model would score; omitted by the registry, which stores models of any schema. */
  features?: ExpectedFeatures;
  /** The model's ONNX bytes as read; their SHA-256 must equal `metadata.sha256`. */
  onnx?: Uint8Array;
}

/** Lowercase hex SHA-256 of `bytes`, the form `metadata.sha256` holds. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Why the model described by `metadata` cannot be used as `check` asks, or `undefined` when it can.
 * The reason is short and free of personal data (models hold none), fit for a log line or a metric.
 */
export function modelIncompatibility(
  metadata: Pick<ModelMetadata, 'featureSchemaVersion' | 'featureNames' | 'sha256'>,
  check: CompatibilityCheck,
): string | undefined {
  const { features, onnx } = check;
  if (features !== undefined) {
    if (metadata.featureSchemaVersion !== features.featureSchemaVersion) {
      return `feature schema ${metadata.featureSchemaVersion}, ${features.computedBy} computes ${features.featureSchemaVersion}`;
    }
    if (metadata.featureNames.join(',') !== features.featureNames.join(',')) {
      return `feature names differ from ${features.computedBy}`;
    }
  }
  if (onnx !== undefined && sha256Hex(onnx) !== metadata.sha256) return 'model file checksum mismatch';
  return undefined;
}

/** The names a loaded graph takes and gives, as the runtime reports them. */
export interface GraphInterface {
  inputNames: readonly string[];
  outputNames: readonly string[];
}

/**
 * Why a loaded graph cannot serve the metadata's contract (its declared input or an output it declares
 * is missing), or `undefined` when it can. Extra graph outputs are fine: the scorer fetches only the
 * declared ones.
 */
export function graphIncompatibility(
  contract: Pick<ServingContract, 'inputName' | 'outputs'>,
  graph: GraphInterface,
): string | undefined {
  if (!graph.inputNames.includes(contract.inputName)) {
    return `the graph has no input ${contract.inputName} (it has ${graph.inputNames.join(', ') || 'none'})`;
  }
  const missing = declaredOutputNames(contract.outputs).filter((name) => !graph.outputNames.includes(name));
  if (missing.length > 0) {
    return `the graph lacks declared output ${missing.join(', ')} (it has ${graph.outputNames.join(', ') || 'none'})`;
  }
  return undefined;
}
