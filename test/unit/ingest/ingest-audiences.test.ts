import { parseAudienceSet } from '../../../shared/audiences/audience-definition';
import { compileAudienceSet, type CompiledAudienceSet } from '../../../shared/audiences/audience-evaluation';
import { ingestBatch } from '../../../shared/ingest/ingest-batch';
import type { AudienceSource, ProfileScorer } from '../../../shared/ingest/ingest-ports';
import { decodeProfileItem, profileItemSchema } from '../../../shared/profile/profile-item-codec';
import { ingestRecord } from '../../support/factories';
import { InMemoryProfileStore, InMemoryQuarantine } from '../../support/in-memory-adapters';

const NOW = Date.UTC(2026, 10, 27, 12);
const event = (eventId: string, type: string, minutesAgo: number) => ({
  schemaVersion: 1,
  eventId,
  type,
  userId: 'u1',
  productId: 'p1',
  categoryPath: 'shoes',
  price: 25,
  occurredAt: NOW - minutesAgo * 60_000,
});
const unscored: ProfileScorer = { score: async () => undefined };
const SET = compileAudienceSet(
  parseAudienceSet({
    audienceSetVersion: 1,
    audiences: [
      { id: 'viewers', description: 'd', condition: { field: 'count.product_view', gte: 1 } },
      { id: 'abandoners', description: 'd', condition: { field: 'abandonedCart.valueCents', gt: 0 } },
    ],
  }),
  'v1',
);

function run(bodies: unknown[], profiles: InMemoryProfileStore, set: CompiledAudienceSet | undefined) {
  const audiences: AudienceSource = { current: async () => set };
  return ingestBatch(
    bodies.map((b) => ingestRecord(b, { arrivalMs: NOW })),
    { profiles, quarantine: new InMemoryQuarantine(), scorer: unscored, now: () => NOW, audiences },
  );
}

describe('ingestBatch with audiences', () => {
  it('stores traits and membership (audience id → enteredAt) in the item, and keeps enteredAt while it holds', async () => {
    // Prepare
    const profiles = new InMemoryProfileStore();
    // Act: a view, then a cart add two hours before a later view (the cart is then abandoned)
    const first = await run([event('e1', 'product_view', 180)], profiles, SET);
    const enteredAt = NOW - 180 * 60_000;
    const second = await run(
      [event('e2', 'add_to_cart', 120), event('e3', 'product_view', 0)],
      profiles,
      SET,
    );
    // Assess
    const item = profiles.items.get('u1')!;
    expect(profileItemSchema.safeParse(item).error).toBeUndefined();
    expect(item.audiences).toEqual({ viewers: enteredAt, abandoners: NOW });
    expect(item).toMatchObject({ stage: 'new', rfm: '111', tier: 'none', abandonedCart: [2500, 120] });
    expect(decodeProfileItem(item).audiences).toEqual(item.audiences);
    expect(first.stats).toMatchObject({ audienceSetVersion: 'v1', audienceEntries: 1, audienceExits: 0 });
    expect(second.stats).toMatchObject({ audienceEntries: 1, audienceExits: 0 });
  });

  it('keeps the stored membership when no set is published, and drops audiences a new set no longer defines', async () => {
    const profiles = new InMemoryProfileStore();
    await run([event('e1', 'product_view', 10)], profiles, SET);
    await run([event('e2', 'product_view', 5)], profiles, undefined);
    expect(profiles.items.get('u1')!.audiences).toEqual({ viewers: NOW - 10 * 60_000 });
    const other = compileAudienceSet(
      parseAudienceSet({
        audienceSetVersion: 1,
        audiences: [{ id: 'searchers', description: 'd', condition: { field: 'count.search', gte: 1 } }],
      }),
      'v2',
    );
    const result = await run([event('e3', 'product_view', 1)], profiles, other);
    expect(profiles.items.get('u1')!.audiences).toBeUndefined();
    expect(result.stats.audienceExits).toBe(1);
  });
});
