/**
 * From one batch inference to what is stored with each profile: the one mapping the ingest path and
 * the rescoring function share, so a profile reads the same whichever of them scored it.
 *
 * - `propensity`, `churnRisk`: the head's probability for the row.
 * - `nextCategories`: when the model says its categories are `rankedBy: 'profile-affinity'` (each
 *   profile's own affinity ranked better on validation than the graph head), the profile's top
 *   categories by decayed affinity with their share as the probability; otherwise
 *   the {@link TOP_CATEGORIES} most likely of the model's K named categories, with the
 *   model's probabilities (not renormalised). The catch-all `other` column is left out: it names no
 *   category a recommendation could use, so a profile whose mass sits on `other` gets the best named
 *   ones, with honestly small probabilities.
 * - `reasons`: per head, the {@link TOP_REASONS} features with the largest |contribution|, signed; a
 *   zero contribution is no reason and is left out (as `topReasons` in `attribution-summary.ts`).
 * - `embedding`: quantised to signed bytes with one scale per profile (`max |v| / 127`), so every value
 *   is within `scale / 2` of `byte × scale`.
 */
import { OTHER_CATEGORY } from './model-metadata';
import type { BatchScores, CategoryPrediction, ProfileScore, ScoreReason } from './model-outputs';
import { type ProfileState, UNKNOWN_CATEGORY } from '../profile/profile-state';

/** How many next categories a profile keeps. */
export const TOP_CATEGORIES = 3;
/** How many reasons a profile keeps per explained head. */
export const TOP_REASONS = 3;
/** Largest magnitude of a quantised embedding byte (symmetric, so -128 is never used). */
const INT8_MAX = 127;

/**
 * Indices of the `count` largest `key(i)` over `0..n-1` that `keep`, largest first; ties go to the
 * lower index. A running insertion into at most `count` slots: this runs for every profile and head of
 * every batch, so it allocates nothing but its small result.
 */
function topIndices(n: number, count: number, key: (i: number) => number, keep: (i: number) => boolean) {
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep(i)) continue;
    const k = key(i);
    if (best.length === count && k <= key(best[count - 1]!)) continue;
    let at = best.length;
    while (at > 0 && key(best[at - 1]!) < k) at--;
    best.splice(at, 0, i);
    if (best.length > count) best.pop();
  }
  return best;
}

function nextCategoriesOf(
  scores: NonNullable<BatchScores['nextCategories']>,
  row: number,
): CategoryPrediction[] {
  const { categories, probabilities } = scores;
  const k = categories.length;
  const at = (i: number) => probabilities[row * k + i]!;
  return topIndices(k, TOP_CATEGORIES, at, (i) => categories[i] !== OTHER_CATEGORY).map((i) => ({
    category: categories[i]!,
    probability: at(i),
  }));
}

/**
 * The profile's own top categories by decayed affinity (share of its total affinity as the
 * probability), filled up from the model's ranking when it knows fewer than {@link TOP_CATEGORIES}.
 * The `unknown` bucket (product events without a category) names nothing to recommend.
 */
function byProfileAffinity(
  state: ProfileState,
  modelRanked: readonly CategoryPrediction[],
): CategoryPrediction[] {
  let total = 0;
  for (const c of state.categories) total += c.score;
  const picks: CategoryPrediction[] = [];
  for (const c of state.categories) {
    if (picks.length === TOP_CATEGORIES) break;
    if (c.key === UNKNOWN_CATEGORY || c.score <= 0) continue;
    picks.push({ category: c.key, probability: c.score / total });
  }
  for (const prediction of modelRanked) {
    if (picks.length === TOP_CATEGORIES) break;
    if (!picks.some((p) => p.category === prediction.category)) picks.push(prediction);
  }
  return picks;
}

function reasonsOf(featureNames: readonly string[], contributions: Float32Array, row: number): ScoreReason[] {
  const f = featureNames.length;
  const at = (i: number) => contributions[row * f + i]!;
  return topIndices(
    f,
    TOP_REASONS,
    (i) => Math.abs(at(i)),
    (i) => at(i) !== 0,
  ).map((i) => ({ feature: featureNames[i]!, contribution: at(i) }));
}

/**
 * Quantise one embedding to signed bytes: `scale = max |v| / 127` (1 for an all-zero vector, so a
 * reader never sees a zero scale), `byte = round(v / scale)`.
 */
export function quantiseEmbedding(values: ArrayLike<number>): { scale: number; bytes: Int8Array } {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]!));
  const scale = max > 0 ? max / INT8_MAX : 1;
  const bytes = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    bytes[i] = Math.max(-INT8_MAX, Math.min(INT8_MAX, Math.round(values[i]! / scale)));
  }
  return { scale, bytes };
}

/**
 * One {@link ProfileScore} per row of `batch` (`rows` rows, in row order), stamped `scoredAt` (epoch
 * ms). Heads the batch lacks are absent from every score.
 */
export function toProfileScores(
  batch: BatchScores,
  rows: number,
  scoredAt: number,
  states?: readonly ProfileState[],
): ProfileScore[] {
  const { modelVersion, purchase, churn, nextCategories, embedding, contributions } = batch;
  const byAffinity = nextCategories?.rankedBy === 'profile-affinity' && states !== undefined;
  return Array.from({ length: rows }, (_, row): ProfileScore => {
    const score: ProfileScore = { propensity: purchase[row]!, modelVersion, scoredAt };
    if (churn !== undefined) score.churnRisk = churn[row]!;
    if (nextCategories !== undefined) {
      const modelRanked = nextCategoriesOf(nextCategories, row);
      score.nextCategories = byAffinity ? byProfileAffinity(states[row]!, modelRanked) : modelRanked;
    }
    if (contributions !== undefined) {
      const { featureNames } = contributions;
      score.reasons = {
        ...(contributions.purchase === undefined
          ? {}
          : { purchase: reasonsOf(featureNames, contributions.purchase, row) }),
        ...(contributions.churn === undefined
          ? {}
          : { churn: reasonsOf(featureNames, contributions.churn, row) }),
      };
    }
    if (embedding !== undefined) {
      score.embedding = quantiseEmbedding(
        embedding.values.subarray(row * embedding.size, (row + 1) * embedding.size),
      );
    }
    return score;
  });
}
