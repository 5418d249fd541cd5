import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  EXITED_ROW_TTL_SECONDS,
  type AudienceIndex,
  type MemberRow,
} from '../../shared/audiences/audience-index';
import type { ErasureMembersIndex } from '../../shared/erasure/erasure-ports';

/** One page of an audience's members. */
export interface MembersPage {
  members: { profileId: string; version: number; enteredAt: number }[];
  /** Opaque token of the next page (base64url of the last key); absent on the last page. */
  next?: string;
}

/** Members only: exited rows stay (marked, until their TTL) and are filtered out. */
const MEMBERS_FILTER = 'attribute_not_exists(exitedAt)';

/**
 * The audience members table: partition `audienceId`, sort `profileId`. Writes are conditional on the
 * stored row's version (idempotent and order-safe); reads are Queries of one audience's partition,
 * never a Scan.
 */
export class DynamoDbAudienceIndex implements AudienceIndex, ErasureMembersIndex {
  constructor(
    private readonly dynamodb: Pick<DynamoDBClient, 'send'>,
    private readonly tableName: string,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async putIfNewer(row: MemberRow): Promise<boolean> {
    const item: Record<string, unknown> = { ...row };
    if (row.exitedAt !== undefined) item.expiresAt = Math.floor(this.nowMs() / 1000) + EXITED_ROW_TTL_SECONDS;
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(item, { removeUndefinedValues: true }),
          ConditionExpression: 'attribute_not_exists(profileId) OR #version < :version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: marshall({ ':version': row.version }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Erasure: one DeleteItem per (audience, profile), unconditional (a member or an exited row alike),
   * answering the old row so the receipt counts the rows that were there. A person is in few audiences.
   */
  async removeProfile(profileId: string, audienceIds: readonly string[]): Promise<number> {
    const removed = await Promise.all(
      [...new Set(audienceIds)].map(async (audienceId) => {
        const out = await this.dynamodb.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: marshall({ audienceId, profileId }),
            ReturnValues: 'ALL_OLD',
          }),
        );
        return out.Attributes === undefined ? 0 : 1;
      }),
    );
    return removed.reduce<number>((sum, n) => sum + n, 0);
  }

  /** How many profiles are members of `audienceId` (a counting Query of its partition). */
  async size(audienceId: string): Promise<number> {
    let count = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.dynamodb.send(
        new QueryCommand({
          ...this.query(audienceId),
          Select: 'COUNT',
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return count;
  }

  /**
   * One page of members in profile-id order. `limit` bounds the rows read (exited rows filtered out
   * count against it, so a page may hold fewer members); `page` is the previous page's `next`.
   */
  async members(audienceId: string, limit: number, page?: string): Promise<MembersPage> {
    const out = await this.dynamodb.send(
      new QueryCommand({
        ...this.query(audienceId),
        Limit: limit,
        ...(page === undefined ? {} : { ExclusiveStartKey: decodePageToken(page) }),
      }),
    );
    const members = (out.Items ?? []).map((raw) => {
      const row = unmarshall(raw) as MemberRow;
      return { profileId: row.profileId, version: row.version, enteredAt: row.enteredAt ?? 0 };
    });
    return out.LastEvaluatedKey === undefined
      ? { members }
      : {
          members,
          next: Buffer.from(JSON.stringify(unmarshall(out.LastEvaluatedKey))).toString('base64url'),
        };
  }

  /** Every member of `audienceId`, page by page. */
  async *allMembers(audienceId: string, pageSize = 1000): AsyncGenerator<MembersPage['members']> {
    let page: string | undefined;
    do {
      const result = await this.members(audienceId, pageSize, page);
      yield result.members;
      page = result.next;
    } while (page !== undefined);
  }

  private query(audienceId: string) {
    return {
      TableName: this.tableName,
      KeyConditionExpression: 'audienceId = :audience',
      FilterExpression: MEMBERS_FILTER,
      ExpressionAttributeValues: marshall({ ':audience': audienceId }),
    };
  }
}

/** A page token is base64url JSON of the key; anything else is refused naming the option. */
export class PageTokenError extends Error {
  override readonly name = 'PageTokenError';
  constructor() {
    super('--page: must be a token printed by a previous `members` call');
  }
}

function decodePageToken(token: string): Record<string, AttributeValue> {
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (typeof key !== 'object' || key === null || !('audienceId' in key) || !('profileId' in key))
      throw new PageTokenError();
    return marshall(key);
  } catch {
    throw new PageTokenError();
  }
}
