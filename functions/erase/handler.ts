/**
 * Erasure function entry: an erasure request object (`requests/<id>.json` in the erasure bucket,
 * announced by S3 through EventBridge) → the person removed everywhere → a receipt.
 *
 * Flow: read config once → build the adapters once per container, load the key (tombstones; pseudonyms
 * when ids are pseudonymised) → read and validate the request → `eraseSubject`, the domain (tombstones, profiles, audience members rows, archive, quarantine,
 * on-failure objects) → write the
 * receipt (`receipts/<id>.json`) → delete the request (it holds raw ids) → count and log (hashes only).
 * Any failure throws: EventBridge retries the invocation, and every step is safe to repeat.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { dynamoDbClient, s3Client } from '../commons/aws-clients';
import { ERASE_CONFIG, readConfig } from '../commons/config';
import { DynamoDbAudienceIndex } from '../commons/dynamodb-audience-index';
import { S3AudienceHistory } from '../commons/s3-audience-definitions';
import { DynamoDbProfileStore } from '../commons/dynamodb-profile-store';
import { S3ErasableArea } from '../commons/s3-erasable-area';
import { decodePrivacyLoader, tombstoneKeysLoader } from '../commons/secret-key';
import { logger, metricPublisher, metrics } from '../commons/telemetry';
import { ARCHIVE_PREFIX } from '../../shared/archive/archive-batch';
import {
  ERASURE_RECEIPTS_PREFIX,
  eraseSubject,
  parseErasureRequest,
  type ErasureReceipt,
} from '../../shared/erasure/erase-use-case';

const config = readConfig(ERASE_CONFIG);
const s3 = s3Client();
const dynamodb = dynamoDbClient();
const profiles = new DynamoDbProfileStore(dynamodb, config.PROFILES_TABLE);
const members = new DynamoDbAudienceIndex(dynamodb, config.MEMBERS_TABLE);
const audienceHistory =
  config.MODELS_BUCKET === undefined ? undefined : new S3AudienceHistory(s3, config.MODELS_BUCKET);
const areas = {
  archive: new S3ErasableArea(s3, config.ARCHIVE_BUCKET, `${ARCHIVE_PREFIX}/`),
  quarantine: new S3ErasableArea(s3, config.QUARANTINE_BUCKET, ''),
  failures: new S3ErasableArea(s3, config.FAILURES_BUCKET, ''),
};
const publish = metricPublisher('erase');
const loadTombstones = tombstoneKeysLoader(config.HASH_KEY_SECRET_ID);
// As ingest and archive decode, so the requested raw ids are hashed into the ids they stored.
const loadPrivacy = decodePrivacyLoader(config);

/** The part of S3's EventBridge "Object Created" event this function reads. */
export type ErasureRequestCreated = EventBridgeEvent<
  'Object Created',
  { bucket: { name: string }; object: { key: string } }
>;

/** Lambda entry point for the erasure bucket's `requests/` notifications. */
export const handler = async (event: Pick<ErasureRequestCreated, 'detail'>): Promise<ErasureReceipt> => {
  const { key } = event.detail.object;
  try {
    const body = await s3.send(new GetObjectCommand({ Bucket: config.ERASURE_BUCKET, Key: key }));
    const request = parseErasureRequest(JSON.parse(await body.Body!.transformToString()));
    const [tombstones, privacy] = await Promise.all([loadTombstones(), loadPrivacy()]);
    const receipt = await eraseSubject(request, {
      profiles,
      members,
      ...(audienceHistory === undefined ? {} : { audienceHistory }),
      tombstones,
      privacy,
      ...areas,
      now: Date.now,
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: config.ERASURE_BUCKET,
        Key: `${ERASURE_RECEIPTS_PREFIX}${request.requestId}.json`,
        Body: JSON.stringify(receipt, null, 2),
        ContentType: 'application/json',
      }),
    );
    await s3.send(new DeleteObjectCommand({ Bucket: config.ERASURE_BUCKET, Key: key }));
    publish('ProfilesErased', receipt.subjects.length);
    publish(
      'RecordsErased',
      receipt.archive.recordsRemoved + receipt.quarantine.recordsRemoved + receipt.failures.recordsRemoved,
    );
    publish('ErasureMs', receipt.durationMs);
    logger.info('erasure done', { ...receipt });
    return receipt;
  } finally {
    metrics.publishStoredMetrics();
  }
};
