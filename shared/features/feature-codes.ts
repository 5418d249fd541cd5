/**
 * Short, stable codes for the feature names, used as the keys of the stored `reasons` (item schema v5):
 * six reasons named in full were ~150 bytes of every scored item, about a seventh of its one write unit.
 *
 * Codes are built from the `act` event type codes of the item (`pv` page_view, `vw` product_view, `sr`
 * search, `ac` add_to_cart, `pu` purchase, …) and always contain a `.` or a `/`, which no feature name
 * does (they are snake_case), so a stored key is unambiguously a code or a full name. A feature without
 * a code here (one a newer feature schema or another model adds) is stored under its full name and reads
 * back as itself: the table may lag the feature list without losing a reason. Codes are a stored format:
 * never reuse or change one; add new ones.
 */

/** Feature name (as in `shared/features/feature-vector.ts`) → the code stored in `reasons`. */
export const FEATURE_CODES: Readonly<Record<string, string>> = Object.freeze({
  // Decayed activity: <type code>.<half-life label>.
  decay_1h_page_view_log1p: 'pv.1h',
  decay_1d_page_view_log1p: 'pv.1d',
  decay_30d_page_view_log1p: 'pv.30d',
  decay_1h_product_view_log1p: 'vw.1h',
  decay_1d_product_view_log1p: 'vw.1d',
  decay_30d_product_view_log1p: 'vw.30d',
  decay_1h_search_log1p: 'sr.1h',
  decay_1d_search_log1p: 'sr.1d',
  decay_30d_search_log1p: 'sr.30d',
  decay_1h_add_to_cart_log1p: 'ac.1h',
  decay_1d_add_to_cart_log1p: 'ac.1d',
  decay_30d_add_to_cart_log1p: 'ac.30d',
  decay_1h_add_to_wishlist_log1p: 'wl.1h',
  decay_1d_add_to_wishlist_log1p: 'wl.1d',
  decay_30d_add_to_wishlist_log1p: 'wl.30d',
  decay_1h_purchase_log1p: 'pu.1h',
  decay_1d_purchase_log1p: 'pu.1d',
  decay_30d_purchase_log1p: 'pu.30d',
  // Lifetime counts: <type code>.n.
  count_page_view_log1p: 'pv.n',
  count_product_view_log1p: 'vw.n',
  count_search_log1p: 'sr.n',
  count_add_to_cart_log1p: 'ac.n',
  count_purchase_log1p: 'pu.n',
  // Recency: <type code>.rec (ev: any event).
  hours_since_last_event_log1p: 'ev.rec',
  hours_since_last_purchase_log1p: 'pu.rec',
  hours_since_last_cart_add_log1p: 'ac.rec',
  tenure_hours_log1p: 'ev.age',
  // Ratios: <numerator>/<denominator>.
  carts_per_view_smoothed: 'ac/vw',
  purchases_per_view_smoothed: 'pu/vw',
  purchases_per_cart_smoothed: 'pu/ac',
  // Orders.
  revenue_log1p: 'pu.rev',
  average_order_value_log1p: 'pu.aov',
  order_count_log1p: 'pu.ord',
  // Cart, session, categories, time of day, identity.
  cart_products: 'cart.n',
  cart_units_log1p: 'cart.u',
  cart_value_log1p: 'cart.v',
  session_count_log1p: 'ss.n',
  session_events_log1p: 'ss.ev',
  session_minutes_log1p: 'ss.min',
  top_category_share: 'cat.top',
  category_entropy_normalised: 'cat.ent',
  hour_of_day_sin: 'hod.sin',
  hour_of_day_cos: 'hod.cos',
  is_anonymous: 'id.anon',
  has_linked_alias: 'id.alias',
});

// Maps, not the record: a lookup of a name like `constructor` must not find Object.prototype's.
const CODE_BY_NAME: ReadonlyMap<string, string> = new Map(Object.entries(FEATURE_CODES));
const NAME_BY_CODE: ReadonlyMap<string, string> = new Map(
  Object.entries(FEATURE_CODES).map(([name, code]) => [code, name]),
);

/** The key a reason is stored under: the feature's code, or its full name when it has none. */
export function featureCodeOf(featureName: string): string {
  return CODE_BY_NAME.get(featureName) ?? featureName;
}

/** The feature name behind a stored `reasons` key: a code's name, else the key itself (a full name). */
export function featureNameOf(storedKey: string): string {
  return NAME_BY_CODE.get(storedKey) ?? storedKey;
}
