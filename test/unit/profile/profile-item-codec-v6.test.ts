import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describeProfile } from '../../../infra/client/profile-view';
import type { ProfileScore } from '../../../shared/model/model-outputs';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { estimateItemBytes } from '../../../shared/profile/dynamodb-item-size';
import {
  decodeProfileItem,
  encodeProfileItem,
  ITEM_SCHEMA_VERSION,
  profileItemSchema,
  profileItemSchemaV5,
  profileItemSchemaV6,
} from '../../../shared/profile/profile-item-codec';
import { shardMarksOfStateBlob, STATE_LAYOUT_VERSION } from '../../../shared/profile/profile-state-blob';
import { DECAYED_EVENT_TYPES, emptyProfile, type ProfileState } from '../../../shared/profile/profile-state';
import { EVENT_TYPES } from '../../../shared/contract/event-contract';
// The v5 codec as deployed (frozen at main 04a8b63): what old functions run during the deploy.
import * as v5 from '../../support/profile-item-codec-v5';
import { sequenced, T0 } from '../../support/factories';
import { userWithMerges } from '../../support/merge-fixtures';
import { envelopedEvents, heavyEvents } from '../../support/profile-fixtures';
import { alternatingWritersLoseNothing } from '../../support/rolling-deploy';

const viaDynamoDb = (item: object) => unmarshall(marshall(item, { removeUndefinedValues: true }));
const SCORE: ProfileScore = {
  propensity: 0.123456,
  modelVersion: 'v20261127093000-1a2b3c4d',
  scoredAt: T0 + 5000,
  reasons: { purchase: [{ feature: 'decay_1d_add_to_cart_log1p', contribution: 0.8123 }] },
};

/** Any profile: one of the user's own events, or a user with merged anonymous profiles. */
const anyProfile: fc.Arbitrary<ProfileState> = fc.oneof(
  envelopedEvents.map((events) => applyEventsToProfile(undefined, sequenced(events), 'u-1').state),
  userWithMerges,
);

/** Per merge, its dedupe entries that the profile's window holds too (same hash, same time). */
const sharedEntries = (state: ProfileState) =>
  state.merges.map(
    (m) => m.dedupe.filter((e) => state.dedupe.some((p) => p.key === e.key && p.at === e.at)).length,
  );

/** Decayed types with a lifetime count: the ones whose decays an item stores. */
const countedDecayedTypes = (state: ProfileState) =>
  DECAYED_EVENT_TYPES.filter((t) => state.counts[EVENT_TYPES.indexOf(t)]! > 0).length;

