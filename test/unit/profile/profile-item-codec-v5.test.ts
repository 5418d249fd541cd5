import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describeProfile } from '../../../infra/client/profile-view';
import type { ProfileScore } from '../../../shared/model/model-outputs';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { estimateItemBytes } from '../../../shared/profile/dynamodb-item-size';
// The v5 codec as deployed (frozen): v4 / v5 compatibility is history now, kept as the record of what
// v5 code still running in a deploy does; v6 against it is in profile-item-codec-v6.test.ts.
import {
  decodeProfileItem,
  encodeProfileItem,
  ITEM_BYTES_BUDGET,
  ITEM_SCHEMA_VERSION,
  ProfileItemViolation,
  profileItemSchema,
  profileItemSchemaV5,
} from '../../support/profile-item-codec-v5';
import { shardMarksOfStateBlob } from '../../../shared/profile/profile-state-blob';
import { emptyProfile, type ProfileState } from '../../../shared/profile/profile-state';
import * as v4 from '../../support/profile-item-codec-v4';
import { sequenced, T0 } from '../../support/factories';
import { userWithMerges } from '../../support/merge-fixtures';
import { envelopedEvents, heavyEvents } from '../../support/profile-fixtures';
import { alternatingWritersLoseNothing } from '../../support/rolling-deploy';

const viaDynamoDb = (item: object) => unmarshall(marshall(item, { removeUndefinedValues: true }));
const SCORE: ProfileScore = {
  propensity: 0.123456,
  modelVersion: 'v20261127093000-1a2b3c4d',
  scoredAt: T0 + 5000,
  reasons: {
    purchase: [
      { feature: 'decay_1d_add_to_cart_log1p', contribution: 0.8123 },
      { feature: 'a_feature_without_a_code', contribution: -0.4567 },
    ],
    churn: [{ feature: 'hours_since_last_event_log1p', contribution: 0.5 }],
  },
};

/** Any profile: one of the user's own events, or a user with merged anonymous profiles. */
const anyProfile: fc.Arbitrary<ProfileState> = fc.oneof(
  envelopedEvents.map((events) => applyEventsToProfile(undefined, sequenced(events), 'u-1').state),
  userWithMerges,
);

