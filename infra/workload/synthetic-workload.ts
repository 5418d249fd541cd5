/**
 * Synthetic shop traffic with a known truth behind it.
 *
 * Every simulated person has latent traits (purchase intent, category taste, price level, activity)
 * that drive what they do; the traits and the outcomes are returned as ground truth so models can be
 * evaluated against what really drove behaviour. Deterministic: one seed, one workload.
 */
import {
  DEVICE_TYPES,
  type EventInput,
  type EventType,
  profileIdOf,
} from '../../shared/contract/event-contract';
import { buildCatalog, CATEGORY_LEAVES, type CatalogProduct, type PriceLevel, PRICE_LEVELS } from './catalog';
import { createSeededRandom, deriveSeed, type SeededRandom } from './seeded-random';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Sessions of one person are at least this far apart (the usual analytics session timeout). */
const SESSION_GAP_MS = 30 * MINUTE_MS;
/** Relative traffic per hour of day (UTC), evening peak. */
const HOURLY_TRAFFIC = [
  1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.4, 2, 2.4, 2.6, 2.8, 3, 2.8, 2.6, 2.6, 2.8, 3.2, 3.8, 4.4, 4.6, 4, 3,
  1.8,
];
const HOURS = HOURLY_TRAFFIC.map((_, h) => h);

/** How a simulated person shows up. */
export const PERSONAS = ['registered', 'visitor', 'bot'] as const;
/** `registered`: always carries a userId. `visitor`: starts anonymous, may `identify`. `bot`: anonymous crawler. */
export type Persona = (typeof PERSONAS)[number];
/** A device class the contract knows. */
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** Options of {@link generateWorkload}. */
export interface WorkloadOptions {
  /** Seed of the pseudo-random generator. @default 42 */
  seed?: number;
  /** Number of simulated people, bots included. @default 3000 */
  users?: number;
  /** Length of the simulated period in days. @default 7 */
  days?: number;
  /** Start of the simulated period, epoch ms. @default Date.UTC(2026, 0, 5) (a Monday) */
  startMs?: number;
  /** Share of people who are bots. @default 0.005 */
  botShare?: number;
  /** Share of (non-bot) people who arrive anonymous. @default 0.35 */
  visitorShare?: number;
  /** Products per category leaf. @default 30 */
  productsPerCategory?: number;
  /** Share of events whose `occurredAt` is an RFC 3339 string (+01:00) instead of epoch ms. @default 0.05 */
  isoTimestampShare?: number;
}

/** What really drove one person's behaviour, and what they did. */
export interface UserGroundTruth {
  /** Profile id (see `profileIdOf`) under which the person's latest events land; the key of the truth map. */
  profileId: string;
  /** Every profile id the person's events were published under, in order (`anon:…` then the user id). */
  profileIds: string[];
  persona: Persona;
  isBot: boolean;
  /** The user id, when the person has one by the end (registered, or a visitor who identified). */
  userId?: string;
  /** The anonymous id, for visitors and bots. */
  anonymousId?: string;
  /** When a visitor identified, epoch ms. */
  identifiedAtMs?: number;
  /** Latent propensity to buy, 0..1: drives carts, checkouts and purchases. */
  purchaseIntent: number;
  /** Expected sessions per day. */
  sessionsPerDay: number;
  /** Category path → preference weight (sums to 1). */
  categoryPreferences: Record<string, number>;
  /** The category with the highest preference. */
  topCategory: string;
  preferredPriceLevel: PriceLevel;
  preferredDevice: DeviceType;
  sessions: number;
  events: number;
  productViews: number;
  addToCarts: number;
  checkouts: number;
  purchases: number;
  /** `occurredAt` of every purchase, ascending. */
  purchaseTimesMs: number[];
  revenueEur: number;
  /** Bought at least twice in the period. */
  isRepeatBuyer: boolean;
}

/** Result of {@link generateWorkload}. */
export interface Workload {
  /** Contract events ordered by `occurredAt` (ties keep generation order). */
  events: EventInput[];
  /** Ground truth per person, keyed by {@link UserGroundTruth.profileId}. */
  groundTruth: Map<string, UserGroundTruth>;
  catalog: CatalogProduct[];
  /** Start and (exclusive) end of the simulated period, epoch ms. */
  startMs: number;
  endMs: number;
}

interface Draft {
  event: EventInput;
  atMs: number;
}

