/**
 * What one inference gives for each profile, in the shape the ingest and rescoring paths store. The
 * ONNX graph's named outputs map onto these fields one to one (`ONNX_OUTPUTS`); a model may omit the
 * optional heads (an older or an externally built model serves the purchase head alone), and readers
 * then simply find the attribute absent.
 */

import type { PopulationStats } from '../traits/computed-traits';

/** Names of the ONNX graph outputs, by head. Shapes are per batch of B rows and F features. */
export const ONNX_OUTPUTS = {
  /** float32 [B, 1]: calibrated probability of a purchase within the label horizon H. */
  purchase: 'purchase_probability',
  /** float32 [B, 1]: probability of no event in the next D days (the churn horizon). */
  churn: 'churn_probability',
  /** float32 [B, K + 1]: probability that the next engaged category is each of the model's K (+ other). */
  nextCategories: 'next_category_probabilities',
  /** float32 [B, E]: the shared hidden layer, for look-alikes and retrieval. */
  embedding: 'embedding',
  /** float32 [B, F]: signed contribution of each feature to the purchase head (logit units). */
  purchaseContributions: 'purchase_contributions',
  /** float32 [B, F]: signed contribution of each feature to the churn head (logit units). */
  churnContributions: 'churn_contributions',
} as const;

/** A head of the model. */
export type ModelHead = keyof typeof ONNX_OUTPUTS;

/** Everything one inference gives for a batch, row-major, in row order. */
export interface BatchScores {
  modelVersion: string;
  /** The serving model's population statistics (metadata `population`), when it ships them. */
  population?: PopulationStats;
  /** B purchase probabilities. */
  purchase: Float32Array;
  /** B churn probabilities, when the model has the head. */
  churn?: Float32Array;
  /** The K category keys plus `other`, and B × (K + 1) probabilities, when the model has the head. */
  nextCategories?: {
    categories: readonly string[];
    probabilities: Float32Array;
    /** `profile-affinity`: rank each profile's own affinities instead (see the serving contract). */
    rankedBy?: 'model' | 'profile-affinity';
  };
  /** B × size values, when the model exports its embedding. */
  embedding?: { size: number; values: Float32Array };
  /** B × F signed contributions per head, when the model exports attributions. */
  contributions?: { featureNames: readonly string[]; purchase?: Float32Array; churn?: Float32Array };
}

/** One named reason behind a probability: a feature and its signed contribution (logit units). */
export interface ScoreReason {
  feature: string;
  contribution: number;
}

/** A category the profile is likely to engage with next. */
export interface CategoryPrediction {
  category: string;
  probability: number;
}

/** The model outputs stored with one profile. */
export interface ProfileScore {
  /** 0..1: purchase within the model's label horizon. */
  propensity: number;
  /** 0..1: no event in the model's churn horizon. */
  churnRisk?: number;
  /** The 3 most likely next categories, most likely first. */
  nextCategories?: CategoryPrediction[];
  /** The 3 largest contributions by magnitude behind each probability, largest first. */
  reasons?: { purchase?: ScoreReason[]; churn?: ScoreReason[] };
  /** The user embedding, quantised to signed bytes: value ≈ byte × scale. */
  embedding?: { scale: number; bytes: Int8Array };
  modelVersion: string;
  /** Epoch ms. */
  scoredAt: number;
}
