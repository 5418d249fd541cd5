import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { estimateItemBytes } from '../../../shared/profile/dynamodb-item-size';
import {
  decodeProfileItem,
  encodeProfileItem,
  ITEM_SCHEMA_VERSION,
  PROFILE_TTL_SECONDS,
  ProfileItemViolation,
  profileItemSchema,
} from '../../../shared/profile/profile-item-codec';
import { emptyProfile } from '../../../shared/profile/profile-state';
import { sequenced, T0 } from '../../support/factories';
import { envelopedEvents, heavyEvents } from '../../support/profile-fixtures';

const SCORE = { propensity: 0.123456, modelVersion: 'm-20261127-0930', scoredAt: T0 + 5000 };

/** States from arbitrary events spread over up to 60 days (beyond every exactness envelope). */
const anyState = fc.tuple(envelopedEvents, fc.integer({ min: 1, max: 360 })).map(([events, stretch]) => {
  const stretched = events.map((e) => ({ ...e, occurredAt: T0 + (e.occurredAt - T0) * stretch }));
  return applyEventsToProfile(undefined, sequenced(stretched), 'u-1').state;
});

describe('profile item codec', () => {
  it('round-trips every state exactly', () => {
    fc.assert(
      fc.property(anyState, fc.nat(), fc.boolean(), (state, version, scored) => {
        // Prepare
        const meta = scored ? { version, score: SCORE } : { version };
        // Act
        const decoded = decodeProfileItem(encodeProfileItem(state, meta));
        // Assess
        expect(decoded.state).toEqual(state);
        expect(decoded.version).toBe(version);
        expect(decoded.scoreStatus).toBe(scored ? 'scored' : 'unscored');
      }),
    );
  });

  it('always writes items that satisfy the published schema', () => {
    fc.assert(
      fc.property(anyState, (state) => {
        // Prepare, Act
        const parsed = profileItemSchema.safeParse(encodeProfileItem(state, { version: 1, score: SCORE }));
        // Assess
        expect(parsed.error).toBeUndefined();
      }),
    );
  });

  it('stores any sequence number of up to 57 digits exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 57n - 1n }), { minLength: 1, maxLength: 4 }),
        (numbers) => {
          // Prepare
          const state = emptyProfile('u-1');
          state.shardMarks = numbers.map((n, i) => ({
            shardId: `shardId-00000000000${i}`,
            sequenceNumber: n.toString(),
          }));
          // Act
          const decoded = decodeProfileItem(encodeProfileItem(state, { version: 1 }));
          // Assess
          expect(decoded.state.shardMarks).toEqual(state.shardMarks);
        },
      ),
    );
  });

  it('survives marshall / unmarshall (the adapter path)', () => {
    // Prepare
    const state = applyEventsToProfile(undefined, heavyEvents(), 'u-1').state;
    const item = encodeProfileItem(state, { version: 3, score: SCORE });
    // Act
    const stored = unmarshall(marshall(item, { removeUndefinedValues: true }));
    // Assess
    expect(decodeProfileItem(stored).state).toEqual(state);
  });

  it('writes the bookkeeping attributes: version, schema version, TTL in seconds, score', () => {
    // Prepare
    const state = applyEventsToProfile(undefined, heavyEvents(), 'u-1').state;
    // Act
    const item = encodeProfileItem(state, { version: 7, score: SCORE });
    // Assess
    expect(item).toMatchObject({
      profileId: 'u-1',
      version: 7,
      itemSchemaVersion: ITEM_SCHEMA_VERSION,
      expiresAt: Math.floor(state.lastEventAt / 1000) + PROFILE_TTL_SECONDS,
      scoreStatus: 'scored',
      propensity: 0.1235,
      modelVersion: SCORE.modelVersion,
      scoredAt: SCORE.scoredAt,
    });
    expect(decodeProfileItem(item).score).toEqual({ ...SCORE, propensity: 0.1235 });
  });

  it('counts the TTL from the write when the history is older (a backfill is not expired on arrival)', () => {
    const state = applyEventsToProfile(undefined, heavyEvents(), 'u-1').state;
    const writtenAt = state.lastEventAt + 800 * 24 * 3_600_000;
    const item = encodeProfileItem(state, { version: 1, writtenAt });
    expect(item.expiresAt).toBe(Math.floor(writtenAt / 1000) + PROFILE_TTL_SECONDS);
    expect(encodeProfileItem(state, { version: 1, writtenAt: 0 }).expiresAt).toBe(
      Math.floor(state.lastEventAt / 1000) + PROFILE_TTL_SECONDS,
    );
  });

  it('keeps a heavy profile (every list full, scored, one shard) within one write unit', () => {
    // Prepare: a user's events share one partition key, so one shard mark is the normal case.
    const events = heavyEvents('u-10086421').filter((e) => e.shardId === 'shardId-000000000000');
    const state = applyEventsToProfile(undefined, events, 'u-10086421').state;
    // Act
    const bytes = estimateItemBytes(encodeProfileItem(state, { version: 123_456, score: SCORE }));
    // Assess
    expect(state.shardMarks).toHaveLength(1);
    expect(state.dedupe).toHaveLength(16);
    expect(state.categories).toHaveLength(8);
    expect(bytes).toBeLessThanOrEqual(1024);
  });

  it('keeps a heavy profile within one write unit even with 4 shard marks (after resharding)', () => {
    // v4 needed two units here (61 B a mark as a decimal string); v5 packs a mark into 25 bytes of state.
    const state = applyEventsToProfile(undefined, heavyEvents('u-10086421'), 'u-10086421').state;
    const bytes = estimateItemBytes(encodeProfileItem(state, { version: 123_456, score: SCORE }));
    expect(state.shardMarks).toHaveLength(4);
    expect(bytes).toBeLessThanOrEqual(1024);
  });

  it('refuses items that do not match the schema, naming the field', () => {
    // Prepare
    const item = encodeProfileItem(emptyProfile('u-1'), { version: 1 });
    // Act
    const decode = (patch: Record<string, unknown>) => () => decodeProfileItem({ ...item, ...patch });
    // Assess
    expect(decode({ version: -1 })).toThrow(ProfileItemViolation);
    expect(decode({ version: -1 })).toThrow(/^version:/);
    expect(decode({ itemSchemaVersion: ITEM_SCHEMA_VERSION + 1 })).toThrow(/^itemSchemaVersion:/);
    expect(decode({ itemSchemaVersion: 0 })).toThrow(/^itemSchemaVersion:/);
    expect(decode({ act: { xx: 1 } })).toThrow(/^act\.xx:/);
    expect(decode({ act: { vw: [3, 1, 1, 1] } })).toThrow(/^act\.vw:/);
    expect(decode({ state: undefined })).toThrow(/^state:/);
    expect(decode({ state: new Uint8Array([9]) })).toThrow(/^state: layout version/);
    expect(decode({ state: item.state.subarray(0, item.state.byteLength - 1) })).toThrow(
      /^state: is truncated/,
    );
    expect(decode({ state: Uint8Array.of(...item.state, 0) })).toThrow(/^state: has trailing bytes/);
    expect(decode({ merges: { 'anon-1': 5 } })).toThrow(/^state: must hold one merge entry per merges key/);
    expect(decode({ scoreStatus: 'scored' })).toThrow(/^propensity:/);
  });
});