interface CartLine {
  product: CatalogProduct;
  quantity: number;
}

/** Generate a reproducible workload: the same options always give identical events and truth. */
export function generateWorkload(options: WorkloadOptions = {}): Workload {
  const seed = options.seed ?? 42;
  const users = options.users ?? 3000;
  const days = options.days ?? 7;
  const startMs = options.startMs ?? Date.UTC(2026, 0, 5);
  const endMs = startMs + days * DAY_MS;
  const botShare = options.botShare ?? 0.005;
  const visitorShare = options.visitorShare ?? 0.35;
  const isoShare = options.isoTimestampShare ?? 0.05;

  const catalog = buildCatalog(
    createSeededRandom(deriveSeed(seed, 'catalog')),
    options.productsPerCategory ?? 30,
  );
  const productsByCategory = new Map<string, CatalogProduct[]>();
  for (const p of catalog) {
    const list = productsByCategory.get(p.categoryPath) ?? [];
    list.push(p);
    productsByCategory.set(p.categoryPath, list);
  }
  const random = createSeededRandom(deriveSeed(seed, 'people'));
  const botCount = Math.round(users * botShare);
  const drafts: Draft[] = [];
  const groundTruth = new Map<string, UserGroundTruth>();
  let orderSeq = 0;
  let sessionSeq = 0;

  for (let person = 0; person < users; person++) {
    const persona: Persona =
      person < botCount ? 'bot' : random.chance(visitorShare) ? 'visitor' : 'registered';
    const personNo = String(person + 1).padStart(5, '0');
    const futureUserId = `u-${personNo}`;
    const anonymousId = persona === 'registered' ? undefined : `anon-${seed.toString(36)}-${personNo}`;
    const truth = drawTraits(random, persona, futureUserId, anonymousId);
    const own: Draft[] = [];

    /** Identity fields as they stand now: the user id once known, else the anonymous id. */
    const identity = (): Pick<EventInput, 'userId' | 'anonymousId'> =>
      truth.userId !== undefined ? { userId: truth.userId } : { anonymousId: anonymousId! };
    const emit = (
      type: EventType,
      atMs: number,
      sessionId: string | undefined,
      device: DeviceType,
      extra: Partial<EventInput> = {},
    ) => {
      const event: EventInput = {
        schemaVersion: 1,
        eventId: '',
        type,
        ...identity(),
        ...(sessionId === undefined ? {} : { sessionId }),
        occurredAt: random.chance(isoShare) ? rfc3339PlusOneHour(atMs) : atMs,
        ...extra,
        context: contextFor(random, truth, device, personNo),
      };
      own.push({ event, atMs });
    };

    const sessionStarts = drawSessionStarts(random, truth, startMs, days);
    truth.sessions = sessionStarts.length;
    let freeFromMs = startMs;
    for (const plannedStart of sessionStarts) {
      let t = Math.max(plannedStart, freeFromMs);
      if (t >= endMs) {
        truth.sessions--;
        continue;
      }
      const sessionId =
        persona === 'bot' ? undefined : `s-${seed.toString(36)}-${(++sessionSeq).toString(36)}`;
      const device = random.chance(0.85) ? truth.preferredDevice : random.pick(DEVICE_TYPES);
      // Advances the session clock; false once the period is over (the rest of the session is cut).
      const step = (meanGapMs: number) => {
        t += 1000 + Math.round(random.exponential(meanGapMs));
        freeFromMs = t + SESSION_GAP_MS;
        return t < endMs;
      };
      if (persona === 'bot') {
        // Crawlers: one burst of rapid product views across the whole catalogue, nothing else.
        const burst = random.int(80, 250);
        for (let i = 0; i < burst && step(300); i++) {
          emit('product_view', t, sessionId, device, productFields(random.pick(catalog)));
          truth.productViews++;
        }
        continue;
      }
      freeFromMs = t + SESSION_GAP_MS;
      emit('page_view', t, sessionId, device);
      if (truth.userId === undefined ? random.chance(0.08) : random.chance(0.25)) {
        if (!step(15_000)) continue;
        if (truth.userId === undefined) {
          identifyNow(truth, futureUserId, t);
          emit('identify', t, sessionId, device, { anonymousId: anonymousId! });
        } else emit('login', t, sessionId, device);
      }
      if (random.chance(0.35)) {
        if (!step(20_000)) continue;
        const wanted = pickCategory(random, truth);
        const searched = CATEGORY_LEAVES.find((c) => c.categoryPath === wanted)!;
        const term = random.pick(searched.searchTerms);
        emit('search', t, sessionId, device, {
          query: random.chance(0.3) ? `${random.pick(searched.brands).toLowerCase()} ${term}` : term,
        });
      }
      const cart: CartLine[] = [];
      const views = 1 + random.poisson(1 + 3 * truth.purchaseIntent);
      let open = true;
      for (let v = 0; v < views && (open = step(40_000)); v++) {
        const product = pickProduct(random, truth, productsByCategory);
        emit('product_view', t, sessionId, device, productFields(product));
        truth.productViews++;
        if (random.chance(0.03 + 0.3 * truth.purchaseIntent)) {
          if (!(open = step(20_000))) break;
          const quantity = random.chance(0.12) ? random.int(2, 3) : 1;
          cart.push({ product, quantity });
          emit('add_to_cart', t, sessionId, device, { ...productFields(product), quantity });
          truth.addToCarts++;
        } else if (random.chance(0.04)) {
          if (!(open = step(10_000))) break;
          emit('add_to_wishlist', t, sessionId, device, productFields(product));
        }
      }
      if (open && cart.length > 0 && random.chance(0.15) && (open = step(20_000))) {
        const [removed] = cart.splice(random.int(0, cart.length - 1), 1);
        emit('remove_from_cart', t, sessionId, device, {
          ...productFields(removed!.product),
          quantity: removed!.quantity,
        });
      }
      const loyalty = truth.purchases > 0 ? 0.1 : 0;
      if (open && cart.length > 0 && random.chance(0.12 + 0.6 * truth.purchaseIntent + loyalty)) {
        if (truth.userId === undefined) {
          // Checkout needs an account: this is where most visitors identify.
          if (!step(30_000)) continue;
          identifyNow(truth, futureUserId, t);
          emit('identify', t, sessionId, device, { anonymousId: anonymousId! });
        }
        const quantity = cart.reduce((n, line) => n + line.quantity, 0);
        const value = roundCents(cart.reduce((sum, line) => sum + line.product.priceEur * line.quantity, 0));
        if (!step(30_000)) continue;
        emit('begin_checkout', t, sessionId, device, { quantity });
        truth.checkouts++;
        if (random.chance(0.5 + 0.45 * truth.purchaseIntent) && step(60_000)) {
          const main = cart.reduce((a, b) => (b.product.priceEur > a.product.priceEur ? b : a));
          emit('purchase', t, sessionId, device, {
            ...productFields(main.product),
            orderId: `ord-${seed.toString(36)}-${(++orderSeq).toString(36)}`,
            quantity,
            revenue: value,
          });
          truth.purchases++;
          truth.purchaseTimesMs.push(t);
          truth.revenueEur = roundCents(truth.revenueEur + value);
        }
      }
    }
    truth.events = own.length;
    truth.isRepeatBuyer = truth.purchases >= 2;
    truth.profileId = truth.profileIds[truth.profileIds.length - 1]!;
    groundTruth.set(truth.profileId, truth);
    for (const d of own) drafts.push(d);
  }

  drafts.sort((a, b) => a.atMs - b.atMs);
  const events = drafts.map((d, i) => {
    d.event.eventId = `evt-${seed.toString(36)}-${i.toString(36).padStart(6, '0')}`;
    return d.event;
  });
  return { events, groundTruth, catalog, startMs, endMs };
}

