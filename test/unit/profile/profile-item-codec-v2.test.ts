import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import type { ProfileScore, ScoreReason } from '../../../shared/model/model-outputs';
import { applyEventsToProfile, type SequencedEvent } from '../../../shared/profile/apply-events';
import { estimateItemBytes } from '../../../shared/profile/dynamodb-item-size';
import {
  decodeProfileItem,
  encodeProfileItem,
  ITEM_BYTES_BUDGET,
  ITEM_READABLE_FROM_VERSION,
  ITEM_SCHEMA_VERSION,
  profileItemSchema,
  profileItemSchemaV1,
} from '../../../shared/profile/profile-item-codec';
import { emptyProfile, type ProfileState } from '../../../shared/profile/profile-state';
import { emptyRiskState } from '../../../shared/risk/risk-signals';
import { describeProfile } from '../../../infra/client/profile-view';
import * as v1 from '../../support/profile-item-codec-v1';
import * as v4 from '../../support/profile-item-codec-v4';
import { sequenced, T0 } from '../../support/factories';
import { envelopedEvents, heavyEvents } from '../../support/profile-fixtures';

/** Feature names as long as the schema's (`decay_1d_add_to_cart_log1p`, 26–31 characters). */
const FEATURES = [
  'decay_1d_add_to_cart_log1p',
  'count_24h_product_view_log1p',
  'hours_since_last_purchase_log1p',
  'hours_since_last_event_log1p',
  'top_category_share',
  'count_72h_begin_checkout_log1p',
];

function fullScore(seed = 0): ProfileScore {
  const reasons = (offset: number): ScoreReason[] =>
    [0.8123, -0.4567, 0.1234].map((contribution, i) => ({
      feature: FEATURES[(seed + offset + i) % FEATURES.length]!,
      contribution,
    }));
  return {
    propensity: 0.123456,
    churnRisk: 0.654321,
    nextCategories: [
      { category: 'cat-07', probability: 0.41234 },
      { category: 'cat-12', probability: 0.2 },
      { category: 'other', probability: 0.1 },
    ],
    reasons: { purchase: reasons(0), churn: reasons(3) },
    embedding: { scale: 0.0123456789, bytes: Int8Array.from({ length: 16 }, (_, i) => (i * 37) % 256) },
    modelVersion: 'v20261127093000-1a2b3c4d',
    scoredAt: T0 + 5000,
  };
}
const V1_SCORE = { propensity: 0.123456, modelVersion: 'v20261127093000-1a2b3c4d', scoredAt: T0 + 5000 };

const anyState = envelopedEvents.map(
  (events) => applyEventsToProfile(undefined, sequenced(events), 'u-1').state,
);

const reason = fc.record({
  feature: fc.string({ minLength: 1, maxLength: 32 }),
  contribution: fc.double({ min: -20, max: 20, noNaN: true }),
});
const probability = fc.double({ min: 0, max: 1, noNaN: true });
/** Any score the model can produce: optional heads, distinct keys, up to 3 entries each. */
const anyScore: fc.Arbitrary<ProfileScore> = fc.record(
  {
    propensity: probability,
    churnRisk: probability,
    nextCategories: fc.uniqueArray(fc.record({ category: fc.string({ minLength: 1 }), probability }), {
      minLength: 1,
      maxLength: 3,
      selector: (c) => c.category,
    }),
    reasons: fc.record(
      {
        purchase: fc.uniqueArray(reason, { minLength: 1, maxLength: 3, selector: (r) => r.feature }),
        churn: fc.uniqueArray(reason, { minLength: 1, maxLength: 3, selector: (r) => r.feature }),
      },
      { requiredKeys: [] },
    ),
    embedding: fc.record({
      scale: fc.double({ min: 1e-6, max: 10, noNaN: true }),
      bytes: fc.int8Array({ minLength: 8, maxLength: 16 }),
    }),
    modelVersion: fc.string({ minLength: 1 }),
    scoredAt: fc.nat(),
  },
  { requiredKeys: ['propensity', 'modelVersion', 'scoredAt'] },
);

