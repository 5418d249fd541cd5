/** Profile-shaped event sets: one heavy profile, and events inside the order-independence envelope. */
import fc from 'fast-check';
import { EVENT_TYPES, type ContractEvent } from '../../shared/contract/event-contract';
import type { SequencedEvent } from '../../shared/profile/apply-events';
import { makeEvent, sequenced, T0 } from './factories';

/**
 * A profile with every bounded list full and realistic id lengths: 8 categories, all event types,
 * 4 shard marks, a full dedupe window, 2 UUID aliases.
 */
export function heavyEvents(userId = 'u-1'): SequencedEvent[] {
  const events: ContractEvent[] = [];
  const contractEvent = (overrides: Partial<ContractEvent>) => makeEvent({ userId, ...overrides });
  const at = (minutes: number) => T0 + minutes * 60_000;
  let m = 0;
  for (let i = 0; i < 12; i++) {
    events.push(
      contractEvent({
        type: 'product_view',
        productId: `${2_268_318 + i * 7919}`,
        categoryId: `${4_756_105 + (i % 8) * 1031}`,
        occurredAt: at(m++),
        sessionId: 'b3c1f0e2-5d7a-4c8e-9f10-2a3b4c5d6e7f',
      }),
    );
  }
  for (const query of [
    'running shoes men',
    'wireless earbuds',
    'usb c charger 65w',
    'yoga mat',
    'coffee grinder',
  ]) {
    events.push(contractEvent({ type: 'search', query, occurredAt: at(m++) }));
  }
  for (let i = 0; i < 8; i++) {
    events.push(
      contractEvent({
        type: i % 3 === 2 ? 'remove_from_cart' : 'add_to_cart',
        productId: `${3_100_000 + i * 313}`,
        categoryId: '4756105',
        price: 129.99 + i,
        quantity: 1 + (i % 2),
        occurredAt: at(m++),
      }),
    );
  }
  for (const type of ['page_view', 'add_to_wishlist', 'begin_checkout', 'login'] as const) {
    events.push(contractEvent({ type, productId: '2268318', categoryId: '4756105', occurredAt: at(m++) }));
  }
  events.push(
    contractEvent({ type: 'purchase', orderId: 'ord-2026-000123', revenue: 1234.56, occurredAt: at(m++) }),
  );
  events.push(
    contractEvent({
      type: 'purchase',
      orderId: 'ord-2026-000124',
      price: 99.5,
      quantity: 2,
      occurredAt: at(m++),
    }),
  );
  for (let i = 0; i < 6; i++) {
    events.push(
      contractEvent({
        type: 'add_to_cart',
        productId: `${5_200_000 + i * 101}`,
        price: 19.9 + i,
        quantity: 3,
        occurredAt: at(m++),
      }),
    );
  }
  for (const anonymousId of [
    '1f0e2b3c-5d7a-4c8e-9f10-2a3b4c5d6e7f',
    '7a4c8e1f-0e2b-3c5d-9f10-2a3b4c5d6e7f',
  ]) {
    events.push(contractEvent({ type: 'identify', anonymousId, occurredAt: at(m++) }));
  }
  const records = sequenced(events);
  // Three more shards (after resharding), each with a record.
  for (let s = 1; s <= 3; s++) {
    records.push(
      ...sequenced([contractEvent({ occurredAt: at(m++) })], `shardId-00000000000${s}`, 5000n * BigInt(s)),
    );
  }
  return records;
}

const HOUR = 3_600_000;

/**
 * Events of user `u-1` inside the envelope where `applyEventsToProfile` promises order independence:
 * a span of at most 4 hours, one session (a shared sessionId, or none within 30 minutes), at most 6
 * categories and few enough events + orders for the dedupe window.
 */
export const envelopedEvents = fc
  .record({
    withSessionId: fc.boolean(),
    drafts: fc.array(
      fc.record({
        type: fc.constantFrom(...EVENT_TYPES),
        offset: fc.integer({ min: 0, max: 4 * HOUR }),
        productId: fc.constantFrom('p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'),
        categoryId: fc.option(fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5', 'c6'), { nil: undefined }),
        price: fc.option(
          fc.integer({ min: 0, max: 50_000 }).map((c) => c / 100),
          { nil: undefined },
        ),
        quantity: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
        revenue: fc.option(
          fc.integer({ min: 0, max: 90_000 }).map((c) => c / 100),
          { nil: undefined },
        ),
        orderId: fc.constantFrom('o1', 'o2', 'o3'),
        query: fc.constantFrom('Red Shoes', 'red  shoes ', 'lamp', 'desk'),
        anonymousId: fc.constantFrom('a1', 'a2', 'a3'),
      }),
      { minLength: 1, maxLength: 10 },
    ),
  })
  .map(({ withSessionId, drafts }) =>
    drafts.map((d, i): ContractEvent => {
      const event: ContractEvent = {
        schemaVersion: 1,
        eventId: `e-${i}`,
        type: d.type,
        userId: 'u-1',
        occurredAt: T0 + (withSessionId ? d.offset : d.offset % (30 * 60_000)),
        productId: d.productId,
      };
      if (withSessionId) event.sessionId = 's-1';
      if (d.categoryId !== undefined) event.categoryId = d.categoryId;
      if (d.price !== undefined) event.price = d.price;
      if (d.quantity !== undefined) event.quantity = d.quantity;
      if (d.type === 'purchase') {
        event.orderId = d.orderId;
        if (d.revenue !== undefined || d.price === undefined) event.revenue = d.revenue ?? 10;
      }
      if (d.type === 'search') event.query = d.query;
      if (d.type === 'identify') event.anonymousId = d.anonymousId;
      return event;
    }),
  );
