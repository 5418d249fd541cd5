/**
 * Metrics of a top-k recommender with one relevant item per row (the next category): recall@k (the
 * item is among the k shown) and NDCG@k (`1 / log2(1 + rank)` when it is, 0 otherwise; the ideal DCG of
 * one relevant item is 1), each with a percentile bootstrap interval over rows.
 */
import type { Interval } from './metrics';
import { ModelInputError } from './model-input-error';
import { createRandom } from './seeded-random';

/** Recall@k and NDCG@k of one ranker on one set of rows. */
export interface RankingReport {
  count: number;
  k: number;
  recall: number;
  recallCi95: Interval;
  ndcg: number;
  ndcgCi95: Interval;
}

/** Options of {@link evaluateRankings}. */
export interface RankingEvaluationOptions {
  seed: number;
  /** @default 200 */
  bootstrapResamples?: number;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

/** The k best classes of each row of row-major `scores` (`rows × classes`), best first, ties by class index. */
export function topKOfScores(
  scores: ArrayLike<number>,
  rows: number,
  classes: number,
  k: number,
): Int16Array {
  const out = new Int16Array(rows * k).fill(-1);
  const order = Array.from({ length: classes }, (_, c) => c);
  for (let r = 0; r < rows; r++) {
    order.sort((a, b) => scores[r * classes + b]! - scores[r * classes + a]! || a - b);
    for (let j = 0; j < Math.min(k, classes); j++) out[r * k + j] = order[j]!;
  }
  return out;
}

/**
 * Recall@k and NDCG@k of `topK` (row-major `rows × k` class indices, best first; −1 pads) against
 * `labels` (one class per row, all ≥ 0: the caller drops rows without a label).
 */
export function evaluateRankings(
  labels: ArrayLike<number>,
  topK: ArrayLike<number>,
  k: number,
  options: RankingEvaluationOptions,
): RankingReport {
  const rows = labels.length;
  if (topK.length !== rows * k) {
    throw new ModelInputError('topK', `must hold ${rows} × ${k} entries`, String(topK.length));
  }
  if (rows === 0) throw new ModelInputError('labels', 'needs at least one row', '0 rows');
  const hits = new Float64Array(rows);
  const gains = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const label = labels[r]!;
    if (!(label >= 0)) throw new ModelInputError(`labels[${r}]`, 'must be a class index', String(label));
    for (let j = 0; j < k; j++) {
      if (topK[r * k + j] === label) {
        hits[r] = 1;
        gains[r] = 1 / Math.log2(j + 2);
        break;
      }
    }
  }
  const mean = (values: Float64Array) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const { seed, bootstrapResamples = 200 } = options;
  const random = createRandom(seed);
  const recalls: number[] = [];
  const ndcgs: number[] = [];
  for (let b = 0; b < bootstrapResamples; b++) {
    let hit = 0;
    let gain = 0;
    for (let i = 0; i < rows; i++) {
      const r = Math.floor(random() * rows);
      hit += hits[r]!;
      gain += gains[r]!;
    }
    recalls.push(hit / rows);
    ndcgs.push(gain / rows);
  }
  recalls.sort((a, b) => a - b);
  ndcgs.sort((a, b) => a - b);
  return {
    count: rows,
    k,
    recall: mean(hits),
    recallCi95: { lower: percentile(recalls, 0.025), upper: percentile(recalls, 0.975) },
    ndcg: mean(gains),
    ndcgCi95: { lower: percentile(ndcgs, 0.025), upper: percentile(ndcgs, 0.975) },
  };
}
