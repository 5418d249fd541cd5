/**
 * The erase use case (in memory) removes the erased profiles' rows from the audience members index:
 * the user's and each linked anonymous profile's, in every audience their items name (current
 * membership and the activation log), and counts them in the receipt; other people's rows stay.
 */
import { eraseSubject, type ErasureRequest } from '../../../shared/erasure/erase-use-case';
import type { ErasableObjectStore, ErasureMembersIndex } from '../../../shared/erasure/erasure-ports';
import { TombstoneKeys } from '../../../shared/erasure/tombstones';
import { encodeProfileItem } from '../../../shared/profile/profile-item-codec';
import { emptyProfile } from '../../../shared/profile/profile-state';
import type { AudienceLog } from '../../../shared/audiences/activation';
import type { AudienceMembership } from '../../../shared/audiences/audience-evaluation';
import type { TombstoneItem } from '../../../shared/erasure/tombstones';
import { InMemoryProfileStore } from '../../support/in-memory-adapters';
import { T0 } from '../../support/factories';

/** The members table as a set of `audienceId|profileId` keys, deleted as DeleteItem does. */
class InMemoryMembers implements ErasureMembersIndex {
  readonly rows = new Set<string>();
  async removeProfile(profileId: string, audienceIds: readonly string[]): Promise<number> {
    let removed = 0;
    for (const audienceId of new Set(audienceIds))
      if (this.rows.delete(`${audienceId}|${profileId}`)) removed++;
    return removed;
  }
}

class ErasureStore extends InMemoryProfileStore {
  async putTombstones(items: readonly TombstoneItem[]): Promise<void> {
    for (const item of items) this.items.set(item.profileId, item);
  }
  async deleteMany(profileIds: readonly string[]): Promise<void> {
    for (const id of profileIds) this.items.delete(id);
  }
}

const emptyArea: ErasableObjectStore = {
  listKeys: async () => [],
  read: async () => '',
  write: async () => undefined,
  delete: async () => undefined,
};

function storedProfile(
  profileId: string,
  options: { audiences?: AudienceMembership; audienceLog?: AudienceLog; aliases?: string[] } = {},
) {
  const state = emptyProfile(profileId);
  state.firstSeenAt = T0;
  state.lastEventAt = T0;
  state.aliases = (options.aliases ?? []).map((key) => ({ key, at: Math.floor(T0 / 1000) }));
  const { audiences, audienceLog } = options;
  return { ...encodeProfileItem(state, { version: 3, audiences, audienceLog }) };
}

const request: ErasureRequest = { requestId: 'req-1', profileIds: ['u-gone'], requestedAt: T0 };

describe('erasure and the audience members index', () => {
  it('removes the rows of the user and its linked anonymous profile, counts them, keeps the others', async () => {
    // Prepare
    const profiles = new ErasureStore();
    profiles.items.set(
      'u-gone',
      storedProfile('u-gone', {
        aliases: ['a-1'],
        audiences: { buyers: T0 },
        // `buyers` entered, `browsers` exited recently (its row is kept, marked, until its TTL).
        audienceLog: { buyers: [3], browsers: [2, T0 - 1000] },
      }),
    );
    profiles.items.set('anon:a-1', storedProfile('anon:a-1', { audiences: { visitors: T0 } }));
    profiles.items.set('u-kept', storedProfile('u-kept', { audiences: { buyers: T0 } }));
    const members = new InMemoryMembers();
    for (const row of [
      'buyers|u-gone',
      'browsers|u-gone',
      'visitors|anon:a-1',
      'buyers|u-kept',
      'visitors|u-kept',
    ])
      members.rows.add(row);
    // Act
    const receipt = await eraseSubject(request, {
      profiles,
      members,
      tombstones: new TombstoneKeys(new Uint8Array(32).fill(7)),
      archive: emptyArea,
      quarantine: emptyArea,
      failures: emptyArea,
      now: () => T0,
    });
    // Assert
    expect([...members.rows].sort()).toEqual(['buyers|u-kept', 'visitors|u-kept']);
    expect(receipt.table.membersRemoved).toBe(3);
    expect(receipt.table.profilesDeleted).toBe(2);
  });

  it('counts nothing for a person in no audience and for rows already gone (a repeated request)', async () => {
    // Prepare
    const profiles = new ErasureStore();
    profiles.items.set('u-gone', storedProfile('u-gone', { audiences: { buyers: T0 } }));
    const members = new InMemoryMembers();
    const deps = {
      profiles,
      members,
      tombstones: new TombstoneKeys(new Uint8Array(32).fill(7)),
      archive: emptyArea,
      quarantine: emptyArea,
      failures: emptyArea,
      now: () => T0,
    };
    // Act
    const receipt = await eraseSubject(request, deps);
    // Assert
    expect(receipt.table.membersRemoved).toBe(0);
    expect(receipt.table.profilesDeleted).toBe(1);
  });

  it('removes rows the item no longer names (an exit older than its log, a profile already gone) in every audience ever defined', async () => {
    // Prepare: u-gone exited `old-sale` long ago (its log dropped the exit; the row waits for its TTL);
    // `retired` is no longer in the current set; the linked anonymous profile's item is gone already
    const profiles = new ErasureStore();
    profiles.items.set('u-gone', storedProfile('u-gone', { aliases: ['a-1'], audiences: { buyers: T0 } }));
    const rows = ['buyers|u-gone', 'old-sale|u-gone', 'retired|anon:a-1', 'old-sale|u-kept'];
    const erase = async (withHistory: boolean) => {
      const members = new InMemoryMembers();
      for (const row of rows) members.rows.add(row);
      const store = new ErasureStore();
      for (const [id, item] of profiles.items) store.items.set(id, item);
      const receipt = await eraseSubject(request, {
        profiles: store,
        members,
        ...(withHistory
          ? { audienceHistory: { audienceIdsEverDefined: async () => ['buyers', 'old-sale', 'retired'] } }
          : {}),
        tombstones: new TombstoneKeys(new Uint8Array(32).fill(7)),
        archive: emptyArea,
        quarantine: emptyArea,
        failures: emptyArea,
        now: () => T0,
      });
      return { members, receipt };
    };
    // Act
    const withHistory = await erase(true);
    const withoutHistory = await erase(false);
    // Assert: the check can fail — from the item alone the old rows stay
    expect([...withoutHistory.members.rows].sort()).toEqual([
      'old-sale|u-gone',
      'old-sale|u-kept',
      'retired|anon:a-1',
    ]);
    expect([...withHistory.members.rows]).toEqual(['old-sale|u-kept']);
    expect(withHistory.receipt.table.membersRemoved).toBe(3);
  });
});