describe('profile item v6: decays in state, act readable', () => {
  it('round-trips every profile exactly through DynamoDB, within the v6 schema, saying itemSchemaVersion 6', () => {
    fc.assert(
      fc.property(anyProfile, fc.nat(), (state, version) => {
        // Act
        const item = encodeProfileItem(state, { version, score: SCORE });
        const decoded = decodeProfileItem(viaDynamoDb(item));
        // Assess
        expect(decoded.state).toEqual(state);
        expect(decoded.itemSchemaVersion).toBe(ITEM_SCHEMA_VERSION);
        expect(item.itemSchemaVersion).toBe(6);
        expect(item.state[0]).toBe(STATE_LAYOUT_VERSION);
        expect(profileItemSchemaV6.safeParse(item).error).toBeUndefined();
        expect(profileItemSchema.safeParse(item).error).toBeUndefined();
        expect(profileItemSchemaV5.safeParse(item).success).toBe(false);
        expect(shardMarksOfStateBlob(item.state)).toEqual(state.shardMarks);
      }),
    );
  });

  it('stores in act only the lifetime count of each type with events, as plain numbers', () => {
    fc.assert(
      fc.property(anyProfile, (state) => {
        // Act
        const { act } = viaDynamoDb(encodeProfileItem(state, { version: 1 })) as { act: object };
        // Assess
        const counted = Object.fromEntries(
          EVENT_TYPES.flatMap((t, i) =>
            state.counts[i]! > 0 ? [[v5.EVENT_TYPE_CODES[t], state.counts[i]!]] : [],
          ),
        );
        expect(act).toEqual(counted);
      }),
    );
  });

  it('is smaller than the v5 item of the same profile: ≥ 7 B per decayed type with events, 4 B per merge whose identify shares its session, 4 B per shared dedupe entry', () => {
    fc.assert(
      fc.property(anyProfile, (state) => {
        // Act
        const v6Bytes = estimateItemBytes(encodeProfileItem(state, { version: 1 }));
        const v5Bytes = estimateItemBytes(v5.encodeProfileItem(state, { version: 1 }));
        // Assess: a v5 decay entry is a list of 4 numbers (3 B list + 1 B per element + the digits), a
        // v6 one the count alone plus 3 varints of at most 4 bytes, so at least 7 B less per type (more for
        // the usual decays of 5–7 digits); a merge's shared session hash (4 B) goes unless it differs.
        // A merge's dedupe entries also in the profile's window are 1-byte references (4 B less each), for
        // 1 byte of their count when the merge has entries.
        const shared = state.merges.filter((m) => m.sharedSessionKey === m.session.sessionKey).length;
        const references = sharedEntries(state).reduce(
          (sum, r, i) => sum + (state.merges[i]!.dedupe.length > 0 ? 4 * r - 1 : 0),
          0,
        );
        expect(v6Bytes).toBeLessThanOrEqual(
          v5Bytes - 7 * countedDecayedTypes(state) - 4 * shared - references,
        );
      }),
    );
  });

  it('exercises every merge form: identify session shared or not, dedupe entries referenced, own or both', () => {
    // Prepare: the fixtures produce both kinds of merge; look for one that differs and one that shares.
    const states = fc.sample(userWithMerges, { numRuns: 200, seed: 11 });
    const merges = states.flatMap((s) => s.merges);
    // Assess: both branches of the merge flag are exercised, and round-trip (the property above).
    expect(merges.some((m) => m.sharedSessionKey !== m.session.sessionKey)).toBe(true);
    expect(merges.some((m) => m.sharedSessionKey === m.session.sessionKey)).toBe(true);
    // And merges with dedupe entries shared with the profile's window, own ones, and both.
    const perMerge = states.flatMap((s) =>
      sharedEntries(s).map((shared, i) => ({ shared, entries: s.merges[i]!.dedupe.length })),
    );
    expect(perMerge.some((m) => m.shared > 0 && m.shared === m.entries)).toBe(true);
    expect(perMerge.some((m) => m.shared > 0 && m.shared < m.entries)).toBe(true);
    expect(perMerge.some((m) => m.shared === 0 && m.entries > 0)).toBe(true);
    const state = states.find((s) => s.merges.some((m) => m.sharedSessionKey !== m.session.sessionKey))!;
    expect(decodeProfileItem(viaDynamoDb(encodeProfileItem(state, { version: 1 }))).state).toEqual(state);
  });

  it('describeProfile prints the decayed activity from the v6 state exactly as from the v5 item', () => {
    // Prepare
    const state = applyEventsToProfile(undefined, heavyEvents('u-10086421'), 'u-10086421').state;
    const asOf = state.lastEventAt + 90 * 60_000;
    // Act
    const fromV6 = describeProfile(
      decodeProfileItem(viaDynamoDb(encodeProfileItem(state, { version: 1 }))),
      asOf,
    );
    const fromV5 = describeProfile(
      decodeProfileItem(viaDynamoDb(v5.encodeProfileItem(state, { version: 1 }))),
      asOf,
    );
    // Assess
    expect(Object.keys(fromV6.activity).length).toBeGreaterThan(0);
    expect(fromV6.activity).toEqual(fromV5.activity);
    expect(fromV6.activity['product_view.1d']).toBeGreaterThan(0);
  });

  it('refuses a v6 item with decays in act or a layout 1 state, naming the attribute', () => {
    // Prepare
    const state = applyEventsToProfile(undefined, heavyEvents('u-1'), 'u-1').state;
    const item = encodeProfileItem(state, { version: 1 });
    const v5Item = v5.encodeProfileItem(state, { version: 1 });
    const decode = (patch: Record<string, unknown>) => () => decodeProfileItem({ ...item, ...patch });
    // Assess
    expect(decode({ act: v5Item.act })).toThrow(/^act\.[a-z]{2}: must be an integer/);
    expect(decode({ state: v5Item.state })).toThrow(/^state: layout version must be 2/);
    expect(() => decodeProfileItem({ ...v5Item, state: item.state })).toThrow(
      /^state: layout version must be 1/,
    );
    expect(decode({ state: item.state.subarray(0, item.state.byteLength - 1) })).toThrow(
      /^state: is truncated/,
    );
  });

  it('an empty profile has an empty act and decodes', () => {
    const item = encodeProfileItem(emptyProfile('u-1'), { version: 1 });
    expect(item.act).toEqual({});
    expect(decodeProfileItem(viaDynamoDb(item)).state).toEqual(emptyProfile('u-1'));
  });
});

describe('profile item v5 / v6 side by side (rolling deploy)', () => {
  it('the v6 decoder reads items the deployed v5 codec wrote exactly; the next write stores v6', () => {
    fc.assert(
      fc.property(anyProfile, fc.nat(), (state, version) => {
        // Prepare
        const v5Item = viaDynamoDb(v5.encodeProfileItem(state, { version, score: SCORE }));
        // Act
        const decoded = decodeProfileItem(v5Item);
        const rewritten = encodeProfileItem(decoded.state, { version: version + 1, score: decoded.score });
        // Assess
        expect(decoded.state).toEqual(state);
        expect(decoded.itemSchemaVersion).toBe(5);
        expect(decoded.score).toEqual(v5.decodeProfileItem(v5Item).score);
        expect(profileItemSchema.safeParse(v5Item).error).toBeUndefined();
        expect(rewritten.itemSchemaVersion).toBe(ITEM_SCHEMA_VERSION);
        expect(decodeProfileItem(viaDynamoDb(rewritten)).state).toEqual(state);
      }),
    );
  });

  it('the deployed v5 decoder refuses every v6 item by its version instead of misreading it', () => {
    fc.assert(
      fc.property(anyProfile, (state) => {
        // Prepare
        const item = viaDynamoDb(encodeProfileItem(state, { version: 3, score: SCORE }));
        // Act
        const read = () => v5.decodeProfileItem(item);
        // Assess: refused loudly (the old function's batch retries until the deploy is done)
        expect(read).toThrow(v5.ProfileItemViolation);
        expect(read).toThrow(/^itemSchemaVersion:/);
      }),
    );
  });

  it('a v5 writer and a v6 writer alternating never misread and never lose state', () => {
    const refusesByVersion = (error: unknown) =>
      error instanceof v5.ProfileItemViolation && /^itemSchemaVersion:/.test(error.message);
    fc.assert(
      alternatingWritersLoseNothing(
        { decode: v5.decodeProfileItem, encode: v5.encodeProfileItem, refusesByVersion },
        { decode: decodeProfileItem, encode: encodeProfileItem, refusesByVersion: () => false },
        ITEM_SCHEMA_VERSION,
      ),
    );
  });
});