function drawTraits(
  random: SeededRandom,
  persona: Persona,
  futureUserId: string,
  anonymousId: string | undefined,
): UserGroundTruth {
  const isBot = persona === 'bot';
  // Dirichlet-like taste: two or three favourite leaves dominate, the rest share a little.
  const raw = CATEGORY_LEAVES.map(() => random.next() ** 6);
  const favourites = random.int(1, 3);
  for (let i = 0; i < favourites; i++) raw[random.int(0, raw.length - 1)]! += 1 + random.next();
  const total = raw.reduce((a, b) => a + b, 0);
  const categoryPreferences: Record<string, number> = {};
  CATEGORY_LEAVES.forEach((c, i) => (categoryPreferences[c.categoryPath] = raw[i]! / total));
  const topCategory = CATEGORY_LEAVES[raw.indexOf(Math.max(...raw))]!.categoryPath;
  const userId = persona === 'registered' ? futureUserId : undefined;
  const initialProfileId = profileIdOf({ userId, anonymousId });
  return {
    profileId: initialProfileId,
    profileIds: [initialProfileId],
    persona,
    isBot,
    ...(userId === undefined ? {} : { userId }),
    ...(anonymousId === undefined ? {} : { anonymousId }),
    // Skewed low: most people browse, a few are ready to buy.
    purchaseIntent: isBot ? 0 : round3(random.next() ** 2),
    sessionsPerDay: isBot ? round3(0.3 + random.next() * 0.4) : round3(0.05 + random.next() ** 2 * 0.6),
    categoryPreferences,
    topCategory,
    preferredPriceLevel: random.weighted(PRICE_LEVELS, [0.4, 0.4, 0.2]),
    preferredDevice: isBot
      ? random.pick(['desktop', 'other'] as const)
      : random.weighted(DEVICE_TYPES, [6, 3, 1, 0.2]),
    sessions: 0,
    events: 0,
    productViews: 0,
    addToCarts: 0,
    checkouts: 0,
    purchases: 0,
    purchaseTimesMs: [],
    revenueEur: 0,
    isRepeatBuyer: false,
  };
}