/** What the item keeps of a score, within the documented rounding. */
function expectStoredScore(decoded: ProfileScore | undefined, score: ProfileScore): void {
  expect(decoded).toBeDefined();
  const got = decoded!;
  expect(got.modelVersion).toBe(score.modelVersion);
  expect(got.scoredAt).toBe(score.scoredAt);
  expect(Math.abs(got.propensity - score.propensity)).toBeLessThanOrEqual(5e-5 + 1e-12);
  expect(got.churnRisk === undefined).toBe(score.churnRisk === undefined);
  if (score.churnRisk !== undefined)
    expect(Math.abs(got.churnRisk! - score.churnRisk)).toBeLessThanOrEqual(5e-5 + 1e-12);
  const categories = [...(score.nextCategories ?? [])].sort((a, b) => b.probability - a.probability);
  expect(got.nextCategories?.map((c) => c.category).sort()).toEqual(
    score.nextCategories === undefined ? undefined : categories.map((c) => c.category).sort(),
  );
  for (const c of got.nextCategories ?? []) {
    const sent = categories.find((s) => s.category === c.category)!;
    expect(Math.abs(c.probability - sent.probability)).toBeLessThanOrEqual(5e-5 + 1e-12);
  }
  // Rank order: most likely first.
  const ranks = (got.nextCategories ?? []).map((c) => c.probability);
  expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
  for (const head of ['purchase', 'churn'] as const) {
    const sent = score.reasons?.[head];
    const stored = got.reasons?.[head];
    expect(stored === undefined).toBe(sent === undefined);
    if (sent === undefined) continue;
    expect(stored!.map((r) => r.feature).sort()).toEqual(sent.map((r) => r.feature).sort());
    for (const r of stored!) {
      const original = sent.find((s) => s.feature === r.feature)!;
      expect(Math.abs(r.contribution - original.contribution)).toBeLessThanOrEqual(5e-3 + 1e-12);
    }
    const magnitudes = stored!.map((r) => Math.abs(r.contribution));
    expect(magnitudes).toEqual([...magnitudes].sort((a, b) => b - a));
  }
  expect(got.embedding === undefined).toBe(score.embedding === undefined);
  if (score.embedding !== undefined) {
    expect(got.embedding!.bytes).toEqual(score.embedding.bytes);
    expect(Math.abs(got.embedding!.scale / score.embedding.scale - 1)).toBeLessThanOrEqual(5e-4);
  }
}

