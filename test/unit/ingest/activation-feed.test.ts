import { activationEventId, type ActivationEvent } from '../../../shared/audiences/activation';
import { parseAudienceSet } from '../../../shared/audiences/audience-definition';
import { compileAudienceSet } from '../../../shared/audiences/audience-evaluation';
import { ingestBatch } from '../../../shared/ingest/ingest-batch';
import type { ProfileScorer, TransitionSink } from '../../../shared/ingest/ingest-ports';
import { ingestRecord } from '../../support/factories';
import { InMemoryProfileStore, InMemoryQuarantine } from '../../support/in-memory-adapters';

const NOW = Date.UTC(2026, 10, 27, 12);
const unscored: ProfileScorer = { score: async () => undefined };
const SET = compileAudienceSet(
  parseAudienceSet({
    audienceSetVersion: 1,
    audiences: [{ id: 'viewers', description: 'd', condition: { field: 'count.product_view', gte: 1 } }],
  }),
  'v1',
);
const view = (eventId: string, who: { userId?: string; anonymousId?: string }, minutesAgo: number) => ({
  schemaVersion: 1,
  eventId,
  type: 'product_view',
  ...who,
  productId: 'p1',
  categoryPath: 'shoes',
  price: 25,
  occurredAt: NOW - minutesAgo * 60_000,
});

class RecordingSink implements TransitionSink {
  readonly events: ActivationEvent[] = [];
  async put(events: readonly ActivationEvent[]) {
    this.events.push(...events);
    return new Set<string>();
  }
}

function run(bodies: unknown[], profiles: InMemoryProfileStore, sink: TransitionSink) {
  return ingestBatch(
    bodies.map((b) => ingestRecord(b, { arrivalMs: NOW })),
    {
      profiles,
      quarantine: new InMemoryQuarantine(),
      scorer: unscored,
      now: () => NOW,
      audiences: { current: async () => SET },
      transitions: sink,
    },
  );
}

describe('ingestBatch on the activation feed', () => {
  it('emits an entry when a write lands, nothing for a write that does not change membership', async () => {
    // Prepare
    const profiles = new InMemoryProfileStore();
    const sink = new RecordingSink();
    // Act
    const first = await run([view('e1', { userId: 'u1' }, 10)], profiles, sink);
    await run([view('e2', { userId: 'u1' }, 5)], profiles, sink);
    // Assess
    expect(sink.events).toEqual([
      {
        schemaVersion: 1,
        id: activationEventId('u1', 'viewers', 'entered', 1),
        kind: 'entered',
        audienceId: 'viewers',
        profileId: 'u1',
        profileVersion: 1,
        at: NOW - 10 * 60_000,
      },
    ]);
    expect(first.stats).toMatchObject({ audienceEntries: 1, activationEvents: 1, activationFailed: 0 });
    expect(profiles.items.get('u1')!.audienceLog).toEqual({ viewers: [1] });
  });

  it('emits the exits of an anonymous profile merged on identify, at the version of its frozen write', async () => {
    // Prepare
    const profiles = new InMemoryProfileStore();
    const sink = new RecordingSink();
    await run([view('e1', { anonymousId: 'a1' }, 30)], profiles, sink);
    // Act
    const identify = {
      schemaVersion: 1,
      eventId: 'e2',
      type: 'identify',
      userId: 'u1',
      anonymousId: 'a1',
      occurredAt: NOW - 20 * 60_000,
    };
    await run([identify], profiles, sink);
    // Assess
    const frozen = profiles.items.get('anon:a1')!;
    expect(frozen.audiences).toBeUndefined();
    expect(sink.events.map((e) => [e.profileId, e.kind, e.profileVersion])).toEqual([
      ['anon:a1', 'entered', 1],
      ['anon:a1', 'exited', frozen.version],
      ['u1', 'entered', 1],
    ]);
  });

  it('reports a profile whose transitions the stream refused, and its redelivery re-emits them', async () => {
    // Prepare
    const profiles = new InMemoryProfileStore();
    const refusing: TransitionSink = { put: async (events) => new Set(events.map((e) => e.profileId)) };
    const record = ingestRecord(view('e1', { userId: 'u1' }, 10), { arrivalMs: NOW });
    const deps = {
      profiles,
      quarantine: new InMemoryQuarantine(),
      scorer: unscored,
      now: () => NOW,
      audiences: { current: async () => SET },
    };
    // Act
    const refused = await ingestBatch([record], { ...deps, transitions: refusing });
    const sink = new RecordingSink();
    const redelivered = await ingestBatch([record], { ...deps, transitions: sink });
    // Assess
    expect(refused.failedSequenceNumbers).toEqual([record.sequenceNumber]);
    expect(refused.stats).toMatchObject({ profilesWritten: 1, activationFailed: 1, activationEvents: 0 });
    expect(redelivered.stats).toMatchObject({ profilesUnchanged: 1, duplicates: 1, activationEvents: 1 });
    expect(sink.events.map((e) => e.id)).toEqual([activationEventId('u1', 'viewers', 'entered', 1)]);
  });
});
