/**
 * Injected account takeovers, with ground truth: a known registered shopper is suddenly used from a
 * new device on a new network, with a burst of logins (credential stuffing until one works, then
 * re-logins) followed by high-value purchases — the pattern the risk signals must flag.
 *
 * Addresses are documentation-only (RFC 5737 TEST-NET-1, 192.0.2.0/24: a network no synthetic
 * shopper uses) and the user agents say they are synthetic.
 */
import type { EventInput } from '../../shared/contract/event-contract';
import type { CatalogProduct } from './catalog';
import { createSeededRandom, deriveSeed } from './seeded-random';
import type { Workload } from './synthetic-workload';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const at = (e: EventInput) => (typeof e.occurredAt === 'number' ? e.occurredAt : Date.parse(e.occurredAt));

/** Options of {@link injectAccountTakeovers}. */
export interface AccountTakeoverOptions {
  /** Accounts taken over. @default 20 */
  count?: number;
  /** @default 7 */
  seed?: number;
  /** Victims are registered shoppers with at least this many events of their own. @default 10 */
  minVictimEvents?: number;
}

/** What happened to one victim. */
export interface AccountTakeoverTruth {
  profileId: string;
  /** First and last attacker event, epoch ms. */
  startMs: number;
  endMs: number;
  logins: number;
  purchases: number;
  revenueEur: number;
}

/** A workload with takeovers mixed in, and their truth keyed by victim profile id. */
export interface WorkloadWithTakeovers {
  events: EventInput[];
  takeovers: Map<string, AccountTakeoverTruth>;
}

/**
 * Add `count` takeovers to `workload` (not mutated): events stay ordered by event time. Each attack
 * starts on one of the last two days, at least a day after the victim's first event.
 */
export function injectAccountTakeovers(
  workload: Workload,
  options: AccountTakeoverOptions = {},
): WorkloadWithTakeovers {
  const seed = options.seed ?? 7;
  const random = createSeededRandom(deriveSeed(seed, 'account-takeover'));
  const minEvents = options.minVictimEvents ?? 10;
  const firstEventAt = new Map<string, number>();
  for (const e of workload.events) {
    if (e.userId !== undefined && !firstEventAt.has(e.userId)) firstEventAt.set(e.userId, at(e));
  }
  const candidates = [...workload.groundTruth.values()].filter(
    (t) =>
      t.persona === 'registered' &&
      t.events >= minEvents &&
      (firstEventAt.get(t.profileId) ?? Infinity) < workload.endMs - 3 * DAY_MS,
  );
  const premium = workload.catalog
    .filter((p) => p.priceLevel === 'premium')
    .sort((a, b) => b.priceEur - a.priceEur);
  const pool = premium.slice(0, Math.max(1, Math.ceil(premium.length / 4)));
  const takeovers = new Map<string, AccountTakeoverTruth>();
  const injected: EventInput[] = [];
  const count = Math.min(options.count ?? 20, candidates.length);
  for (let n = 0; n < count; n++) {
    const victim = candidates.splice(random.int(0, candidates.length - 1), 1)[0]!;
    const attackNo = String(n + 1).padStart(3, '0');
    const context = {
      device: 'desktop' as const,
      channel: 'web',
      ip: `192.0.2.${(n % 250) + 1}`,
      userAgent: `TakeoverBrowser/${attackNo} (desktop; synthetic)`,
    };
    const sessionId = `ato-${seed}-${attackNo}`;
    let t = workload.endMs - 2 * DAY_MS + Math.floor(random.next() * (2 * DAY_MS - 2 * 60 * MINUTE_MS));
    const startMs = t;
    const emit = (type: EventInput['type'], extra: Partial<EventInput> = {}) =>
      injected.push({
        schemaVersion: 1,
        eventId: `ato-${seed}-${attackNo}-${injected.length.toString(36)}`,
        type,
        userId: victim.profileId,
        sessionId,
        occurredAt: t,
        ...extra,
        context,
      });
    const logins = random.int(4, 7);
    for (let i = 0; i < logins; i++) {
      emit('login');
      t += random.int(5_000, 40_000);
    }
    const purchases = random.int(1, 2);
    let revenueEur = 0;
    for (let p = 0; p < purchases; p++) {
      const product: CatalogProduct = random.pick(pool);
      const fields = {
        productId: product.productId,
        categoryId: product.categoryId,
        categoryPath: product.categoryPath,
        price: product.priceEur,
        currency: 'EUR',
      };
      emit('product_view', fields);
      t += random.int(3_000, 15_000);
      const quantity = random.int(2, 4);
      emit('add_to_cart', { ...fields, quantity });
      t += random.int(3_000, 10_000);
      emit('begin_checkout', { quantity });
      t += random.int(5_000, 20_000);
      const revenue = Math.round(product.priceEur * quantity * 100) / 100;
      emit('purchase', { ...fields, quantity, revenue, orderId: `ato-ord-${seed}-${attackNo}-${p}` });
      revenueEur += revenue;
      t += random.int(5_000, 30_000);
    }
    takeovers.set(victim.profileId, {
      profileId: victim.profileId,
      startMs,
      endMs: at(injected[injected.length - 1]!),
      logins,
      purchases,
      revenueEur: Math.round(revenueEur * 100) / 100,
    });
  }
  const events = [...workload.events, ...injected]
    .map((event, i) => ({ event, i, at: at(event) }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((x) => x.event);
  return { events, takeovers };
}