function identifyNow(truth: UserGroundTruth, userId: string, atMs: number): void {
  truth.userId = userId;
  truth.identifiedAtMs = atMs;
  truth.profileIds.push(truth.userId);
}

function drawSessionStarts(
  random: SeededRandom,
  truth: UserGroundTruth,
  startMs: number,
  days: number,
): number[] {
  const count = Math.max(1, random.poisson(truth.sessionsPerDay * days));
  const starts: number[] = [];
  for (let i = 0; i < count; i++) {
    const day = random.int(0, days - 1);
    const hour = random.weighted(HOURS, HOURLY_TRAFFIC);
    starts.push(startMs + day * DAY_MS + hour * HOUR_MS + Math.floor(random.next() * HOUR_MS));
  }
  return starts.sort((a, b) => a - b);
}

function pickCategory(random: SeededRandom, truth: UserGroundTruth): string {
  if (random.chance(0.15)) return random.pick(CATEGORY_LEAVES).categoryPath;
  const paths = Object.keys(truth.categoryPreferences);
  return random.weighted(paths, Object.values(truth.categoryPreferences));
}

function pickProduct(
  random: SeededRandom,
  truth: UserGroundTruth,
  productsByCategory: ReadonlyMap<string, CatalogProduct[]>,
): CatalogProduct {
  const inCategory = productsByCategory.get(pickCategory(random, truth))!;
  const atLevel = inCategory.filter((p) => p.priceLevel === truth.preferredPriceLevel);
  return random.pick(atLevel.length > 0 && random.chance(0.7) ? atLevel : inCategory);
}

function productFields(product: CatalogProduct): Partial<EventInput> {
  return {
    productId: product.productId,
    categoryId: product.categoryId,
    categoryPath: product.categoryPath,
    brand: product.brand,
    price: product.priceEur,
    currency: 'EUR',
  };
}

/** Device and channel always; the personal fields sometimes, so that stripping them is exercised. */
function contextFor(
  random: SeededRandom,
  truth: UserGroundTruth,
  device: DeviceType,
  personNo: string,
): NonNullable<EventInput['context']> {
  const context: NonNullable<EventInput['context']> = {
    device,
    channel: device === 'mobile' ? 'app' : 'web',
  };
  if (truth.isBot) {
    context.ip = `203.0.113.${Number(personNo) % 250}`;
    context.userAgent = 'SyntheticCrawler/1.0 (+https://bot.example.test)';
    return context;
  }
  // Documentation-only addresses (RFC 5737) and the reserved .test TLD: obviously not real people.
  if (random.chance(0.2)) context.ip = `198.51.100.${Number(personNo) % 250}`;
  if (random.chance(0.15)) context.userAgent = `ExampleBrowser/1.0 (${device}; synthetic)`;
  if (truth.userId !== undefined && random.chance(0.1))
    context.email = `user${Number(personNo)}@example.test`;
  return context;
}

function rfc3339PlusOneHour(ms: number): string {
  return new Date(ms + HOUR_MS).toISOString().replace('Z', '+01:00');
}

function roundCents(value: number): number {
  return Math.round(value * 100) / 100;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
