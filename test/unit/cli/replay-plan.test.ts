import { planReplay, repairCandidates, type ReplayCandidate } from '../../../infra/cli/replay-records';
import { decodeBatch } from '../../../shared/ingest/decode-batch';
import { emptyProfile, type ProfileState } from '../../../shared/profile/profile-state';
import { SHARD, T0 } from '../../support/factories';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const view = (userId: string, eventId: string) => ({
  schemaVersion: 1,
  eventId,
  type: 'page_view',
  userId,
  occurredAt: T0,
});

function profileWithMark(userId: string, sequenceNumber: string): ProfileState {
  return { ...emptyProfile(userId), shardMarks: [{ shardId: SHARD, sequenceNumber }] };
}

describe('the replay envelope at ingest', () => {
  it('sequences a replayed record under its original place and keeps its own for failure reports', () => {
    // Prepare
    const record = {
      shardId: 'shardId-000000000007',
      sequenceNumber: '900',
      partitionKey: 'u-1',
      approximateArrivalMs: T0,
      data: encode({ ...view('u-1', 'e-1'), replayOf: { shardId: SHARD, sequenceNumber: '120' } }),
    };
    // Act
    const { valid, quarantined } = decodeBatch([record]);
    // Assess
    expect(quarantined).toEqual([]);
    expect(valid[0]).toMatchObject({ shardId: SHARD, sequenceNumber: '120', streamSequenceNumber: '900' });
  });

  it('quarantines a malformed envelope, naming the field and the rule', () => {
    const { quarantined } = decodeBatch([
      {
        shardId: SHARD,
        sequenceNumber: '1',
        partitionKey: 'u-1',
        approximateArrivalMs: T0,
        data: encode({ ...view('u-1', 'e-1'), replayOf: { shardId: SHARD, sequenceNumber: '12a' } }),
      },
    ]);
    expect(quarantined[0]).toMatchObject({ field: 'replayOf.sequenceNumber', kind: 'schema' });
  });
});

describe('planReplay', () => {
  const failure = (eventId: string, sequenceNumber: string, batchEnd = '200'): ReplayCandidate => ({
    shardId: SHARD,
    sequenceNumber,
    batchEnd,
    data: encode(view('u-1', eventId)),
  });

  it('sends on-failure records with the envelope while the mark is below them or within their batch', async () => {
    const repaired = await repairCandidates([failure('e-1', '100'), failure('e-2', '150')], undefined, T0);
    const plan = planReplay(repaired, new Map([['u-1', profileWithMark('u-1', '120')]]), 'hold');
    expect(plan.withEnvelope.map((e) => e.replayOf)).toEqual([
      { shardId: SHARD, sequenceNumber: '100' },
      { shardId: SHARD, sequenceNumber: '150' },
    ]);
    expect(plan.heldBack).toEqual([]);
  });

  it('holds back on-failure records of a profile that moved on past their batch, or sends them fresh', async () => {
    const repaired = await repairCandidates([failure('e-1', '100')], undefined, T0);
    const profiles = new Map([['u-1', profileWithMark('u-1', '300')]]);
    expect(planReplay(repaired, profiles, 'hold').heldBack).toEqual([
      { profileId: 'u-1', shardId: SHARD, sequenceNumber: '100' },
    ]);
    const fresh = planReplay(repaired, profiles, 'fresh');
    expect(fresh.fresh).toHaveLength(1);
    expect(fresh.fresh[0]!.replayOf).toBeUndefined();
  });

  it('sends a quarantined record fresh once its profile moved on (it was never applied)', async () => {
    const quarantined: ReplayCandidate = {
      shardId: SHARD,
      sequenceNumber: '100',
      data: encode(view('u-1', 'e-1')),
    };
    const plan = planReplay(
      await repairCandidates([quarantined], undefined, T0),
      new Map([['u-1', profileWithMark('u-1', '300')]]),
      'hold',
    );
    expect(plan.fresh).toHaveLength(1);
    expect(plan.withEnvelope).toHaveLength(0);
  });

  it('repairs before validating, keeps a first replay origin, and reports what stays refused', async () => {
    const candidates: ReplayCandidate[] = [
      { shardId: SHARD, sequenceNumber: '5', data: encode({ ...view('u-1', 'e-1'), type: 'pageview' }) },
      {
        shardId: 'shardId-000000000003',
        sequenceNumber: '9',
        data: encode({ ...view('u-2', 'e-2'), replayOf: { shardId: SHARD, sequenceNumber: '4' } }),
      },
      { shardId: SHARD, sequenceNumber: '6', data: new TextEncoder().encode('not json') },
    ];
    const repaired = await repairCandidates(
      candidates,
      (record) =>
        typeof record === 'object' && record !== null && (record as { type?: string }).type === 'pageview'
          ? { ...record, type: 'page_view' }
          : record,
      T0,
    );
    expect(repaired.repaired.map((r) => r.input.replayOf)).toEqual([
      { shardId: SHARD, sequenceNumber: '5' },
      { shardId: SHARD, sequenceNumber: '4' },
    ]);
    expect(repaired.refused).toEqual([
      { shardId: SHARD, sequenceNumber: '6', reason: expect.stringContaining('(record)') as string },
    ]);
  });
});