describe('profile item v2: the model outputs', () => {
  it('round-trips every output through DynamoDB: bytes exact, numbers within the documented rounding', () => {
    fc.assert(
      fc.property(anyScore, (score) => {
        // Prepare
        const state = emptyProfile('u-1');
        // Act
        const item = encodeProfileItem(state, { version: 1, score });
        const decoded = decodeProfileItem(unmarshall(marshall(item, { removeUndefinedValues: true })));
        // Assess
        expect(decoded.state).toEqual(state);
        expectStoredScore(decoded.score, score);
      }),
    );
  });

  it('stores the outputs as plain attributes that satisfy the v2 schema', () => {
    fc.assert(
      fc.property(anyState, anyScore, (state, score) => {
        // Prepare, Act
        const parsed = profileItemSchema.safeParse(encodeProfileItem(state, { version: 1, score }));
        // Assess
        expect(parsed.error).toBeUndefined();
      }),
    );
  });

  it('writes readable numbers and strings a reader without this codec can use', () => {
    // Prepare, Act
    const item = encodeProfileItem(emptyProfile('u-1'), { version: 1, score: fullScore() });
    // Assess
    // Reasons by feature code (shared/features/feature-codes.ts); features without one by their name.
    expect(item).toMatchObject({
      itemSchemaVersion: ITEM_SCHEMA_VERSION,
      propensity: 0.1235,
      churnRisk: 0.6543,
      nextCategories: { 'cat-07': 0.4123, 'cat-12': 0.2, other: 0.1 },
      reasons: {
        purchase: {
          'ac.1d': 0.81,
          count_24h_product_view_log1p: -0.46,
          'pu.rec': 0.12,
        },
        churn: {
          'ev.rec': 0.81,
          'cat.top': -0.46,
          count_72h_begin_checkout_log1p: 0.12,
        },
      },
      embedding: [0.01235, expect.any(Uint8Array)],
    });
    // The embedding's bytes are the int8 values as unsigned bytes.
    const stored = item.embedding![1];
    expect(Array.from(new Int8Array(stored.buffer, stored.byteOffset, stored.byteLength))).toEqual(
      Array.from(fullScore().embedding!.bytes),
    );
  });

  it('refuses malformed outputs, naming the field', () => {
    // Prepare
    const item = encodeProfileItem(emptyProfile('u-1'), { version: 1, score: fullScore() });
    // Act
    const decode = (patch: Record<string, unknown>) => () => decodeProfileItem({ ...item, ...patch });
    // Assess
    expect(decode({ churnRisk: 1.5 })).toThrow(/^churnRisk:/);
    expect(decode({ nextCategories: { 'cat-07': 'high' } })).toThrow(/^nextCategories\.cat-07:/);
    expect(decode({ reasons: { purchase: { f: Number.NaN } } })).toThrow(/^reasons\.purchase\.f:/);
    expect(decode({ embedding: [0, new Uint8Array(8)] })).toThrow(/^embedding\.0:/);
    expect(decode({ embedding: [0.1, 'AAAA'] })).toThrow(/^embedding\.1:/);
    expect(decode({ itemSchemaVersion: ITEM_SCHEMA_VERSION + 1 })).toThrow(/^itemSchemaVersion:/);
    // A later additive layout's attributes are ignored, as v1 ignores these.
    expect(decode({ someLaterOutput: [1] })().score).toBeDefined();
  });

  it('keeps a profile near one write unit within it by dropping its least important reasons', () => {
    // Prepare: a busy profile (one shard mark, the normal case) with its cart (since v6 moved the decays
    // into state, the same profile without its cart fits one unit with every reason).
    const events = heavyEvents('u-10086421').filter((e) => e.shardId === 'shardId-000000000000');
    const state = applyEventsToProfile(undefined, events, 'u-10086421').state;
    const score = fullScore();
    const allReasons = encodeProfileItem(emptyProfile('u-1'), { version: 1, score }).reasons;
    // Act
    const item = encodeProfileItem(state, { version: 123_456, score });
    const decoded = decodeProfileItem(item).score!;
    // Assess
    expect(estimateItemBytes({ ...item, reasons: allReasons })).toBeGreaterThan(ITEM_BYTES_BUDGET);
    expect(estimateItemBytes(item)).toBeLessThanOrEqual(ITEM_BYTES_BUDGET);
    const kept = [...decoded.reasons!.purchase!, ...decoded.reasons!.churn!];
    expect(kept.length).toBeLessThan(6);
    // Each head keeps its top reason; what is dropped is never larger than what is kept.
    expect(decoded.reasons!.purchase![0]!.feature).toBe(score.reasons!.purchase![0]!.feature);
    expect(decoded.reasons!.churn![0]!.feature).toBe(score.reasons!.churn![0]!.feature);
    const smallestKept = Math.min(...kept.map((r) => Math.abs(r.contribution)));
    const all = [...score.reasons!.purchase!, ...score.reasons!.churn!];
    const dropped = all.filter((r) => !kept.some((k) => k.feature === r.feature));
    expect(dropped.length).toBeGreaterThan(0);
    for (const r of dropped) expect(Math.abs(r.contribution)).toBeLessThanOrEqual(smallestKept);
    expectStoredScore({ ...decoded, reasons: score.reasons }, score);
  });

  // Since v6 (decays in state) every list full with one shard mark fits one unit by dropping reasons (above).
  it.each([['every list full, 4 shard marks (after a reshard)', (_e: SequencedEvent) => true]])(
    'keeps every reason when the item costs two write units anyway, within 2,048 bytes (%s)',
    (_label, keep) => {
      // Prepare
      const state = applyEventsToProfile(
        undefined,
        heavyEvents('u-10086421').filter(keep),
        'u-10086421',
      ).state;
      // Act
      const item = encodeProfileItem(state, { version: 123_456, score: fullScore() });
      // Assess
      const bytes = estimateItemBytes(item);
      expect(bytes).toBeGreaterThan(ITEM_BYTES_BUDGET);
      expect(bytes).toBeLessThanOrEqual(2048);
      expectStoredScore(decodeProfileItem(item).score, fullScore());
    },
  );
});

