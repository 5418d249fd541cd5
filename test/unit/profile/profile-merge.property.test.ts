import fc from 'fast-check';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import { freezeAsRedirect, foldIntoTarget, mergeProfiles } from '../../../shared/profile/profile-merge';
import { sequenced } from '../../support/factories';
import { envelopedEvents } from '../../support/profile-fixtures';

/**
 * Without the stream bookkeeping (marks, the alias's own dedupe window), which the two routes build
 * differently, and two risk signals a merge takes from one side (`mergeRiskStates`): the gap rhythm
 * (the side that measured more gaps; the union's fold measures gaps across both streams) and the peak
 * per minute (the larger side's; the union's fold counts both windows' entries of a minute together).
 */
const withoutMarks = <
  T extends {
    shardMarks: unknown;
    merges: { shardMarks: unknown; dedupe: unknown }[];
    risk: { gapMs: number; gapDevMs: number; gaps: number; peakPerMinute: number };
  },
>(
  s: T,
) => ({
  ...s,
  risk: { ...s.risk, gapMs: 0, gapDevMs: 0, gaps: 0, peakPerMinute: 0 },
  shardMarks: [],
  merges: s.merges.map((m) => ({ ...m, shardMarks: [], dedupe: [] })),
});

/** Enveloped events split between user `u-1` and anonymous `a-9`, every other one a purchase of a shared order. */
const split = fc
  .tuple(envelopedEvents, fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }))
  .filter(([events]) => events.length <= 8)
  .map(([events, onAnon]) => {
    const own: ContractEvent[] = [];
    const anon: ContractEvent[] = [];
    events.forEach((e, i) => {
      const event: ContractEvent = { ...e, type: e.type === 'identify' ? 'login' : e.type };
      delete event.anonymousId;
      if (i % 2 === 1) Object.assign(event, { type: 'purchase', orderId: `o${i % 4}`, revenue: 10 });
      if (onAnon[i]) {
        delete event.userId;
        anon.push({ ...event, anonymousId: 'a-9', eventId: `anon-${i}` });
      } else own.push(event);
    });
    return { own, anon };
  });

describe('mergeProfiles (properties, inside the envelope)', () => {
  it('is a homomorphism of the fold: merging the anonymous fold equals redirecting its events', () => {
    fc.assert(
      fc.property(split, fc.boolean(), ({ own, anon }, anonFirst) => {
        // Prepare
        const userRecords = sequenced(own, 'shardId-000000000001');
        const anonRecords = sequenced(anon, 'shardId-000000000002');
        const linkedAt = { occurredAt: own[0]?.occurredAt ?? anon[0]!.occurredAt };
        // Act: (a) the anonymous history folded, frozen and merged; (b) merged empty, its events redirected
        const frozen = freezeAsRedirect(undefined, 'a-9', 'u-1', linkedAt, anonRecords).source;
        const user = foldIntoTarget(undefined, userRecords, 'u-1', () => undefined).state;
        const merged = anonFirst
          ? mergeProfiles(user, frozen)
          : foldIntoTarget(
              mergeProfiles(foldIntoTarget(undefined, [], 'u-1', () => undefined).state, frozen),
              userRecords,
              'u-1',
              () => undefined,
            ).state;
        const empty = freezeAsRedirect(undefined, 'a-9', 'u-1', linkedAt, []).source;
        const redirected = foldIntoTarget(
          mergeProfiles(user, empty),
          anonRecords,
          'u-1',
          () => undefined,
        ).state;
        // Assess
        expect(withoutMarks(merged)).toEqual(withoutMarks(redirected));
        expect(merged.counts.reduce((a, b) => a + b, 0)).toBe(own.length + anon.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('mergeProfiles (the source)', () => {
  it('leaves the frozen source as it was, however the merged profile is folded on', () => {
    fc.assert(
      fc.property(split, fc.integer({ min: 0, max: 8 }), ({ own, anon }, cut) => {
        // Prepare: the anonymous profile frozen with its first `cut` events, the user's own folded
        const anonRecords = sequenced(anon, 'shardId-000000000002');
        const userRecords = sequenced(own, 'shardId-000000000001');
        const linkedAt = { occurredAt: own[0]?.occurredAt ?? anon[0]!.occurredAt };
        const frozen = freezeAsRedirect(undefined, 'a-9', 'u-1', linkedAt, anonRecords.slice(0, cut)).source;
        const before = structuredClone(frozen.state);
        const user = foldIntoTarget(undefined, userRecords, 'u-1', () => undefined).state;
        // Act: merged, then the anonymous profile's later events through the redirect (they move the
        // merge's marks, dedupe window and session) and later own events (cart, decays, categories)
        const merged = mergeProfiles(user, frozen);
        const later = own.map((e, i) => ({
          ...e,
          eventId: `later-${i}`,
          occurredAt: e.occurredAt + 3_600_000,
        }));
        foldIntoTarget(
          merged,
          [...anonRecords.slice(cut), ...sequenced(later, 'shardId-000000000001', 5000n)],
          'u-1',
          () => undefined,
          true,
        );
        // Assess
        expect(frozen.state).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });
});

describe('foldIntoTarget (owned state)', () => {
  it('folds a state handed over in place to exactly what the pure fold returns, merges included', () => {
    fc.assert(
      fc.property(split, fc.integer({ min: 0, max: 8 }), ({ own, anon }, cut) => {
        // Prepare: a stored user profile (the first `cut` own records), then a batch of the rest with
        // an identify of the anonymous profile, whose frozen state the batch merges
        const records = sequenced(
          [
            ...own,
            { ...own[0]!, ...{ type: 'identify' as const, eventId: 'identify-1', anonymousId: 'a-9' } },
          ].filter((e) => e !== undefined && e.userId !== undefined),
          'shardId-000000000001',
        );
        if (records.length === 0) return;
        const stored = foldIntoTarget(undefined, records.slice(0, cut), 'u-1', () => undefined).state;
        const frozen = freezeAsRedirect(
          undefined,
          'a-9',
          'u-1',
          records[0]!.event,
          sequenced(anon, 'shardId-000000000002'),
        ).source;
        const batch = records.slice(cut);
        const resolve = (anonymousId: string) => (anonymousId === 'a-9' ? frozen : undefined);
        const before = structuredClone(stored);
        const handedOver = structuredClone(stored);
        // Act
        const pure = foldIntoTarget(stored, batch, 'u-1', resolve);
        const owned = foldIntoTarget(handedOver, batch, 'u-1', resolve, true);
        // Assess: the same result; the pure fold left its input alone, the owned one returned it (no merge)
        // or a merged copy of it
        expect(owned).toEqual(pure);
        expect(stored).toEqual(before);
        if (owned.merged === 0) expect(owned.state).toBe(handedOver);
      }),
      { numRuns: 200 },
    );
  });
});
