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
import { pooledInt8Array } from '../profile/byte-pool';

/** How many next categories a profile keeps. */
export const TOP_CATEGORIES = 3;
/** How many reasons a profile keeps per explained head. */
export const TOP_REASONS = 3;
/** Largest magnitude of a quantised embedding byte (symmetric, so -128 is never used). */
const INT8_MAX = 127;

/**
 * Indices of the `count` largest `values[offset + i]` over `0..n-1` (by magnitude when `byMagnitude`),
 * largest first; ties go to the lower index. Values that `skip` (by index) and, with `byMagnitude`,
 * zeros are left out. A running insertion into at most `count` slots of two scratch arrays: this runs
 * for every profile and head of every batch, so it allocates nothing but its small result (no closure
 * per row, no `splice`, whose intermediate arrays were most of its cost).
 */
function topIndices(
  values: Float32Array,
  offset: number,
  n: number,
  count: number,
  byMagnitude: boolean,
  skip: number,
): number[] {
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (i === skip) continue;
    const v = values[offset + i]!;
    if (byMagnitude && v === 0) continue;
    const k = byMagnitude ? Math.abs(v) : v;
    if (kept === count && k <= topKeys[count - 1]!) continue;
    let at = kept;
    while (at > 0 && topKeys[at - 1]! < k) at--;
    // It would rank just past the last slot (a NaN key does): dropped, as the splice version dropped it.
    if (at === count) continue;
    // Shift the smaller kept keys down one slot (the last falls off when all are taken), then insert.
    for (let j = Math.min(kept, count - 1); j > at; j--) {
      topKeys[j] = topKeys[j - 1]!;
      topSlots[j] = topSlots[j - 1]!;
    }
    topKeys[at] = k;
    topSlots[at] = i;
    if (kept < count) kept++;
  }
  const best: number[] = [];
  for (let j = 0; j < kept; j++) best.push(topSlots[j]!);
  return best;
}
/** Scratch of {@link topIndices}: the kept keys (largest first) and their indices. */
const topKeys = new Float64Array(Math.max(TOP_CATEGORIES, TOP_REASONS));
const topSlots = new Int32Array(Math.max(TOP_CATEGORIES, TOP_REASONS));

function nextCategoriesOf(
  scores: NonNullable<BatchScores['nextCategories']>,
  row: number,
  otherIndex: number,
): CategoryPrediction[] {
  const { categories, probabilities } = scores;
  const k = categories.length;
  const offset = row * k;
  const top = topIndices(probabilities, offset, k, TOP_CATEGORIES, false, otherIndex);
  const out: CategoryPrediction[] = [];
  for (const i of top) out.push({ category: categories[i]!, probability: probabilities[offset + i]! });
  return out;
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
  const offset = row * f;
  const top = topIndices(contributions, offset, f, TOP_REASONS, true, -1);
  const out: ScoreReason[] = [];
  for (const i of top) out.push({ feature: featureNames[i]!, contribution: contributions[offset + i]! });
  return out;
}

/**
 * Quantise one embedding to signed bytes: `scale = max |v| / 127` (1 for an all-zero vector, so a
 * reader never sees a zero scale), `byte = round(v / scale)`.
 */
export function quantiseEmbedding(values: ArrayLike<number>): { scale: number; bytes: Int8Array } {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]!));
  const scale = max > 0 ? max / INT8_MAX : 1;
  const bytes = pooledInt8Array(values.length);
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
  // The catch-all column, found once per batch (only the first one would ever be skipped: names are unique).
  const otherIndex = nextCategories?.categories.indexOf(OTHER_CATEGORY) ?? -1;
  const scores: ProfileScore[] = [];
  for (let row = 0; row < rows; row++) {
    const score: ProfileScore = { propensity: purchase[row]!, modelVersion, scoredAt };
    if (churn !== undefined) score.churnRisk = churn[row]!;
    if (nextCategories !== undefined) {
      const modelRanked = nextCategoriesOf(nextCategories, row, otherIndex);
      score.nextCategories = byAffinity ? byProfileAffinity(states[row]!, modelRanked) : modelRanked;
    }
    if (contributions !== undefined) {
      const { featureNames } = contributions;
      const reasons: ProfileScore['reasons'] = {};
      if (contributions.purchase !== undefined)
        reasons.purchase = reasonsOf(featureNames, contributions.purchase, row);
      if (contributions.churn !== undefined)
        reasons.churn = reasonsOf(featureNames, contributions.churn, row);
      score.reasons = reasons;
    }
    if (embedding !== undefined) {
      score.embedding = quantiseEmbedding(
        embedding.values.subarray(row * embedding.size, (row + 1) * embedding.size),
      );
    }
    scores.push(score);
  }
  return scores;
}
