/**
 * The multi-task model as plain arrays, the hand-over between the trainer (which fits it), the ONNX
 * exporter (which writes one graph with a named output per head, see `ONNX_OUTPUTS`) and the
 * attribution builder (which adds the contributions behind the purchase and churn heads).
 *
 * Shape: normalised features → `trunk` (dense layers; the last one's output is the user embedding) →
 * one head per output. A head reads either the embedding or, when a baseline won that head on
 * validation (a logistic regression is one dense layer), the normalised features directly: users never
 * get a head worse than its baseline, and the graph stays one inference per batch.
 */
import type { DenseLayerWeights, FeatureNormalisation } from './mlp-weights';

/** A binary head: dense layers ending in one unit with a sigmoid (calibration folded into it). */
export interface BinaryHeadWeights {
  /** What the first layer reads: the embedding (trunk output) or the normalised features. */
  input: 'embedding' | 'features';
  layers: DenseLayerWeights[];
}

/** The next-category head: dense layers ending in K + 1 linear units, soft-maxed in the graph. */
export interface CategoryHeadWeights {
  input: 'embedding' | 'features';
  /** The K most frequent categories of the training population, then `other`. */
  categories: string[];
  layers: DenseLayerWeights[];
}

/** A trained multi-task network. */
export interface MultiTaskWeights {
  normalisation: FeatureNormalisation;
  /** Dense layers from the normalised features to the embedding; empty when every head reads features. */
  trunk: DenseLayerWeights[];
  heads: {
    purchase: BinaryHeadWeights;
    churn?: BinaryHeadWeights;
    nextCategories?: CategoryHeadWeights;
  };
}
