import { profileIdOf, type ContractEvent } from '../../../shared/contract/event-contract';
import {
  applyEventsToProfile,
  categoryKeyOf,
  normaliseSearchTerm,
  ProfileMismatchError,
} from '../../../shared/profile/apply-events';
import { decayAnchor, decayValueAt } from '../../../shared/profile/fixed-point-decay';
import {
  cartView,
  DECAYED_EVENT_TYPES,
  emptyProfile,
  HALF_LIVES_MS,
  PROFILE_LIMITS,
  UNKNOWN_CATEGORY,
  type ProfileState,
} from '../../../shared/profile/profile-state';
import { makeEvent, sequenced, SHARD, T0 } from '../../support/factories';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function profileOf(events: ContractEvent[], state?: ProfileState): ProfileState {
  return applyEventsToProfile(state, sequenced(events), events[0] ? profileIdOfFirst(events[0]) : 'u-1')
    .state;
}
function profileIdOfFirst(e: ContractEvent): string {
  return e.userId ?? `anon:${e.anonymousId!}`;
}
function decayedNow(state: ProfileState, type: (typeof DECAYED_EVENT_TYPES)[number], h: number): number {
  const slot = DECAYED_EVENT_TYPES.indexOf(type);
  const halfLife = HALF_LIVES_MS[h]!;
  const value = state.decays[slot * HALF_LIVES_MS.length + h]!;
  return decayValueAt(value, halfLife, decayAnchor(state.lastEventAt, halfLife), state.lastEventAt);
}

