/**
 * The trainer's side of the computed traits: RFM and price-band cut points, and look-alike centroids,
 * over the training rows, for the model metadata's `population`. Computed from the same feature
 * columns the model reads (undoing their log1p), so ingest's mapping of a live profile and the
 * trainer's population describe the same quantities.
 */
import type { PopulationStats } from './computed-traits';

/** Fewest buyer rows for quantiles worth shipping (below, ingest keeps its defaults). */
export const MIN_BUYER_ROWS = 20;
/** Fewest rows behind a centroid. */
export const MIN_CENTROID_ROWS = 5;
/** Rows with a purchase this recent (before their cutoff) are the `recent-buyers` of the centroid. */
export const RECENT_BUYER_HOURS = 7 * 24;
/** Name of the look-alike centroid the trainer publishes. */
export const RECENT_BUYERS_CENTROID = 'recent-buyers';

const COLUMNS = {
  recencyHours: 'hours_since_last_purchase_log1p',
  orders: 'order_count_log1p',
  revenue: 'revenue_log1p',
  averageOrderValue: 'average_order_value_log1p',
} as const;

/** The `p` quantile (nearest rank on the sorted values), rounded to 2 decimals. */
function quantile(sorted: Float64Array, p: number): number {
  return Math.round(sorted[Math.floor(p * (sorted.length - 1))]! * 100) / 100;
}

/**
 * Population statistics of `rows` feature vectors (row-major, `featureNames` columns), or `undefined`
 * when they hold fewer than {@link MIN_BUYER_ROWS} buyers or lack a column.
 *
 * @param embeddings - optional `size`-wide embeddings of the rows `embeddingRows` (row indices into
 *   `features`), for the `recent-buyers` centroid
 */
export function computePopulationStats(
  features: Float32Array,
  featureNames: readonly string[],
  rows: number,
  embeddings?: { values: Float32Array; size: number; rows: readonly number[] },
): PopulationStats | undefined {
  const width = featureNames.length;
  const at = (name: string) => featureNames.indexOf(name);
  const col = {
    recency: at(COLUMNS.recencyHours),
    orders: at(COLUMNS.orders),
    revenue: at(COLUMNS.revenue),
    aov: at(COLUMNS.averageOrderValue),
  };
  if (Object.values(col).some((c) => c < 0)) return undefined;
  const buyers: number[] = [];
  for (let r = 0; r < rows; r++) if (features[r * width + col.orders]! > 0) buyers.push(r);
  if (buyers.length < MIN_BUYER_ROWS) return undefined;
  const sortedColumn = (c: number) =>
    Float64Array.from(buyers, (r) => Math.expm1(features[r * width + c]!)).sort();
  const fifths = (c: number) => {
    const s = sortedColumn(c);
    return [0.2, 0.4, 0.6, 0.8].map((p) => quantile(s, p));
  };
  const aov = sortedColumn(col.aov);
  const stats: PopulationStats = {
    rfm: { recencyHours: fifths(col.recency), orders: fifths(col.orders), revenue: fifths(col.revenue) },
    averageOrderValue: [quantile(aov, 1 / 3), quantile(aov, 2 / 3)],
    rows,
  };
  if (embeddings !== undefined) {
    const recent = embeddings.rows.flatMap((r, i) =>
      Math.expm1(features[r * width + col.recency]!) <= RECENT_BUYER_HOURS &&
      features[r * width + col.orders]! > 0
        ? [i]
        : [],
    );
    const centroid = normalisedMean(embeddings.values, embeddings.size, recent);
    if (centroid !== undefined) stats.centroids = { [RECENT_BUYERS_CENTROID]: centroid };
  }
  return stats;
}

/** Mean of the L2-normalised rows `picks` of a row-major matrix, 4 decimals; `undefined` below {@link MIN_CENTROID_ROWS}. */
function normalisedMean(values: Float32Array, size: number, picks: readonly number[]): number[] | undefined {
  const sum = new Float64Array(size);
  let used = 0;
  for (const i of picks) {
    let norm = 0;
    for (let d = 0; d < size; d++) norm += values[i * size + d]! ** 2;
    if (norm === 0) continue;
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < size; d++) sum[d]! += values[i * size + d]! * inv;
    used++;
  }
  if (used < MIN_CENTROID_ROWS) return undefined;
  return Array.from(sum, (v) => Math.round((v / used) * 10_000) / 10_000);
}
