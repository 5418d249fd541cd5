import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { estimateItemBytes } from '../../../shared/profile/dynamodb-item-size';
// The v4 codec as deployed (frozen): v3 / v4 compatibility is history now, kept as the record of what
// v4 code still running in a deploy does; v5 against it is in profile-item-codec-v5.test.ts.
import {
  decodeProfileItem,
  encodeProfileItem,
  ITEM_READABLE_FROM_VERSION,
  MERGES_READABLE_FROM_VERSION,
  profileItemSchema,
} from '../../support/profile-item-codec-v4';
import * as v3 from '../../support/profile-item-codec-v3';
import { sequenced } from '../../support/factories';
import { envelopedEvents } from '../../support/profile-fixtures';
import { userWithMerges } from '../../support/merge-fixtures';

const viaDynamoDb = (item: object) => unmarshall(marshall(item, { removeUndefinedValues: true }));

describe('profile item v4: compact merges', () => {
  it('round-trips a user with merges exactly through DynamoDB, each merged id stored once, within the v4 schema', () => {
    fc.assert(
      fc.property(userWithMerges, fc.nat(), (state, version) => {
        // Act
        const item = encodeProfileItem(state, { version });
        const decoded = decodeProfileItem(viaDynamoDb(item));
        // Assess
        expect(decoded.state).toEqual(state);
        expect(decoded.itemSchemaVersion).toBe(MERGES_READABLE_FROM_VERSION);
        expect(profileItemSchema.safeParse(item).error).toBeUndefined();
        const merged = Object.keys(item.merges ?? {});
        expect(merged.sort()).toEqual(state.merges.map((m) => m.anonymousId).sort());
        for (const id of merged) expect(item.aliases?.[id]).toBeUndefined();
      }),
    );
  });

  it('stores a user with merges in fewer bytes than the v3 form (the linked ids once), one without as v3 does', () => {
    fc.assert(
      fc.property(userWithMerges, envelopedEvents, (merged, own) => {
        // Prepare
        const plain = applyEventsToProfile(undefined, sequenced(own), 'u-1').state;
        // Act
        const v4Bytes = estimateItemBytes(encodeProfileItem(merged, { version: 1 }));
        const v3Bytes = estimateItemBytes(v3.encodeProfileItem(merged, { version: 1 }));
        // Assess
        const linkedTwiceInV3 = merged.aliases.filter((a) =>
          merged.merges.some((m) => m.anonymousId === a.key),
        );
        const idBytes = linkedTwiceInV3.reduce((sum, a) => sum + a.key.length, 0);
        expect(v4Bytes).toBeLessThanOrEqual(v3Bytes - 4 * merged.merges.length - idBytes);
        expect(encodeProfileItem(plain, { version: 1 })).toEqual(v3.encodeProfileItem(plain, { version: 1 }));
      }),
    );
  });

  it('refuses malformed v4 merges entries, naming the field and the alias', () => {
    // Prepare
    const state = fc.sample(userWithMerges, { numRuns: 1, seed: 7 })[0]!;
    const item = encodeProfileItem(state, { version: 1 });
    const [id, entry] = Object.entries(item.merges!)[0]!;
    // Act
    const decode = (value: unknown) => () => decodeProfileItem({ ...item, merges: { [id]: value } });
    // Assess
    expect(decode(entry.slice(0, 9))).toThrow(new RegExp(`^merges\\.${id}: must be a list of 10 or 11`));
    expect(decode([...entry.slice(0, 2), -1, ...entry.slice(3)])).toThrow(new RegExp(`^merges\\.${id}:`));
    expect(decode([...entry.slice(0, 9), new Uint8Array(3)])).toThrow(new RegExp(`^merges\\.${id}:`));
    expect(decode([...entry.slice(0, 10), 1.5])).toThrow(new RegExp(`^merges\\.${id}:`));
  });
});

describe('profile item v3 / v4 side by side (rolling deploy)', () => {
  it('the v4 decoder reads v3 items (6-tuple merges, merged ids in aliases) as v3 wrote them; the next write upgrades', () => {
    fc.assert(
      fc.property(userWithMerges, fc.nat(), (state, version) => {
        // Prepare
        const v3Item = viaDynamoDb(v3.encodeProfileItem(state, { version }));
        // Act
        const decoded = decodeProfileItem(v3Item);
        const rewritten = encodeProfileItem(decoded.state, { version: version + 1 });
        // Assess
        expect(decoded.state).toEqual(state);
        expect(decoded.itemSchemaVersion).toBe(ITEM_READABLE_FROM_VERSION);
        expect(profileItemSchema.safeParse(v3Item).error).toBeUndefined();
        expect(rewritten.itemSchemaVersion).toBe(MERGES_READABLE_FROM_VERSION);
        expect(decodeProfileItem(viaDynamoDb(rewritten)).state).toEqual(state);
      }),
    );
  });

  it('the deployed v3 decoder refuses v4 items with merges by their version, and reads the others as its own', () => {
    fc.assert(
      fc.property(userWithMerges, envelopedEvents, (merged, own) => {
        // Prepare
        const plain = applyEventsToProfile(undefined, sequenced(own), 'u-1').state;
        const withMerges = viaDynamoDb(encodeProfileItem(merged, { version: 3 }));
        const without = viaDynamoDb(encodeProfileItem(plain, { version: 3 }));
        // Act
        const refuse = () => v3.decodeProfileItem(withMerges);
        const read = v3.decodeProfileItem(without);
        // Assess: refused loudly (the old function's batch retries until the deploy is done), never misread
        expect(refuse).toThrow(v3.ProfileItemViolation);
        expect(refuse).toThrow(/^itemSchemaVersion:/);
        expect(read.state).toEqual(plain);
        expect(read.itemSchemaVersion).toBe(ITEM_READABLE_FROM_VERSION);
      }),
    );
  });
});
