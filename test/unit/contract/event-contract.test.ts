import {
  ContractViolation,
  decodeEvent,
  MAX_EVENT_BYTES,
  validateEvent,
  type ViolationKind,
} from '../../../shared/contract/event-contract';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const base = { schemaVersion: 1, eventId: 'evt-1', type: 'page_view', userId: 'u-1', occurredAt: NOW - 1000 };

function violationOf(bytes: Uint8Array): ContractViolation {
  try {
    decodeEvent(bytes, NOW);
  } catch (error) {
    if (error instanceof ContractViolation) return error;
    throw error;
  }
  throw new Error('expected a ContractViolation');
}

describe('decodeEvent', () => {
  it('normalises RFC 3339 with offset to epoch ms and drops personal and unknown fields', () => {
    // Prepare
    const input = {
      ...base,
      type: 'purchase',
      occurredAt: '2026-11-27T10:00:00+01:00',
      orderId: 'o-1',
      revenue: 12.5,
      currency: 'EUR',
      extra: 'x',
      context: { device: 'mobile', ip: '10.0.0.1', email: 'a@b.c', userAgent: 'UA', os: 'linux' },
    };
    // Act
    const { event, unknownFields } = decodeEvent(encode(input), NOW);
    // Assess
    expect(event.occurredAt).toBe(Date.UTC(2026, 10, 27, 9, 0, 0));
    expect(event.context).toEqual({ device: 'mobile' });
    expect(JSON.stringify(event)).not.toMatch(/10\.0\.0\.1|a@b\.c|UA/);
    expect(event).not.toHaveProperty('extra');
    expect(unknownFields.sort()).toEqual(['context.os', 'extra']);
  });

  it.each<[string, unknown, ViolationKind, string]>([
    ['a higher schemaVersion', { ...base, schemaVersion: 2 }, 'unsupported_schema_version', 'schemaVersion'],
    ['no identity', { ...base, userId: undefined }, 'schema', 'userId'],
    ['a userId in the anonymous namespace', { ...base, userId: 'anon:x' }, 'schema', 'userId'],
    ['identify without anonymousId', { ...base, type: 'identify' }, 'schema', 'anonymousId'],
    ['product_view without productId', { ...base, type: 'product_view' }, 'schema', 'productId'],
    ['search without query', { ...base, type: 'search' }, 'schema', 'query'],
    ['purchase without orderId', { ...base, type: 'purchase', revenue: 1 }, 'schema', 'orderId'],
    ['purchase without revenue or price', { ...base, type: 'purchase', orderId: 'o' }, 'schema', 'revenue'],
    ['a negative price', { ...base, price: -1 }, 'schema', 'price'],
    ['an unknown currency', { ...base, currency: 'XYZ' }, 'schema', 'currency'],
    ['quantity 0', { ...base, quantity: 0 }, 'schema', 'quantity'],
    ['an unknown type', { ...base, type: 'teleport' }, 'schema', 'type'],
    ['a timestamp without offset', { ...base, occurredAt: '2026-11-27T10:00:00' }, 'schema', 'occurredAt'],
    [
      'a timestamp 6 minutes ahead',
      { ...base, occurredAt: NOW + 6 * 60_000 },
      'future_timestamp',
      'occurredAt',
    ],
    ['a timestamp before 2000', { ...base, occurredAt: Date.UTC(1999, 11, 31) }, 'too_old', 'occurredAt'],
    ['a bad device', { ...base, context: { device: 'fridge' } }, 'schema', 'context.device'],
    ['an array', [base], 'not_an_object', '(record)'],
  ])('refuses %s, naming the field and the rule', (_label, input, kind, field) => {
    const violation = violationOf(encode(input));
    expect(violation.kind).toBe(kind);
    expect(violation.field).toBe(field);
    expect(violation.message).toContain(field);
  });

  it('refuses bad JSON, invalid UTF-8 and oversize records', () => {
    expect(violationOf(new TextEncoder().encode('{"schemaVersion":1,')).kind).toBe('invalid_json');
    expect(violationOf(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])).kind).toBe('not_utf8');
    const big = encode({ ...base, brand: 'b'.repeat(100), pad: 'x'.repeat(MAX_EVENT_BYTES) });
    expect(violationOf(big).kind).toBe('oversize');
  });

  it("leaves the caller's object untouched (the producer validates objects it then sends)", () => {
    const input = {
      ...base,
      occurredAt: '2026-11-27T10:00:00Z',
      context: { device: 'mobile', email: 'a@b.c' },
    };
    const before = JSON.stringify(input);
    validateEvent(input, NOW);
    expect(JSON.stringify(input)).toBe(before);
  });

  it('never echoes a personal value in the error', () => {
    const violation = violationOf(
      encode({ ...base, context: { email: 'x'.repeat(400) + '@secret.example' } }),
    );
    expect(violation.field).toBe('context.email');
    expect(violation.message).not.toContain('secret');
    expect(violation.value).toBe('redacted personal data');
  });
});
