/**
 * Drift between what a model was trained on and what it now sees: the population stability index
 * (PSI) of each feature and of the purchase score, over quantile bins of the reference.
 *
 * The trainer stores a reference with every candidate (bins and shares of its training rows' features
 * and of its test rows' purchase scores); the next run bins the newest rows the same way (its own test
 * split: the most recent cutoffs of the archive, scored by the serving model) and compares. PSI =
 * Σ (live − reference) · ln(live / reference) over the bins. Conventional reading: below 0.1 stable,
 * 0.1–0.25 moderate, above 0.25 a shift worth a look. Under no drift PSI is still positive by sampling
 * noise, about (bins − 1) · (1/n + 1/m): ≈ 0.02 for 10 bins and a few hundred rows.
 */

/** A variable's distribution as quantile bins: `upperEdges[i]` closes bin i; the last bin is open. */
export interface BinnedDistribution {
  /** Strictly increasing; bin i holds values ≤ upperEdges[i] and above the previous edge. */
  upperEdges: number[];
  /** Share of the values in each bin: `upperEdges.length + 1` entries summing to 1. */
  shares: number[];
}

/** Reference distributions stored with a model (`provenance.drift`). */
export interface DriftReference {
  /** Rows the feature bins were computed on (the training split). */
  rows: number;
  features: Record<string, BinnedDistribution>;
  /** The purchase head's scores on the model's own test rows. */
  purchaseScore?: BinnedDistribution;
}

/** One feature's PSI. */
export interface FeatureDrift {
  feature: string;
  psi: number;
}

/** Live rows against the serving model's reference. */
export interface DriftReport {
  /** The model whose reference was compared (the serving one). */
  referenceModel: string;
  /** Live rows compared. */
  rows: number;
  /** Every feature with a reference, highest PSI first. */
  features: FeatureDrift[];
  maxFeaturePsi: number;
  /** Absent when the reference or the live scores are missing. */
  scorePsi?: number;
}

/** PSI at or above which a shift is reported and alarmed on. */
export const DRIFT_ALARM_PSI = 0.25;

const DEFAULT_BINS = 10;
/** Empty bins would make ln(live / reference) infinite; a share this small stands in for zero. */
const MIN_SHARE = 1e-4;

/** Round to 6 significant digits: the reference is stored as JSON with every model. */
const compact = (value: number) => Number(value.toPrecision(6));

/**
 * Quantile bins of `values` (at most `bins`; fewer when values tie, e.g. a count that is mostly 0).
 * Non-finite values are left out.
 */
export function binnedDistribution(values: ArrayLike<number>, bins = DEFAULT_BINS): BinnedDistribution {
  const sorted = Array.from(values)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (sorted.length === 0) return { upperEdges: [], shares: [1] };
  const upperEdges: number[] = [];
  for (let q = 1; q < bins; q++) {
    const edge = compact(sorted[Math.min(sorted.length - 1, Math.floor((q * sorted.length) / bins))]!);
    // The top value gets its own open bin only if something lies above the edge.
    if (edge >= sorted[sorted.length - 1]!) break;
    if (upperEdges.length === 0 || edge > upperEdges[upperEdges.length - 1]!) upperEdges.push(edge);
  }
  return { upperEdges, shares: sharesIn(upperEdges, sorted).map(compact) };
}

function binOf(upperEdges: readonly number[], value: number): number {
  let low = 0;
  let high = upperEdges.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (value <= upperEdges[mid]!) high = mid;
    else low = mid + 1;
  }
  return low;
}

function sharesIn(upperEdges: readonly number[], values: ArrayLike<number>): number[] {
  const counts = new Array<number>(upperEdges.length + 1).fill(0);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!Number.isFinite(value)) continue;
    counts[binOf(upperEdges, value)]! += 1;
    total += 1;
  }
  return counts.map((count) => (total === 0 ? 0 : count / total));
}

/** PSI of `values` against `reference`'s bins; NaN when there are no finite values. */
export function populationStabilityIndex(reference: BinnedDistribution, values: ArrayLike<number>): number {
  const live = sharesIn(reference.upperEdges, values);
  if (live.every((share) => share === 0)) return Number.NaN;
  return reference.shares.reduce((psi, expectedShare, bin) => {
    const expected = Math.max(expectedShare, MIN_SHARE);
    const actual = Math.max(live[bin]!, MIN_SHARE);
    return psi + (actual - expected) * Math.log(actual / expected);
  }, 0);
}

/** Column `column` of a row-major matrix, restricted to `rows` (every row when absent). */
function columnOf(
  features: Float32Array,
  width: number,
  column: number,
  rows: readonly number[] | undefined,
): Float32Array {
  const count = rows?.length ?? features.length / width;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = features[(rows === undefined ? i : rows[i]!) * width + column]!;
  return out;
}

/**
 * The reference a candidate is stored with: feature bins over its training rows and score bins over
 * its test rows' purchase probabilities.
 */
export function driftReferenceOf(input: {
  featureNames: readonly string[];
  /** Row-major `[rows, featureNames.length]`. */
  features: Float32Array;
  trainingRows: readonly number[];
  testPurchaseScores?: Float32Array;
}): DriftReference {
  const width = input.featureNames.length;
  return {
    rows: input.trainingRows.length,
    features: Object.fromEntries(
      input.featureNames.map((name, column) => [
        name,
        binnedDistribution(columnOf(input.features, width, column, input.trainingRows)),
      ]),
    ),
    ...(input.testPurchaseScores === undefined
      ? {}
      : { purchaseScore: binnedDistribution(input.testPurchaseScores) }),
  };
}

/**
 * Live rows (row-major, `featureNames` columns) and the serving model's scores on them, against that
 * model's reference. Features the reference lacks are skipped.
 */
export function measureDrift(input: {
  referenceModel: string;
  reference: DriftReference;
  featureNames: readonly string[];
  liveFeatures: Float32Array;
  livePurchaseScores?: Float32Array;
}): DriftReport {
  const width = input.featureNames.length;
  const features = input.featureNames
    .flatMap((feature, column) => {
      const reference = input.reference.features[feature];
      if (reference === undefined) return [];
      const psi = populationStabilityIndex(reference, columnOf(input.liveFeatures, width, column, undefined));
      return Number.isFinite(psi) ? [{ feature, psi }] : [];
    })
    .sort((a, b) => b.psi - a.psi);
  const { purchaseScore } = input.reference;
  const scorePsi =
    purchaseScore === undefined || input.livePurchaseScores === undefined
      ? Number.NaN
      : populationStabilityIndex(purchaseScore, input.livePurchaseScores);
  return {
    referenceModel: input.referenceModel,
    rows: width === 0 ? 0 : input.liveFeatures.length / width,
    features,
    maxFeaturePsi: features[0]?.psi ?? 0,
    ...(Number.isFinite(scorePsi) ? { scorePsi } : {}),
  };
}
