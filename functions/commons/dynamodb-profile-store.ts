import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type WriteRequest,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { backoffDelayMs } from './backoff';
import { marshallItem, unmarshallItem } from './dynamodb-attribute-values';
import type { ProfileStore, StoredProfileItem, WriteOutcome } from '../../shared/ingest/ingest-ports';
import type { ErasureProfileStore } from '../../shared/erasure/erasure-ports';
import { isTombstoneKey, type TombstoneItem } from '../../shared/erasure/tombstones';

/** BatchWriteItem's limit on puts and deletes per call. */
const BATCH_WRITE_LIMIT = 25;
/** BatchGetItem's limit on keys per call. */
const BATCH_GET_LIMIT = 100;
/** How often unprocessed keys are retried before the batch fails (and Lambda retries it). */
const MAX_UNPROCESSED_ROUNDS = 8;
/** Backoff between unprocessed-keys rounds: ceiling 50 ms doubling per round, at most 1 s. */
const UNPROCESSED_BACKOFF_BASE_MS = 50;
const UNPROCESSED_BACKOFF_CAP_MS = 1000;

/** Raised when BatchGetItem keeps returning unprocessed keys (sustained throttling). */
export class UnprocessedKeysError extends Error {
  override readonly name = 'UnprocessedKeysError';
  constructor(readonly remaining: number) {
    super(`BatchGetItem left ${remaining} keys unprocessed after ${MAX_UNPROCESSED_ROUNDS} rounds`);
  }
}

/** Errors that mean "too much traffic right now", left after the SDK's own retries. */
const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How {@link DynamoDbProfileStore.getMany} reads profiles (tombstones are always read strongly). */
export type ProfileReadConsistency = 'strong' | 'eventual';

/**
 * Profiles in DynamoDB, one item per profile keyed by `profileId`, written whole with a condition on
 * `version` (optimistic locking). A whole-item put under 1 KB costs one write unit, the same as an update,
 * and is idempotent where `ADD` is not.
 */
export class DynamoDbProfileStore implements ProfileStore, ErasureProfileStore {
  /**
   * @param profileReads `eventual` halves the read units of `getMany` for a caller whose every use of a
   *   read profile is a write conditioned on its `version` (ingest): a stale read then only costs a
   *   conflict, which returns the current item to fold into again, as for any racing writer. The refused
   *   write costs a write unit, ten times the half read unit saved, so this pays while fewer than 1 in
   *   10 reads are stale (ingest's `WriteConflicts` metric). Callers that act on what they read without
   *   such a write (erasure, replay) keep the default `strong`.
   */
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly profileReads: ProfileReadConsistency = 'strong',
  ) {}

  /**
   * Profiles as the store was told to read them; tombstones (`erased#…` keys) always strongly
   * consistent, since a missed tombstone has no condition to catch it and would bring an erased person
   * back. Both kinds in one call under `eventual` take two BatchGetItem requests (consistency is set
   * per table per request).
   */
  async getMany(profileIds: readonly string[]): Promise<Map<string, StoredProfileItem>> {
    const found = new Map<string, StoredProfileItem>();
    if (this.profileReads === 'strong') {
      await this.batchGet(profileIds, true, found);
      return found;
    }
    await this.batchGet(
      profileIds.filter((id) => !isTombstoneKey(id)),
      false,
      found,
    );
    await this.batchGet(profileIds.filter(isTombstoneKey), true, found);
    return found;
  }

  /** BatchGetItem in chunks of 100, unprocessed keys retried with backoff; results into `found`. */
  private async batchGet(
    ids: readonly string[],
    consistentRead: boolean,
    found: Map<string, StoredProfileItem>,
  ): Promise<void> {
    for (let i = 0; i < ids.length; i += BATCH_GET_LIMIT) {
      let keys = ids.slice(i, i + BATCH_GET_LIMIT).map((profileId) => marshall({ profileId }));
      for (let round = 0; keys.length > 0; round++) {
        if (round === MAX_UNPROCESSED_ROUNDS) throw new UnprocessedKeysError(keys.length);
        if (round > 0) {
          await sleep(
            backoffDelayMs(round, UNPROCESSED_BACKOFF_BASE_MS, UNPROCESSED_BACKOFF_CAP_MS, Math.random),
          );
        }
        const out = await this.dynamodb.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: consistentRead } },
          }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const profile = unmarshallItem(item) as StoredProfileItem;
          found.set(profile.profileId, profile);
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
  }

  async putTombstones(items: readonly TombstoneItem[]): Promise<void> {
    await this.batchWrite(items.map((item) => ({ PutRequest: { Item: marshall(item) } })));
  }

  async deleteMany(profileIds: readonly string[]): Promise<void> {
    await this.batchWrite(
      profileIds.map((profileId) => ({ DeleteRequest: { Key: marshall({ profileId }) } })),
    );
  }

  /** BatchWriteItem in chunks of 25, unprocessed items retried with backoff as for reads. */
  private async batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) {
      let pending = requests.slice(i, i + BATCH_WRITE_LIMIT);
      for (let round = 0; pending.length > 0; round++) {
        if (round === MAX_UNPROCESSED_ROUNDS) throw new UnprocessedKeysError(pending.length);
        if (round > 0) {
          await sleep(
            backoffDelayMs(round, UNPROCESSED_BACKOFF_BASE_MS, UNPROCESSED_BACKOFF_CAP_MS, Math.random),
          );
        }
        const out = await this.dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = out.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }

  async get(profileId: string): Promise<StoredProfileItem | undefined> {
    const out = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ profileId }), ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : (unmarshallItem(out.Item) as StoredProfileItem);
  }

  async putIfVersion(item: StoredProfileItem, expectedVersion: number | undefined): Promise<WriteOutcome> {
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshallItem(item),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(profileId)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: marshall({ ':expected': expectedVersion }),
              }),
        }),
      );
      return { status: 'written' };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { status: 'conflict', current: await this.storedAfterConflict(error, item.profileId) };
      }
      if (error instanceof Error && THROTTLING_ERRORS.has(error.name)) return { status: 'throttled' };
      throw error;
    }
  }

  /**
   * The item that made the condition fail. DynamoDB puts it on the exception (ALL_OLD), so a conflict
   * costs no extra request. The exception carries none when no item exists (it was deleted since our
   * read) and always under dynalite, which ignores `ReturnValuesOnConditionCheckFailure`: only then a
   * strongly consistent read tells which.
   */
  private async storedAfterConflict(
    error: ConditionalCheckFailedException,
    profileId: string,
  ): Promise<StoredProfileItem | undefined> {
    return error.Item === undefined ? this.get(profileId) : (unmarshallItem(error.Item) as StoredProfileItem);
  }
}
