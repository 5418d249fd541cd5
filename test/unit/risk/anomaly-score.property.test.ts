/**
 * `assessRisk` with its contributions spelled out per signal against the loop over the signal names it
 * replaced (frozen below as it was at 6f0dc4e): the same doubles, for any profile and any scoring.
 */
import fc from 'fast-check';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import type { ProfileState } from '../../../shared/profile/profile-state';
import {
  assessRisk,
  DEFAULT_RISK_SCORING,
  RISK_SIGNALS,
  riskSignalsOf,
  type RiskAssessment,
  type RiskScoring,
  type RiskSignal,
} from '../../../shared/risk/anomaly-score';
import { sequenced } from '../../support/factories';
import { envelopedEvents } from '../../support/profile-fixtures';

/** FROZEN: `assessRisk` at 6f0dc4e. */
function assessRiskAt6f0dc4e(
  state: ProfileState,
  scoring: RiskScoring = DEFAULT_RISK_SCORING,
): RiskAssessment {
  const signals = riskSignalsOf(state, scoring);
  const contributions = {} as Record<RiskSignal, number>;
  let evidence = 0;
  for (const name of RISK_SIGNALS) {
    const { normal, alarming, weight } = scoring.signals[name];
    const ramp = Math.min(1, Math.max(0, (signals[name] - normal) / (alarming - normal)));
    contributions[name] = weight * ramp;
    evidence += contributions[name];
  }
  const anomalyScore = 1 / (1 + Math.exp(-scoring.steepness * (evidence - scoring.midpoint)));
  return { anomalyScore, evidence, signals, contributions };
}

const anyProfile = envelopedEvents.map(
  (events) => applyEventsToProfile(undefined, sequenced(events), 'u-1').state,
);
const finite = fc.double({ min: -100, max: 100, noNaN: true });
const ramp = fc
  .record({ normal: finite, alarming: finite, weight: fc.double({ min: 0, max: 5, noNaN: true }) })
  .filter((r) => r.normal !== r.alarming);
const anyScoring: fc.Arbitrary<RiskScoring> = fc.record({
  signals: fc.record({
    peakPerMinute: ramp,
    gapRegularity: ramp,
    viewsWithoutCart: ramp,
    loginBurst: ramp,
    newFingerprint: ramp,
    recentPurchases: ramp,
  }),
  midpoint: finite,
  steepness: fc.double({ min: 0.01, max: 20, noNaN: true }),
  minGaps: fc.integer({ min: 1, max: 20 }),
  loginWindowSeconds: fc.integer({ min: 1, max: 7200 }),
});

describe('assessRisk', () => {
  it('gives the same score, evidence, signals and contributions as the loop it replaced, in the same order', () => {
    fc.assert(
      fc.property(anyProfile, fc.option(anyScoring, { nil: undefined }), (state, scoring) => {
        // Act
        const risk = assessRisk(state, scoring);
        // Assess
        const reference = assessRiskAt6f0dc4e(state, scoring);
        expect(Object.is(risk.anomalyScore, reference.anomalyScore)).toBe(true);
        expect(Object.is(risk.evidence, reference.evidence)).toBe(true);
        expect(JSON.stringify(risk)).toBe(JSON.stringify(reference));
      }),
    );
  });
});
