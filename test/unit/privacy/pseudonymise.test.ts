import fc from 'fast-check';
import { decodeEvent } from '../../../shared/contract/event-contract';
import { decodeBatch } from '../../../shared/ingest/decode-batch';
import { createKeyedHasher, KeyedHashKeyError, keyedHash } from '../../../shared/privacy/keyed-hash';
import {
  addContextFingerprints,
  networkOf,
  PSEUDONYM_HEX_CHARS,
  pseudonymOf,
  pseudonymousProfileId,
} from '../../../shared/privacy/pseudonymise';
import { profileIdOf } from '../../../shared/contract/event-contract';
import { ingestRecord } from '../../support/factories';

const NOW = Date.UTC(2026, 10, 27);
const KEY = new Uint8Array(32).fill(7);
const hasher = createKeyedHasher(KEY);
const bytes = (event: Record<string, unknown>) =>
  new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 1, eventId: 'e', type: 'login', occurredAt: NOW, ...event }),
  );

describe('keyedHash', () => {
  it('is HMAC-SHA256 in hex (RFC 4231 test case 6: a 131-byte key)', () => {
    const key = new Uint8Array(131).fill(0xaa);
    expect(keyedHash(key, 'Test Using Larger Than Block-Size Key - Hash Key First')).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
  });

  it('refuses a key shorter than 256 bits, naming the rule', () => {
    expect(() => createKeyedHasher(new Uint8Array(16))).toThrow(KeyedHashKeyError);
    expect(() => createKeyedHasher(new Uint8Array(16))).toThrow('must be at least 32 bytes (got 16)');
  });

  it('property: the memoised hasher answers as the plain hash, per purpose, whatever the cache holds', () => {
    const small = createKeyedHasher(KEY, 3);
    fc.assert(
      fc.property(fc.constantFrom('id', 'device', 'network' as const), fc.string(), (purpose, value) => {
        expect(small(purpose, value)).toBe(keyedHash(KEY, `${purpose}:${value}`));
      }),
    );
  });
});

