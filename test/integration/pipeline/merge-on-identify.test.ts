/**
 * Merge on identify against the real emulators: visitors browse anonymously, identify at checkout
 * (their user id's shard), keep browsing under the cookie afterwards (the anonymous id's shard, now a
 * redirect), and one device is identified by a second user. Each person ends with one live profile.
 */
import type { EventInput } from '../../../shared/contract/event-contract';
import { foldInMemory } from '../../../infra/local/reference-fold';
import { expectAgreesWithReference } from '../../support/reference-agreement';
import { collectAccounting, profilesPerPerson, scanProfiles } from '../../../infra/local/run-report';
import { injectFaults } from '../../../infra/workload/fault-injection';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { decodePrivacyOf, type LocalPipeline } from '../../../infra/local/local-pipeline';
import { startPipelineWithRecords } from '../../support/local-pipeline-fixture';

describe('merge on identify (emulators, real ingest handler)', () => {
  let pipeline: LocalPipeline;
  const nowMs = Date.now();
  const workload = generateWorkload({ seed: 9, users: 200, days: 2, botShare: 0, visitorShare: 0.6 });
  const identified = [...workload.groundTruth.values()].filter((t) => t.identifiedAtMs !== undefined);
  // Right after identifying, a tag that only knows the cookie sends one more event in the same session
  // (it arrives on the anonymous id's shard, before or after the identify is processed). Sessions across
  // a merge are order independent within one session, as the README states.
  const identifies = new Map(
    workload.events.filter((e) => e.type === 'identify').map((e) => [e.anonymousId!, e] as const),
  );
  const afterwards: EventInput[] = identified.map((t, i) => {
    const identify = identifies.get(t.anonymousId!)!;
    return {
      schemaVersion: 1,
      eventId: `later-${i}`,
      type: 'product_view',
      anonymousId: t.anonymousId!,
      sessionId: identify.sessionId!,
      productId: 'p-later',
      occurredAt: t.identifiedAtMs! + 500,
    };
  });
  // A shared device: another (registered) person identifies with the first visitor's anonymous id.
  const sharer = [...workload.groundTruth.values()].find((t) => t.persona === 'registered')!;
  const shared: EventInput = {
    schemaVersion: 1,
    eventId: 'shared-identify',
    type: 'identify',
    userId: sharer.userId!,
    anonymousId: identified[0]!.anonymousId!,
    occurredAt: workload.endMs - 30_000,
  };
  const { records, manifest } = injectFaults([...workload.events, ...afterwards, shared], {
    nowMs,
    seed: 9,
    duplicateRate: 0.05,
    reorderRate: 0.05,
    malformedRate: 0,
  });

  beforeAll(async () => {
    pipeline = await startPipelineWithRecords(records);
  }, 180_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('ends with one live profile per person, every anonymous history in its user', async () => {
    // Act
    const stored = await scanProfiles(pipeline);
    // Assess
    const people = [...workload.groundTruth.values()].map((t) => t.profileIds);
    expect(identified.length).toBeGreaterThan(10);
    expect(profilesPerPerson(stored, people)).toEqual({ people: people.length, mean: 1, split: 0 });
    const byId = new Map(stored.map((p) => [p.state.profileId, p.state]));
    for (const t of identified) {
      expect(byId.get(`anon:${t.anonymousId}`)?.redirect?.into).toBe(t.userId);
      const user = byId.get(t.userId!)!;
      expect(user.merges.map((m) => m.anonymousId)).toContain(t.anonymousId);
      expect(user.counts.reduce((a, b) => a + b, 0)).toBe(t.events + 1);
    }
  });

  it('refuses the shared device, and matches the in-memory fold with the accounting balanced', async () => {
    const sharerState = (await scanProfiles(pipeline)).find(
      (p) => p.state.profileId === sharer.userId,
    )!.state;
    expect(sharerState.merges).toEqual([]);
    expect(sharerState.mergeRefusals).toEqual([
      expect.objectContaining({ anonymousId: identified[0]!.anonymousId, reason: 'shared-device' }),
    ]);
    const reference = foldInMemory(records, nowMs, decodePrivacyOf(pipeline));
    const live = (await scanProfiles(pipeline)).filter((p) => p.state.redirect === undefined);
    for (const profile of live) {
      expectAgreesWithReference(profile.state, reference.get(profile.state.profileId));
    }
    const accounting = await collectAccounting(
      pipeline,
      { produced: records.length, failedToSend: 0 },
      { profiles: reference, quarantined: 0 },
    );
    expect(accounting).toMatchObject({ balanced: true, mismatchedProfiles: 0, redirects: identified.length });
    expect(accounting.applied).toBe(manifest.validEvents);
  });
});
