import { validateEvent } from '../../../shared/contract/event-contract';
import { parseTaobaoLine, TaobaoParseError } from '../../../infra/workload/taobao';

const NOW = Date.UTC(2026, 10, 27);

function parseErrorOf(line: string): TaobaoParseError {
  try {
    parseTaobaoLine(line, 7);
  } catch (error) {
    if (error instanceof TaobaoParseError) return error;
    throw error;
  }
  throw new Error('expected a TaobaoParseError');
}

describe('parseTaobaoLine', () => {
  it.each([
    ['pv', 'product_view'],
    ['cart', 'add_to_cart'],
    ['fav', 'add_to_wishlist'],
    ['buy', 'purchase'],
  ])('maps %s to a valid %s event', (behavior, type) => {
    // Act
    const event = parseTaobaoLine(`543462,1715,1464116,${behavior},1511658000`, 1);
    // Assess
    expect(validateEvent(event, NOW).event).toMatchObject({
      type,
      userId: '543462',
      productId: '1715',
      categoryId: '1464116',
      occurredAt: 1511658000_000,
      eventId: `tb-543462-1715-${behavior}-1511658000`,
    });
  });

  it('gives a purchase a derived order id and zero revenue (amount unknown), never an invented price', () => {
    // Act
    const event = parseTaobaoLine('100,200,300,buy,1511658000\r', 1);
    // Assess
    expect(event).toMatchObject({ orderId: 'tb-100-1511658000-200', revenue: 0, quantity: 1 });
    expect(event.price).toBeUndefined();
    expect(event.currency).toBeUndefined();
  });

  it('gives the same row the same id wherever it is read', () => {
    // Act & Assess
    expect(parseTaobaoLine('1,2,3,pv,4', 1).eventId).toBe(parseTaobaoLine('1,2,3,pv,4', 99).eventId);
  });

  it.each([
    ['1,2,3,pv', '(line)'],
    ['x1,2,3,pv,4', 'user_id'],
    ['1,,3,pv,4', 'item_id'],
    ['1,2,-3,pv,4', 'category_id'],
    ['1,2,3,click,4', 'behavior_type'],
    ['1,2,3,pv,2017-11-26', 'timestamp'],
  ])('refuses %j naming column %s and the line', (line, column) => {
    // Act
    const error = parseErrorOf(line);
    // Assess
    expect(error.column).toBe(column);
    expect(error.lineNo).toBe(7);
    expect(error.message).toMatch(new RegExp(`^line 7, ${column.replace(/[()]/g, '\\$&')}: `));
  });
});
