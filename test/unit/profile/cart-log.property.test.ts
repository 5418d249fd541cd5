import fc from 'fast-check';
import { addCartEvent, cartEventIsNewer } from '../../../shared/profile/apply-events';
import { PROFILE_LIMITS, type CartEvent } from '../../../shared/profile/profile-state';

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
