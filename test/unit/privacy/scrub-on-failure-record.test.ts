import fc from 'fast-check';
import type { KinesisStreamEvent } from 'aws-lambda';
import { onFailureInvocationRecord } from '../../../infra/local/event-source-mapping/on-failure-record';
import {
  scrubOnFailureObject,
  scrubOnFailureRecord,
  type OnFailureObjects,
} from '../../../shared/privacy/scrub-on-failure-record';
import { kinesisEvent, makeEvent, T0 } from '../../support/factories';

const encoder = new TextEncoder();
const PERSONAL = {
  ip: '198.51.100.7',
  userAgent: 'ExampleBrowser/1.0 (Personal)',
  email: 'ann@example.test',
};

/** The bytes Lambda writes to an S3 on-failure destination for `event`. */
function onFailureBytes(event: KinesisStreamEvent): Uint8Array {
  const records = event.Records.map((r) => ({
    sequenceNumber: r.kinesis.sequenceNumber,
    arrivalMs: r.kinesis.approximateArrivalTimestamp * 1000,
  }));
  const record = onFailureInvocationRecord({
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ingest',
    streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/events',
    shardId: 'shardId-000000000000',
    records,
    event,
    condition: 'RetryAttemptsExhausted',
    invokeCount: 6,
    lastInvocation: { functionError: true },
    failedAt: new Date(T0),
  });
  return encoder.encode(JSON.stringify(record));
}

const parse = (bytes: Uint8Array) =>
  JSON.parse(Buffer.from(bytes).toString('utf8')) as { payload: string } & Record<string, unknown>;
const recordsOf = (bytes: Uint8Array) => (JSON.parse(parse(bytes).payload) as KinesisStreamEvent).Records;
const dataOf = (bytes: Uint8Array) =>
  recordsOf(bytes).map((r) => Buffer.from(r.kinesis.data, 'base64').toString('utf8'));

describe('scrubOnFailureRecord', () => {
  it('removes the personal fields of every record and keeps everything replay reads', () => {
    // Prepare
    const bodies = [
      makeEvent({ userId: 'u-1', context: { ...PERSONAL } as never }),
      makeEvent({ userId: 'u-2' }),
      '{"eventId":"broken","context":{"email":"bob@example.test"', // truncated: the byte scrub
    ];
    const input = onFailureBytes(kinesisEvent(bodies, { partitionKey: 'u-1' }));

    // Act
    const scrubbed = scrubOnFailureRecord(input);

    // Assess
    expect(scrubbed).toMatchObject({ recognised: true, recordsScrubbed: 2, personalFieldsRemoved: 4 });
    const text = Buffer.from(scrubbed.data).toString('utf8') + dataOf(scrubbed.data).join('\n');
    for (const value of [...Object.values(PERSONAL), 'bob@example.test']) expect(text).not.toContain(value);
    const { payload: _before, ...before } = parse(input);
    const { payload: _after, ...after } = parse(scrubbed.data);
    expect(after).toEqual(before); // batch info: shard, start/end sequence numbers, condition
    const strip = (r: KinesisStreamEvent['Records'][number]) => ({
      ...r,
      kinesis: { ...r.kinesis, data: '' },
    });
    expect(recordsOf(scrubbed.data).map(strip)).toEqual(recordsOf(input).map(strip));
    expect(JSON.parse(dataOf(scrubbed.data)[0]!)).toMatchObject({ userId: 'u-1' }); // raw: replay needs it
    expect(dataOf(scrubbed.data)[1]).toBe(dataOf(input)[1]); // nothing personal: the bytes as they were
  });

  it('leaves an object with nothing personal, or not an invocation record, as it is', () => {
    // Prepare
    const clean = onFailureBytes(kinesisEvent([makeEvent()]));
    const notJson = encoder.encode('not json');
    const metadataOnly = encoder.encode(JSON.stringify({ KinesisBatchInfo: { shardId: 's' } }));

    // Act / Assess
    expect(scrubOnFailureRecord(clean)).toEqual({
      data: clean,
      recognised: true,
      recordsScrubbed: 0,
      personalFieldsRemoved: 0,
    });
    expect(scrubOnFailureRecord(notJson)).toMatchObject({ data: notJson, recognised: false });
    expect(scrubOnFailureRecord(metadataOnly)).toMatchObject({ data: metadataOnly, recognised: false });
  });

  it('is idempotent and keeps every record and its sequence number (property)', () => {
    const personal = fc.record(
      { ip: fc.ipV4(), userAgent: fc.string({ minLength: 1 }), email: fc.emailAddress() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(personal, { minLength: 1, maxLength: 8 }), (contexts) => {
        // Prepare
        const input = onFailureBytes(
          kinesisEvent(contexts.map((context) => makeEvent({ context: context as never }))),
        );

        // Act
        const once = scrubOnFailureRecord(input);
        const twice = scrubOnFailureRecord(once.data);

        // Assess
        expect(twice.data).toBe(once.data);
        expect(twice.personalFieldsRemoved).toBe(0);
        expect(recordsOf(once.data).map((r) => r.kinesis.sequenceNumber)).toEqual(
          recordsOf(input).map((r) => r.kinesis.sequenceNumber),
        );
        for (const data of dataOf(once.data)) {
          const context = (JSON.parse(data) as { context?: Record<string, unknown> }).context ?? {};
          expect(context).not.toHaveProperty('ip');
          expect(context).not.toHaveProperty('userAgent');
          expect(context).not.toHaveProperty('email');
        }
      }),
    );
  });
});

describe('scrubOnFailureObject', () => {
  const objectsWith = (stored: Map<string, Uint8Array>) => {
    const writes: string[] = [];
    const objects: OnFailureObjects = {
      read: async (key) => stored.get(key),
      write: async (key, data) => {
        writes.push(key);
        stored.set(key, data);
      },
    };
    return { objects, writes };
  };

  it('rewrites an object once; the rewrite’s own notification finds nothing and writes nothing', async () => {
    // Prepare
    const key = 'aws/lambda/uuid/shardId-000000000000/2026/11/27/x';
    const stored = new Map([
      [key, onFailureBytes(kinesisEvent([makeEvent({ context: { ...PERSONAL } as never })]))],
    ]);
    const { objects, writes } = objectsWith(stored);

    // Act
    const first = await scrubOnFailureObject(key, objects);
    const second = await scrubOnFailureObject(key, objects);

    // Assess
    expect(first).toMatchObject({ rewritten: true, recordsScrubbed: 1, personalFieldsRemoved: 3 });
    expect(second).toMatchObject({ rewritten: false, personalFieldsRemoved: 0 });
    expect(writes).toEqual([key]);
    expect(dataOf(stored.get(key)!).join()).not.toContain(PERSONAL.email);
  });

  it('does nothing for an object that is already gone', async () => {
    // Prepare
    const { objects, writes } = objectsWith(new Map());

    // Act
    const scrub = await scrubOnFailureObject('aws/lambda/gone', objects);

    // Assess
    expect(scrub).toEqual({
      rewritten: false,
      recognised: false,
      recordsScrubbed: 0,
      personalFieldsRemoved: 0,
    });
    expect(writes).toEqual([]);
  });
});
