/**
 * A visitor who browses anonymously and signs in: the records of one user (`USER`) and its cookie
 * (`ANON`) in delivery order, for the merge property tests.
 */
import fc from 'fast-check';
import { EVENT_TYPES, type ContractEvent } from '../../shared/contract/event-contract';
import { T0 } from './factories';

/** The user the visitor signs in as. */
export const USER = 'u-1';
/** The visitor's cookie. */
export const ANON = 'a-9';
/** One hour, ms. */
export const HOUR = 3_600_000;

/**
 * A visitor's records in delivery order: sessions hours apart (with or without sessionIds), up to 12
 * categories, anonymous before the identify and signed in after it, with strays either way (a second
 * tab) and a few records delivered late.
 */
export const visitor = fc
  .record({
    withSessionId: fc.boolean(),
    sessionHours: fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 4 }),
    drafts: fc.array(
      fc.record({
        type: fc.constantFrom(...EVENT_TYPES.filter((t) => t !== 'identify')),
        session: fc.nat(),
        minute: fc.integer({ min: 0, max: 25 }),
        category: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        stray: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      }),
      { minLength: 1, maxLength: 16 },
    ),
    identifySession: fc.nat(),
    identifyMinute: fc.integer({ min: 0, max: 25 }),
    lateDeliveries: fc.array(fc.nat(), { maxLength: 3 }),
  })
  .map(({ withSessionId, sessionHours, drafts, identifySession, identifyMinute, lateDeliveries }) => {
    const hours = [...sessionHours].sort((a, b) => a - b);
    const at = (session: number, minute: number) =>
      T0 + hours[session % hours.length]! * HOUR + minute * 60_000;
    const sessionOf = (session: number) =>
      withSessionId ? { sessionId: `s-${session % hours.length}` } : {};
    const identifyAt = at(identifySession, identifyMinute);
    const events: ContractEvent[] = drafts.map((d, i) => {
      const occurredAt = at(d.session, d.minute);
      const anonymous = occurredAt < identifyAt !== d.stray;
      const event: ContractEvent = {
        schemaVersion: 1,
        eventId: `e-${i}`,
        type: d.type,
        occurredAt,
        productId: `p${i % 5}`,
        ...sessionOf(d.session),
        ...(anonymous ? { anonymousId: ANON } : { userId: USER }),
      };
      if (d.category !== undefined) event.categoryId = `c${d.category}`;
      if (d.type === 'purchase') Object.assign(event, { orderId: `o-${i}`, revenue: 10 });
      if (d.type === 'search') event.query = `q${i % 3}`;
      return event;
    });
    events.push({
      schemaVersion: 1,
      eventId: 'identify-1',
      type: 'identify',
      userId: USER,
      anonymousId: ANON,
      occurredAt: identifyAt,
      ...sessionOf(identifySession),
    });
    const delivered = events.sort((a, b) => a.occurredAt - b.occurredAt);
    for (const late of lateDeliveries) {
      const i = late % delivered.length;
      if (i + 1 < delivered.length) [delivered[i], delivered[i + 1]] = [delivered[i + 1]!, delivered[i]!];
    }
    return delivered;
  });
