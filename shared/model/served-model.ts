/**
 * A multi-task network as it is published: one ONNX graph with every head's named output plus the
 * contributions behind the purchase and churn logits (appended to the same graph, so explanations come
 * from the same inference), and the metadata whose serving contract declares exactly those outputs.
 * The trainer publishes through it; the benchmark builds its model the same way, so it measures what
 * ingest serves.
 */
import { sha256Hex } from './model-compatibility';
import {
  ONNX_INPUT_NAME,
  parseModelMetadataV2,
  type ModelMetadataV2,
  type ModelProvenance,
} from './model-metadata';
import { ONNX_OUTPUTS } from './model-outputs';
import type { MultiTaskWeights } from './multi-task-weights';
import {
  ATTRIBUTED_HEADS,
  attributionContract,
  attributionNodes,
  type AttributedHead,
} from './onnx-attribution';
import { exportMultiTaskToOnnx, multiTaskServingOutputs } from './onnx-export';

/** What {@link exportServedModel} needs besides the weights. */
export interface ServedModelOptions {
  featureNames: readonly string[];
  featureSchemaVersion: number;
  modelVersion: string;
  producer: string;
  /** ISO 8601. */
  createdAt: string;
  /** The purchase label horizon; left out of the contract when unknown. */
  labelHorizonHours?: number;
  /** The churn horizon D, when the model has a churn head. */
  churnHorizonDays: number;
  provenance?: ModelProvenance;
  /** `profile-affinity` when each profile's own affinity ranked next categories better on validation. */
  nextCategoriesRankedBy?: 'model' | 'profile-affinity';
}

/** The graph and its metadata (v2), ready for the registry. */
export interface ServedModel {
  onnx: Uint8Array;
  metadata: ModelMetadataV2;
}

/** Export `weights` with attributions for every explained head it has, and describe what it serves. */
export function exportServedModel(weights: MultiTaskWeights, options: ServedModelOptions): ServedModel {
  const explained = ATTRIBUTED_HEADS.filter((head) => weights.heads[head] !== undefined);
  const contributions = Object.fromEntries(
    explained.map((head) => {
      const { method, steps, units, baseline } = attributionContract(weights, head);
      return [head, { name: ONNX_OUTPUTS[`${head}Contributions`], method, steps, units, baseline }];
    }),
  );
  const onnx = exportMultiTaskToOnnx(weights, {
    featureNames: options.featureNames,
    producer: options.producer,
    modelVersion: options.modelVersion,
    extend: (graph, tensors) =>
      graph.append(
        attributionNodes(weights, explained as AttributedHead[], { normalisedInput: tensors.normalised }),
      ),
  });
  const outputs = multiTaskServingOutputs(weights, {
    labelHorizonHours: options.labelHorizonHours ?? 1,
    churnHorizonDays: options.churnHorizonDays,
  });
  if (options.labelHorizonHours === undefined) delete outputs.purchase.labelHorizonHours;
  if (outputs.nextCategories !== undefined && options.nextCategoriesRankedBy !== undefined) {
    outputs.nextCategories.rankedBy = options.nextCategoriesRankedBy;
  }
  const metadata = parseModelMetadataV2({
    metadataVersion: 2,
    modelVersion: options.modelVersion,
    featureSchemaVersion: options.featureSchemaVersion,
    featureNames: [...options.featureNames],
    inputName: ONNX_INPUT_NAME,
    outputs: { ...outputs, ...(explained.length === 0 ? {} : { contributions }) },
    createdAt: options.createdAt,
    sizeBytes: onnx.byteLength,
    sha256: sha256Hex(onnx),
    ...(options.provenance === undefined ? {} : { provenance: options.provenance }),
  });
  return { onnx, metadata };
}