describe('pseudonymisation at decode', () => {
  it('adds device and network fingerprints in place of the raw context fields', () => {
    // Act
    const { event } = decodeEvent(
      bytes({
        userId: 'u-1',
        context: { device: 'mobile', ip: '198.51.100.7', userAgent: 'UA/1', email: 'a@b.test' },
      }),
      NOW,
      hasher,
    );
    // Assess
    expect(event.context).toEqual({
      device: 'mobile',
      deviceHash: keyedHash(KEY, 'device:UA/1').slice(0, PSEUDONYM_HEX_CHARS),
      networkHash: keyedHash(KEY, 'network:198.51.100.0/24').slice(0, PSEUDONYM_HEX_CHARS),
    });
    expect(JSON.stringify(event)).not.toMatch(/198\.51|UA\/1|a@b/);
  });

  it('computes no fingerprint without a key or without the fields', () => {
    expect(
      decodeEvent(bytes({ userId: 'u', context: { ip: '198.51.100.7' } }), NOW).event.context,
    ).toBeUndefined();
    expect(
      decodeEvent(bytes({ userId: 'u', context: { channel: 'web' } }), NOW, hasher).event.context,
    ).toEqual({
      channel: 'web',
    });
  });

  it('property: remembered fingerprints are the keyed hashes of the user agent and the network, first seen or not', () => {
    // Prepare: a small pool of values, so most draws are answered from memory
    const fresh = createKeyedHasher(KEY);
    const ip = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.constantFrom('198.51.100.7', '198.51.100.8', ' 2001:DB8::1 ', 'not an ip'),
    );
    const context = fc.record({ userAgent: fc.constantFrom('UA/1', 'UA/2', ''), ip }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.array(context, { maxLength: 20 }), (contexts) => {
        for (const raw of contexts) {
          // Act
          const into = {};
          addContextFingerprints(fresh, raw, into);
          // Assess
          expect(into).toEqual({
            ...(raw.userAgent === undefined
              ? {}
              : { deviceHash: keyedHash(KEY, `device:${raw.userAgent}`).slice(0, PSEUDONYM_HEX_CHARS) }),
            ...(raw.ip === undefined
              ? {}
              : {
                  networkHash: keyedHash(KEY, `network:${networkOf(raw.ip)}`).slice(0, PSEUDONYM_HEX_CHARS),
                }),
          });
        }
      }),
    );
  });

  it('remembers fingerprints per hasher: another key gives other fingerprints for the same values', () => {
    const other = createKeyedHasher(new Uint8Array(32).fill(8));
    const a = {};
    const b = {};
    addContextFingerprints(hasher, { userAgent: 'UA/9', ip: '203.0.113.5' }, a);
    addContextFingerprints(other, { userAgent: 'UA/9', ip: '203.0.113.5' }, b);
    expect(b).toEqual({
      deviceHash: keyedHash(new Uint8Array(32).fill(8), 'device:UA/9').slice(0, PSEUDONYM_HEX_CHARS),
      networkHash: keyedHash(new Uint8Array(32).fill(8), 'network:203.0.113.0/24').slice(
        0,
        PSEUDONYM_HEX_CHARS,
      ),
    });
    expect(a).not.toEqual(b);
  });

  it('puts one network on one hash: IPv4 /24, IPv6 /48, IPv4-mapped as IPv4', () => {
    expect(networkOf('198.51.100.7')).toBe('198.51.100.0/24');
    expect(networkOf('::ffff:198.51.100.200')).toBe('198.51.100.0/24');
    expect(networkOf('2001:db8:85a3::8a2e:370:7334')).toBe(networkOf('2001:0db8:85a3:1::1'));
    expect(networkOf('2001:db8::1')).toBe('2001:db8:0::/48');
    expect(networkOf('2001:db8:1::1')).not.toBe(networkOf('2001:db8:2::1'));
  });

  it('pseudonymises ids when asked, after the partition-key check on the raw ids', () => {
    // Prepare
    const records = [
      ingestRecord(bytes({ eventId: 'a', userId: 'u-1' }), { partitionKey: 'u-1', arrivalMs: NOW }),
      ingestRecord(bytes({ eventId: 'b', type: 'identify', userId: 'u-1', anonymousId: 'c-9' }), {
        partitionKey: 'u-1',
        arrivalMs: NOW,
      }),
    ];
    // Act
    const batch = decodeBatch(records, { hasher, pseudonymiseIds: true });
    const plain = decodeBatch(records, { hasher, pseudonymiseIds: false });
    // Assess
    expect(batch.partitionKeyMismatches).toBe(0);
    expect(batch.valid.map((v) => profileIdOf(v.event))).toEqual([
      pseudonymOf(hasher, 'u-1'),
      pseudonymOf(hasher, 'u-1'),
    ]);
    expect(batch.valid[1]!.event.anonymousId).toBe(pseudonymOf(hasher, 'c-9'));
    expect(JSON.stringify(batch.valid)).not.toMatch(/u-1|c-9/);
    expect(plain.valid.map((v) => profileIdOf(v.event))).toEqual(['u-1', 'u-1']);
  });

  it('property: a reader finds the stored profile by the raw profile id', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.boolean(), (id, anonymous) => {
        fc.pre(!id.startsWith('anon:'));
        const event = decodeEvent(bytes(anonymous ? { anonymousId: id } : { userId: id }), NOW).event;
        const [stored] = decodeBatch(
          [
            ingestRecord(bytes(anonymous ? { anonymousId: id } : { userId: id }), {
              partitionKey: id,
              arrivalMs: NOW,
            }),
          ],
          { hasher, pseudonymiseIds: true },
        ).valid;
        expect(profileIdOf(stored!.event)).toBe(pseudonymousProfileId(hasher, profileIdOf(event)));
      }),
    );
  });
});
