/**
 * The per-event baseline the project is measured against: what a straightforward Kinesis → Lambda →
 * DynamoDB consumer does (the seed article's shape). For every record, in order: decode, GetItem,
 * update the profile, one inference on one row, PutItem of the whole profile, with no condition.
 *
 * It reuses the project's own rules (contract, `applyEventsToProfile`, features, codec, the same
 * S3-loaded model), so the compute per event is the same and only the I/O pattern differs. It is
 * generous to the baseline: malformed records are skipped without a quarantine write, and it gets no
 * optimistic locking (so it would lose updates under concurrent writers; here each shard owns its keys).
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import { toIngestRecords } from '../../functions/commons/kinesis-event';
import { ContractViolation, decodeEvent, profileIdOf } from '../../shared/contract/event-contract';
import { FEATURE_COUNT, featurize } from '../../shared/features/feature-vector';
import type { ProfileScorer } from '../../shared/ingest/ingest-ports';
import { applyEventsToProfile } from '../../shared/profile/apply-events';
import { decodeProfileItem, encodeProfileItem } from '../../shared/profile/profile-item-codec';

/** Dependencies of the baseline consumer. */
export interface PerEventBaselineDeps {
  dynamodb: DynamoDBClient;
  tableName: string;
  scorer: ProfileScorer;
}

/** A handler that processes one Kinesis batch event by event. */
export function createPerEventBaseline(deps: PerEventBaselineDeps) {
  const { dynamodb, tableName: TableName, scorer } = deps;
  return async (event: KinesisStreamEvent): Promise<void> => {
    for (const record of toIngestRecords(event)) {
      let decoded;
      try {
        decoded = decodeEvent(record.data, Date.now());
      } catch (error) {
        if (error instanceof ContractViolation) continue;
        throw error;
      }
      const profileId = profileIdOf(decoded.event);
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName, Key: marshall({ profileId }) }));
      const current = Item === undefined ? undefined : decodeProfileItem(unmarshall(Item));
      const { state } = applyEventsToProfile(
        current?.state,
        [{ event: decoded.event, shardId: record.shardId, sequenceNumber: record.sequenceNumber }],
        profileId,
      );
      const scored = await scorer.score(featurize(state, state.lastEventAt), 1, FEATURE_COUNT);
      const item = encodeProfileItem(state, {
        version: (current?.version ?? 0) + 1,
        score:
          scored === undefined
            ? undefined
            : {
                propensity: scored.purchase[0]!,
                modelVersion: scored.modelVersion,
                scoredAt: Date.now(),
              },
      });
      await dynamodb.send(
        new PutItemCommand({ TableName, Item: marshall(item, { removeUndefinedValues: true }) }),
      );
    }
  };
}