describe('applyEventsToProfile rules', () => {
  it('keeps identity times, lifetime counts and decayed activity by event time', () => {
    // Prepare
    const events = [
      makeEvent({ type: 'product_view', productId: 'p1', occurredAt: T0 + HOUR }),
      makeEvent({ type: 'product_view', productId: 'p2', occurredAt: T0 }),
    ];
    // Act
    const state = profileOf(events);
    // Assess
    expect(state.firstSeenAt).toBe(T0);
    expect(state.lastEventAt).toBe(T0 + HOUR);
    expect(state.counts[1]).toBe(2);
    expect(decayedNow(state, 'product_view', 0)).toBeCloseTo(1.5, 2);
    expect(decayedNow(state, 'product_view', 2)).toBeCloseTo(2, 2);
  });

  it('uses "anon:<anonymousId>" profiles and refuses events of another profile', () => {
    // Prepare
    const anonymous = makeEvent({ userId: undefined, anonymousId: 'a-9' });
    // Act
    const result = applyEventsToProfile(undefined, sequenced([anonymous]), 'anon:a-9');
    // Assess
    expect(result.state.profileId).toBe('anon:a-9');
    expect(() => applyEventsToProfile(undefined, sequenced([anonymous]), 'u-1')).toThrow(
      ProfileMismatchError,
    );
  });

  it('keeps the last N distinct products viewed and normalised search terms, newest first', () => {
    // Prepare
    const views = Array.from({ length: 9 }, (_, i) =>
      makeEvent({ type: 'product_view', productId: `p${i % 7}`, occurredAt: T0 + i * MINUTE }),
    );
    const searches = ['  Red   SHOES ', 'lamp', 'red shoes', 'desk', 'chair'].map((query, i) =>
      makeEvent({ type: 'search', query, occurredAt: T0 + i * MINUTE }),
    );
    // Act
    const state = profileOf([...views, ...searches]);
    // Assess
    expect(state.recentProducts.map((e) => e.key)).toEqual(['p1', 'p0', 'p6', 'p5', 'p4', 'p3']);
    expect(state.recentProducts).toHaveLength(PROFILE_LIMITS.recentProducts);
    expect(state.recentSearches.map((e) => e.key)).toEqual(['chair', 'desk', 'red shoes']);
    expect(normaliseSearchTerm('x'.repeat(100))).toHaveLength(PROFILE_LIMITS.searchTermLength);
  });

  it('counts distinct orders, sums revenue in cents and clears the cart at purchase', () => {
    // Prepare
    const events = [
      makeEvent({ type: 'add_to_cart', productId: 'p1', price: 10.1, quantity: 2, occurredAt: T0 }),
      makeEvent({ type: 'purchase', orderId: 'o1', price: 10.1, quantity: 2, occurredAt: T0 + MINUTE }),
      makeEvent({ type: 'purchase', orderId: 'o1', revenue: 0.2, occurredAt: T0 + MINUTE }),
      makeEvent({ type: 'purchase', orderId: 'o2', revenue: 5, occurredAt: T0 + 2 * MINUTE }),
      makeEvent({ type: 'add_to_cart', productId: 'p2', price: 3, occurredAt: T0 + 3 * MINUTE }),
      makeEvent({ type: 'add_to_cart', productId: 'p3', occurredAt: T0 + 4 * MINUTE }),
      makeEvent({ type: 'remove_from_cart', productId: 'p3', occurredAt: T0 + 5 * MINUTE }),
      makeEvent({ type: 'add_to_cart', productId: 'p1', price: 10, occurredAt: T0 + 30_000 }),
    ];
    // Act
    const state = profileOf(events);
    // Assess
    expect(state.orderCount).toBe(2);
    expect(state.revenueCents).toBe(2020 + 20 + 500);
    expect(state.lastPurchaseAt).toBe(Math.floor((T0 + 2 * MINUTE) / 1000));
    expect(cartView(state)).toEqual({ products: 1, units: 1, valueCents: 300 });
  });

  it('bounds the cart log to the latest events after the last purchase', () => {
    // Prepare
    const adds = Array.from({ length: 7 }, (_, i) =>
      makeEvent({ type: 'add_to_cart', productId: `p${i}`, price: 1, occurredAt: T0 + i * MINUTE }),
    );
    // Act
    const state = profileOf(adds);
    // Assess
    expect(state.cart.map((e) => e.productId)).toEqual(['p6', 'p5', 'p4', 'p3']);
    expect(cartView(state)).toEqual({ products: 4, units: 4, valueCents: 400 });
  });

  it('never mistakes an event id for an order id in the dedupe window', () => {
    // Prepare: a purchase of order "123", then an event whose id spells the order's old hash input.
    const purchase = makeEvent({ eventId: 'p-1', type: 'purchase', orderId: '123', revenue: 10 });
    const lookalikes = ['order:123', 'o:123'].map((eventId, i) =>
      makeEvent({ eventId, type: 'login', occurredAt: T0 + (i + 1) * 1000 }),
    );
    // Act
    const result = applyEventsToProfile(undefined, sequenced([purchase, ...lookalikes]), 'u-1');
    // Assess
    expect(result).toMatchObject({ applied: 3, duplicates: 0 });
  });

  it('starts sessions on a new sessionId or after 30 minutes of inactivity', () => {
    // Prepare
    const events = [
      makeEvent({ occurredAt: T0 }),
      makeEvent({ occurredAt: T0 + 29 * MINUTE }),
      makeEvent({ occurredAt: T0 + 60 * MINUTE }),
      makeEvent({ occurredAt: T0 + 61 * MINUTE, sessionId: 's-1' }),
      makeEvent({ occurredAt: T0 + 200 * MINUTE, sessionId: 's-1' }),
      makeEvent({ occurredAt: T0 + 10 * MINUTE }),
    ];
    // Act
    const state = profileOf(events);
    // Assess: the late event belongs to the first session, which was already counted
    expect(state.sessionCount).toBe(3);
    expect(state.sessionEvents).toBe(2);
    expect(state.sessionEnd - state.sessionStart).toBe(139 * 60);
  });

  it('links anonymous ids to the user profile, keeping the latest ones', () => {
    // Prepare
    const events = ['a1', 'a2', 'a3'].map((anonymousId, i) =>
      makeEvent({ type: 'identify', anonymousId, occurredAt: T0 + i * MINUTE }),
    );
    // Act
    const state = profileOf(events);
    // Assess
    expect(state.aliases.map((a) => a.key)).toEqual(['a3', 'a2']);
  });

  it('keeps the top K categories by decayed affinity with deterministic eviction', () => {
    // Prepare: c0 has most weight; c9 arrives last with the least and is evicted
    const events = [
      makeEvent({
        type: 'purchase',
        orderId: 'o',
        revenue: 1,
        productId: 'p',
        categoryId: 'c0',
        occurredAt: T0,
      }),
      ...Array.from({ length: 9 }, (_, i) =>
        makeEvent({ type: 'product_view', productId: 'p', categoryId: `c${i + 1}`, occurredAt: T0 }),
      ),
    ];
    // Act
    const state = profileOf(events);
    // Assess
    expect(state.categories).toHaveLength(PROFILE_LIMITS.categories);
    expect(state.categories[0]!.key).toBe('c0');
    expect(state.categories.map((c) => c.key)).not.toContain('c9');
  });

  it('drops redeliveries by sequence number and producer duplicates by eventId', () => {
    // Prepare
    const event = makeEvent({ type: 'product_view', productId: 'p1' });
    const [first] = sequenced([event]);
    const producerDuplicate = { ...first!, sequenceNumber: `${BigInt(first!.sequenceNumber) + 1n}` };
    const state = applyEventsToProfile(undefined, [first!], 'u-1').state;
    // Act
    const redelivered = applyEventsToProfile(state, [first!], 'u-1');
    const duplicated = applyEventsToProfile(state, [producerDuplicate], 'u-1');
    // Assess
    expect(redelivered).toMatchObject({ applied: 0, duplicates: 1, changed: false, state });
    expect(duplicated).toMatchObject({ applied: 0, duplicates: 1, changed: false });
    expect(duplicated.state.shardMarks).toEqual([
      { shardId: SHARD, sequenceNumber: producerDuplicate.sequenceNumber },
    ]);
  });

  it('keeps at most 4 shard marks, evicting the lowest after resharding', () => {
    // Prepare
    const records = [0, 1, 2, 3, 4].flatMap((s) =>
      sequenced([makeEvent({ occurredAt: T0 + s })], `shardId-00000000000${s}`, BigInt(s) * 100n),
    );
    // Act
    const state = applyEventsToProfile(undefined, records, 'u-1').state;
    // Assess
    expect(state.shardMarks.map((m) => m.shardId)).toEqual(
      [1, 2, 3, 4].map((s) => `shardId-00000000000${s}`),
    );
  });

  it('forgets event ids beyond the dedupe horizon (count and age), as documented', () => {
    // Prepare
    const old = makeEvent({ occurredAt: T0 });
    const later = Array.from({ length: PROFILE_LIMITS.dedupeWindow }, (_, i) =>
      makeEvent({ occurredAt: T0 + (i + 1) * MINUTE }),
    );
    const state = profileOf([old, ...later]);
    // Act
    const resent = applyEventsToProfile(state, sequenced([old], SHARD, 9000n), 'u-1');
    // Assess
    expect(resent.applied).toBe(1);
  });

  it('does not mutate the state it is given', () => {
    // Prepare
    const state = profileOf([makeEvent({})]);
    const snapshot = structuredClone(state);
    // Act
    applyEventsToProfile(state, sequenced([makeEvent({ occurredAt: T0 + HOUR })], SHARD, 5000n), 'u-1');
    // Assess
    expect(state).toEqual(snapshot);
  });
});

