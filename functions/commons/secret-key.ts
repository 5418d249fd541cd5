/**
 * Loads the secret key of the keyed hash (`shared/privacy/keyed-hash.ts`) once per container: in AWS
 * from the stateful stack's Secrets Manager secret (its ARN in `HASH_KEY_SECRET_ID`), read with the
 * SDK — at cold start, during init, so no batch waits for it (the Parameters and Secrets extension
 * answers only inside an invocation, and would add a layer); the local cloud has no Secrets Manager
 * and hands a generated key over in `LOCAL_HASH_KEY` instead. The key is the secret string's UTF-8
 * bytes. One key for everything keyed: fingerprints, pseudonymous ids, erasure tombstones.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { TombstoneKeys } from '../../shared/erasure/tombstones';
import { createKeyedHasher, MIN_KEY_BYTES } from '../../shared/privacy/keyed-hash';
import type { DecodePrivacy } from '../../shared/privacy/pseudonymise';
import { secretsManagerClient } from './aws-clients';
import { ConfigurationError } from './config';

/** The key could not be loaded or is unusable; names the source and the rule. */
export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
  constructor(
    readonly source: string,
    readonly rule: string,
  ) {
    super(`${source}: ${rule}`);
  }
}

/** Where the key comes from: the environment the function was given. */
export interface SecretKeyEnvironment {
  /** ARN (or name) of the Secrets Manager secret, bound by the stack. */
  HASH_KEY_SECRET_ID?: string;
  /** A key given directly (the local cloud only); wins over the secret. */
  LOCAL_HASH_KEY?: string;
}

/** Reads a secret's string; the SDK in AWS, a stub in tests. */
export type SecretReader = (secretId: string) => Promise<string | undefined>;

const readSecretString: SecretReader = async (secretId) =>
  (await secretsManagerClient().send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;

// By source, so the functions' loaders (tombstones, decoding) share one read per container.
const cached = new Map<string, Promise<Uint8Array>>();

/**
 * The key bytes, loaded once per source and cached for the container's life; a failed load is tried
 * again at the next call (the batch fails meanwhile and the event source retries it).
 *
 * @throws {@link SecretKeyError} when neither source is set, the secret has no string, or the key is
 * shorter than `MIN_KEY_BYTES`
 */
export function loadHashKey(
  env: SecretKeyEnvironment = process.env,
  read: SecretReader = readSecretString,
): Promise<Uint8Array> {
  const source =
    env.LOCAL_HASH_KEY !== undefined ? `local:${env.LOCAL_HASH_KEY}` : `secret:${env.HASH_KEY_SECRET_ID}`;
  let key = cached.get(source);
  if (key === undefined) {
    key = fetchHashKey(env, read).catch((error: unknown) => {
      cached.delete(source);
      throw error;
    });
    cached.set(source, key);
  }
  return key;
}

async function fetchHashKey(env: SecretKeyEnvironment, read: SecretReader): Promise<Uint8Array> {
  if (env.LOCAL_HASH_KEY !== undefined) return checked(env.LOCAL_HASH_KEY, 'LOCAL_HASH_KEY');
  if (env.HASH_KEY_SECRET_ID === undefined) {
    throw new SecretKeyError('HASH_KEY_SECRET_ID', 'is required to load the keyed-hash key');
  }
  const secret = await read(env.HASH_KEY_SECRET_ID);
  if (secret === undefined)
    throw new SecretKeyError('HASH_KEY_SECRET_ID', 'the secret must hold a SecretString');
  return checked(secret, 'HASH_KEY_SECRET_ID');
}

function checked(secret: string, source: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_KEY_BYTES)
    throw new SecretKeyError(source, `must be at least ${MIN_KEY_BYTES} bytes`);
  return bytes;
}

/**
 * The tombstone keys under the secret `secretId`, built once per container (their cache of computed
 * keys lives as long) and built again after a failed load. The read starts now (cold start).
 */
export function tombstoneKeysLoader(secretId: string): () => Promise<TombstoneKeys> {
  let keys: Promise<TombstoneKeys> | undefined;
  const load = () =>
    (keys ??= loadHashKey({ LOCAL_HASH_KEY: process.env.LOCAL_HASH_KEY, HASH_KEY_SECRET_ID: secretId })
      .then((key) => new TombstoneKeys(key))
      .catch((error: unknown) => {
        keys = undefined;
        throw error;
      }));
  load().catch(() => undefined);
  return load;
}

/** The decoding consumers' privacy settings (`functions/commons/config.ts`). */
export interface DecodePrivacyConfig {
  HASH_KEY_SECRET_ID?: string;
  PSEUDONYMISE_IDS: boolean;
}

/**
 * How ingest and archive decode: with the key, device/network fingerprints always and pseudonymous
 * ids when `PSEUDONYMISE_IDS` is on; without a key (a bare environment) neither. The load starts now,
 * at module load (the cold start), and each batch awaits the same promise.
 *
 * @throws {@link ConfigurationError} when ids are to be pseudonymised but no key source is configured:
 * raw ids must never be written by mistake
 */
export function decodePrivacyLoader(
  config: DecodePrivacyConfig,
  env: SecretKeyEnvironment = process.env,
  read: SecretReader = readSecretString,
): () => Promise<DecodePrivacy | undefined> {
  const keyed = config.HASH_KEY_SECRET_ID !== undefined || env.LOCAL_HASH_KEY !== undefined;
  if (!keyed) {
    if (config.PSEUDONYMISE_IDS) {
      throw new ConfigurationError('HASH_KEY_SECRET_ID', 'is required when PSEUDONYMISE_IDS is true');
    }
    return () => Promise.resolve(undefined);
  }
  const source = { LOCAL_HASH_KEY: env.LOCAL_HASH_KEY, HASH_KEY_SECRET_ID: config.HASH_KEY_SECRET_ID };
  let privacy: Promise<DecodePrivacy> | undefined;
  const load = (): Promise<DecodePrivacy> =>
    (privacy ??= loadHashKey(source, read).then(
      (key) => ({ hasher: createKeyedHasher(key), pseudonymiseIds: config.PSEUDONYMISE_IDS }),
      (error: unknown) => {
        privacy = undefined;
        throw error;
      },
    ));
  // Warm at cold start; a failure surfaces (and is retried) at the first batch instead.
  load().catch(() => undefined);
  return load;
}
