/**
 * The telemetry contract: every metric the functions publish, with its unit and the dimensions it is
 * published with. Handlers publish through it (`metricPublisher` in `telemetry.ts`); the CDK
 * dashboard and alarms read through it. CloudWatch matches a metric's dimension set exactly, so a
 * graph that names another set than the one published is silently empty: one definition prevents
 * that, and `test/infra/telemetry-contract.test.ts` checks the real EMF against what the stack reads.
 *
 * Plain data with no Powertools or CDK import, so both the Lambda bundles and the CDK app use it.
 */
import { VIOLATION_KINDS } from '../../shared/contract/event-contract';
import { MERGE_REFUSAL_REASONS } from '../../shared/profile/profile-state';

/** The CloudWatch namespace every function publishes into (`POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'ProfileStream';

/**
 * The dimension Powertools puts on every metric, valued with the function's `POWERTOOLS_SERVICE_NAME`
 * (the function's name): a metric is read back with `{ service, ...its own dimensions }`.
 */
export const SERVICE_DIMENSION = 'service';

/** Units used here, spelled as CloudWatch and Powertools' `MetricUnit` spell them. */
export type MetricUnitName = 'Count' | 'Milliseconds' | 'None';

/** How one metric is published. */
export interface MetricSpec {
  readonly unit: MetricUnitName;
  /**
   * Dimensions besides `service`, each with every value it can take (a closed set, so the dashboard
   * can graph one series per value). Such a metric is published on its own (`singleMetric`) so that
   * its dimensions do not spread to the batch's other metrics.
   * @default - only `service`
   */
  readonly dimensions?: Readonly<Record<string, readonly string[]>>;
}

const count = { unit: 'Count' } as const;
const milliseconds = { unit: 'Milliseconds' } as const;

/** Every metric each function (= Powertools service) publishes. */
export const PUBLISHED_METRICS = {
  ingest: {
    RecordsIn: count,
    Applied: count,
    Duplicates: count,
    ProfilesWritten: count,
    /** Profiles reported in `batchItemFailures` (write throttled or conflicting after retries). */
    ProfilesFailed: count,
    WriteConflicts: count,
    InferenceMs: milliseconds,
    EventAgeMs: milliseconds,
    BatchMs: milliseconds,
    /** Published only when non-zero. */
    PartitionKeyMismatches: count,
    /** Published only when non-zero. */
    UnknownFieldsDropped: count,
    /** Records of erased people (tombstoned), dropped unapplied and unquarantined; only when non-zero. */
    ErasedDropped: count,
    /** Refused records by contract violation kind; published only when non-zero. */
    Quarantined: { unit: 'Count', dimensions: { reason: VIOLATION_KINDS } },
    /** Anonymous profiles folded into their user on identify; published only when non-zero. */
    ProfilesMerged: count,
    /** Identifies that did not merge (shared device, alias limit); published only when non-zero. */
    MergesRefused: { unit: 'Count', dimensions: { reason: MERGE_REFUSAL_REASONS } },
    /** A published model cannot serve this build; published when it happens. */
    ModelRefused: count,
    /** The model pointer could not be read (S3, network); published when it happens. */
    ModelPollFailed: count,
    /** Audience entries / exits of the profiles written (published when an audience set is loaded). */
    AudienceEntries: count,
    AudienceExits: count,
    /** Events put on the activation stream per batch (re-emissions included); with an audience set. */
    ActivationEvents: count,
    /** Profiles whose activation events could not be put (reported for redelivery); when it happens. */
    ActivationFailed: count,
    /** A published audience set does not validate (the previous one keeps serving); published when it happens. */
    AudienceSetRefused: count,
    /** The audience pointer could not be read (S3, network); published when it happens. */
    AudiencePollFailed: count,
  },
  archive: {
    Archived: count,
    /** Events of erased people left out of the archive; published only when non-zero. */
    ErasedDropped: count,
  },
  erase: {
    /** Profile ids erased (requested plus linked), per request. */
    ProfilesErased: count,
    /** Archive, quarantine and on-failure records removed, per request. */
    RecordsErased: count,
    /** Request to receipt. */
    ErasureMs: milliseconds,
  },
  'activation-index': {
    /** Activation records read per batch. */
    IndexedEvents: count,
    /** Member rows written (the index's whole write cost). */
    IndexWrites: count,
    /** Transitions superseded by a higher version (re-emissions, late events): not written. */
    IndexStale: count,
    /** Transitions of erased profiles (tombstoned), skipped; when it happens. */
    ErasedDropped: count,
    /** Records that are not activation events (logged with field and rule); when it happens. */
    InvalidActivationEvents: count,
  },
  'scrub-failures': {
    /** Records of an on-failure object that lost personal fields; published when it rewrites one. */
    FailureRecordsScrubbed: count,
    PersonalFieldsRemoved: count,
  },
  train: {
    TrainingSkipped: count,
    ModelPromoted: count,
    TrainingExamples: count,
    TrainingMs: milliseconds,
    CandidateRocAuc: { unit: 'None' },
    /** Largest PSI of a feature, newest rows vs the serving model's training rows; when measured. */
    FeatureDriftPsiMax: { unit: 'None' },
    /** PSI of the serving model's purchase scores, newest rows vs its own test rows; when measured. */
    ScoreDriftPsi: { unit: 'None' },
    /** Archived events of erased people the tombstone filter left out; published only when non-zero. */
    ErasedDropped: count,
  },
} as const satisfies Record<string, Record<string, MetricSpec>>;

/** A function that publishes metrics; the value of its `service` dimension. */
export type MetricService = keyof typeof PUBLISHED_METRICS;

/** A metric published by `S`. */
export type MetricName<S extends MetricService> = keyof (typeof PUBLISHED_METRICS)[S] & string;

/**
 * The dimension values (besides `service`) that publishing or reading metric `M` of `S` takes: a
 * one-element tuple for a metric with dimensions, an empty one otherwise, so a call site cannot
 * forget them or invent some.
 */
export type DimensionArgs<
  S extends MetricService,
  M extends MetricName<S>,
> = (typeof PUBLISHED_METRICS)[S][M] extends { dimensions: infer D extends Record<string, readonly string[]> }
  ? [dimensions: { readonly [K in keyof D]: D[K][number] }]
  : [];
