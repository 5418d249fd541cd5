import type { ContractEvent } from '../../../shared/contract/event-contract';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import {
  assessRisk,
  DEFAULT_RISK_SCORING,
  riskScoringSchema,
  SUSPICIOUS_SCORE,
} from '../../../shared/risk/anomaly-score';
import {
  decodeProfileItem,
  encodeProfileItem,
  profileItemSchema,
} from '../../../shared/profile/profile-item-codec';
import { makeEvent, sequenced, T0 } from '../../support/factories';
import { BUILT_IN_AUDIENCES } from '../../../shared/audiences/audience-definition';
import { compileAudienceSet, evaluateMembership } from '../../../shared/audiences/audience-evaluation';
import { computeTraits } from '../../../shared/traits/computed-traits';

const fold = (events: ContractEvent[]) => applyEventsToProfile(undefined, sequenced(events), 'u-1').state;
const hash = (n: number) => n.toString(16).padStart(8, '0').repeat(4);

/** A regular shopper: a week of one device and network, a visit a day. */
function shopperHistory(): ContractEvent[] {
  const events: ContractEvent[] = [];
  for (let day = 0; day < 7; day++) {
    const at = T0 + day * 86_400_000;
    const context = { deviceHash: hash(1), networkHash: hash(1) };
    events.push(makeEvent({ type: 'login', occurredAt: at, context }));
    events.push(makeEvent({ type: 'product_view', productId: 'p1', occurredAt: at + 40_000, context }));
  }
  return events;
}

describe('anomaly score', () => {
  it('stays low for a regular shopper', () => {
    // Act
    const risk = assessRisk(fold(shopperHistory()));
    // Assess
    expect(risk.anomalyScore).toBeLessThan(0.05);
    expect(risk.signals.loginBurst).toBe(1);
  });

  it('flags a takeover: new device and network, a login burst, a purchase — and says why', () => {
    // Prepare
    const start = T0 + 7 * 86_400_000;
    const context = { deviceHash: hash(9), networkHash: hash(9) };
    const attack = [0, 20, 40, 60, 80].map((s) =>
      makeEvent({ type: 'login', occurredAt: start + s * 1000, context }),
    );
    attack.push(
      makeEvent({ type: 'purchase', orderId: 'o-1', revenue: 2400, occurredAt: start + 200_000, context }),
    );
    // Act
    const risk = assessRisk(fold([...shopperHistory(), ...attack]));
    // Assess
    expect(risk.anomalyScore).toBeGreaterThanOrEqual(SUSPICIOUS_SCORE);
    expect(risk.signals.newFingerprint).toBe(2);
    expect(risk.contributions.loginBurst).toBe(1);
    expect(risk.contributions.newFingerprint).toBe(1);
  });

  it('puts the takeover, not the shopper, into the built-in suspicious audience', () => {
    // Prepare
    const start = T0 + 7 * 86_400_000;
    const context = { deviceHash: hash(9), networkHash: hash(9) };
    const attack = [0, 20, 40, 60, 80].map((s) =>
      makeEvent({ type: 'login', occurredAt: start + s * 1000, context }),
    );
    const set = compileAudienceSet(BUILT_IN_AUDIENCES);
    const audiencesOf = (events: ContractEvent[]) => {
      const state = fold(events);
      return Object.keys(evaluateMembership(set, { state, traits: computeTraits(state) }, undefined, 1));
    };
    // Act / Assess
    expect(audiencesOf([...shopperHistory(), ...attack])).toContain('suspicious');
    expect(audiencesOf(shopperHistory())).not.toContain('suspicious');
  });

  it('flags a crawler: fast, regular product views and no cart', () => {
    // Prepare
    const views = Array.from({ length: 120 }, (_, i) =>
      makeEvent({
        type: 'product_view',
        productId: `p${i}`,
        anonymousId: 'a-1',
        userId: undefined,
        occurredAt: T0 + i * 1300,
      }),
    );
    // Act
    const state = applyEventsToProfile(undefined, sequenced(views), 'anon:a-1').state;
    const risk = assessRisk(state);
    // Assess
    expect(risk.signals.peakPerMinute).toBe(16);
    expect(risk.signals.gapRegularity).toBeLessThan(0.1);
    expect(risk.anomalyScore).toBeGreaterThan(0.99);
  });

  it('stores the score as a plain attribute and the signals in state, and decodes the state exactly', () => {
    // Prepare
    const state = fold([
      ...shopperHistory(),
      makeEvent({ type: 'login', occurredAt: T0 + 8 * 86_400_000, context: { deviceHash: hash(3) } }),
    ]);
    // Act
    const item = encodeProfileItem(state, { version: 1 });
    // Assess
    expect(profileItemSchema.safeParse(item).error).toBeUndefined();
    expect(item.riskScore).toBeCloseTo(assessRisk(state).anomalyScore, 4);
    // The signals themselves are bookkeeping, packed in `state` (v5); the round trip below shows they are kept.
    expect(state.risk.logins).toHaveLength(4);
    expect(decodeProfileItem(item).state).toEqual(state);
  });

  it('refuses a configuration whose ramp has no width, naming the field', () => {
    // Prepare
    const bad = {
      ...DEFAULT_RISK_SCORING,
      signals: { ...DEFAULT_RISK_SCORING.signals, loginBurst: { normal: 2, alarming: 2, weight: 1 } },
    };
    // Act
    const result = riskScoringSchema.safeParse(bad);
    // Assess
    expect(result.error?.issues[0]?.path).toEqual(['signals', 'loginBurst']);
    expect(riskScoringSchema.safeParse(DEFAULT_RISK_SCORING).success).toBe(true);
  });
});