// v1 / v2 compatibility is history now: the frozen v4 codec, whose items without merges v1 code reads, plays
// the v2 writer. The current (v5) decoder must still read v1 items; v5 items are refused by v1-v4 code
// (profile-item-codec-v5.test.ts).
describe('profile item v1 / v2 side by side (rolling deploy)', () => {
  const viaDynamoDb = (item: object) => unmarshall(marshall(item, { removeUndefinedValues: true }));

  /** What a v1 reader keeps of a state: everything but the risk signals, which it does not know (they restart). */
  const asV1Sees = (state: ProfileState): ProfileState => ({ ...state, risk: emptyRiskState() });
  /** An item without the risk attributes, which v1 code never writes. */
  function withoutRiskAttributes(item: Record<string, unknown>): Record<string, unknown> {
    const { riskScore: _score, risk: _risk, logins: _logins, fp: _fp, ...rest } = item;
    return rest;
  }

  it('the deployed v1 decoder reads v2 items: the same state and propensity, the new outputs ignored', () => {
    fc.assert(
      fc.property(anyState, fc.nat(), (state, version) => {
        // Prepare
        const item = viaDynamoDb(v4.encodeProfileItem(state, { version, score: fullScore(version) }));
        // Act
        const decoded = v1.decodeProfileItem(item);
        // Assess
        expect(decoded.state).toEqual(asV1Sees(state));
        expect(decoded.version).toBe(version);
        expect(decoded.score).toEqual({ ...V1_SCORE, propensity: 0.1235 });
      }),
    );
  });

  it('the v2 decoder reads v1 items, and writes items identical to v1 when the score has no new outputs', () => {
    fc.assert(
      fc.property(anyState, fc.nat(), fc.boolean(), (state, version, scored) => {
        // Prepare
        const meta = scored ? { version, score: V1_SCORE } : { version };
        const v1Item = v1.encodeProfileItem(state, meta);
        // Act
        const decoded = decodeProfileItem(viaDynamoDb(v1Item));
        // Assess
        expect(decoded.state).toEqual(asV1Sees(state));
        expect(decoded.itemSchemaVersion).toBe(ITEM_READABLE_FROM_VERSION);
        expect(decoded.score).toEqual(scored ? { ...V1_SCORE, propensity: 0.1235 } : undefined);
        expect(withoutRiskAttributes(v4.encodeProfileItem(state, meta))).toEqual(v1Item);
        expect(v4.decodeProfileItem(viaDynamoDb(v1Item)).state).toEqual(decoded.state);
        expect(profileItemSchema.safeParse(v1Item).error).toBeUndefined();
        expect(profileItemSchemaV1.safeParse(v1Item).error).toBeUndefined();
      }),
    );
  });

  /**
   * Two functions write one profile under the optimistic lock, an old one (v1 codec) and a new one (v2
   * codec), each folding its own shard's events (as after a reshard), in any interleaving of reads and
   * conditional writes. Neither may fail to decode what the other wrote, and the stored state must be
   * exactly the events of every committed write, in commit order (the risk signals, which v1 does not
   * know, restart after a v1 write: they are compared with what a v1 reader sees).
   */
  it('a v1 writer and a v2 writer alternating under the optimistic lock never fail and never lose state', () => {
    type Codec = {
      decode: (raw: unknown) => { state: ProfileState; version: number };
      encode: (state: ProfileState, meta: { version: number; score: ProfileScore }) => object;
      score: ProfileScore;
    };
    const codecs: Codec[] = [
      { decode: v1.decodeProfileItem, encode: v1.encodeProfileItem, score: V1_SCORE },
      { decode: v4.decodeProfileItem, encode: v4.encodeProfileItem, score: fullScore() },
    ];
    fc.assert(
      fc.property(
        envelopedEvents,
        envelopedEvents,
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 80 }),
        (eventsA, eventsB, schedule) => {
          // Prepare: writer w folds its shard's events in chunks of 3.
          const chunksOf = (events: SequencedEvent[]) =>
            Array.from({ length: Math.ceil(events.length / 3) }, (_, i) => events.slice(i * 3, i * 3 + 3));
          const queues = [
            chunksOf(sequenced(eventsA, 'shardId-000000000001')),
            chunksOf(sequenced(eventsB, 'shardId-000000000002')),
          ];
          const snapshots: ({ raw: Record<string, unknown> | undefined } | undefined)[] = [
            undefined,
            undefined,
          ];
          let stored: Record<string, unknown> | undefined;
          const committed: SequencedEvent[][] = [];
          // Act: each step, the scheduled writer either reads the item or tries a conditional write.
          for (const w of [...schedule, ...Array<number>(200).fill(0), ...Array<number>(200).fill(1)]) {
            const chunk = queues[w]![0];
            if (chunk === undefined) continue;
            const snapshot = snapshots[w];
            if (snapshot === undefined) {
              snapshots[w] = { raw: stored };
              continue;
            }
            snapshots[w] = undefined;
            const codec = codecs[w]!;
            const current = snapshot.raw === undefined ? undefined : codec.decode(snapshot.raw);
            const storedVersion = stored === undefined ? undefined : (stored.version as number);
            if (storedVersion !== current?.version) continue; // ConditionalCheckFailed: read again
            const next = applyEventsToProfile(current?.state, chunk, 'u-1');
            stored = viaDynamoDb(
              codec.encode(next.state, { version: (current?.version ?? 0) + 1, score: codec.score }),
            );
            committed.push(chunk);
            queues[w]!.shift();
          }
          // Assess
          expect(queues.every((q) => q.length === 0)).toBe(true);
          let expected: ProfileState | undefined;
          for (const chunk of committed) expected = applyEventsToProfile(expected, chunk, 'u-1').state;
          if (stored === undefined) return;
          expect(asV1Sees(decodeProfileItem(stored).state)).toEqual(asV1Sees(expected!));
          expect(asV1Sees(v4.decodeProfileItem(stored).state)).toEqual(asV1Sees(expected!));
          expect(v1.decodeProfileItem(stored).state).toEqual(asV1Sees(expected!));
          expect(stored.version).toBe(committed.length);
        },
      ),
    );
  });
});

