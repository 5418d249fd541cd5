import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { decodeProfileItem, encodeProfileItem } from '../../../shared/profile/profile-item-codec';
import { describeProfile } from '../../../infra/client/profile-view';
import { makeEvent, sequenced, T0 } from '../../support/factories';

const HOUR = 3_600_000;

describe('describeProfile', () => {
  it('names counts, brings decays to the reading time and derives cart, orders and score', () => {
    // Prepare: two views an hour apart, a cart add, a purchase; scored.
    const events = [
      makeEvent({ type: 'product_view', productId: 'p-1', categoryPath: 'home.kitchen', occurredAt: T0 }),
      makeEvent({
        type: 'product_view',
        productId: 'p-2',
        categoryPath: 'home.kitchen',
        occurredAt: T0 + HOUR,
      }),
      makeEvent({ type: 'add_to_cart', productId: 'p-3', price: 10, quantity: 2, occurredAt: T0 + HOUR }),
      makeEvent({ type: 'purchase', orderId: 'o-1', revenue: 99.5, occurredAt: T0 - HOUR }),
    ];
    const state = applyEventsToProfile(undefined, sequenced(events), 'u-1').state;
    const item = decodeProfileItem(
      encodeProfileItem(state, {
        version: 3,
        score: { propensity: 0.25, modelVersion: 'v1', scoredAt: T0 + HOUR },
      }),
    );
    // Act
    const view = describeProfile(item, T0 + 2 * HOUR);
    // Assess
    expect(view.counts).toEqual({ product_view: 2, add_to_cart: 1, purchase: 1 });
    expect(view.stalenessMs).toBe(HOUR);
    // One hour after the last view, the 1-hour decay of two views (0 h and 1 h before that) is ≈ 0.5 + 0.25.
    expect(view.activity['product_view.1h']).toBeCloseTo(0.75, 2);
    expect(view.categories.map((c) => c.category)).toEqual(
      expect.arrayContaining(['home.kitchen', 'unknown']),
    );
    expect(view.recentProducts).toEqual(['p-2', 'p-1']);
    expect(view.orders).toMatchObject({ count: 1, revenue: 99.5, averageOrderValue: 99.5 });
    expect(view.cart).toEqual({ products: 1, units: 2, value: 20 });
    expect(view.score).toEqual({
      propensity: 0.25,
      modelVersion: 'v1',
      scoredAt: new Date(T0 + HOUR).toISOString(),
    });
    expect(view).toMatchObject({ profileId: 'u-1', anonymous: false, version: 3 });
  });
});