describe('profile item v5: bookkeeping in state, reasons by feature code', () => {
  it('round-trips every profile exactly through DynamoDB, within the v5 schema, saying itemSchemaVersion 5', () => {
    fc.assert(
      fc.property(anyProfile, fc.nat(), (state, version) => {
        // Prepare, Act
        const item = encodeProfileItem(state, { version, score: SCORE });
        const decoded = decodeProfileItem(viaDynamoDb(item));
        // Assess
        expect(decoded.state).toEqual(state);
        expect(decoded.itemSchemaVersion).toBe(ITEM_SCHEMA_VERSION);
        expect(profileItemSchemaV5.safeParse(item).error).toBeUndefined();
        expect(profileItemSchema.safeParse(item).error).toBeUndefined();
      }),
    );
  });

  it('keeps what a reader uses readable: merged ids with their identify age, no bookkeeping attribute', () => {
    fc.assert(
      fc.property(userWithMerges, (state) => {
        // Act
        const item = viaDynamoDb(encodeProfileItem(state, { version: 1 }));
        // Assess
        const nowSec = Math.floor(state.lastEventAt / 1000);
        expect(item.merges).toEqual(
          Object.fromEntries(state.merges.map((m) => [m.anonymousId, nowSec - m.at])),
        );
        const mergedIds = new Set(state.merges.map((m) => m.anonymousId));
        expect(Object.keys(item.aliases ?? {}).filter((id) => mergedIds.has(id))).toEqual([]);
        for (const packed of ['seq', 'dedup', 'session', 'risk', 'logins', 'fp'])
          expect(item).not.toHaveProperty(packed);
        expect(item.state).toBeInstanceOf(Uint8Array);
        expect(shardMarksOfStateBlob(item.state as Uint8Array)).toEqual(state.shardMarks);
      }),
    );
  });

  it('stores reasons under feature codes, a feature without a code under its name, and reads back the names', () => {
    // Prepare, Act
    const item = encodeProfileItem(emptyProfile('u-1'), { version: 1, score: SCORE });
    const decoded = decodeProfileItem(viaDynamoDb(item));
    const view = describeProfile(decoded, T0);
    // Assess
    expect(item.reasons).toEqual({
      purchase: { 'ac.1d': 0.81, a_feature_without_a_code: -0.46 },
      churn: { 'ev.rec': 0.5 },
    });
    expect(decoded.score?.reasons).toEqual({
      purchase: [
        { feature: 'decay_1d_add_to_cart_log1p', contribution: 0.81 },
        { feature: 'a_feature_without_a_code', contribution: -0.46 },
      ],
      churn: [{ feature: 'hours_since_last_event_log1p', contribution: 0.5 }],
    });
    if (view.score === 'unscored') throw new Error('expected a scored view');
    expect(view.score.explanations?.purchase?.[0]).toBe(
      'add-to-cart activity over about the last day raised the purchase probability (+0.81)',
    );
  });

  it('stores a user with merges in fewer bytes than v4 (marks as 24 bytes, no attribute names)', () => {
    fc.assert(
      fc.property(userWithMerges, (state) => {
        // Act
        const v5Bytes = estimateItemBytes(encodeProfileItem(state, { version: 1, score: SCORE }));
        const v4Bytes = estimateItemBytes(v4.encodeProfileItem(state, { version: 1, score: SCORE }));
        // Assess: at least the 32 B a mark saves, for the user's own mark and each merged id's.
        const marks = state.shardMarks.length + state.merges.reduce((n, m) => n + m.shardMarks.length, 0);
        expect(v5Bytes).toBeLessThanOrEqual(v4Bytes - 30 * marks);
      }),
    );
  });

  it('refuses a state blob that does not match its layout, naming the attribute', () => {
    // Prepare
    const state = fc.sample(userWithMerges, { numRuns: 1, seed: 7 })[0]!;
    const item = encodeProfileItem(state, { version: 1 });
    const decode = (patch: Record<string, unknown>) => () => decodeProfileItem({ ...item, ...patch });
    const blob = item.state;
    // Assess
    expect(decode({ state: 'AQ==' })).toThrow(new ProfileItemViolation('state', 'must be binary', 'string'));
    expect(decode({ state: blob.subarray(0, 10) })).toThrow(/^state: is truncated/);
    expect(decode({ merges: undefined })).toThrow(/^state: must hold one merge entry per merges key/);
    expect(decode({ merges: { ...item.merges, zz: 1 } })).toThrow(/^state: must hold one merge entry/);
    expect(decode({ merges: { [Object.keys(item.merges!)[0]!]: 1.5 } })).toThrow(/^merges\./);
  });

  it('stores marks of any shard id: Kinesis shard numbers compactly, other ids as they are', () => {
    // Prepare
    const state = emptyProfile('u-1');
    state.lastEventAt = T0;
    state.shardMarks = [
      { shardId: 'local-shard-é', sequenceNumber: '7' },
      { shardId: 'shardId-000000000123', sequenceNumber: '9'.repeat(57) },
      { shardId: 'shardId-12', sequenceNumber: '0' },
    ];
    // Act
    const decoded = decodeProfileItem(viaDynamoDb(encodeProfileItem(state, { version: 1 })));
    // Assess
    expect(decoded.state.shardMarks).toEqual(state.shardMarks);
    const tooLong = {
      ...state,
      shardMarks: [{ shardId: 'shardId-000000000001', sequenceNumber: '1'.repeat(58) }],
    };
    expect(() => encodeProfileItem(tooLong, { version: 1 })).toThrow(ProfileItemViolation);
  });
});

