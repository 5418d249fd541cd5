import { parseAudienceSet, type AudienceCondition } from '../../../shared/audiences/audience-definition';
import {
  type AudienceSubject,
  compileAudienceSet,
  cosineToCentroid,
  evaluateMembership,
} from '../../../shared/audiences/audience-evaluation';
import { profileExtrasOf, membershipChanges } from '../../../shared/audiences/profile-extras';
import { emptyProfile } from '../../../shared/profile/profile-state';
import { computeTraits } from '../../../shared/traits/computed-traits';

const NOW = Date.UTC(2026, 5, 1, 12);
const DAY_MS = 86_400_000;

function subject(
  overrides: { propensity?: number; orders?: number; daysSincePurchase?: number; embedding?: number[] } = {},
): AudienceSubject {
  const state = emptyProfile('u-1');
  state.firstSeenAt = NOW - 200 * DAY_MS;
  state.lastEventAt = NOW;
  if (overrides.daysSincePurchase !== undefined) {
    state.lastPurchaseAt = Math.floor((NOW - overrides.daysSincePurchase * DAY_MS) / 1000);
    state.orderCount = overrides.orders ?? 1;
    state.revenueCents = 100_00;
  }
  return {
    state,
    traits: computeTraits(state),
    ...(overrides.propensity === undefined
      ? {}
      : {
          score: {
            propensity: overrides.propensity,
            modelVersion: 'm1',
            scoredAt: NOW,
            ...(overrides.embedding === undefined
              ? {}
              : { embedding: { scale: 0.01, bytes: Int8Array.from(overrides.embedding) } }),
          },
        }),
    centroids: { 'recent-buyers': [1, 0] },
  };
}

const holds = (condition: AudienceCondition, s: AudienceSubject) =>
  compileAudienceSet(
    parseAudienceSet({ audienceSetVersion: 1, audiences: [{ id: 'a', description: 'd', condition }] }),
  ).holds(s)[0];

describe('audience evaluation', () => {
  const likely = { field: 'purchaseProbability', gte: 0.5 } as const;
  const buyer = { event: 'purchase', withinHours: 24 * 10 } as const;

  it('combines conditions with all, any and not', () => {
    const s = subject({ propensity: 0.8, daysSincePurchase: 30 });
    expect(holds(likely, s)).toBe(true);
    expect(holds(buyer, s)).toBe(false);
    expect(holds({ all: [likely, buyer] }, s)).toBe(false);
    expect(holds({ any: [likely, buyer] }, s)).toBe(true);
    expect(holds({ all: [likely, { not: buyer }] }, s)).toBe(true);
    expect(holds({ not: { any: [likely, buyer] } }, s)).toBe(false);
  });

  it('treats a value the profile lacks as false (no model → no probability)', () => {
    const s = subject();
    expect(holds(likely, s)).toBe(false);
    expect(holds({ not: likely }, s)).toBe(true);
    expect(holds({ field: 'daysSinceLastPurchase', lte: 1000 }, s)).toBe(false);
  });

  it('reads labels, counters and look-alike similarity', () => {
    const s = subject({ propensity: 0.1, daysSincePurchase: 120, embedding: [90, 10] });
    expect(holds({ field: 'lifecycle', in: ['lapsed', 'churned'] }, s)).toBe(true);
    expect(holds({ field: 'orders', eq: 1 }, s)).toBe(true);
    expect(holds({ similarTo: 'recent-buyers', gte: 0.9 }, s)).toBe(true);
    expect(holds({ similarTo: 'recent-buyers', gte: 0.999 }, s)).toBe(false);
    expect(holds({ similarTo: 'unknown-centroid', gte: 0 }, s)).toBe(false);
    expect(cosineToCentroid(Int8Array.from([3, 4]), [3, 4])).toBeCloseTo(1, 10);
  });

  it('keeps enteredAt while an audience holds, drops it on exit, and counts the changes', () => {
    const set = compileAudienceSet(
      parseAudienceSet({
        audienceSetVersion: 1,
        audiences: [
          { id: 'likely', description: 'd', condition: likely },
          { id: 'unlikely', description: 'd', condition: { not: likely } },
        ],
      }),
    );
    const first = evaluateMembership(set, subject({ propensity: 0.9 }), undefined, 1000);
    expect(first).toEqual({ likely: 1000 });
    expect(evaluateMembership(set, subject({ propensity: 0.7 }), first, 2000)).toEqual({ likely: 1000 });
    const after = evaluateMembership(set, subject({ propensity: 0.1 }), { ...first, removed: 5 }, 3000);
    expect(after).toEqual({ unlikely: 3000 });
    expect(membershipChanges(first, after)).toEqual({ entered: 1, exited: 1 });
  });

  it('keeps the stored membership when no set is loaded', () => {
    const s = subject();
    expect(profileExtrasOf(s.state, undefined, undefined, undefined, { kept: 7 }).audiences).toEqual({
      kept: 7,
    });
  });
});
