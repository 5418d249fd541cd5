/**
 * The erasure check of the ingest use case (in memory) and the scrubbers of the erase use case: a
 * tombstoned person's events and refused records are dropped and counted, with the tombstones read only
 * for the profiles not stored (and the owners of refused records); a stored profile erased after the
 * batch read it is caught by its write's version condition; everyone else's are applied and
 * quarantined as before.
 */
import { ingestBatch } from '../../../shared/ingest/ingest-batch';
import {
  ErasureSubject,
  scrubArchiveText,
  scrubQuarantineText,
} from '../../../shared/erasure/erasure-subject';
import { isTombstoneKey, TombstoneKeys } from '../../../shared/erasure/tombstones';
import { createKeyedHasher, keyedHash, KeyedHashKeyError } from '../../../shared/privacy/keyed-hash';
import { pseudonymousProfileId, storedProfileIdOf } from '../../../shared/privacy/pseudonymise';
import { InMemoryProfileStore, InMemoryQuarantine } from '../../support/in-memory-adapters';
import { ingestRecords, makeEvent, T0 } from '../../support/factories';

const KEY = new Uint8Array(32).fill(7);
const unscored = { score: async () => undefined };

/** An in-memory store and quarantine under tombstone keys, and the use case's dependencies over them. */
function erasureCheckedIngest() {
  const keys = new TombstoneKeys(KEY);
  const profiles = new InMemoryProfileStore();
  const quarantine = new InMemoryQuarantine();
  const deps = { profiles, quarantine, scorer: unscored, now: () => T0, tombstones: keys };
  return { keys, profiles, quarantine, deps };
}

describe('the tombstone check in ingest', () => {
  it('drops and counts an erased person’s events and refused records, applies the others', async () => {
    // Prepare
    const { keys, profiles, quarantine, deps } = erasureCheckedIngest();
    profiles.items.set(keys.keyOf('u-gone'), { profileId: keys.keyOf('u-gone'), version: 0 });
    const bodies = [
      makeEvent({ userId: 'u-gone' }),
      makeEvent({ userId: 'u-kept' }),
      '{"userId":"u-gone"',
      '{"bad"',
    ];
    const records = ingestRecords(bodies, {
      partitionKey: (b) => (typeof b === 'string' ? (b.includes('gone') ? 'u-gone' : 'u-kept') : b.userId!),
    });
    // Act
    const { stats } = await ingestBatch(records, deps);
    // Assess
    expect(stats).toMatchObject({ erased: 2, applied: 1, profilesWritten: 1 });
    expect(quarantine.records.map((r) => r.partitionKey)).toEqual(['u-kept']);
    expect([...profiles.items.keys()].filter((k) => !isTombstoneKey(k))).toEqual(['u-kept']);
    // The profiles, then the tombstones of the two not stored (and of the refused records' owners).
    expect(profiles.requests.batchGet).toBe(2);
  });

  it('reads no tombstone for a batch whose profiles are all stored and whose records are all valid', async () => {
    // Prepare: u-a and u-b exist (a first batch stored them).
    const { profiles, deps } = erasureCheckedIngest();
    const batch = () =>
      ingestRecords([makeEvent({ userId: 'u-a' }), makeEvent({ userId: 'u-b' })], {
        partitionKey: (b) => b.userId!,
      });
    await ingestBatch(batch(), deps);
    const readsBefore = profiles.requests.batchGet;
    // Act
    const { stats } = await ingestBatch(batch(), deps);
    // Assess
    expect(stats).toMatchObject({ erased: 0, applied: 2, profilesWritten: 2 });
    expect(profiles.requests.batchGet - readsBefore).toBe(1);
  });

  it('drops the events of a stored profile erased after the batch read it, and does not recreate it', async () => {
    // Prepare: u-gone is stored; erasure runs between the batch's read and its write (tombstone first,
    // then the delete, as the erase use case does).
    const { keys, profiles, deps } = erasureCheckedIngest();
    await ingestBatch(
      ingestRecords([makeEvent({ userId: 'u-gone' })], { partitionKey: (b) => b.userId! }),
      deps,
    );
    const getMany = profiles.getMany.bind(profiles);
    let erasedOnce = false;
    profiles.getMany = async (ids) => {
      const found = await getMany(ids);
      if (!erasedOnce && ids.includes('u-gone')) {
        erasedOnce = true;
        profiles.items.set(keys.keyOf('u-gone'), { profileId: keys.keyOf('u-gone'), version: 0 });
        profiles.items.delete('u-gone');
      }
      return found;
    };
    const records = ingestRecords([makeEvent({ userId: 'u-gone' }), makeEvent({ userId: 'u-gone' })], {
      partitionKey: (b) => b.userId!,
    });
    // Act
    const { stats, failedSequenceNumbers } = await ingestBatch(records, deps);
    // Assess
    expect(failedSequenceNumbers).toEqual([]);
    expect(stats).toMatchObject({ erased: 2, applied: 0, profilesWritten: 0 });
    expect([...profiles.items.keys()].filter((k) => !isTombstoneKey(k))).toEqual([]);
  });

  it('drops an erased person’s refused records by the hash of their raw partition key when ids are pseudonymised', async () => {
    // Prepare: the tombstone is keyed by the stored (pseudonymous) profile id; records carry raw keys.
    const privacy = { hasher: createKeyedHasher(KEY), pseudonymiseIds: true };
    const gone = pseudonymousProfileId(privacy.hasher, 'u-gone');
    const { keys, profiles, quarantine, deps } = erasureCheckedIngest();
    profiles.items.set(keys.keyOf(gone), { profileId: keys.keyOf(gone), version: 0 });
    const records = ingestRecords([makeEvent({ userId: 'u-gone' }), '{"userId":"u-gone"', '{"bad"'], {
      partitionKey: (b) => (typeof b === 'string' && b.includes('bad') ? 'u-kept' : 'u-gone'),
    });
    // Act
    const { stats } = await ingestBatch(records, { ...deps, privacy });
    // Assess
    expect(stats).toMatchObject({ erased: 2, applied: 0 });
    expect(quarantine.records.map((r) => r.partitionKey)).toEqual(['u-kept']);
  });

  it('applies everything when no tombstone matches, as without the check', async () => {
    // Prepare
    const profiles = new InMemoryProfileStore();
    const records = ingestRecords([makeEvent({ userId: 'u-a' }), makeEvent({ userId: 'u-b' })], {
      partitionKey: (b) => b.userId!,
    });
    // Act
    const { stats } = await ingestBatch(records, {
      profiles,
      quarantine: new InMemoryQuarantine(),
      scorer: unscored,
      now: () => T0,
      tombstones: new TombstoneKeys(KEY),
    });
    // Assess
    expect(stats).toMatchObject({ erased: 0, applied: 2 });
  });
});

