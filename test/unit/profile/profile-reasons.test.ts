import fc from 'fast-check';
import { FEATURE_NAMES } from '../../../shared/features/feature-vector';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { decodeProfileItem, encodeProfileItem } from '../../../shared/profile/profile-item-codec';
import { describeFeature, describeProfile, describeReasons } from '../../../infra/client/profile-view';
import { makeEvent, sequenced, T0 } from '../../support/factories';

describe('describeFeature', () => {
  it.each([
    ['decay_1h_add_to_cart_log1p', 'add-to-cart activity over about the last hour'],
    ['decay_30d_product_view_log1p', 'product-view activity over about the last 30 days'],
    ['count_purchase_log1p', 'number of purchase events'],
    ['hours_since_last_cart_add_log1p', 'time since the last cart add'],
    ['carts_per_view_smoothed', 'carts per view'],
    // A name from a newer feature schema still reads as words.
    ['count_add_to_cart_6h', 'count add-to-cart 6h'],
  ])('reads %s as "%s"', (name, words) => {
    // Act & Assess
    expect(describeFeature(name)).toBe(words);
  });

  it('puts every feature of the current schema into words: no underscores, no transforms', () => {
    for (const name of FEATURE_NAMES) {
      // Act
      const words = describeFeature(name);
      // Assess
      expect(words).not.toMatch(/_|log1p|smoothed/);
      expect(words.length).toBeGreaterThan(0);
    }
  });
});

describe('describeReasons', () => {
  it('says which way each reason moved which probability, with its signed size, in order', () => {
    // Act
    const words = describeReasons(
      [
        { feature: 'decay_1h_add_to_cart_log1p', contribution: 0.8234 },
        { feature: 'hours_since_last_event_log1p', contribution: -0.31 },
      ],
      'purchase',
    );
    // Assess
    expect(words).toEqual([
      'add-to-cart activity over about the last hour raised the purchase probability (+0.82)',
      'time since the last event lowered the purchase probability (-0.31)',
    ]);
  });

  it('uses "raised" for every positive and "lowered" for every negative contribution, for both heads', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FEATURE_NAMES),
        fc.double({ min: 1e-3, max: 20, noNaN: true }),
        fc.boolean(),
        fc.constantFrom('purchase' as const, 'churn' as const),
        (feature, size, up, head) => {
          // Act
          const [words] = describeReasons([{ feature, contribution: up ? size : -size }], head);
          // Assess
          expect(words).toContain(up ? ' raised ' : ' lowered ');
          expect(words).toContain(head === 'purchase' ? 'the purchase probability' : 'the churn risk');
          expect(words!.startsWith(describeFeature(feature))).toBe(true);
        },
      ),
    );
  });
});

describe('describeProfile with stored reasons', () => {
  it('prints the reasons of each explained probability in words, and none when there are none', () => {
    // Prepare
    const state = applyEventsToProfile(
      undefined,
      sequenced([
        makeEvent({ type: 'add_to_cart', productId: 'p-1', price: 5, quantity: 1, occurredAt: T0 }),
      ]),
      'u-1',
    ).state;
    const item = decodeProfileItem(
      encodeProfileItem(state, { version: 1, score: { propensity: 0.4, modelVersion: 'v2', scoredAt: T0 } }),
    );
    const explained = {
      ...item,
      score: {
        ...item.score!,
        reasons: { churn: [{ feature: 'session_count_log1p', contribution: -1.5 }] },
      },
    };
    // Act
    const view = describeProfile(explained, T0);
    const plain = describeProfile(item, T0);
    // Assess
    expect(view.score).toMatchObject({
      explanations: { churn: ['session count lowered the churn risk (-1.50)'] },
    });
    expect(view.score !== 'unscored' && view.score.explanations?.purchase).toBeFalsy();
    expect(plain.score !== 'unscored' && 'explanations' in plain.score).toBe(false);
  });
});
