import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TOMBSTONE_KEY_PREFIX } from '../../shared/erasure/tombstones';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { StoredProfileItem } from '../../shared/ingest/ingest-ports';
import type {
  ProfileSegmentScanner,
  SegmentPage,
  SegmentPageRequest,
} from '../../shared/rescoring/rescoring-ports';

/**
 * One parallel-scan segment of the profiles table, a page at a time.
 *
 * - The filter (`needsRescore`'s rule: no `modelVersion`, or another one) is applied by DynamoDB, so a
 *   pass over a table that is already fresh returns no items at all. It does not lower the read cost:
 *   Scan is charged on the size of the items it reads, filtered out or not.
 * - No projection: the rescorer re-encodes the whole profile from the item, so every attribute is
 *   needed, and a projection would not lower the read cost either (it is charged on the items read).
 *   Reading them here is what makes a second request per item (a BatchGetItem, which rounds each item
 *   up to 4 KB) unnecessary.
 * - Eventually consistent: half the read cost. A stale item only means a conditional write that
 *   conflicts, and the conflict hands back the current item.
 */
export class DynamoDbProfileScanner implements ProfileSegmentScanner {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async scanPage(request: SegmentPageRequest): Promise<SegmentPage> {
    const out = await this.dynamodb.send(
      new ScanCommand({
        TableName: this.tableName,
        Segment: request.segment,
        TotalSegments: request.totalSegments,
        Limit: request.limit,
        ConsistentRead: false,
        // Tombstones of erased people share the table; they are not profiles to score.
        FilterExpression:
          '(attribute_not_exists(#modelVersion) OR #modelVersion <> :serving) AND NOT begins_with(#id, :tombstone)',
        ExpressionAttributeNames: { '#modelVersion': 'modelVersion', '#id': 'profileId' },
        ExpressionAttributeValues: marshall({
          ':serving': request.servingVersion,
          ':tombstone': TOMBSTONE_KEY_PREFIX,
        }),
        ...(request.startKey === undefined
          ? {}
          : { ExclusiveStartKey: marshall({ profileId: request.startKey }) }),
      }),
    );
    const last = out.LastEvaluatedKey === undefined ? undefined : unmarshall(out.LastEvaluatedKey);
    return {
      items: (out.Items ?? []).map((item) => unmarshall(item) as StoredProfileItem),
      scanned: out.ScannedCount ?? 0,
      ...(typeof last?.profileId === 'string' ? { nextStartKey: last.profileId } : {}),
    };
  }
}
