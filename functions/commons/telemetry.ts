/**
 * Powertools Logger and Metrics, created once per container. Logs never carry event payloads: only
 * ids of batches, shards and sequence numbers, counts and reasons.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  PUBLISHED_METRICS,
  type DimensionArgs,
  type MetricName,
  type MetricService,
  type MetricSpec,
} from './telemetry-contract';

/** The container's structured logger (service name and level from the Powertools env vars). */
export const logger = new Logger();
/** The container's EMF metrics (namespace from `POWERTOOLS_METRICS_NAMESPACE`). */
export const metrics = new Metrics();
/**
 * The one instance metrics with dimensions of their own go through. `metrics.singleMetric()` builds a
 * whole `Metrics` (environment, console) on every call, which cost more than a batch's other metrics
 * together; this one publishes on each `addMetric` and then clears its dimensions, so it is reusable.
 */
let singleMetrics: Metrics | undefined;

/** Publishes one metric of a function's telemetry contract. */
export type MetricPublisher<S extends MetricService> = <M extends MetricName<S>>(
  name: M,
  value: number,
  ...dimensions: DimensionArgs<S, M>
) => void;

/**
 * The only way a handler adds a metric: names, units and dimensions come from the telemetry contract
 * the dashboard and alarms are built from. Metrics without dimensions of their own are buffered
 * until `metrics.publishStoredMetrics()`; one with dimensions is written at once on its own.
 *
 * @param service - the function publishing (its `POWERTOOLS_SERVICE_NAME`)
 */
export function metricPublisher<S extends MetricService>(service: S): MetricPublisher<S> {
  const specs: Readonly<Record<string, MetricSpec>> = PUBLISHED_METRICS[service];
  return (name, value, ...[dimensions]) => {
    const { unit } = specs[name]!;
    if (dimensions === undefined) {
      metrics.addMetric(name, unit, value);
      return;
    }
    // On the shared buffer these dimensions would apply to every metric of the batch.
    const single = (singleMetrics ??= metrics.singleMetric());
    for (const [dimension, dimensionValue] of Object.entries(dimensions)) {
      single.addDimension(dimension, dimensionValue);
    }
    single.addMetric(name, unit, value);
  };
}
