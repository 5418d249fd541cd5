import fc from 'fast-check';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import { hasAppliedRecord } from '../../../infra/client/applied-record';
import { foldIntoTarget, freezeAsRedirect, mergeProfiles } from '../../../shared/profile/profile-merge';
import { makeEvent, sequenced, sequenceNumberOf } from '../../support/factories';
import { envelopedEvents } from '../../support/profile-fixtures';

const USER_SHARD = 'shardId-000000000001';
const ANON_SHARD = 'shardId-000000000002';

/** A user's and an anonymous id's streams, and where the identify cuts the anonymous one. */
const streams = fc
  .tuple(envelopedEvents, fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }), fc.nat(10))
  .map(([events, onAnon, cut]) => {
    const own: ContractEvent[] = [];
    const anon: ContractEvent[] = [];
    events.forEach((e, i) => {
      const event: ContractEvent = { ...e, type: e.type === 'identify' ? 'login' : e.type };
      delete event.anonymousId;
      if (onAnon[i % onAnon.length]) {
        delete event.userId;
        anon.push({ ...event, anonymousId: 'a-9', eventId: `anon-${i}` });
      } else own.push({ ...event, userId: 'u-1' });
    });
    return { own, anon, cut: Math.min(cut, anon.length) };
  });

describe('hasAppliedRecord (properties)', () => {
  it('finds every record of a merged anonymous id, before the freeze and through the redirect, and no later one', () => {
    fc.assert(
      fc.property(streams, ({ own, anon, cut }) => {
        // Prepare: the first `cut` anonymous records frozen with the redirect, the rest applied to the user
        const userRecords = sequenced(own, USER_SHARD);
        const anonRecords = sequenced(anon, ANON_SHARD);
        const linkedAt = { occurredAt: own[0]?.occurredAt ?? anon[0]?.occurredAt ?? 0 };
        // Act
        const frozen = freezeAsRedirect(undefined, 'a-9', 'u-1', linkedAt, anonRecords.slice(0, cut)).source;
        const user = foldIntoTarget(
          mergeProfiles(foldIntoTarget(undefined, userRecords, 'u-1', () => undefined).state, frozen),
          anonRecords.slice(cut),
          'u-1',
          () => undefined,
        ).state;
        // Assess
        const applied = (profileId: string, seq: string, readUser = true) =>
          hasAppliedRecord(
            profileId,
            profileId === 'u-1' ? user : frozen.state,
            readUser ? user : undefined,
            profileId === 'u-1' ? USER_SHARD : ANON_SHARD,
            seq,
          );
        for (const r of anonRecords) expect(applied('anon:a-9', r.sequenceNumber)).toBe(true);
        for (const r of userRecords) expect(applied('u-1', r.sequenceNumber)).toBe(true);
        // Records after the redirect are not in the frozen item's own marks: the user must be read too.
        for (const r of anonRecords.slice(cut)) {
          expect(applied('anon:a-9', r.sequenceNumber, false)).toBe(false);
        }
        const next = (records: typeof anonRecords) =>
          sequenceNumberOf(BigInt(records.at(-1)?.sequenceNumber ?? sequenceNumberOf(999n)) + 1n);
        expect(applied('anon:a-9', next(anonRecords))).toBe(false);
        expect(applied('u-1', next(userRecords))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('is false for a profile not stored yet, and for a shard the marks do not name', () => {
    // Prepare
    const state = foldIntoTarget(
      undefined,
      sequenced([makeEvent({ userId: 'u-1' })], USER_SHARD),
      'u-1',
      () => undefined,
    ).state;
    // Act, Assess
    const first = sequenceNumberOf(1000n);
    expect(hasAppliedRecord('u-1', undefined, undefined, USER_SHARD, first)).toBe(false);
    expect(hasAppliedRecord('u-1', state, undefined, USER_SHARD, first)).toBe(true);
    expect(hasAppliedRecord('u-1', state, undefined, ANON_SHARD, first)).toBe(false);
  });
});