describe('keyed hash and scrubbers', () => {
  it('hashes with the key (hex, key-dependent) and refuses a short key', () => {
    expect(keyedHash(KEY, 'u-1')).toMatch(/^[0-9a-f]{64}$/);
    expect(keyedHash(KEY, 'u-1')).not.toBe(keyedHash(new Uint8Array(32).fill(8), 'u-1'));
    expect(() => keyedHash(new Uint8Array(16), 'u-1')).toThrow(KeyedHashKeyError);
  });

  it('removes the subject’s lines, by profile id or, for unparseable bytes, by partition key', () => {
    // Prepare
    const subject = new ErasureSubject(['u-gone', 'anon:dev-1']);
    const archive = [
      JSON.stringify({ userId: 'u-gone' }),
      JSON.stringify({ anonymousId: 'dev-1' }),
      JSON.stringify({ userId: 'u-kept', anonymousId: 'dev-1' }),
    ].join('\n');
    const quarantined = (partitionKey: string, data: string) =>
      JSON.stringify({ partitionKey, dataBase64: Buffer.from(data).toString('base64') });
    const quarantine = [
      quarantined('dev-1', 'not json'),
      quarantined('u-kept', '{"userId":"u-gone"}'),
      quarantined('u-kept', 'x'),
    ].join('\n');
    // Act
    const a = scrubArchiveText(archive, subject);
    const q = scrubQuarantineText(quarantine, subject);
    // Assess
    expect(a).toMatchObject({ removed: 2, kept: 1 });
    expect(a.text).toBe(JSON.stringify({ userId: 'u-kept', anonymousId: 'dev-1' }) + '\n');
    expect(q).toMatchObject({ removed: 2, kept: 1 });
    expect(scrubArchiveText(JSON.stringify({ userId: 'u-kept' }), subject).text).toBeUndefined();
  });

  it('recognises raw records by the hash of their ids when the subject holds pseudonyms', () => {
    // Prepare: a person known by pseudonyms only (the user, and the device their profile linked).
    const storedIdOf = storedProfileIdOf({ hasher: createKeyedHasher(KEY), pseudonymiseIds: true });
    const subject = new ErasureSubject([storedIdOf('u-gone'), storedIdOf('anon:dev-1')], storedIdOf);
    const quarantined = (partitionKey: string, data: string) =>
      JSON.stringify({ partitionKey, dataBase64: Buffer.from(data).toString('base64') });
    const quarantine = [
      quarantined('dev-1', 'not json'),
      quarantined('u-kept', '{"userId":"u-gone"}'),
      quarantined('u-kept', '{"anonymousId":"dev-1"}'),
      quarantined('u-kept', '{"userId":"u-kept"}'),
    ].join('\n');
    const archive = [
      JSON.stringify({ userId: storedIdOf('u-gone') }),
      JSON.stringify({ userId: 'u-gone' }),
      JSON.stringify({ userId: storedIdOf('u-kept') }),
    ].join('\n');
    // Act
    const q = scrubQuarantineText(quarantine, subject);
    const a = scrubArchiveText(archive, subject);
    // Assess: raw bytes by hashed ids; archive events hold stored ids already (a raw one is not theirs).
    expect(q).toMatchObject({ removed: 3, kept: 1 });
    expect(a).toMatchObject({ removed: 1, kept: 2 });
  });
});
