/**
 * The item codec's cheaper encode and decode against the v6 codec as it was before them (frozen at
 * 9cc23ca in test/support): the same items to the byte and the attribute order, the same decoded
 * profiles, the same item sizes, for any profile, score, traits and membership.
 */
import fc from 'fast-check';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { profileExtrasOf } from '../../../shared/audiences/profile-extras';
import { FEATURE_NAMES } from '../../../shared/features/feature-vector';
import type { ProfileScore } from '../../../shared/model/model-outputs';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { estimateItemBytes } from '../../../shared/profile/dynamodb-item-size';
import {
  decodeProfileItem,
  encodeProfileItem,
  lastEncodedItemBytes,
  type ProfileItemMeta,
} from '../../../shared/profile/profile-item-codec';
import { shardMarksOfStateBlob } from '../../../shared/profile/profile-state-blob';
import type { ProfileState, ShardMark } from '../../../shared/profile/profile-state';
import { assessRisk } from '../../../shared/risk/anomaly-score';
import * as frozenSize from '../../support/dynamodb-item-size-v6';
import * as frozen from '../../support/profile-item-codec-v6';
import { sequenced } from '../../support/factories';
import { userWithMerges } from '../../support/merge-fixtures';
import { envelopedEvents } from '../../support/profile-fixtures';

/** Items compared as text: attribute order, every value, and binary attributes by their bytes. */
const bytesOf = (item: unknown) =>
  JSON.stringify(item, (_key, value: unknown) =>
    value instanceof Uint8Array || value instanceof Int8Array
      ? { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
      : value,
  );
const viaDynamoDb = (item: object) => unmarshall(marshall(item, { removeUndefinedValues: true }));

/** A canonical sequence number of 1 to 57 digits. */
const sequenceNumber = fc.oneof(
  fc.constant('0'),
  fc
    .tuple(fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 56 }))
    .map(([first, rest]) => `${first}${rest.join('')}`),
);
/** Kinesis shard ids (their compact form) and any other id (stored by name). */
const shardId = fc.oneof(
  fc.integer({ min: 0, max: 999_999_999_999 }).map((n) => `shardId-${String(n).padStart(12, '0')}`),
  fc.string({ minLength: 1, maxLength: 24 }),
);
const shardMarks: fc.Arbitrary<ShardMark[]> = fc
  .uniqueArray(fc.record({ shardId, sequenceNumber }), { selector: (m) => m.shardId, maxLength: 4 })
  .map((marks) => marks.sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0)));

/** Any profile: the user's own events or a user with merges, with any shard marks. */
const anyProfile: fc.Arbitrary<ProfileState> = fc
  .tuple(
    fc.oneof(
      envelopedEvents.map((events) => applyEventsToProfile(undefined, sequenced(events), 'u-1').state),
      userWithMerges,
    ),
    fc.option(shardMarks, { nil: undefined }),
  )
  .map(([state, marks]) => (marks === undefined ? state : { ...state, shardMarks: marks }));

const probability = fc.double({ min: 0, max: 1, noNaN: true });
const reasons = fc.uniqueArray(
  fc.record({
    feature: fc.constantFrom(...FEATURE_NAMES),
    contribution: fc.double({ min: -8, max: 8, noNaN: true }),
  }),
  { selector: (r) => r.feature, maxLength: 3 },
);
const anyScore: fc.Arbitrary<ProfileScore | undefined> = fc.option(
  fc.record(
    {
      propensity: probability,
      modelVersion: fc.constantFrom('m-1', 'v20261127093000-1a2b3c4d'),
      scoredAt: fc.nat(),
      churnRisk: probability,
      nextCategories: fc.uniqueArray(
        fc.record({ category: fc.constantFrom('c1', 'c2', 'c3', 'cat-11', 'other'), probability }),
        { selector: (c) => c.category, maxLength: 3 },
      ),
      reasons: fc.record({ purchase: reasons, churn: reasons }, { requiredKeys: [] }),
      embedding: fc.record({
        scale: fc.double({ min: 1e-6, max: 10, noNaN: true }),
        bytes: fc.int8Array({ minLength: 16, maxLength: 16 }),
      }),
    },
    { requiredKeys: ['propensity', 'modelVersion', 'scoredAt'] },
  ),
  { nil: undefined },
);
const audiences = fc.option(fc.dictionary(fc.constantFrom('a-1', 'suspicious', 'x'), fc.nat()), {
  nil: undefined,
});

/** A profile and the meta of its write, as ingest builds it (traits and risk from `profileExtrasOf`). */
const anyWrite = fc
  .record({ state: anyProfile, score: anyScore, version: fc.nat(), audiences, withExtras: fc.boolean() })
  .map(({ state, score, version, audiences: stored, withExtras }) => {
    const meta: ProfileItemMeta = { version, score, writtenAt: state.lastEventAt + 1000 };
    if (withExtras) {
      const extras = profileExtrasOf(state, score, undefined, undefined, stored);
      Object.assign(meta, { traits: extras.traits, anomalyScore: extras.anomalyScore, audiences: stored });
    }
    return { state, meta };
  });

