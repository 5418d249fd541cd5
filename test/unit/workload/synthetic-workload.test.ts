import { decodeEvent, type EventInput, validateEvent } from '../../../shared/contract/event-contract';
import { generateWorkload, type UserGroundTruth } from '../../../infra/workload/synthetic-workload';

const small = { seed: 11, users: 400, days: 5, startMs: Date.UTC(2026, 2, 2) };
const NOW = Date.UTC(2026, 10, 27);
const occurredAtMs = (e: EventInput) =>
  decodeEvent(new TextEncoder().encode(JSON.stringify(e)), NOW).event.occurredAt;

/** Map every id a person's events carry (user id and anonymous id) to their ground truth. */
function truthById(truths: Iterable<UserGroundTruth>): Map<string, UserGroundTruth> {
  const byId = new Map<string, UserGroundTruth>();
  for (const t of truths) {
    if (t.userId !== undefined) byId.set(t.userId, t);
    if (t.anonymousId !== undefined) byId.set(t.anonymousId, t);
  }
  return byId;
}

describe('generateWorkload', () => {
  it('is reproducible: the same seed gives identical events and truth, another seed differs', () => {
    // Act
    const first = generateWorkload(small);
    const again = generateWorkload(small);
    const other = generateWorkload({ ...small, seed: 12 });
    // Assess
    expect(again.events).toEqual(first.events);
    expect([...again.groundTruth]).toEqual([...first.groundTruth]);
    expect(other.events).not.toEqual(first.events);
  });

  it('emits only events that pass the contract, in time order, within the period', () => {
    // Act
    const { events, startMs, endMs } = generateWorkload(small);
    // Assess
    const times = events.map((e) => {
      validateEvent(e, NOW);
      return occurredAtMs(e);
    });
    expect(times.every((t, i) => t >= startMs && t < endMs && (i === 0 || t >= times[i - 1]!))).toBe(true);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });

  it('follows the funnel: every purchase comes after an add_to_cart of the same person and carries order and revenue', () => {
    // Prepare
    const { events, groundTruth } = generateWorkload(small);
    const byId = truthById(groundTruth.values());
    const carted = new Set<UserGroundTruth>();
    let purchases = 0;
    // Act & Assess
    for (const e of events) {
      const person = byId.get(e.userId ?? e.anonymousId!)!;
      if (e.type === 'add_to_cart') carted.add(person);
      if (e.type === 'purchase') {
        purchases++;
        expect(carted.has(person)).toBe(true);
        expect(e.orderId).toEqual(expect.any(String));
        expect(e.revenue).toBeGreaterThan(0);
        expect(e.currency).toBe('EUR');
        expect(e.userId).toBeDefined();
      }
    }
    expect(purchases).toBeGreaterThan(0);
    expect(purchases).toBe([...groundTruth.values()].reduce((n, t) => n + t.purchases, 0));
  });

  it('has ground truth that agrees with the events and where intent drives purchases', () => {
    // Prepare
    const { events, groundTruth } = generateWorkload({ ...small, users: 1500 });
    const byId = truthById(groundTruth.values());
    const counted = new Map<UserGroundTruth, number>();
    // Act
    for (const e of events) {
      const person = byId.get(e.userId ?? e.anonymousId!)!;
      counted.set(person, (counted.get(person) ?? 0) + 1);
    }
    const people = [...groundTruth.values()].filter((t) => !t.isBot);
    const buyRate = (group: UserGroundTruth[]) => group.filter((t) => t.purchases > 0).length / group.length;
    // Assess
    for (const t of groundTruth.values()) expect(counted.get(t) ?? 0).toBe(t.events);
    expect(buyRate(people.filter((t) => t.purchaseIntent >= 0.5))).toBeGreaterThan(
      3 * buyRate(people.filter((t) => t.purchaseIntent < 0.2)),
    );
    expect(people.some((t) => t.isRepeatBuyer)).toBe(true);
  });

  it('has visitors who identify and then carry the user id, and bursty anonymous bots', () => {
    // Prepare
    const { events, groundTruth } = generateWorkload(small);
    const truths = [...groundTruth.values()];
    const identified = truths.find((t) => t.identifiedAtMs !== undefined)!;
    const bot = truths.find((t) => t.isBot)!;
    // Act
    const identify = events.find((e) => e.type === 'identify' && e.anonymousId === identified.anonymousId)!;
    const afterwards = events.filter((e) => e.anonymousId === identified.anonymousId && e !== identify);
    const botTimes = events.filter((e) => e.anonymousId === bot.anonymousId).map(occurredAtMs);
    // Assess
    expect(identify.userId).toBe(identified.userId);
    expect(identified.profileIds).toEqual([`anon:${identified.anonymousId}`, identified.userId]);
    expect(afterwards.every((e) => occurredAtMs(e) < identified.identifiedAtMs!)).toBe(true);
    const medianGapMs = botTimes
      .slice(1)
      .map((t, i) => t - botTimes[i]!)
      .sort((a, b) => a - b)[Math.floor(botTimes.length / 2)]!;
    expect(botTimes.length).toBeGreaterThan(80);
    expect(medianGapMs).toBeLessThan(5_000);
  });

  it('sends personal context fields on some events, with reserved example values only', () => {
    // Act
    const { events } = generateWorkload(small);
    const personal = events.filter((e) => e.context?.email ?? e.context?.ip ?? e.context?.userAgent);
    // Assess
    expect(personal.length).toBeGreaterThan(0);
    for (const e of personal) {
      if (e.context?.email !== undefined) expect(e.context.email).toMatch(/@example\.test$/);
      if (e.context?.ip !== undefined) expect(e.context.ip).toMatch(/^(198\.51\.100|203\.0\.113)\./);
    }
  });

  it('gives the default workload a few thousand users and tens of thousands of events', () => {
    // Act
    const { events, groundTruth } = generateWorkload();
    // Assess
    expect(groundTruth.size).toBe(3000);
    expect(events.length).toBeGreaterThan(20_000);
    expect(events.length).toBeLessThan(80_000);
  });
});
