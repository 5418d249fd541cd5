/**
 * Powertools Logger and Metrics, created once per container. Logs never carry event payloads: only
 * ids of batches, shards and sequence numbers, counts and reasons.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The container's structured logger (service name and level from the Powertools env vars). */
export const logger = new Logger();
/** The container's EMF metrics (namespace from `POWERTOOLS_METRICS_NAMESPACE`). */
export const metrics = new Metrics();
export { MetricUnit };
