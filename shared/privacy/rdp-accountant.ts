/**
 * Rényi-DP accountant for DP-SGD: the Poisson-subsampled Gaussian mechanism composed over steps and
 * converted to (ε, δ). Pure arithmetic, the same analysis as Google's `dp_accounting` RDP accountant
 * (Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism"):
 * - per step, for each order α, `RDP(α) = log A_α / (α − 1)` with `A_α` the α-th moment of the privacy
 *   loss of `(1 − q)·N(0, σ²) + q·N(1, σ²)` against `N(0, σ²)` — a finite binomial sum for integer α,
 *   a two-sided series with erfc terms for fractional α;
 * - T steps compose by adding RDP;
 * - RDP → (ε, δ) with the tighter conversion of Balle et al. 2020 / Canonne, Kamath & Steinke 2020:
 *   `ε = RDP(α) + log(1 − 1/α) − (log δ + log α)/(α − 1)`, minimised over the orders.
 *
 * Neighbouring data sets differ by adding or removing ONE privacy unit (add/remove adjacency), which is
 * what Poisson sampling is analysed under: the trainer must sample each unit independently with
 * probability q at every step, not draw fixed-size batches.
 */
import { ModelInputError } from '../model/model-input-error';

/** Orders the accountant minimises over (as Opacus and `dp_accounting` examples; 128–512 for tiny ε). */
export const DEFAULT_RDP_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, x) => 12 + x),
  128,
  256,
  512,
];

/**
 * δ when none is given: `min(1e-5, n^−1.1)`. δ bounds the chance that the guarantee fails outright, so
 * it must sit well below 1/n (a mechanism that publishes one random person's whole record is
 * (0, 1/n)-DP); 1e-5 is the convention of Abadi et al. and TF Privacy for data sets up to ~10⁵ units,
 * and n^−1.1 keeps it below 1/n for larger ones.
 */
export function defaultDelta(units: number): number {
  if (!(Number.isInteger(units) && units >= 1)) {
    throw new ModelInputError('units', 'must be a positive integer', String(units));
  }
  return Math.min(1e-5, units ** -1.1);
}

const logAdd = (a: number, b: number): number => {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const high = Math.max(a, b);
  return high + Math.log1p(Math.exp(Math.min(a, b) - high));
};

/** Terms of the fractional-order series before the order is given up on (as `dp_accounting`). */
const MAX_FRACTIONAL_TERMS = 1000;

/**
 * log erfc(x). For x ≥ 0 the Chebyshev fit of Numerical Recipes (`erfcc`, relative error < 1.2e-7
 * everywhere) taken in log form, so it does not underflow for the large arguments the series reaches.
 */
export function logErfc(x: number): number {
  if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)));
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
}

/** log A_α for an integer α: Σ_i C(α, i) q^i (1−q)^(α−i) exp((i² − i)/(2σ²)). */
function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinomial = 0;
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinomial += Math.log((alpha - i + 1) / i);
    const term =
      logBinomial + i * Math.log(q) + (alpha - i) * Math.log1p(-q) + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, term);
  }
  return logA;
}

/**
 * log A_α for a fractional α: the two series of Mironov et al. (2019), Section 3.3, with every term
 * taken by its absolute value — an upper bound, as `dp_accounting` computes it today (the signed series
 * can undershoot) — until both terms fall and are e^−30 below the running total.
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let coefficient = 1;
  let lastS0 = -Infinity;
  let lastS1 = -Infinity;
  for (let i = 0; i < MAX_FRACTIONAL_TERMS; i++) {
    if (i > 0) coefficient *= (alpha - i + 1) / i;
    const logCoefficient = Math.log(Math.abs(coefficient));
    const j = alpha - i;
    const logT0 = logCoefficient + i * Math.log(q) + j * Math.log1p(-q);
    const logT1 = logCoefficient + j * Math.log(q) + i * Math.log1p(-q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    logA0 = logAdd(logA0, logS0);
    logA1 = logAdd(logA1, logS1);
    const total = logAdd(logA0, logA1);
    if (logS0 < lastS0 && logS1 < lastS1 && Math.max(logS0, logS1) < total - 30) return total;
    lastS0 = logS0;
    lastS1 = logS1;
  }
  // No convergence: this order gives no bound (ε is minimised over the others).
  return Infinity;
}

function assertProbability(field: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new ModelInputError(field, 'must be in [0, 1]', String(value));
}

/**
 * RDP of ONE step of the Poisson-subsampled Gaussian mechanism (sensitivity 1, noise σ) at each order:
 * sampling probability `q`, noise multiplier `sigma` (noise std / clip norm).
 */
