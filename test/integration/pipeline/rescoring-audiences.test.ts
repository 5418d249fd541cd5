/**
 * Rescoring re-evaluates audiences: a score condition no profile met while nothing was scored is met
 * once the rescorer writes the new model's scores, and the entries reach the activation stream with
 * the same stable ids an ingest write of that version would give them. The local pipeline runs the
 * template's rescore function (its ACTIVATION_STREAM included) over the emulators.
 */
import { readActivationFeed } from '../../../infra/local/activation-subscriber';
import type { LocalPipeline } from '../../../infra/local/local-pipeline';
import { startPipelineWithRecords } from '../../support/local-pipeline-fixture';
import { scanProfiles } from '../../../infra/local/run-report';
import { injectFaults } from '../../../infra/workload/fault-injection';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { activationEventId } from '../../../shared/audiences/activation';
import type { AudienceSet } from '../../../shared/audiences/audience-definition';
import { compileAudienceSet } from '../../../shared/audiences/audience-evaluation';
import { profileExtrasOf } from '../../../shared/audiences/profile-extras';
import { benchModel, publishBenchModel } from '../../bench/bench-model';

/** Buyers the model gives at least even odds of another purchase: only a scored profile can meet it. */
const LIKELY_BUYERS: AudienceSet = {
  audienceSetVersion: 1,
  audiences: [
    {
      id: 'likely-buyers',
      description: 'Buyers the model expects to buy again',
      condition: {
        all: [
          { field: 'purchaseProbability', gte: 0.5 },
          { field: 'orders', gte: 1 },
        ],
      },
    },
  ],
};

describe('rescoring evaluates audiences (template → real rescore handler → activation stream)', () => {
  let pipeline: LocalPipeline;
  const nowMs = Date.now();
  const workload = generateWorkload({ seed: 9, users: 60, days: 2, botShare: 0 });
  const { records } = injectFaults(workload.events, {
    nowMs,
    seed: 9,
    duplicateRate: 0,
    reorderRate: 0,
    malformedRate: 0,
  });

  beforeAll(async () => {
    pipeline = await startPipelineWithRecords(records, {
      audienceSet: LIKELY_BUYERS,
      environment: { MODEL_POLL_SECONDS: '0' },
    });
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('stores the membership the new scores give, and emits each entry once with the id of the version that committed it', async () => {
    // Prepare: ingested without a model, nobody can meet a score condition; then a model is published
    const before = await scanProfiles(pipeline);
    expect(before.some((p) => p.audiences?.['likely-buyers'] !== undefined)).toBe(false);
    const feedBefore = await readActivationFeed(
      pipeline.cloud.clients.kinesis,
      pipeline.activationStreamName!,
    );
    expect(feedBefore.byAudience['likely-buyers']).toBeUndefined();
    await publishBenchModel(pipeline.cloud.clients.s3, pipeline.buckets.models!, benchModel());

    // Act
    const first = await pipeline.rescorePass();
    const second = await pipeline.rescorePass();

    // Assess: membership as the same evaluation ingest runs gives it, on the rescored item
    const after = await scanProfiles(pipeline);
    const set = compileAudienceSet(LIKELY_BUYERS, 'likely-buyers-v1');
    const members = after.filter((p) => p.audiences?.['likely-buyers'] !== undefined);
    for (const profile of after) {
      if (profile.state.redirect !== undefined) {
        expect(profile.audiences).toBeUndefined();
        continue;
      }
      const expected = profileExtrasOf(profile.state, profile.score, undefined, set, undefined).audiences;
      expect(Object.keys(profile.audiences ?? {})).toEqual(Object.keys(expected ?? {}));
    }
    // The check can fail: the condition splits the rescored profiles.
    expect(members.length).toBeGreaterThan(0);
    expect(members.length).toBeLessThan(after.filter((p) => p.state.redirect === undefined).length);
    expect(first.stats).toMatchObject({
      audienceEntries: members.length,
      audienceExits: 0,
      activationFailed: 0,
    });
    expect(first.audienceSetVersion).toBeDefined();
    expect(second.stats).toMatchObject({ rescored: 0, activationEvents: 0 });

    const feed = await readActivationFeed(pipeline.cloud.clients.kinesis, pipeline.activationStreamName!);
    expect(feed.byAudience['likely-buyers']).toEqual({ entered: members.length, exited: 0 });
    expect(feed.members['likely-buyers']).toBe(members.length);
    for (const profile of members) {
      expect(
        feed.ids.has(activationEventId(profile.state.profileId, 'likely-buyers', 'entered', profile.version)),
      ).toBe(true);
    }
  }, 120_000);
});
