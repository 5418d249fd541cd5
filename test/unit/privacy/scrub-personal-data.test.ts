import fc from 'fast-check';
import {
  EMAIL_PLACEHOLDER,
  isPersonalFieldName,
  scrubPersonalData,
} from '../../../shared/privacy/scrub-personal-data';

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const EMAIL_SHAPED = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;

/** Every property name and string of a JSON value, at any depth. */
function namesAndStrings(value: unknown, out: { names: string[]; strings: string[] }) {
  if (typeof value === 'string') out.strings.push(value);
  else if (Array.isArray(value)) for (const v of value) namesAndStrings(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.names.push(k);
      namesAndStrings(v, out);
    }
  }
  return out;
}

describe('scrubPersonalData', () => {
  it('removes the contract personal fields from a JSON record and says so', () => {
    // Prepare
    const event = {
      schemaVersion: 1,
      eventId: 'e-1',
      type: 'login',
      userId: 'u-1',
      occurredAt: 'yesterday',
      context: {
        device: 'mobile',
        ip: '198.51.100.7',
        userAgent: 'ExampleBrowser/1.0',
        email: 'a@example.test',
      },
    };
    // Act
    const scrubbed = scrubPersonalData(utf8.encode(JSON.stringify(event)));
    // Assess
    expect(scrubbed.scrub).toBe('json');
    expect(scrubbed.personalFieldsRemoved).toBe(3);
    expect(JSON.parse(text(scrubbed.data))).toEqual({ ...event, context: { device: 'mobile' } });
  });

  it('keeps the original bytes exactly when there is nothing personal in them', () => {
    // Prepare
    const bytes = utf8.encode('{ "schemaVersion": 1.0,  "quantity": "two" }');
    // Act
    const scrubbed = scrubPersonalData(bytes);
    // Assess
    expect(scrubbed).toEqual({ data: bytes, scrub: 'json', personalFieldsRemoved: 0 });
  });

  it('finds personal fields in the wrong place and spelling, and e-mail addresses in any string', () => {
    // Prepare
    const record = [
      { email: 'x', Context: { user_agent: 'UA', 'User-Agent': 'UA' } },
      'mail me at b@shop.example.com',
    ];
    // Act
    const scrubbed = scrubPersonalData(utf8.encode(JSON.stringify(record)));
    // Assess
    expect(JSON.parse(text(scrubbed.data))).toEqual([{ Context: {} }, `mail me at ${EMAIL_PLACEHOLDER}`]);
    expect(scrubbed.personalFieldsRemoved).toBe(4);
  });

  it('keeps a "__proto__" key as a key', () => {
    // Act
    const scrubbed = scrubPersonalData(utf8.encode('{"__proto__":{"a":1},"ip":"x"}'));
    // Assess
    expect(text(scrubbed.data)).toBe('{"__proto__":{"a":1}}');
  });

  it('empties personal values of a truncated record, up to its cut', () => {
    // Prepare
    const whole = JSON.stringify({
      eventId: 'e',
      context: { ip: '198.51.100.7', email: 'user12@example.test' },
    });
    const truncated = whole.slice(0, whole.indexOf('@example') - 3);
    // Act
    const scrubbed = scrubPersonalData(utf8.encode(truncated));
    // Assess
    expect(scrubbed.scrub).toBe('bytes');
    expect(text(scrubbed.data)).toBe('{"eventId":"e","context":{"ip":"","email":""');
    expect(scrubbed.personalFieldsRemoved).toBe(2);
  });

  it('scrubs bytes that are not UTF-8 and keeps every other byte as it was', () => {
    // Prepare: a JSON object whose last bytes are an invalid UTF-8 sequence.
    const json = utf8.encode('{"userAgent":"ExampleBrowser/1.0 (mobile)","note":"to c@example.test"}');
    const bytes = new Uint8Array([...json, 0xc3, 0x28, 0xff]);
    // Act
    const scrubbed = scrubPersonalData(bytes);
    // Assess
    expect(scrubbed.scrub).toBe('bytes');
    const expected = utf8.encode(`{"userAgent":"","note":"to ${EMAIL_PLACEHOLDER}"}`);
    expect([...scrubbed.data]).toEqual([...expected, 0xc3, 0x28, 0xff]);
  });

  it('property: no personal field and no e-mail address survives in any JSON value', () => {
    const personalKey = fc.constantFrom('ip', 'userAgent', 'email', 'user_agent', 'EMAIL', 'e-mail', 'IP');
    const email = fc.emailAddress();
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), email);
    const key = fc.oneof(fc.string(), personalKey);
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, tie('object'), tie('array')),
      object: fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
      array: fc.array(tie('tree'), { maxLength: 4 }),
    }));
    fc.assert(
      fc.property(tree, (value) => {
        // Act
        const scrubbed = scrubPersonalData(utf8.encode(JSON.stringify(value)));
        // Assess
        expect(scrubbed.scrub).toBe('json');
        const { names, strings } = namesAndStrings(JSON.parse(text(scrubbed.data)), {
          names: [],
          strings: [],
        });
        expect(names.filter(isPersonalFieldName)).toEqual([]);
        expect([...names, ...strings].filter((s) => EMAIL_SHAPED.test(s))).toEqual([]);
      }),
    );
  });

  it('property: removes only personal data, so a record without any comes back byte for byte', () => {
    fc.assert(
      fc.property(fc.json(), (json) => {
        fc.pre(!/@|"(ip|user[_-]?agent|e[_-]?mail)"/i.test(json));
        const bytes = utf8.encode(json);
        expect(scrubPersonalData(bytes)).toEqual({ data: bytes, scrub: 'json', personalFieldsRemoved: 0 });
      }),
    );
  });
});
