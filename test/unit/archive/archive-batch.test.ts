import { archiveBatch, planArchiveObjects, toNdjson } from '../../../shared/archive/archive-batch';
import type { ArchiveObject, ArchiveWriter } from '../../../shared/archive/archive-ports';
import { ingestRecord } from '../../support/factories';

const T0 = Date.UTC(2026, 10, 27, 9, 59, 0);
const record = (seq: number, body: unknown) =>
  ingestRecord(body, {
    shardId: 'shardId-000000000001',
    firstSequenceNumber: 49_000_000_000_000_000_000_000n + BigInt(seq),
    arrivalMs: T0,
  });
const event = (id: string, occurredAt: number) => ({
  schemaVersion: 1,
  eventId: id,
  type: 'login',
  userId: 'u',
  occurredAt,
  context: { device: 'mobile', email: 'someone@example.test', ip: '192.0.2.1' },
});

describe('planArchiveObjects', () => {
  it('groups valid events by event hour under keys derived from shard and sequence range', () => {
    // Prepare
    const records = [record(1, event('a', T0)), record(2, 'garbage'), record(3, event('b', T0 + 120_000))];
    // Act
    const objects = planArchiveObjects(records);
    // Assess
    expect(objects.map((o) => [o.key, o.events.map((e) => e.eventId)])).toEqual([
      [
        `events/dt=2026-11-27/hour=09/bucket=00-shardId-000000000001-${records[0]!.sequenceNumber}-${records[2]!.sequenceNumber}.ndjson.gz`,
        ['a'],
      ],
      [
        `events/dt=2026-11-27/hour=10/bucket=00-shardId-000000000001-${records[0]!.sequenceNumber}-${records[2]!.sequenceNumber}.ndjson.gz`,
        ['b'],
      ],
    ]);
  });

  it('is deterministic, so a redelivered batch overwrites the same objects', () => {
    const records = [record(1, event('a', T0)), record(2, event('b', T0))];
    expect(planArchiveObjects(records)).toEqual(planArchiveObjects(records));
  });

  it('never archives personal data', () => {
    const [object] = planArchiveObjects([record(1, event('a', T0))]);
    const text = toNdjson(object!.events);
    expect(text).not.toMatch(/example\.test|192\.0\.2\.1/);
    expect(JSON.parse(text.trim())).toMatchObject({ eventId: 'a', context: { device: 'mobile' } });
  });
});

describe('archiveBatch', () => {
  it('hands every planned object to the writer and counts what it archived', async () => {
    // Prepare
    const stored: ArchiveObject[] = [];
    const writer: ArchiveWriter = { put: async (o) => void stored.push(o) };
    const records = [record(1, event('a', T0)), record(2, 'garbage'), record(3, event('b', T0 + 120_000))];
    // Act
    const result = await archiveBatch(records, writer);
    // Assess
    expect(result).toEqual({ archived: 2, objects: 2, erased: 0 });
    expect(stored).toEqual(planArchiveObjects(records));
  });

  it('rejects when a write fails, so the event source retries the batch', async () => {
    // Prepare
    const writer: ArchiveWriter = {
      put: async (o) => {
        if (o.key.includes('hour=10')) throw new Error('SlowDown');
      },
    };
    const records = [record(1, event('a', T0)), record(2, event('b', T0 + 120_000))];
    // Act / Assess
    await expect(archiveBatch(records, writer)).rejects.toThrow('SlowDown');
  });
});
