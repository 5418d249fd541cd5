/**
 * Loads the secret key of the keyed hash (`shared/privacy/keyed-hash.ts`) once per container. In AWS the
 * stateful stack's Secrets Manager secret is read through the AWS Parameters and Secrets Lambda
 * Extension (a local HTTP endpoint with a cache, so no Secrets Manager SDK is bundled); the local cloud
 * generates a key and hands it over in `LOCAL_HASH_KEY` instead.
 */
import { MIN_KEY_BYTES } from '../../shared/privacy/keyed-hash';
import { TombstoneKeys } from '../../shared/erasure/tombstones';

/** The extension's default port (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`). */
const EXTENSION_PORT = 2773;

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
  HASH_KEY_SECRET_ID: string;
  /** A key given directly (the local cloud); wins over the secret. */
  LOCAL_HASH_KEY?: string;
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT?: string;
  AWS_SESSION_TOKEN?: string;
}

let cached: Promise<Uint8Array> | undefined;

/** The key bytes (the secret string's UTF-8), loaded once and cached for the container's life. */
export function loadHashKey(
  env: SecretKeyEnvironment = process.env as unknown as SecretKeyEnvironment,
): Promise<Uint8Array> {
  cached ??= fetchHashKey(env).catch((error: unknown) => {
    cached = undefined; // the next invocation tries again
    throw error;
  });
  return cached;
}

/**
 * The tombstone keys under the secret `secretId`, built once per container (their cache of computed
 * keys lives as long) and built again after a failed load.
 */
export function tombstoneKeysLoader(secretId: string): () => Promise<TombstoneKeys> {
  let keys: Promise<TombstoneKeys> | undefined;
  return () =>
    (keys ??= loadHashKey({ ...(process.env as Partial<SecretKeyEnvironment>), HASH_KEY_SECRET_ID: secretId })
      .then((key) => new TombstoneKeys(key))
      .catch((error: unknown) => {
        keys = undefined;
        throw error;
      }));
}

async function fetchHashKey(env: SecretKeyEnvironment): Promise<Uint8Array> {
  if (env.LOCAL_HASH_KEY !== undefined) return checked(env.LOCAL_HASH_KEY, 'LOCAL_HASH_KEY');
  const port = env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? String(EXTENSION_PORT);
  const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(env.HASH_KEY_SECRET_ID)}`;
  const response = await fetch(url, {
    headers: { 'X-Aws-Parameters-Secrets-Token': env.AWS_SESSION_TOKEN ?? '' },
  });
  if (!response.ok) {
    throw new SecretKeyError('HASH_KEY_SECRET_ID', `the secrets extension answered HTTP ${response.status}`);
  }
  const body = (await response.json()) as { SecretString?: unknown };
  if (typeof body.SecretString !== 'string') {
    throw new SecretKeyError('HASH_KEY_SECRET_ID', 'the secret must hold a SecretString');
  }
  return checked(body.SecretString, 'HASH_KEY_SECRET_ID');
}

function checked(secret: string, source: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_KEY_BYTES)
    throw new SecretKeyError(source, `must be at least ${MIN_KEY_BYTES} bytes`);
  return bytes;
}
