import fc from 'fast-check';
import { addCartEvent, cartEventIsNewer } from '../../../shared/profile/apply-events';
import {
  cartView,
  PROFILE_LIMITS,
  type CartEvent,
  type CartView,
} from '../../../shared/profile/profile-state';

/** `addCartEvent` as it was before it shifted entries in place: scan from the front, splice, trim. */
function addBySplicing(cart: CartEvent[], entry: CartEvent): void {
  const limit = PROFILE_LIMITS.cartEvents;
  if (cart.length >= limit && !cartEventIsNewer(entry, cart[cart.length - 1]!)) return;
  let index = 0;
  while (index < cart.length && !cartEventIsNewer(entry, cart[index]!)) index++;
  cart.splice(index, 0, entry);
  if (cart.length > limit) cart.pop();
}

// Few values per field, so that ties on time, product and quantity (and exact duplicates) are common.
const cartEvent = fc.record({
  at: fc.integer({ min: 0, max: 6 }),
  productId: fc.constantFrom('p1', 'p2', 'p3'),
  quantity: fc.constantFrom(-2, -1, 1, 2),
  priceCents: fc.constantFrom(-1, 100, 250),
});

describe('cart log, in place', () => {
  it('holds the same entries, in the same order, as splicing, for any cart events', () => {
    fc.assert(
      fc.property(fc.array(cartEvent, { maxLength: 30 }), (events) => {
        // Prepare
        const inPlace: CartEvent[] = [];
        const spliced: CartEvent[] = [];
        for (const event of events) {
          // Act
          addCartEvent(inPlace, { ...event });
          addBySplicing(spliced, { ...event });
          // Assess: entry by entry (a tie keeps its arrival order in both)
          expect(inPlace).toEqual(spliced);
        }
        expect(inPlace.length).toBeLessThanOrEqual(PROFILE_LIMITS.cartEvents);
      }),
    );
  });
});

/** `cartView` as it was before it scanned the log instead of building two Maps per call. */
function cartViewByMaps(cart: readonly CartEvent[]): CartView {
  const quantities = new Map<string, number>();
  const prices = new Map<string, number>();
  for (let i = cart.length - 1; i >= 0; i--) {
    const e = cart[i]!;
    quantities.set(e.productId, Math.max(0, (quantities.get(e.productId) ?? 0) + e.quantity));
    if (e.priceCents >= 0) prices.set(e.productId, e.priceCents);
  }
  let products = 0;
  let units = 0;
  let valueCents = 0;
  for (const [productId, quantity] of quantities) {
    if (quantity <= 0) continue;
    products++;
    units += quantity;
    const price = prices.get(productId);
    if (price !== undefined) valueCents += price * quantity;
  }
  return { products, units, valueCents };
}

describe('cart view', () => {
  it('is what replaying the log through Maps gives, for any cart log', () => {
    fc.assert(
      fc.property(fc.array(cartEvent, { maxLength: 30 }), (events) => {
        // Prepare
        const cart: CartEvent[] = [];
        for (const event of events) {
          addCartEvent(cart, { ...event });
          // Act + Assess: after every event, not only at the end
          expect(cartView({ cart })).toEqual(cartViewByMaps(cart));
        }
      }),
    );
  });
});
