/**
 * Scrub-failures function: removes personal data from the invocation records Lambda writes to the
 * stream consumers' on-failure destination (S3 receives the whole payload, personal fields included).
 *
 * Flow: the S3 "Object Created" event (EventBridge) → `scrubOnFailureObject`, the domain (scrub each
 * record's data as the quarantine does, keep what replay needs, write back only when something was
 * removed) → `S3OnFailureObjects` (GetObject / PutObject) → count and log. Any failure throws:
 * EventBridge retries, and a scrub is safe to repeat.
 */
import { scrubOnFailureObject } from '../../shared/privacy/scrub-on-failure-record';
import { s3Client } from '../commons/aws-clients';
import { readConfig, SCRUB_FAILURES_CONFIG } from '../commons/config';
import { S3OnFailureObjects } from '../commons/s3-on-failure-objects';
import { logger, metricPublisher, metrics } from '../commons/telemetry';

const config = readConfig(SCRUB_FAILURES_CONFIG);
const objects = new S3OnFailureObjects(s3Client(), config.FAILURES_BUCKET);
const publish = metricPublisher('scrub-failures');

/** The part of EventBridge's S3 "Object Created" event this function reads. */
export interface ObjectCreatedEvent {
  detail: { bucket: { name: string }; object: { key: string } };
}

/** Lambda entry point for the failures bucket's "Object Created" rule. */
export const handler = async (event: ObjectCreatedEvent): Promise<void> => {
  // Used as given: Lambda's on-failure keys hold only letters, digits, `/`, `.` and `-`, which no
  // URL encoding changes.
  const key = event.detail.object.key;
  const scrub = await scrubOnFailureObject(key, objects);
  if (scrub.rewritten) {
    publish('FailureRecordsScrubbed', scrub.recordsScrubbed);
    publish('PersonalFieldsRemoved', scrub.personalFieldsRemoved);
  }
  metrics.publishStoredMetrics();
  // The key names the mapping, shard and time only: no personal data in the log.
  logger.info('on-failure object scrubbed', { key, ...scrub });
};