describe('estimateItemBytes', () => {
  it.each<[string, Record<string, unknown>, number]>([
    ['a string: name + UTF-8 bytes', { ab: 'héllo' }, 2 + 6],
    ['a number: 1 byte per 2 significant digits + 1', { n: 123_000 }, 1 + 3],
    ['a decimal number', { n: 0.1235 }, 1 + 3],
    ['binary: raw bytes', { b: new Uint8Array(5) }, 1 + 5],
    ['boolean and null: 1 byte', { t: true, z: null }, 2 + 2],
    ['a list: 3 + 1 per element', { l: [1, 'ab'] }, 1 + 3 + (1 + 2) + (1 + 2)],
    ['a map: 3 + per element 1 + key + value', { m: { k: 'v' } }, 1 + 3 + 1 + 1 + 1],
    ['undefined attributes are skipped', { gone: undefined }, 0],
  ])('%s', (_label, item, expected) => {
    // Prepare, Act
    const bytes = estimateItemBytes(item);
    // Assess
    expect(bytes).toBe(expected);
  });
  it('sizes any number as the significant digits of String(number), the form marshall sends', () => {
    // The reference: String's shortest round-trip form, mantissa digits without leading/trailing zeros.
    const reference = (v: number) => {
      const mantissa = String(Math.abs(v)).split('e')[0]!;
      const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
      return Math.ceil(Math.max(1, digits.length) / 2) + 1;
    };
    const anyNumber = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      // Values rounded as the codec stores them (probabilities, contributions), and near the limits.
      fc
        .tuple(fc.double({ min: -1e12, max: 1e12, noNaN: true }), fc.integer({ min: 0, max: 6 }))
        .map(([x, d]) => Math.round(x * 10 ** d) / 10 ** d),
      fc.integer({ min: 2 ** 31, max: 2 ** 33 }).map((k) => k + 0.5),
    );
    fc.assert(fc.property(anyNumber, (v) => expect(estimateItemBytes({ n: v })).toBe(1 + reference(v))));
  });
});