// One test per row of the missing-values table in `shared/profile/profile-state.ts`, by its effect.
describe('missing-values policy', () => {
  it('category: product events without one go to the unknown bucket, others add no affinity', () => {
    // Prepare
    const events = [
      makeEvent({ type: 'product_view', productId: 'p', occurredAt: T0 }),
      makeEvent({ type: 'page_view', occurredAt: T0 + 1000 }),
    ];
    // Act
    const state = profileOf(events);
    // Assess
    expect(state.categories.map((c) => c.key)).toEqual([UNKNOWN_CATEGORY]);
    expect(categoryKeyOf(makeEvent({ type: 'product_view', productId: 'p' }))).toBe(UNKNOWN_CATEGORY);
    expect(categoryKeyOf(makeEvent({ type: 'page_view' }))).toBeUndefined();
    expect(categoryKeyOf(makeEvent({ type: 'page_view', categoryPath: 'a.b' }))).toBe('a.b');
  });

  it('price: left out of revenue and cart value; quantity defaults to 1; revenue defaults to price × quantity', () => {
    // Prepare
    const events = [
      makeEvent({ type: 'add_to_cart', productId: 'p1', occurredAt: T0 }),
      makeEvent({ type: 'add_to_cart', productId: 'p2', price: 2.5, occurredAt: T0 + 1000 }),
    ];
    const purchase = makeEvent({ type: 'purchase', orderId: 'o', price: 4, occurredAt: T0 - HOUR });
    // Act
    const state = profileOf([...events, purchase]);
    // Assess
    expect(cartView(state)).toEqual({ products: 2, units: 2, valueCents: 250 });
    expect(state.revenueCents).toBe(400);
  });

  it('revenue: a purchase without it earns price × quantity; one without price earns its revenue', () => {
    // Prepare
    const events = [
      makeEvent({ type: 'purchase', orderId: 'o1', price: 4, quantity: 3, occurredAt: T0 }),
      makeEvent({ type: 'purchase', orderId: 'o2', revenue: 7, occurredAt: T0 + 1000 }),
    ];
    // Act
    const state = profileOf(events);
    // Assess
    expect(state.revenueCents).toBe(1200 + 700);
  });

  it('userId: the event belongs to the anonymous profile "anon:<anonymousId>"', () => {
    // Prepare
    const anonymous = makeEvent({ userId: undefined, anonymousId: 'a-1' });
    // Act
    const state = applyEventsToProfile(undefined, sequenced([anonymous]), profileIdOf(anonymous)).state;
    // Assess
    expect(profileIdOf(anonymous)).toBe('anon:a-1');
    expect(state.profileId).toBe('anon:a-1');
  });

  it('anonymousId: a user event without one records no alias (with one, it does)', () => {
    // Prepare
    const withoutAlias = makeEvent({ occurredAt: T0 });
    const withAlias = makeEvent({ anonymousId: 'a-1', occurredAt: T0 + 1000 });
    // Act
    const before = profileOf([withoutAlias]);
    const after = profileOf([withoutAlias, withAlias]);
    // Assess
    expect(before.aliases).toEqual([]);
    expect(after.aliases.map((alias) => alias.key)).toEqual(['a-1']);
  });

  it('sessionId: sessions split on inactivity; blank query: not listed', () => {
    // Prepare
    const events = [
      makeEvent({ occurredAt: T0 }),
      makeEvent({ occurredAt: T0 + 31 * MINUTE }),
      makeEvent({ type: 'search', query: '   ', occurredAt: T0 + 32 * MINUTE }),
    ];
    // Act
    const state = profileOf(events);
    // Assess
    expect(state.sessionCount).toBe(2);
    expect(state.recentSearches).toEqual([]);
  });

  it('currency: ignored, amounts are summed as sent', () => {
    // Prepare
    const events = [
      makeEvent({ type: 'purchase', orderId: 'o1', revenue: 1, currency: 'EUR', occurredAt: T0 }),
      makeEvent({ type: 'purchase', orderId: 'o2', revenue: 1, currency: 'USD', occurredAt: T0 }),
    ];
    // Act
    const state = profileOf(events);
    // Assess
    expect(state.revenueCents).toBe(200);
  });

  it('starts from an empty profile', () => {
    // Prepare, Act
    const state = emptyProfile('u-1');
    // Assess
    expect(cartView(state)).toEqual({ products: 0, units: 0, valueCents: 0 });
    expect(state.decays.every((v) => v === 0)).toBe(true);
  });
});
