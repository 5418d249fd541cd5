/**
 * The erasure check of the ingest use case (in memory) and the scrubbers of the erase use case: a
 * tombstoned person's events and refused records are dropped and counted, in the one BatchGetItem the
 * profiles need anyway; everyone else's are applied and quarantined as before.
 */
import { ingestBatch } from '../../../shared/ingest/ingest-batch';
import {
  ErasureSubject,
  scrubArchiveText,
  scrubQuarantineText,
} from '../../../shared/erasure/erasure-subject';
import { isTombstoneKey, TombstoneKeys } from '../../../shared/erasure/tombstones';
import { keyedHash, KeyedHashKeyError } from '../../../shared/privacy/keyed-hash';
import { InMemoryProfileStore, InMemoryQuarantine } from '../../support/in-memory-adapters';
import { ingestRecords, makeEvent, T0 } from '../../support/factories';

const KEY = new Uint8Array(32).fill(7);
const unscored = { score: async () => undefined };

describe('the tombstone check in ingest', () => {
  it('drops and counts an erased person’s events and refused records, applies the others', async () => {
    // Prepare
    const keys = new TombstoneKeys(KEY);
    const profiles = new InMemoryProfileStore();
    profiles.items.set(keys.keyOf('u-gone'), { profileId: keys.keyOf('u-gone'), version: 0 });
    const quarantine = new InMemoryQuarantine();
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
    const { stats } = await ingestBatch(records, {
      profiles,
      quarantine,
      scorer: unscored,
      now: () => T0,
      tombstones: keys,
    });
    // Assess
    expect(stats).toMatchObject({ erased: 2, applied: 1, profilesWritten: 1 });
    expect(quarantine.records.map((r) => r.partitionKey)).toEqual(['u-kept']);
    expect([...profiles.items.keys()].filter((k) => !isTombstoneKey(k))).toEqual(['u-kept']);
    expect(profiles.requests.batchGet).toBe(1);
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
});
