/**
 * The pipeline checks stored profiles against a reference fold in delivery order. A merged profile's
 * records come from two shards (the user's and the cookie's), whose consumers interleave as they
 * will; `agreementWithReference` accepts exactly the differences the order envelope of
 * `shared/profile/apply-events.ts` allows, and nothing else.
 */
import fc from 'fast-check';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import { IdentityFold } from '../../../shared/profile/profile-merge';
import type { ProfileState } from '../../../shared/profile/profile-state';
import { agreementWithReference } from '../../../infra/local/reference-fold';
import { sequenced } from '../../support/factories';
import { USER, visitor } from '../../support/identified-visitor';

/** The user as `IdentityFold` leaves it after `records`, each key's records on its own shard. */
function foldedUser(records: readonly ContractEvent[]): ProfileState {
  const userShard = sequenced(
    records.filter((e) => e.userId !== undefined),
    'shardId-000000000001',
  );
  const cookieShard = sequenced(
    records.filter((e) => e.userId === undefined),
    'shardId-000000000002',
    5000n,
  );
  const byEvent = new Map([...userShard, ...cookieShard].map((s) => [s.event, s]));
  const fold = new IdentityFold();
  for (const record of records) fold.apply(byEvent.get(record)!);
  return fold.states.get(USER)!;
}

/**
 * `delivered` as two consumers could process it: each key's records in delivery order, the two
 * shards taking turns as `turns` says.
 */
function interleaved(delivered: readonly ContractEvent[], turns: readonly boolean[]): ContractEvent[] {
  const user = delivered.filter((e) => e.userId !== undefined);
  const cookie = delivered.filter((e) => e.userId === undefined);
  const out: ContractEvent[] = [];
  for (let turn = 0; user.length + cookie.length > 0; turn++) {
    const fromUser = cookie.length === 0 || (user.length > 0 && turns[turn % turns.length]!);
    out.push((fromUser ? user : cookie).shift()!);
  }
  return out;
}

const merged = (state: ProfileState): ProfileState => {
  expect(state.merges.length).toBeGreaterThan(0);
  return state;
};

describe('agreementWithReference', () => {
  it("accepts any interleaving of a merged user's two shards: exact, or different only inside the order envelope (property)", () => {
    const seen = { exact: 0, 'order-envelope': 0 };
    fc.assert(
      fc.property(visitor, fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (delivered, turns) => {
        // Act
        const reference = foldedUser(delivered);
        const processed = foldedUser(interleaved(delivered, turns));
        const agreement = agreementWithReference(processed, reference);
        // Assess
        expect(agreement).not.toBe('differs');
        seen[agreement as keyof typeof seen]++;
      }),
      { numRuns: 500 },
    );
    // Both outcomes occur: the envelope is needed, and it is not all the comparison ever says.
    expect(seen.exact).toBeGreaterThan(0);
    expect(seen['order-envelope']).toBeGreaterThan(0);
  });

  it('refuses a difference outside the envelope in a merged profile, and any difference in an unmerged one', () => {
    fc.assert(
      fc.property(visitor, (delivered) => {
        // Prepare
        const reference = merged(foldedUser(delivered));
        const unmerged: ProfileState = { ...reference, merges: [] };
        // Act / Assess: lifetime counts, recent products and a decay beyond its bound are never the order's
        expect(agreementWithReference(reference, reference)).toBe('exact');
        const counts = reference.counts.map((c, i) => (i === 0 ? c + 1 : c));
        expect(agreementWithReference({ ...reference, counts }, reference)).toBe('differs');
        const recentProducts = [...reference.recentProducts, { key: 'p-elsewhere', at: 1 }];
        expect(agreementWithReference({ ...reference, recentProducts }, reference)).toBe('differs');
        const bound = reference.counts.reduce((a, b) => a + b, 0) + 2;
        const decays = reference.decays.map((d, i) => (i === 0 ? d + bound + 1 : d));
        expect(agreementWithReference({ ...reference, decays }, reference)).toBe('differs');
        // Sessions follow the interleaving only in a merged profile.
        const sessions = { sessionCount: reference.sessionCount + 1 };
        expect(agreementWithReference({ ...reference, ...sessions }, reference)).toBe('order-envelope');
        expect(agreementWithReference({ ...unmerged, ...sessions }, unmerged)).toBe('differs');
      }),
      { numRuns: 100 },
    );
  });
});