describe('describeProfile shows the v2 outputs', () => {
  it('lists the outputs as stored, ranked, with the embedding dequantised and the reasons in words', () => {
    // Prepare
    const score = fullScore();
    const item = decodeProfileItem(encodeProfileItem(emptyProfile('u-1'), { version: 1, score }));
    // Act
    const view = describeProfile(item, T0);
    // Assess
    expect(view.score).toEqual({
      propensity: 0.1235,
      churnRisk: 0.6543,
      nextCategories: [
        { category: 'cat-07', probability: 0.4123 },
        { category: 'cat-12', probability: 0.2 },
        { category: 'other', probability: 0.1 },
      ],
      reasons: {
        purchase: [
          { feature: 'decay_1d_add_to_cart_log1p', contribution: 0.81 },
          { feature: 'count_24h_product_view_log1p', contribution: -0.46 },
          { feature: 'hours_since_last_purchase_log1p', contribution: 0.12 },
        ],
        churn: [
          { feature: 'hours_since_last_event_log1p', contribution: 0.81 },
          { feature: 'top_category_share', contribution: -0.46 },
          { feature: 'count_72h_begin_checkout_log1p', contribution: 0.12 },
        ],
      },
      embedding: Array.from(score.embedding!.bytes, (b) => Math.round(b * 0.01235 * 1e4) / 1e4),
      modelVersion: score.modelVersion,
      scoredAt: new Date(score.scoredAt).toISOString(),
      explanations: {
        purchase: [
          'add-to-cart activity over about the last day raised the purchase probability (+0.81)',
          expect.stringMatching(/lowered the purchase probability \(-0\.46\)$/),
          'time since the last purchase raised the purchase probability (+0.12)',
        ],
        churn: expect.arrayContaining([expect.stringMatching(/raised the churn risk \(\+0\.81\)$/)]),
      },
    });
  });
});
