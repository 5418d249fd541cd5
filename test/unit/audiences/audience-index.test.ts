import { activationEventId, type ActivationEvent } from '../../../shared/audiences/activation';
import {
  indexActivationBatch,
  type AudienceIndex,
  type MemberRow,
} from '../../../shared/audiences/audience-index';
import { TombstoneKeys } from '../../../shared/erasure/tombstones';

class MapIndex implements AudienceIndex {
  readonly rows = new Map<string, MemberRow>();
  requests = 0;
  async putIfNewer(row: MemberRow) {
    this.requests++;
    const key = `${row.audienceId}/${row.profileId}`;
    if ((this.rows.get(key)?.version ?? 0) >= row.version) return false;
    this.rows.set(key, row);
    return true;
  }
}

const event = (kind: 'entered' | 'exited', version: number): ActivationEvent => ({
  schemaVersion: 1,
  id: activationEventId('u1', 'a', kind, version),
  kind,
  audienceId: 'a',
  profileId: 'u1',
  profileVersion: version,
  at: 1000 + version,
});
const records = (...events: unknown[]) =>
  events.map((e) => ({ data: new TextEncoder().encode(typeof e === 'string' ? e : JSON.stringify(e)) }));

describe('indexActivationBatch', () => {
  it('writes one row per audience and profile per batch, the highest version, and ignores late older events', async () => {
    // Prepare
    const index = new MapIndex();
    // Act
    const first = await indexActivationBatch(
      records(event('entered', 2), event('exited', 5), event('entered', 2)),
      index,
    );
    const late = await indexActivationBatch(records(event('entered', 2)), index);
    // Assess
    expect(index.rows.get('a/u1')).toEqual({ audienceId: 'a', profileId: 'u1', version: 5, exitedAt: 1005 });
    expect(first).toMatchObject({ events: 3, written: 1, stale: 2 });
    expect(late).toMatchObject({ written: 0, stale: 1 });
    expect(index.requests).toBe(2);
  });

  it('reports a record that is not an activation event with its field and rule, and indexes the rest', async () => {
    const index = new MapIndex();
    const stats = await indexActivationBatch(
      records('not json', { ...event('entered', 1), profileVersion: 0 }, event('entered', 3)),
      index,
    );
    expect(stats.invalid.map((v) => [v.field, v.rule])).toEqual([
      ['(record)', 'must be UTF-8 JSON'],
      ['profileVersion', 'must be an integer ≥ 1'],
    ]);
    expect(stats.written).toBe(1);
  });

  it('skips the transitions of an erased profile (a tombstone), so a late entry brings no row back', async () => {
    // Prepare
    const index = new MapIndex();
    const tombstones = new TombstoneKeys(new Uint8Array(32).fill(7));
    const stored = new Map([[tombstones.keyOf('u1'), { profileId: tombstones.keyOf('u1'), version: 0 }]]);
    const profiles = {
      getMany: async (keys: readonly string[]) => new Map([...stored].filter(([key]) => keys.includes(key))),
    };
    const other = { ...event('entered', 4), profileId: 'u2', id: activationEventId('u2', 'a', 'entered', 4) };
    // Act
    const stats = await indexActivationBatch(records(event('entered', 3), other), index, {
      erasure: { profiles, tombstones },
    });
    // Assess
    expect([...index.rows.keys()]).toEqual(['a/u2']);
    expect(stats).toMatchObject({ events: 2, written: 1, erased: 1 });
  });
});