/**
 * Writes near and above one write unit, where the encoder drops reasons: up to 8 categories of up to 32
 * characters (the limits) and a score with every output, 3 reasons per head.
 */
const largeWrite = fc
  .record({
    state: anyProfile,
    categories: fc.uniqueArray(fc.string({ minLength: 24, maxLength: 32 }), { minLength: 6, maxLength: 8 }),
    score: anyScore.filter((s) => s !== undefined),
    purchase: reasons.filter((r) => r.length === 3),
    churn: reasons.filter((r) => r.length === 3),
  })
  .map(({ state, categories, score, purchase, churn }) => {
    const large: ProfileState = {
      ...state,
      categories: categories.map((key, i) => ({ key, score: 65_536 * (categories.length - i) })),
    };
    const meta: ProfileItemMeta = { version: 1, score: { ...score!, reasons: { purchase, churn } } };
    return { state: large, meta };
  });

describe('profile item codec: the cheaper encode and decode change nothing', () => {
  it('writes the same item as the frozen v6 codec, byte for byte and in the same attribute order', () => {
    fc.assert(
      fc.property(anyWrite, ({ state, meta }) => {
        // Act
        const item = encodeProfileItem(state, meta);
        // Assess
        const reference = frozen.encodeProfileItem(state, meta);
        expect(bytesOf(item)).toBe(bytesOf(reference));
        // Also as objects: the same prototypes, the same attributes left undefined.
        expect(item).toStrictEqual(reference);
        expect(shardMarksOfStateBlob(item.state)).toEqual(state.shardMarks);
      }),
    );
  });

  it('drops the same reasons as the frozen v6 codec from items beyond one write unit, and knows their size', () => {
    fc.assert(
      fc.property(largeWrite, ({ state, meta }) => {
        // Act
        const item = encodeProfileItem(state, meta);
        // Assess
        expect(bytesOf(item)).toBe(bytesOf(frozen.encodeProfileItem(state, meta)));
        expect(lastEncodedItemBytes()).toBe(frozenSize.estimateItemBytes(item));
      }),
    );
  });

  it('decodes every item as the frozen v6 codec does, also after a DynamoDB round trip', () => {
    fc.assert(
      fc.property(anyWrite, ({ state, meta }) => {
        // Prepare
        const item = frozen.encodeProfileItem(state, meta);
        // Act
        const decoded = decodeProfileItem(item);
        // Assess
        expect(bytesOf(decoded)).toBe(bytesOf(frozen.decodeProfileItem(item)));
        expect(bytesOf(decodeProfileItem(viaDynamoDb(item)))).toBe(bytesOf(decoded));
        expect(decoded.state).toEqual(state);
      }),
    );
  });

  it('decodes categories and cart events stored in any order as the frozen v6 codec does', () => {
    fc.assert(
      fc.property(anyWrite, fc.nat(), ({ state, meta }, seed) => {
        // Prepare: the same item with `cat` and `cart` in another order (another writer's, or a reader's edit)
        const item = frozen.encodeProfileItem(state, meta);
        const rotate = <T>(list: T[]) => {
          const k = list.length === 0 ? 0 : seed % list.length;
          return [...list.slice(k), ...list.slice(0, k)].reverse();
        };
        const shuffled = {
          ...item,
          cat: Object.fromEntries(rotate(Object.entries(item.cat))),
          cart: rotate(item.cart),
        };
        // Act
        const decoded = decodeProfileItem(shuffled);
        // Assess
        expect(bytesOf(decoded)).toBe(bytesOf(frozen.decodeProfileItem(shuffled)));
        expect(decoded.state).toEqual(state);
      }),
    );
  });

  it('stores the anomaly score profileExtrasOf computed, the one the frozen codec computes itself', () => {
    fc.assert(
      fc.property(anyProfile, (state) => {
        // Act
        const { anomalyScore } = profileExtrasOf(state, undefined, undefined, undefined, undefined);
        // Assess
        expect(anomalyScore).toBe(assessRisk(state).anomalyScore);
        const item = encodeProfileItem(state, { version: 1, anomalyScore });
        expect(bytesOf(item)).toBe(bytesOf(frozen.encodeProfileItem(state, { version: 1 })));
      }),
    );
  });

  it('sizes every item (as it encodes it, and by walking it) and any attribute value as the frozen v6 size does', () => {
    const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
        fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => n / 10_000),
        fc.string({ unit: 'binary' }),
        fc.boolean(),
        fc.constant(null),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'binary', minLength: 1 }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(anyWrite, fc.dictionary(fc.string({ minLength: 1 }), value), ({ state, meta }, other) => {
        // Act
        const item = encodeProfileItem(state, meta);
        // Assess
        expect(lastEncodedItemBytes()).toBe(frozenSize.estimateItemBytes(item));
        expect(estimateItemBytes(item)).toBe(frozenSize.estimateItemBytes(item));
        expect(estimateItemBytes(other)).toBe(frozenSize.estimateItemBytes(other));
      }),
    );
  });
});
