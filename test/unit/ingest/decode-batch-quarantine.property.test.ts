import fc from 'fast-check';
import { MAX_EVENT_BYTES } from '../../../shared/contract/event-contract';
import { decodeBatch } from '../../../shared/ingest/decode-batch';
import { createKeyedHasher } from '../../../shared/privacy/keyed-hash';
import { scrubPersonalData } from '../../../shared/privacy/scrub-personal-data';
import { ingestRecords } from '../../support/factories';

const NOW = Date.UTC(2026, 10, 27);
const event = { schemaVersion: 1, eventId: 'e-1', type: 'page_view', userId: 'u-1', occurredAt: NOW };
const personal = { device: 'mobile', ip: '198.51.100.7', userAgent: 'UA/1', email: 'a@example.test' };

/** Records refused at every step of decoding, with and without personal data, and well-formed ones. */
const body = fc.oneof(
  fc.constant(event),
  fc.record({
    ...Object.fromEntries(Object.entries(event).map(([k, v]) => [k, fc.constant(v)])),
    context: fc.constant(personal),
  }),
  fc.constant({ ...event, eventId: undefined, context: personal }),
  fc.constant({ ...event, quantity: 'two', note: 'mail me at b@example.test' }),
  fc.constant({ ...event, occurredAt: NOW + 3_600_000, context: personal }),
  fc.constant({ ...event, occurredAt: 0 }),
  fc.constant({ ...event, schemaVersion: 2, email: 'c@example.test' }),
  fc.constant(['an', 'array', { ip: '10.0.0.1' }]),
  fc.constant(`{"schemaVersion":1,"context":{"email":"d@example.test","ip":"10.0.0.`),
  fc.constant(
    Uint8Array.from([...new TextEncoder().encode('{"email":"e@example.test","x":"'), 0xff, 0x22, 0x7d]),
  ),
  fc.constant({ ...event, padding: 'x'.repeat(MAX_EVENT_BYTES), context: personal }),
  fc.string({ maxLength: 20 }),
  fc.uint8Array({ maxLength: 20 }),
);

describe('decodeBatch quarantine', () => {
  it('keeps what scrubbing each refused record from its bytes alone keeps (without parsing it twice)', () => {
    const hasher = createKeyedHasher(new Uint8Array(32).fill(3));
    const kinds = new Set<string>();
    fc.assert(
      fc.property(fc.array(body, { maxLength: 12 }), fc.boolean(), (bodies, withKey) => {
        // Prepare
        const records = ingestRecords(bodies, { arrivalMs: NOW });
        // Act
        const { quarantined } = decodeBatch(
          records,
          withKey ? { hasher, pseudonymiseIds: false } : undefined,
        );
        // Assess
        for (const refused of quarantined) {
          kinds.add(refused.kind);
          const record = records.find((r) => r.sequenceNumber === refused.sequenceNumber)!;
          const scrubbed = scrubPersonalData(record.data);
          expect([refused.dataBase64, refused.scrub, refused.personalFieldsRemoved]).toEqual([
            Buffer.from(scrubbed.data).toString('base64'),
            scrubbed.scrub,
            scrubbed.personalFieldsRemoved,
          ]);
        }
      }),
      { numRuns: 400 },
    );
    expect([...kinds].sort()).toEqual(
      [
        'future_timestamp',
        'invalid_json',
        'not_an_object',
        'not_utf8',
        'oversize',
        'schema',
        'too_old',
        'unsupported_schema_version',
      ].sort(),
    );
  });
});
