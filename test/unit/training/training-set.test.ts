import fc from 'fast-check';
import { type ContractEvent, validateEvent } from '../../../shared/contract/event-contract';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../../shared/features/feature-vector';
import {
  buildTrainingSet,
  CART_HEURISTIC_FEATURE,
  describeTrainingSet,
  featuresAt,
  type TrainingSet,
  TrainingSetError,
  type TrainingSetOptions,
  OTHER_CATEGORY,
} from '../../../shared/training/training-set';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** 2026-03-02T00:00:00Z */
const T0 = Date.UTC(2026, 2, 2);

let counter = 0;
function event(type: ContractEvent['type'], userId: string, atMs: number): ContractEvent {
  counter++;
  const e: ContractEvent = { schemaVersion: 1, eventId: `e-${counter}`, type, userId, occurredAt: atMs };
  if (type === 'product_view' || type === 'add_to_cart') {
    e.productId = `p-${counter % 7}`;
    e.categoryId = `c-${counter % 3}`;
    e.price = 10 + (counter % 5);
  }
  if (type === 'purchase') {
    e.orderId = `o-${counter}`;
    e.revenue = 25;
  }
  if (type === 'search') e.query = `q ${counter % 4}`;
  return e;
}

/** Events of a few users over ten hours, minute resolution (ties happen). */
const eventsArbitrary = fc
  .array(
    fc.record({
      type: fc.constantFrom('page_view', 'product_view', 'search', 'add_to_cart', 'purchase' as const),
      user: fc.constantFrom('u1', 'u2', 'u3'),
      minute: fc.integer({ min: 0, max: 600 }),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((drafts) => drafts.map((d) => event(d.type, d.user, T0 + d.minute * MINUTE_MS)));

function rowOf(set: TrainingSet, profileId: string, cutoffMs: number): number {
  const row = set.rowMeta.findIndex((m) => m.profileId === profileId && m.cutoffMs === cutoffMs);
  if (row < 0) throw new Error(`no row for ${profileId} at ${cutoffMs}`);
  return row;
}

const rowFeatures = (set: TrainingSet, row: number) =>
  set.features.subarray(row * FEATURE_COUNT, (row + 1) * FEATURE_COUNT);

/**
 * The set with the churn window no longer than the purchase one, so the short histories here are
 * about the purchase label and the cut (the churn and next-category labels have their own tests).
 */
const buildSet = (events: readonly ContractEvent[], options: TrainingSetOptions): TrainingSet =>
  buildTrainingSet(events, { churnHorizonMs: options.labelHorizonMs, ...options });

const smallWorkloadEvents = (seed = 7) => {
  const workload = generateWorkload({ users: 150, days: 3, seed });
  return workload.events.map((raw) => validateEvent(raw, workload.endMs).event);
};

describe('featuresAt (point in time)', () => {
  it('is not changed by events after the cutoff, whoever they belong to', () => {
    fc.assert(
      fc.property(eventsArbitrary, eventsArbitrary, fc.nat(), (past, later, pick) => {
        // Prepare: a cutoff at one of the events' times; the later events all happen after it
        const cutoff = past[pick % past.length]!;
        const profileId = cutoff.userId!;
        const t = cutoff.occurredAt;
        const future = later.map((e) => ({
          ...e,
          eventId: `f-${e.eventId}`,
          occurredAt: e.occurredAt + 11 * HOUR_MS,
        }));
        const shuffledIn = [...future.slice(0, 3), ...past, ...future.slice(3)];
        // Act
        const before = featuresAt(past, profileId, t);
        const after = featuresAt(shuffledIn, profileId, t);
        // Assess
        expect(after).toEqual(before);
      }),
    );
  });

  it('gives undefined before the profile has any event', () => {
    // Prepare
    const events = [event('page_view', 'u1', T0 + HOUR_MS)];
    // Act / Assess
    expect(featuresAt(events, 'u1', T0)).toBeUndefined();
    expect(featuresAt(events, 'u9', T0 + HOUR_MS)).toBeUndefined();
  });
});

describe('buildTrainingSet', () => {
  it('folds incrementally to exactly the from-scratch features, and later data never changes a row', () => {
    fc.assert(
      fc.property(eventsArbitrary, eventsArbitrary, (past, later) => {
        // Prepare: a filler profile every 15 minutes over 24 hours puts both split boundaries after the
        // other profiles' 10 hours, so every split has rows outside the purge gaps (filler out of order on purpose)
        const filler = Array.from({ length: 97 }, (_, i) =>
          event('page_view', 'z', T0 + (96 - i) * 15 * MINUTE_MS),
        );
        const events = [...filler, ...past];
        const options = { labelHorizonMs: 30 * MINUTE_MS, cutoffStepMs: 0 };
        const future = later.map((e) => ({
          ...e,
          eventId: `f-${e.eventId}`,
          occurredAt: e.occurredAt + 11 * HOUR_MS,
        }));
        // Act
        const set = buildSet(events, options);
        // Assess: every row is the from-scratch fold, also with events after it appended
        set.rowMeta.forEach(({ profileId, cutoffMs }, row) => {
          expect(rowFeatures(set, row)).toEqual(featuresAt(events, profileId, cutoffMs));
          expect(rowFeatures(set, row)).toEqual(featuresAt([...events, ...future], profileId, cutoffMs));
        });
      }),
      { numRuns: 50 },
    );
  });

  it('labels a purchase at t + H positive and one at t (already in the features) or after t + H not', () => {
    // Prepare: H = 1 h; a filler user active every hour for 20 h puts hour 2 in the training rows
    const H = HOUR_MS;
    const t = T0 + 2 * HOUR_MS;
    const events = [
      ...Array.from({ length: 21 }, (_, h) => event('page_view', 'z', T0 + h * HOUR_MS)),
      event('product_view', 'atEnd', t),
      event('purchase', 'atEnd', t + H),
      event('purchase', 'atCutoff', t),
      event('product_view', 'afterEnd', t),
      event('purchase', 'afterEnd', t + H + 1),
    ];
    // Act
    const set = buildSet(events, { labelHorizonMs: H, cutoffStepMs: 0 });
    // Assess
    const labelAt = (profileId: string) => set.labels[rowOf(set, profileId, t)];
    expect(labelAt('atEnd')).toBe(1);
    expect(labelAt('atCutoff')).toBe(0);
    expect(labelAt('afterEnd')).toBe(0);
    expect(set.split.train).toContain(rowOf(set, 'atEnd', t));
    // the cutoff at the purchase itself is a row too: nothing after it, label 0
    expect(set.labels[rowOf(set, 'atEnd', t + H)]).toBe(0);
  });

  it('only uses cutoffs whose label window is fully observed', () => {
    // Prepare
    const events = smallWorkloadEvents();
    const H = 6 * HOUR_MS;
    // Act
    const set = buildSet(events, { labelHorizonMs: H });
    // Assess
    expect(set.rows).toBeGreaterThan(100);
    for (const { cutoffMs } of set.rowMeta) expect(cutoffMs + H).toBeLessThanOrEqual(set.window.toMs);
  });

  it('counts a redelivered range once (de-duplication by eventId)', () => {
    // Prepare
    const events = smallWorkloadEvents();
    const redelivered = [...events, ...events.slice(100, 400)];
    const options = { labelHorizonMs: 6 * HOUR_MS };
    // Act
    const once = buildSet(events, options);
    const twice = buildSet(redelivered, options);
    // Assess
    expect(twice.stats.duplicateEvents).toBe(300);
    expect(twice.features).toEqual(once.features);
    expect(twice.labels).toEqual(once.labels);
    expect(twice.rowMeta).toEqual(once.rowMeta);
  });

  it('splits by time with no overlap and purge gaps of one horizon between the periods', () => {
    // Prepare
    const H = 6 * HOUR_MS;
    // Act
    const set = buildSet(smallWorkloadEvents(), { labelHorizonMs: H });
    // Assess: the three splits partition the rows
    const { train, validation, test } = set.split;
    expect([...train, ...validation, ...test].sort((a, b) => a - b)).toEqual(
      Array.from({ length: set.rows }, (_, i) => i),
    );
    for (const part of [train, validation, test]) expect(part.length).toBeGreaterThan(0);
    const times = (rows: number[]) => rows.map((r) => set.rowMeta[r]!.cutoffMs);
    const latestLabelEnd = (rows: number[]) => Math.max(...times(rows)) + H;
    // no training label window reaches the first validation cutoff, nor validation's the first test one
    expect(latestLabelEnd(train)).toBeLessThan(Math.min(...times(validation)));
    expect(latestLabelEnd(validation)).toBeLessThan(Math.min(...times(test)));
    // the reported ranges hold the rows
    for (const t of times(train)) expect(t >= set.cutoffs.train[0] && t < set.cutoffs.train[1]).toBe(true);
    for (const t of times(test)) expect(t >= set.cutoffs.test[0] && t <= set.cutoffs.test[1]).toBe(true);
    expect(set.cutoffs.validation[0] - set.cutoffs.train[1]).toBe(H);
    expect(set.cutoffs.test[0] - set.cutoffs.validation[1]).toBe(H);
  });

  it('splits by rows, so stray timestamps weeks before the rest cannot empty a split', () => {
    // Prepare: a few events of other profiles dated two months early, as real archives hold
    const H = 6 * HOUR_MS;
    const events = smallWorkloadEvents();
    const earliest = Math.min(...events.map((e) => e.occurredAt));
    const strays = [1, 2, 3, 4, 5].map((i) =>
      event('page_view', `stray-${i}`, earliest - (60 - i) * 24 * HOUR_MS),
    );
    // Act
    const clean = buildSet(events, { labelHorizonMs: H });
    const withStrays = buildSet([...strays, ...events], { labelHorizonMs: H });
    // Assess: the strays add train rows only; validation and test keep their cut and their share
    const keys = (set: TrainingSet) =>
      new Set(set.split.test.map((r) => `${set.rowMeta[r]!.profileId}@${set.rowMeta[r]!.cutoffMs}`));
    const before = keys(clean);
    const after = keys(withStrays);
    expect(
      [...after].filter((k) => !before.has(k)).length + [...before].filter((k) => !after.has(k)).length,
    ).toBeLessThanOrEqual(2);
    // the kept rows come out in the requested shares (70 / 15 / 15, within the rounding of small counts)
    const shareOfRows = (rows: number[]) => rows.length / withStrays.rows;
    expect(shareOfRows(withStrays.split.test)).toBeGreaterThanOrEqual(0.13);
    expect(shareOfRows(withStrays.split.test)).toBeLessThanOrEqual(0.17);
    expect(shareOfRows(withStrays.split.validation)).toBeGreaterThanOrEqual(0.13);
    expect(shareOfRows(withStrays.split.validation)).toBeLessThanOrEqual(0.17);
    expect(shareOfRows(withStrays.split.train)).toBeGreaterThanOrEqual(0.66);
    for (const part of [withStrays.split.train, withStrays.split.validation, withStrays.split.test]) {
      expect(part.some((r) => withStrays.labels[r] === 1)).toBe(true);
    }
    expect(withStrays.window.fromMs).toBe(strays[0]!.occurredAt);
  });

  it('keeps the purge gaps and the row shares for any history, stray timestamps included', () => {
    const historyArbitrary = fc.record({
      drafts: fc.array(
        fc.record({
          user: fc.integer({ min: 0, max: 39 }),
          minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
        }),
        { minLength: 300, maxLength: 600 },
      ),
      strayDaysBefore: fc.array(fc.integer({ min: 1, max: 90 }), { maxLength: 5 }),
      horizonHours: fc.constantFrom(1, 6),
    });
    fc.assert(
      fc.property(historyArbitrary, ({ drafts, strayDaysBefore, horizonHours }) => {
        // Prepare
        const H = horizonHours * HOUR_MS;
        const events = [
          ...drafts.map((d) => event('page_view', `u${d.user}`, T0 + d.minute * MINUTE_MS)),
          ...strayDaysBefore.map((days, i) => event('page_view', `stray${i}`, T0 - days * 24 * HOUR_MS)),
        ];
        // Act
        const set = buildSet(events, { labelHorizonMs: H, cutoffStepMs: 0 });
        // Assess: no label window reaches a later split, and the shares hold within rounding
        const times = (rows: number[]) => rows.map((r) => set.rowMeta[r]!.cutoffMs);
        expect(Math.max(...times(set.split.train)) + H).toBeLessThan(
          Math.min(...times(set.split.validation)),
        );
        expect(Math.max(...times(set.split.validation)) + H).toBeLessThan(Math.min(...times(set.split.test)));
        const share = (rows: number[]) => rows.length / set.rows;
        expect(Math.abs(share(set.split.test) - 0.15)).toBeLessThan(0.03);
        expect(Math.abs(share(set.split.validation) - 0.15)).toBeLessThan(0.03);
      }),
      { numRuns: 30 },
    );
  });

  it('is deterministic for a seed, and the seed drives the cutoff draws and the cap', () => {
    // Prepare
    const events = smallWorkloadEvents();
    const options = { labelHorizonMs: 6 * HOUR_MS, cutoffStepMs: 12 * HOUR_MS, maxCutoffsPerProfile: 2 };
    // Act
    const first = buildSet(events, { ...options, seed: 1 });
    const again = buildSet([...events], { ...options, seed: 1 });
    const other = buildSet(events, { ...options, seed: 2 });
    // Assess
    expect(again.rowMeta).toEqual(first.rowMeta);
    expect(again.features).toEqual(first.features);
    expect(again.labels).toEqual(first.labels);
    expect(other.rowMeta).not.toEqual(first.rowMeta);
    expect(first.stats.cappedCutoffs).toBeGreaterThan(0);
    const perProfile = new Map<string, number>();
    for (const { profileId } of first.rowMeta)
      perProfile.set(profileId, (perProfile.get(profileId) ?? 0) + 1);
    expect(Math.max(...perProfile.values())).toBeLessThanOrEqual(2);
  });

  it('keeps at most one cutoff per profile and cell', () => {
    // Prepare
    const step = 12 * HOUR_MS;
    // Act
    const set = buildSet(smallWorkloadEvents(), { labelHorizonMs: 6 * HOUR_MS, cutoffStepMs: step });
    // Assess
    const cells = set.rowMeta.map(({ profileId, cutoffMs }) => `${profileId}@${Math.floor(cutoffMs / step)}`);
    expect(new Set(cells).size).toBe(cells.length);
  });

  it('refuses data that leaves a split without rows once the purge gaps are out', () => {
    // Prepare
    const events = [event('page_view', 'u1', T0), event('page_view', 'u1', T0 + 3 * HOUR_MS)];
    // Act / Assess
    expect(() => buildSet(events, { labelHorizonMs: HOUR_MS })).toThrow(TrainingSetError);
    expect(() => buildSet(events, { labelHorizonMs: 0 })).toThrow(/labelHorizonMs/);
    expect(() =>
      buildSet(events, { labelHorizonMs: 1, split: { validationFraction: 0.5, testFraction: 0.5 } }),
    ).toThrow(/split/);
  });

  it('describes the cut with the row and positive counts of each split', () => {
    // Prepare
    const set = buildSet(smallWorkloadEvents(), { labelHorizonMs: 6 * HOUR_MS });
    // Act
    const facts = new Map(describeTrainingSet(set, 6 * HOUR_MS));
    // Assess
    expect(facts.get('Label')).toBe('purchase in (t, t + 6 h]');
    expect(facts.get('Test cutoffs')).toContain(`${set.split.test.length} rows`);
  });

  it('labels churn (no event in (t, t + D]) and the next category within the longest window', () => {
    // Prepare: H = 1 h, D = 2 h (W = 2 h); a filler user active every hour for 30 h puts hour 2 in train
    const t = T0 + 2 * HOUR_MS;
    const at = (type: ContractEvent['type'], user: string, atMs: number, categoryId?: string) => {
      const e = event(type, user, atMs);
      delete e.categoryId;
      if (categoryId !== undefined) e.categoryId = categoryId;
      return e;
    };
    const events = [
      ...Array.from({ length: 31 }, (_, h) => at('page_view', 'z', T0 + h * HOUR_MS)),
      at('product_view', 'stays', t, 'shoes'),
      at('page_view', 'stays', t + 30 * MINUTE_MS),
      at('product_view', 'stays', t + 90 * MINUTE_MS, 'hats'),
      at('product_view', 'leaves', t, 'hats'),
      at('product_view', 'leaves', t + 2 * HOUR_MS + 1, 'hats'),
      at('product_view', 'edge', t, 'socks'),
      at('product_view', 'edge', t + 2 * HOUR_MS, 'socks'),
    ];
    // Act
    const set = buildTrainingSet(events, {
      labelHorizonMs: HOUR_MS,
      churnHorizonMs: 2 * HOUR_MS,
      nextCategoryCount: 1,
      cutoffStepMs: 0,
    });
    // Assess
    const row = (profileId: string) => rowOf(set, profileId, t);
    expect(set.churnLabels[row('stays')]).toBe(0);
    expect(set.churnLabels[row('leaves')]).toBe(1);
    expect(set.churnLabels[row('edge')]).toBe(0);
    // K = 1: the most frequent next category of the train rows is named, the rest is `other`
    expect(set.categories).toHaveLength(2);
    expect(set.categories[1]).toBe(OTHER_CATEGORY);
    const classOf = (key: string) => (set.categories.indexOf(key) >= 0 ? set.categories.indexOf(key) : 1);
    // the first categorised event after t (the page view has none), one at exactly t + W still counts
    expect(set.nextCategoryLabels[row('stays')]).toBe(classOf('hats'));
    expect(set.nextCategoryLabels[row('edge')]).toBe(classOf('socks'));
    expect(set.nextCategoryLabels[row('leaves')]).toBe(-1);
    expect(set.nextCategoryLabels[rowOf(set, 'z', T0 + 2 * HOUR_MS)]).toBe(-1);
    expect(set.lastCategory[rowOf(set, 'stays', t + 30 * MINUTE_MS)]).toBe(classOf('shoes'));
    // the profile's own affinity is a distribution over the classes
    const affinity = set.categoryAffinity.subarray(row('edge') * 2, row('edge') * 2 + 2);
    expect(affinity[0]! + affinity[1]!).toBeCloseTo(1, 6);
  });

  it('counts the category classes on the train rows only', () => {
    // Prepare
    const events = smallWorkloadEvents();
    // Act
    const set = buildSet(events, { labelHorizonMs: 6 * HOUR_MS, nextCategoryCount: 3 });
    // Assess: the named classes are the three most frequent next categories of the train rows
    const counts = new Map<number, number>();
    for (const r of set.split.train) {
      const c = set.nextCategoryLabels[r]!;
      if (c >= 0) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    const named = [0, 1, 2].map((c) => counts.get(c) ?? 0);
    expect(named).toEqual([...named].sort((a, b) => b - a));
    expect(named[2]!).toBeGreaterThan(0);
    expect(set.categories).toHaveLength(4);
  });

  it('purges and bounds the cutoffs by the longest label window, max(H, D)', () => {
    // Prepare: five days, H = 6 h and the default D = 1 day
    const workload = generateWorkload({ users: 150, days: 5, seed: 3 });
    const events = workload.events.map((raw) => validateEvent(raw, workload.endMs).event);
    const W = 24 * HOUR_MS;
    // Act
    const set = buildTrainingSet(events, { labelHorizonMs: 6 * HOUR_MS });
    // Assess
    const times = (rows: number[]) => rows.map((r) => set.rowMeta[r]!.cutoffMs);
    for (const t of times([...set.split.train, ...set.split.validation, ...set.split.test])) {
      expect(t + W).toBeLessThanOrEqual(set.window.toMs);
    }
    expect(Math.max(...times(set.split.train)) + W).toBeLessThan(Math.min(...times(set.split.validation)));
    expect(Math.max(...times(set.split.validation)) + W).toBeLessThan(Math.min(...times(set.split.test)));
    expect(set.horizons).toEqual({ purchaseMs: 6 * HOUR_MS, churnMs: W });
    for (const part of [set.split.train, set.split.test]) {
      expect(part.some((r) => set.churnLabels[r] === 1)).toBe(true);
      expect(part.some((r) => set.churnLabels[r] === 0)).toBe(true);
    }
  });

  it('names a heuristic feature that exists', () => {
    expect(FEATURE_NAMES).toContain(CART_HEURISTIC_FEATURE);
  });
});
