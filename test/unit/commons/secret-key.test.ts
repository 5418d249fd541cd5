import { ConfigurationError } from '../../../functions/commons/config';
import { decodePrivacyLoader, SecretKeyError } from '../../../functions/commons/secret-key';
import { createKeyedHasher } from '../../../shared/privacy/keyed-hash';

const KEY = 'k'.repeat(64);
// The key is cached per source for the container's life: each test names a secret of its own.
let secrets = 0;
const arn = () => `arn:aws:secretsmanager:us-east-1:000000000000:secret:HashKeySecret-${++secrets}`;

describe('decodePrivacyLoader', () => {
  it('reads the secret once per container and hashes with its UTF-8 bytes', async () => {
    // Prepare
    const read = jest.fn(async () => KEY);
    const ARN = arn();

    // Act: module load starts the read; two batches await it.
    const load = decodePrivacyLoader({ HASH_KEY_SECRET_ID: ARN, PSEUDONYMISE_IDS: true }, {}, read);
    const [first, second] = [await load(), await load()];

    // Assess
    expect(read.mock.calls).toEqual([[ARN]]);
    expect(first).toBe(second);
    expect(first?.pseudonymiseIds).toBe(true);
    expect(first?.hasher('id', 'u-1')).toBe(createKeyedHasher(new TextEncoder().encode(KEY))('id', 'u-1'));
  });

  it('takes LOCAL_HASH_KEY over the secret (the local cloud has no Secrets Manager)', async () => {
    // Prepare
    const read = jest.fn(async () => KEY);
    const local = 'l'.repeat(64);

    // Act
    const privacy = await decodePrivacyLoader(
      { HASH_KEY_SECRET_ID: arn(), PSEUDONYMISE_IDS: false },
      { LOCAL_HASH_KEY: local },
      read,
    )();

    // Assess
    expect(read).not.toHaveBeenCalled();
    expect(privacy?.pseudonymiseIds).toBe(false);
    expect(privacy?.hasher('device', 'ua')).toBe(
      createKeyedHasher(new TextEncoder().encode(local))('device', 'ua'),
    );
  });

  it('tries again at the next batch after a failed read', async () => {
    // Prepare
    const read = jest
      .fn<Promise<string | undefined>, [string]>()
      .mockRejectedValueOnce(new Error('throttled'))
      .mockResolvedValue(KEY);
    const load = decodePrivacyLoader({ HASH_KEY_SECRET_ID: arn(), PSEUDONYMISE_IDS: false }, {}, read);

    // Act / Assess: the first batch shares the failed warm-up read; the next batch reads again.
    await expect(load()).rejects.toThrow('throttled');
    await expect(load()).resolves.toMatchObject({ pseudonymiseIds: false });
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('refuses a key shorter than 32 bytes or a secret without a string, naming the source', async () => {
    // Act / Assess
    await expect(
      decodePrivacyLoader({ PSEUDONYMISE_IDS: false }, { LOCAL_HASH_KEY: 'short' })(),
    ).rejects.toThrow(expect.objectContaining({ name: 'SecretKeyError', source: 'LOCAL_HASH_KEY' }));
    await expect(
      decodePrivacyLoader(
        { HASH_KEY_SECRET_ID: arn(), PSEUDONYMISE_IDS: false },
        {},
        async () => undefined,
      )(),
    ).rejects.toThrow(SecretKeyError);
  });

  it('runs without a key (no fingerprints) unless ids are to be pseudonymised', async () => {
    // Act / Assess
    await expect(decodePrivacyLoader({ PSEUDONYMISE_IDS: false }, {})()).resolves.toBeUndefined();
    expect(() => decodePrivacyLoader({ PSEUDONYMISE_IDS: true }, {})).toThrow(ConfigurationError);
    expect(() => decodePrivacyLoader({ PSEUDONYMISE_IDS: true }, {})).toThrow(/HASH_KEY_SECRET_ID/);
  });
});
