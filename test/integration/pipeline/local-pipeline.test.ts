/**
 * The whole pipeline against the real emulators: template-derived resources, the real ingest handler
 * behind the event source mapping emulator, a faulty workload. The stored profiles must equal, field
 * by field, the same records folded in memory.
 */
import { foldInMemory } from '../../../infra/local/reference-fold';
import { expectAgreesWithReference } from '../../support/reference-agreement';
import { injectFaults } from '../../../infra/workload/fault-injection';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { collectAccounting, readQuarantine, scanProfiles } from '../../../infra/local/run-report';
import { decodePrivacyOf, type LocalPipeline } from '../../../infra/local/local-pipeline';
import { startPipelineWithRecords } from '../../support/local-pipeline-fixture';

describe('local pipeline (template → emulators → real ingest handler)', () => {
  let pipeline: LocalPipeline;
  const nowMs = Date.now();
  // No bots: their bursts (> 16 events a minute) pass the dedupe horizon, which this test keeps exact.
  const workload = generateWorkload({ seed: 7, users: 150, days: 2, botShare: 0 });
  const { records, manifest } = injectFaults(workload.events, {
    nowMs,
    seed: 7,
    duplicateRate: 0.05,
    reorderRate: 0.05,
    malformedRate: 0.02,
  });

  beforeAll(async () => {
    pipeline = await startPipelineWithRecords(records);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('creates what the template declares, with its event source settings', () => {
    const ingest = pipeline.topology.eventSourceMappings.find((m) => m.functionName === 'ingest');
    expect(ingest).toMatchObject({ reportBatchItemFailures: true, bisectBatchOnFunctionError: true });
    expect(pipeline.mappings.has('ingest')).toBe(true);
    expect(pipeline.topology.table.keySchema).toEqual([{ AttributeName: 'profileId', KeyType: 'HASH' }]);
  });

  it('stores the profiles an in-memory fold of the same records gives, field by field (merged ones within the order envelope)', async () => {
    // Prepare
    const reference = foldInMemory(records, nowMs, decodePrivacyOf(pipeline));
    // Act
    const stored = (await scanProfiles(pipeline)).filter((p) => p.state.redirect === undefined);
    // Assess
    expect(stored.map((p) => p.state.profileId).sort()).toEqual([...reference.keys()].sort());
    for (const profile of stored) {
      expectAgreesWithReference(profile.state, reference.get(profile.state.profileId));
    }
    expect(manifest.duplicatedEventIds.length).toBeGreaterThan(0);
    expect(manifest.reorderedEventIds.length).toBeGreaterThan(0);
  });

  it('quarantines every malformed record with its reason and accounts for every record', async () => {
    // A redelivered range is quarantined again (documented); the records are the same. Merges make a
    // redelivery legitimate: a cookie's write that meets a concurrent freeze is redelivered to its user.
    const distinct = new Map(
      (await readQuarantine(pipeline)).map((q) => [`${q.shardId}:${q.sequenceNumber}`, q]),
    );
    const expectedKinds = manifest.malformed.map((m) => m.kind).sort();
    expect([...distinct.values()].map((q) => q.kind).sort()).toEqual(expectedKinds);
    const accounting = await collectAccounting(
      pipeline,
      { produced: records.length, failedToSend: 0 },
      {
        profiles: foldInMemory(records, nowMs, decodePrivacyOf(pipeline)),
        quarantined: manifest.malformed.length,
      },
    );
    expect(accounting).toMatchObject({ balanced: true, onFailure: 0, mismatchedProfiles: 0 });
    expect(accounting.applied).toBe(manifest.validEvents);
    // The same check notices a single profile that differs from the reference.
    const tampered = new Map(foldInMemory(records, nowMs, decodePrivacyOf(pipeline)));
    const [someId, someState] = [...tampered][0]!;
    tampered.set(someId, { ...someState, sessionCount: someState.sessionCount + 1 });
    const noticed = await collectAccounting(
      pipeline,
      { produced: records.length, failedToSend: 0 },
      { profiles: tampered, quarantined: manifest.malformed.length },
    );
    expect(noticed).toMatchObject({ balanced: false, mismatchedProfiles: 1 });
    expect(accounting.duplicates).toBe(manifest.duplicatedEventIds.length);
  });
});
