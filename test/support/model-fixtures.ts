import type { MetricSummary } from '../../shared/model/model-metadata';

/** Metrics of one scorer; tests override the fields they exercise. */
export function metricsFactory(overrides: Partial<MetricSummary> = {}): MetricSummary {
  return {
    rocAuc: 0.8,
    rocAucCi95: { lower: 0.78, upper: 0.82 },
    prAuc: 0.3,
    logLoss: 0.2,
    brierScore: 0.05,
    expectedCalibrationError: 0.01,
    ...overrides,
  };
}