export function subsampledGaussianRdp(q: number, sigma: number, orders: readonly number[]): number[] {
  assertProbability('samplingProbability', q);
  if (!(sigma >= 0)) throw new ModelInputError('noiseMultiplier', 'must be non-negative', String(sigma));
  return orders.map((alpha) => {
    if (!(alpha > 1)) throw new ModelInputError('orders', 'must all be greater than 1', String(alpha));
    if (q === 0) return 0;
    if (sigma === 0 || alpha === Infinity) return Infinity;
    // Without subsampling the mechanism is the plain Gaussian one: RDP α/(2σ²).
    if (q === 1) return alpha / (2 * sigma * sigma);
    const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
    return logA / (alpha - 1);
  });
}

/** An (ε, δ) guarantee and the order that gave it. */
export interface EpsilonAtDelta {
  epsilon: number;
  delta: number;
  /** The Rényi order minimising ε (at an end of the orders, extending them might tighten ε). */
  order: number;
}

/** The smallest ε over the orders for which `rdp` (composed RDP per order) implies (ε, δ)-DP. */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
): EpsilonAtDelta {
  if (!(delta > 0 && delta < 1)) throw new ModelInputError('delta', 'must be in (0, 1)', String(delta));
  if (orders.length !== rdp.length || orders.length === 0) {
    throw new ModelInputError(
      'rdp',
      'needs one value per order',
      `${rdp.length} for ${orders.length} orders`,
    );
  }
  let best: EpsilonAtDelta = { epsilon: Infinity, delta, order: orders[0]! };
  orders.forEach((alpha, i) => {
    const r = rdp[i]!;
    let epsilon: number;
    // delta ≥ sqrt(1 − exp(−r)) already (the KL bound): nothing is spent at this order.
    if (delta * delta + Math.expm1(-r) >= 0) epsilon = 0;
    else if (alpha > 1.01) epsilon = r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1);
    else epsilon = Infinity; // the bound is numerically unstable as α → 1
    if (epsilon < best.epsilon) best = { epsilon: Math.max(0, epsilon), delta, order: alpha };
  });
  return best;
}

/** What DP-SGD did, as the accountant needs it. */
export interface DpSgdSchedule {
  /** Probability each unit is in a step's batch (Poisson sampling). */
  samplingProbability: number;
  /** Noise std over clip norm. */
  noiseMultiplier: number;
  steps: number;
  /** @default DEFAULT_RDP_ORDERS */
  orders?: readonly number[];
}

/** The (ε, δ) spent by `steps` steps of DP-SGD. */
export function dpSgdEpsilon(schedule: DpSgdSchedule, delta: number): EpsilonAtDelta {
  const { samplingProbability, noiseMultiplier, steps, orders = DEFAULT_RDP_ORDERS } = schedule;
  if (!(Number.isInteger(steps) && steps >= 0)) {
    throw new ModelInputError('steps', 'must be a non-negative integer', String(steps));
  }
  const perStep = subsampledGaussianRdp(samplingProbability, noiseMultiplier, orders);
  return epsilonFromRdp(
    orders,
    perStep.map((r) => r * steps),
    delta,
  );
}

/**
 * The smallest noise multiplier (to 0.1%) whose DP-SGD run spends at most `targetEpsilon`: bisection,
 * since ε falls as σ grows. Returns the upper end of the final bracket, so the target always holds.
 */
export function noiseMultiplierForEpsilon(
  targetEpsilon: number,
  schedule: Omit<DpSgdSchedule, 'noiseMultiplier'>,
  delta: number,
): number {
  if (!(targetEpsilon > 0 && Number.isFinite(targetEpsilon))) {
    throw new ModelInputError('targetEpsilon', 'must be a positive finite number', String(targetEpsilon));
  }
  const epsilonAt = (sigma: number) => dpSgdEpsilon({ ...schedule, noiseMultiplier: sigma }, delta).epsilon;
  let low = 0;
  let high = 1;
  while (epsilonAt(high) > targetEpsilon) {
    low = high;
    high *= 2;
    if (high > 1e6)
      throw new ModelInputError('targetEpsilon', 'is out of reach for this schedule', String(targetEpsilon));
  }
  while (high - low > 1e-3 * high) {
    const middle = (low + high) / 2;
    if (epsilonAt(middle) > targetEpsilon) low = middle;
    else high = middle;
  }
  return high;
}
