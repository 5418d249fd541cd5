import { ModelInputError } from '../../../shared/model/model-input-error';
import {
  DEFAULT_RDP_ORDERS,
  defaultDelta,
  dpSgdEpsilon,
  epsilonFromRdp,
  noiseMultiplierForEpsilon,
  subsampledGaussianRdp,
} from '../../../shared/privacy/rdp-accountant';

/** The orders TF Privacy's `compute_dp_sgd_privacy` minimises over. */
const TF_PRIVACY_ORDERS = [
  1.25,
  1.5,
  1.75,
  2,
  2.25,
  2.5,
  3,
  3.5,
  4,
  4.5,
  ...Array.from({ length: 59 }, (_, i) => 5 + i),
  128,
  256,
  512,
];

/** TF Privacy's `compute_dp_sgd_privacy(n, batch, σ, epochs, δ)`: q = batch/n, ⌈epochs·n/batch⌉ steps. */
const tfPrivacyEpsilon = (n: number, batch: number, sigma: number, epochs: number, delta: number) =>
  dpSgdEpsilon(
    {
      samplingProbability: batch / n,
      noiseMultiplier: sigma,
      steps: Math.ceil((epochs * n) / batch),
      orders: TF_PRIVACY_ORDERS,
    },
    delta,
  );

describe('RDP accountant of the subsampled Gaussian mechanism', () => {
  it('matches dp_accounting’s RDP of 50 Poisson-sampled Gaussian steps (q 0.01, σ 2.5), integer and fractional orders', () => {
    // Values from google/differential-privacy rdp_privacy_accountant_test.py (rtol 1e-4 there too).
    const expected = [6.70579741e-4, 1.0854871e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2];
    // Act
    const rdp = subsampledGaussianRdp(0.01, 2.5, [1.5, 2.5, 5, 50, 100]).map((r) => r * 50);
    // Assess
    rdp.forEach((value, i) => expect(Math.abs(value / expected[i]! - 1)).toBeLessThan(1e-4));
  });

  it('matches TF Privacy’s compute_dp_sgd_privacy tests (ε and the optimal order)', () => {
    // compute_dp_sgd_privacy_test.py: (60000, 150, 1.3, 15, 1e-5) → 0.72422…, order 19;
    // (100000, 100, 1.0, 30, 1e-7) → 1.41549…, order 13.
    const first = tfPrivacyEpsilon(60_000, 150, 1.3, 15, 1e-5);
    const second = tfPrivacyEpsilon(100_000, 100, 1.0, 30, 1e-7);
    expect(first.epsilon).toBeCloseTo(0.7242234026109595, 7);
    expect(first.order).toBe(19);
    expect(second.epsilon).toBeCloseTo(1.4154988495444845, 7);
    expect(second.order).toBe(13);
  });

  it('reproduces the MNIST tutorial’s published ε = 3.01 with the conversion TF Privacy used then', () => {
    // README of TF Privacy: N 60000, batch 256, σ 1.1, 60 epochs, δ 1e-5 → "eps = 3.01" with the
    // classic conversion ε = RDP − log δ / (α − 1); the improved one gives less.
    const steps = Math.ceil((60 * 60_000) / 256);
    const rdp = subsampledGaussianRdp(256 / 60_000, 1.1, TF_PRIVACY_ORDERS).map((r) => r * steps);
    const classic = Math.min(...rdp.map((r, i) => r - Math.log(1e-5) / (TF_PRIVACY_ORDERS[i]! - 1)));
    // Act
    const improved = epsilonFromRdp(TF_PRIVACY_ORDERS, rdp, 1e-5).epsilon;
    // Assess
    expect(classic.toFixed(2)).toBe('3.01');
    expect(improved).toBeLessThan(classic);
    expect(improved).toBeCloseTo(2.597, 3);
  });

  it('converts RDP to (ε, δ) as dp_accounting does (pure-DP constant and the exact Gaussian case)', () => {
    // rdp_privacy_accountant_test.py: constant RDP 1.1 on orders 2..32 at δ 1e-5 → 1.32783806176 at 32;
    // the unsampled Gaussian with σ 4.530877117 is exactly (1, 1e-6)-DP.
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const pure = epsilonFromRdp(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    const fine = Array.from({ length: 98_999 }, (_, i) => 1.001 + 0.001 * i);
    const gaussian = epsilonFromRdp(fine, subsampledGaussianRdp(1, 4.530877117, fine), 1e-6);
    expect(pure.epsilon).toBeCloseTo(1.32783806176, 9);
    expect(pure.order).toBe(32);
    expect(gaussian.epsilon).toBeCloseTo(1, 6);
  });

  it('chooses the smallest noise multiplier that meets a target ε', () => {
    // Prepare
    const schedule = { samplingProbability: 256 / 905, steps: 120 };
    // Act
    const sigma = noiseMultiplierForEpsilon(3, schedule, 1e-5);
    // Assess
    expect(dpSgdEpsilon({ ...schedule, noiseMultiplier: sigma }, 1e-5).epsilon).toBeLessThanOrEqual(3);
    expect(dpSgdEpsilon({ ...schedule, noiseMultiplier: sigma * 0.995 }, 1e-5).epsilon).toBeGreaterThan(3);
  });

  it('spends more ε with more steps, a larger sampling rate or less noise', () => {
    const at = (q: number, sigma: number, steps: number) =>
      dpSgdEpsilon({ samplingProbability: q, noiseMultiplier: sigma, steps }, 1e-5).epsilon;
    expect(at(0.1, 2, 200)).toBeGreaterThan(at(0.1, 2, 100));
    expect(at(0.2, 2, 100)).toBeGreaterThan(at(0.1, 2, 100));
    expect(at(0.1, 1.5, 100)).toBeGreaterThan(at(0.1, 2, 100));
    expect(at(0, 2, 100)).toBe(0);
  });

  it('defaults δ to min(1e-5, n^-1.1) and names the field of a bad setting', () => {
    expect(defaultDelta(927)).toBe(1e-5);
    expect(defaultDelta(1_000_000)).toBeCloseTo(1e6 ** -1.1, 20);
    expect(() => defaultDelta(0)).toThrow(ModelInputError);
    expect(() => epsilonFromRdp(DEFAULT_RDP_ORDERS, [1], 1e-5)).toThrow(/rdp: needs one value per order/);
    expect(() => subsampledGaussianRdp(1.5, 1, [2])).toThrow(/samplingProbability: must be in \[0, 1\]/);
    expect(() => noiseMultiplierForEpsilon(0, { samplingProbability: 0.1, steps: 10 }, 1e-5)).toThrow(
      /targetEpsilon/,
    );
  });
});
