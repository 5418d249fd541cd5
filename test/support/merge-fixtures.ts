/** States of users with merged anonymous profiles, for the item codec tests (v4 and v5). */
import fc from 'fast-check';
import type { ContractEvent } from '../../shared/contract/event-contract';
import { applyEventsToProfile } from '../../shared/profile/apply-events';
import { freezeAsRedirect, mergeProfiles } from '../../shared/profile/profile-merge';
import type { ProfileState } from '../../shared/profile/profile-state';
import { sequenced } from './factories';
import { envelopedEvents } from './profile-fixtures';

const HOUR = 3_600_000;

/** The events of `events` as anonymous `anonymousId`'s own, shifted by `shiftMs`. */
function asAnonymous(
  events: readonly ContractEvent[],
  anonymousId: string,
  shiftMs: number,
): ContractEvent[] {
  return events.map((e, i) => {
    const event: ContractEvent = {
      ...e,
      type: e.type === 'identify' ? 'login' : e.type,
      eventId: `${anonymousId}-${i}`,
      anonymousId,
      occurredAt: e.occurredAt + shiftMs,
    };
    delete event.userId;
    return event;
  });
}

/**
 * A user `u-1` (whose identifies link some of `a1`–`a3` as aliases) with 1–4 of `a1`–`a4` merged: each
 * frozen from its own history on its own shard (or none), linked before or after the user's latest event.
 */
export const userWithMerges: fc.Arbitrary<ProfileState> = fc
  .tuple(
    envelopedEvents,
    fc.uniqueArray(fc.constantFrom('a1', 'a2', 'a3', 'a4'), { minLength: 1, maxLength: 4 }),
    fc.array(
      fc.record({
        events: fc.option(envelopedEvents, { nil: undefined }),
        shiftMs: fc.integer({ min: -48 * HOUR, max: 48 * HOUR }),
        linkOffsetMs: fc.integer({ min: -48 * HOUR, max: 48 * HOUR }),
        sessionId: fc.option(fc.constantFrom('s-1', 's-2'), { nil: undefined }),
      }),
      { minLength: 4, maxLength: 4 },
    ),
  )
  .map(([own, ids, sources]) => {
    let user = applyEventsToProfile(undefined, sequenced(own), 'u-1').state;
    ids.forEach((anonymousId, i) => {
      const { events, shiftMs, linkOffsetMs, sessionId } = sources[i]!;
      const records = sequenced(
        asAnonymous(events ?? [], anonymousId, shiftMs),
        `shardId-00000000000${i + 2}`,
      );
      const identify = { occurredAt: user.lastEventAt + linkOffsetMs, sessionId };
      const { source } = freezeAsRedirect(undefined, anonymousId, 'u-1', identify, records);
      user = mergeProfiles(user, source);
    });
    return user;
  });
