/**
 * Rescoring in the local pipeline: the rescore function and its segment count come from the
 * synthesized template, and its real handler runs over the emulators as the state machine's Map would.
 */
import { decodePrivacyOf, type LocalPipeline } from '../../../infra/local/local-pipeline';
import { startPipelineWithRecords } from '../../support/local-pipeline-fixture';
import { collectAccounting, scanProfiles } from '../../../infra/local/run-report';
import { foldInMemory } from '../../../infra/local/reference-fold';
import { injectFaults } from '../../../infra/workload/fault-injection';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { BENCH_MODEL_VERSION, benchModel, publishBenchModel } from '../../bench/bench-model';

describe('local pipeline rescoring (template → real rescore handler)', () => {
  let pipeline: LocalPipeline;
  const nowMs = Date.now();
  const workload = generateWorkload({ seed: 8, users: 80, days: 2, botShare: 0 });
  const { records } = injectFaults(workload.events, {
    nowMs,
    seed: 8,
    duplicateRate: 0,
    reorderRate: 0,
    malformedRate: 0,
  });

  beforeAll(async () => {
    pipeline = await startPipelineWithRecords(records);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('scores every profile written before any model existed, leaving the states and the accounting as they were', async () => {
    // Prepare: everything was ingested without a model; then one is published.
    const before = await scanProfiles(pipeline);
    expect(before.every((p) => p.scoreStatus === 'unscored')).toBe(true);
    await publishBenchModel(pipeline.cloud.clients.s3, pipeline.buckets.models!, benchModel());
    // Act
    const first = await pipeline.rescorePass();
    const second = await pipeline.rescorePass();
    // Assess
    const after = await scanProfiles(pipeline);
    expect(first).toMatchObject({ segments: 4, modelVersion: BENCH_MODEL_VERSION });
    expect(first.stats.rescored).toBe(before.length);
    expect(second.stats).toMatchObject({ scanned: before.length, stale: 0, rescored: 0 });
    expect(after.map((p) => p.score?.modelVersion)).toEqual(before.map(() => BENCH_MODEL_VERSION));
    const stateOf = new Map(before.map((p) => [p.state.profileId, p.state]));
    for (const profile of after) expect(profile.state).toEqual(stateOf.get(profile.state.profileId));
    const accounting = await collectAccounting(
      pipeline,
      { produced: records.length, failedToSend: 0 },
      { profiles: foldInMemory(records, nowMs, decodePrivacyOf(pipeline)), quarantined: 0 },
    );
    // The accounting counts live profiles; anonymous profiles merged into a user are redirects (rescored too).
    const live = before.filter((p) => p.state.redirect === undefined).length;
    expect(accounting).toMatchObject({ balanced: true, mismatchedProfiles: 0, scored: live });
    expect(accounting.redirects).toBe(before.length - live);
    expect(accounting.scoredBy).toEqual({ [BENCH_MODEL_VERSION]: live });
  }, 60_000);
});
