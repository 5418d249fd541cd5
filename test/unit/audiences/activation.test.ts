import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  ACTIVATION_LOG_LIMITS,
  activationEventId,
  rememberedTransitions,
  transitionsOf,
  type AudienceLog,
} from '../../../shared/audiences/activation';
import type { AudienceMembership } from '../../../shared/audiences/audience-evaluation';

const T = Date.UTC(2026, 10, 27, 12);
const DAY = 24 * 60 * 60 * 1000;

describe('transitionsOf', () => {
  it('emits entries and exits of the committed version, with stable ids, and logs them', () => {
    // Act
    const { events, log } = transitionsOf('u1', { a: T - 5, b: T - 5 }, { b: T - 5, c: T }, undefined, 7, T);
    // Assess
    expect(events).toEqual([
      {
        schemaVersion: 1,
        id: activationEventId('u1', 'c', 'entered', 7),
        kind: 'entered',
        audienceId: 'c',
        profileId: 'u1',
        profileVersion: 7,
        at: T,
      },
      {
        schemaVersion: 1,
        id: activationEventId('u1', 'a', 'exited', 7),
        kind: 'exited',
        audienceId: 'a',
        profileId: 'u1',
        profileVersion: 7,
        at: T,
      },
    ]);
    // b was a member before the log existed: nothing of it to re-emit, so no entry
    expect(log).toEqual({ c: [7], a: [7, T] });
    expect(rememberedTransitions('u1', { b: T - 5, c: T }, log)).toEqual(
      expect.arrayContaining(events.map((e) => expect.objectContaining({ id: e.id }))),
    );
  });

  it('gives distinct ids to distinct (profile, audience, kind, version) and the same id to the same', () => {
    const ids = new Set([
      activationEventId('u1', 'a', 'entered', 1),
      activationEventId('u1', 'a', 'entered', 2),
      activationEventId('u1', 'a', 'exited', 1),
      activationEventId('u1', 'b', 'entered', 1),
      activationEventId('u2', 'a', 'entered', 1),
      activationEventId('u1a', '', 'entered', 1),
    ]);
    expect(ids.size).toBe(6);
    expect(activationEventId('u1', 'a', 'entered', 1)).toMatch(/^[0-9a-f]{32}$/);
    expect(activationEventId('u1', 'a', 'entered', 1)).toBe(activationEventId('u1', 'a', 'entered', 1));
  });

  it(`forgets exits after ${ACTIVATION_LOG_LIMITS.exitRetentionMs / DAY} days and beyond ${ACTIVATION_LOG_LIMITS.maxExits} of them`, () => {
    const old: AudienceLog = { gone: [3, T - 8 * DAY], recent: [4, T - DAY] };
    expect(transitionsOf('u1', undefined, undefined, old, 9, T).log).toEqual({ recent: [4, T - DAY] });
    const many: AudienceMembership = {};
    for (let i = 0; i < 12; i++) many[`a${i}`] = T;
    const { log } = transitionsOf('u1', many, {}, undefined, 5, T);
    expect(Object.keys(log!)).toHaveLength(ACTIVATION_LOG_LIMITS.maxExits);
  });

  it('remembers, after any history, only transitions that history emitted, and the latest of each member', () => {
    const audiences = ['a', 'b', 'c'];
    fc.assert(
      fc.property(fc.array(fc.subarray(audiences), { minLength: 1, maxLength: 12 }), (steps) => {
        let membership: AudienceMembership | undefined;
        let log: AudienceLog | undefined;
        const emitted = new Set<string>();
        steps.forEach((members, i) => {
          const next: AudienceMembership = {};
          for (const id of members) next[id] = membership?.[id] ?? T + i;
          const committed = transitionsOf('u1', membership, next, log, i + 1, T + i);
          for (const e of committed.events) emitted.add(e.id);
          membership = next;
          log = committed.log;
        });
        const remembered = rememberedTransitions('u1', membership, log);
        for (const e of remembered) expect(emitted).toContain(e.id);
        for (const id in membership) expect(remembered.some((e) => e.audienceId === id)).toBe(true);
      }),
    );
  });
});

describe('activationEventId', () => {
  it('is the first 32 hex digits of SHA-256 over the tuple joined by unit separators, as it always was', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.constantFrom('entered' as const, 'exited' as const),
        fc.nat(),
        (profileId, audienceId, kind, version) => {
          // Act
          const id = activationEventId(profileId, audienceId, kind, version);
          // Assess: the id at 6f0dc4e, computed with createHash
          const reference = createHash('sha256')
            .update(`${profileId}\u001f${audienceId}\u001f${kind}\u001f${version}`, 'utf8')
            .digest('hex')
            .slice(0, 32);
          expect(id).toBe(reference);
        },
      ),
    );
  });
});
