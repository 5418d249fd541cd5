/**
 * Reader for the Taobao UserBehavior CSV (`user_id,item_id,category_id,behavior_type,timestamp`):
 * one line in, one contract event out.
 *
 * Decisions:
 * - `eventId` is the row itself, `tb-<user>-<item>-<behavior>-<ts>`: stable across runs and
 *   whatever slice of the file is read (so re-publishing is deduplicated downstream), and free of
 *   hash collisions, which a 53-bit hash would not be over the full 100M-row dataset. An exact
 *   duplicate row (same user, item, behaviour and second) gets the same id and so counts once: in a
 *   log with one-second resolution it is far more likely a double write than two real actions.
 * - Purchases: the data has no prices, but the contract needs `revenue` or `price` on a purchase.
 *   We send `revenue: 0` with `quantity: 1` and no currency. An invented price would plant a signal
 *   the model could learn that the data never had; zero is "amount unknown", keeps purchase counts
 *   exact and makes every monetary figure of a Taobao run a constant (0) that nothing can learn
 *   from. Evaluate monetary features on the synthetic workload only.
 * - `orderId` is `tb-<user>-<ts>-<item>` (one order per bought item and second).
 */
import type { EventInput, EventType } from '../../shared/contract/event-contract';

/** The file's columns, in order. */
export const TAOBAO_COLUMNS = ['user_id', 'item_id', 'category_id', 'behavior_type', 'timestamp'] as const;

/** Taobao behaviour → contract event type. */
export const TAOBAO_BEHAVIOR_TYPES: Readonly<Record<string, EventType>> = {
  pv: 'product_view',
  cart: 'add_to_cart',
  fav: 'add_to_wishlist',
  buy: 'purchase',
};

/** A line that is not a valid Taobao row: names the line, the column and the rule. */
export class TaobaoParseError extends Error {
  override readonly name = 'TaobaoParseError';
  constructor(
    readonly lineNo: number,
    /** Column name, or `(line)` for the line as a whole. */
    readonly column: string,
    readonly rule: string,
    /** The offending value (the data holds no personal fields, ids only). */
    readonly value: string,
  ) {
    super(`line ${lineNo}, ${column}: ${rule} (got ${JSON.stringify(value)})`);
  }
}

const DIGITS = /^\d{1,19}$/;

/**
 * Parse one CSV line into a contract event.
 *
 * @param lineNo - 1-based line number, for error messages
 * @throws {TaobaoParseError} naming the column and rule the line breaks
 */
export function parseTaobaoLine(line: string, lineNo: number): EventInput {
  const cells = line.trim().split(',');
  if (cells.length !== TAOBAO_COLUMNS.length) {
    throw new TaobaoParseError(
      lineNo,
      '(line)',
      `must have ${TAOBAO_COLUMNS.length} comma-separated columns`,
      line,
    );
  }
  const [userId, itemId, categoryId, behavior, timestamp] = cells as [string, string, string, string, string];
  for (const [column, value] of [
    ['user_id', userId],
    ['item_id', itemId],
    ['category_id', categoryId],
    ['timestamp', timestamp],
  ] as const) {
    if (!DIGITS.test(value))
      throw new TaobaoParseError(lineNo, column, 'must be a non-negative integer', value);
  }
  const type = TAOBAO_BEHAVIOR_TYPES[behavior];
  if (type === undefined) {
    throw new TaobaoParseError(lineNo, 'behavior_type', 'must be one of pv, cart, fav, buy', behavior);
  }
  const occurredAt = Number(timestamp) * 1000;
  if (!Number.isSafeInteger(occurredAt)) {
    throw new TaobaoParseError(lineNo, 'timestamp', 'must be Unix seconds', timestamp);
  }
  const event: EventInput = {
    schemaVersion: 1,
    eventId: `tb-${userId}-${itemId}-${behavior}-${timestamp}`,
    type,
    userId,
    occurredAt,
    productId: itemId,
    categoryId,
  };
  if (type === 'purchase') {
    event.orderId = `tb-${userId}-${timestamp}-${itemId}`;
    event.quantity = 1;
    event.revenue = 0;
  }
  return event;
}
