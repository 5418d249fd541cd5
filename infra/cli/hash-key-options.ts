/**
 * The CLIs' side of pseudonymous ids: with `--pseudonymise-ids` (the deployment's stack parameter
 * `pseudonymiseIds` is on) they hash the raw ids they are given under the deployment's key — taken
 * from `LOCAL_HASH_KEY` (the local cloud prints it) or else from the Secrets Manager secret named by
 * `--hash-key-secret` (the stateful stack's `HashKeySecret`).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import { loadHashKey } from '../../functions/commons/secret-key';
import { createKeyedHasher, type KeyedHasher } from '../../shared/privacy/keyed-hash';

/** The options {@link withHashKeyOptions} adds. */
export interface HashKeyOptions {
  pseudonymiseIds?: boolean;
  hashKeySecret?: string;
  region?: string;
}

/** Add `--pseudonymise-ids` and `--hash-key-secret <id>` to a command. */
export function withHashKeyOptions(command: Command): Command {
  return command
    .option(
      '--pseudonymise-ids',
      'the deployment pseudonymises ids: hash the ids given (stack parameter pseudonymiseIds)',
    )
    .option(
      '--hash-key-secret <id>',
      'ARN or name of the keyed-hash secret (default: the key in LOCAL_HASH_KEY, as the local cloud prints it)',
    );
}

/** The keyed hash of the deployment when ids are pseudonymised, else undefined. */
export async function idHasherOf(options: HashKeyOptions): Promise<KeyedHasher | undefined> {
  if (options.pseudonymiseIds !== true) return undefined;
  const secrets = new SecretsManagerClient(options.region === undefined ? {} : { region: options.region });
  try {
    const key = await loadHashKey(
      { LOCAL_HASH_KEY: process.env.LOCAL_HASH_KEY, HASH_KEY_SECRET_ID: options.hashKeySecret },
      async (secretId) =>
        (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString,
    );
    return createKeyedHasher(key);
  } finally {
    secrets.destroy();
  }
}