describe('profile item v5: reasons trimmed to one write unit', () => {
  it('keeps the top reason of a head by feature name on ties, as readers rank them, whatever the codes sort as', () => {
    // Prepare: a busy profile; the purchase head's two reasons tie in magnitude (their names sort
    // average < hours, their codes ev.rec < pu.aov), the churn head's second reason weighs more, and a
    // churn reason's name is padded so that the item is 5 bytes over one write unit: one reason must go.
    const events = heavyEvents('u-10086421').filter((e) => e.shardId === 'shardId-000000000000');
    const state = applyEventsToProfile(undefined, events, 'u-10086421').state;
    state.cart = [];
    const scoreWith = (padding: number): ProfileScore => ({
      ...SCORE,
      reasons: {
        purchase: [
          { feature: 'hours_since_last_event_log1p', contribution: 0.5 },
          { feature: 'average_order_value_log1p', contribution: -0.5 },
        ],
        churn: [
          { feature: `a_feature_without_a_code_${'x'.repeat(padding)}`, contribution: 0.9 },
          { feature: 'revenue_log1p', contribution: 0.7 },
        ],
      },
    });
    const unpadded = estimateItemBytes(encodeProfileItem(state, { version: 1, score: scoreWith(0) }));
    const score = scoreWith(ITEM_BYTES_BUDGET + 5 - unpadded);
    // Act
    const item = encodeProfileItem(state, { version: 1, score });
    const kept = decodeProfileItem(item).score!.reasons!;
    // Assess: one tied reason dropped to fit; the head keeps its top by name, which decoding ranks first.
    expect(unpadded).toBeLessThan(ITEM_BYTES_BUDGET);
    expect(estimateItemBytes(item)).toBeLessThanOrEqual(ITEM_BYTES_BUDGET);
    expect(kept.purchase!.map((r) => r.feature)).toEqual(['average_order_value_log1p']);
    expect(kept.churn).toHaveLength(2);
  });
});

describe('profile item v4 / v5 side by side (rolling deploy)', () => {
  it('the v5 decoder reads v4 items (with or without merges) exactly; the next write stores v5', () => {
    fc.assert(
      fc.property(anyProfile, fc.nat(), (state, version) => {
        // Prepare
        const v4Item = viaDynamoDb(v4.encodeProfileItem(state, { version, score: SCORE }));
        // Act
        const decoded = decodeProfileItem(v4Item);
        const rewritten = encodeProfileItem(decoded.state, { version: version + 1, score: decoded.score });
        // Assess
        expect(decoded.state).toEqual(state);
        expect(decoded.score).toEqual(v4.decodeProfileItem(v4Item).score);
        expect(profileItemSchema.safeParse(v4Item).error).toBeUndefined();
        expect(rewritten.itemSchemaVersion).toBe(ITEM_SCHEMA_VERSION);
        expect(decodeProfileItem(viaDynamoDb(rewritten)).state).toEqual(state);
      }),
    );
  });

  it('the deployed v4 decoder refuses every v5 item by its version instead of misreading it', () => {
    fc.assert(
      fc.property(anyProfile, (state) => {
        // Prepare
        const item = viaDynamoDb(encodeProfileItem(state, { version: 3, score: SCORE }));
        // Act
        const read = () => v4.decodeProfileItem(item);
        // Assess: refused loudly (the old function's batch retries until the deploy is done)
        expect(read).toThrow(v4.ProfileItemViolation);
        expect(read).toThrow(/^itemSchemaVersion:/);
      }),
    );
  });

  /** A v4 function and a v5 function writing one profile during a deploy (`test/support/rolling-deploy.ts`). */
  it('a v4 writer and a v5 writer alternating never misread and never lose state', () => {
    const refusesByVersion = (error: unknown) =>
      error instanceof v4.ProfileItemViolation && /^itemSchemaVersion:/.test(error.message);
    fc.assert(
      alternatingWritersLoseNothing(
        { decode: v4.decodeProfileItem, encode: v4.encodeProfileItem, refusesByVersion },
        { decode: decodeProfileItem, encode: encodeProfileItem, refusesByVersion: () => false },
        ITEM_SCHEMA_VERSION,
      ),
    );
  });
});
