/**
 * The stack reads what the functions really publish. CloudWatch matches a metric's dimension set
 * exactly, so a dashboard series or an alarm that names another set than the EMF carries is silently
 * empty. This runs the real ingest handler with metrics enabled, captures the EMF it prints, and
 * requires every custom metric that the synthesized dashboard and alarms read to be in it under
 * exactly the same dimensions (names and values).
 */
import { parseAudienceSet } from '../../shared/audiences/audience-definition';
import { compileAudienceSet } from '../../shared/audiences/audience-evaluation';
import { isDeepStrictEqual } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/cdk/app';
import { MAX_EVENT_BYTES, VIOLATION_KINDS, type ViolationKind } from '../../shared/contract/event-contract';
import type { StoredProfileItem, WriteOutcome } from '../../shared/ingest/ingest-ports';
import { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
import { kinesisEvent } from '../support/factories';

/** One metric as CloudWatch identifies it. */
interface MetricIdentity {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

type CfnResource = { Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };

const NOW = Date.UTC(2026, 10, 27, 12);
const THROTTLED_USER = 'u-throttled';

/** The custom (non `AWS/`) metrics the dashboard bodies and the alarms of a template read. */
function customMetricsReadBy(template: Template): MetricIdentity[] {
  const read: MetricIdentity[] = [];
  for (const dashboard of Object.values(template.findResources('AWS::CloudWatch::Dashboard'))) {
    const body = (dashboard as CfnResource).Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
    // Tokens (function names, region) only occur inside JSON strings: a placeholder keeps it parseable.
    const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
    const widgets = (JSON.parse(text) as { widgets: { properties: { metrics?: unknown[][] } }[] }).widgets;
    for (const line of widgets.flatMap((widget) => widget.properties.metrics ?? [])) {
      // [namespace, name, dimension, value, ..., options?]; math expressions have no strings.
      const [namespace, name, ...pairs] = line.filter((part): part is string => typeof part === 'string');
      if (namespace === undefined || name === undefined) continue;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1]!;
      read.push({ namespace, name, dimensions });
    }
  }
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const { Namespace, MetricName, Dimensions } = (alarm as CfnResource).Properties as {
      Namespace: string;
      MetricName: string;
      Dimensions?: { Name: string; Value: unknown }[];
    };
    // A metric-math alarm would have no MetricName: this reader would have to learn it.
    expect(MetricName).toEqual(expect.any(String));
    const dimensions = Object.fromEntries((Dimensions ?? []).map((d) => [d.Name, String(d.Value)]));
    read.push({ namespace: Namespace, name: MetricName, dimensions });
  }
  return read.filter((metric) => !metric.namespace.startsWith('AWS/'));
}

/** Every metric an EMF document defines, with the dimension values it carries. */
function metricsPublishedIn(emfLines: readonly string[]): MetricIdentity[] {
  return emfLines.flatMap((line) => {
    const document = JSON.parse(line) as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    };
    return document._aws.CloudWatchMetrics.flatMap(({ Namespace, Dimensions, Metrics }) =>
      Metrics.flatMap(({ Name }) =>
        Dimensions.map((set) => ({
          namespace: Namespace,
          name: Name,
          dimensions: Object.fromEntries(set.map((dimension) => [dimension, String(document[dimension])])),
        })),
      ),
    );
  });
}

/** A record of each violation kind; typed by the kinds, so a new kind must be added here. */
function recordsBreakingTheContract(
  good: Record<string, unknown>,
): Record<ViolationKind, string | Uint8Array> {
  return {
    oversize: JSON.stringify({ ...good, eventId: 'e-big', pad: 'x'.repeat(MAX_EVENT_BYTES) }),
    not_utf8: new Uint8Array([0xff, 0xfe, 0xfd]),
    invalid_json: '{"schemaVersion":',
    not_an_object: '[]',
    unsupported_schema_version: JSON.stringify({ ...good, eventId: 'e-v2', schemaVersion: 2 }),
    schema: JSON.stringify({ ...good, eventId: '' }),
    future_timestamp: JSON.stringify({ ...good, eventId: 'e-future', occurredAt: NOW + 3_600_000 }),
    too_old: JSON.stringify({ ...good, eventId: 'e-old', occurredAt: Date.UTC(1999, 0, 1) }),
  };
}

/** Profiles store whose writes for one user stay throttled, so the batch reports a failed profile. */
class ThrottlingProfileStore extends InMemoryProfileStore {
  override async putIfVersion(
    item: StoredProfileItem,
    expectedVersion: number | undefined,
  ): Promise<WriteOutcome> {
    if (item.profileId === THROTTLED_USER) return { status: 'throttled' };
    return super.putIfVersion(item, expectedVersion);
  }
}

/**
 * An S3 client for the scorer: the first pointer read fails (ModelPollFailed), the second returns a
 * pointer that is not JSON (ModelRefused).
 */
function modelsBucketFailingThenRefused(): S3Client {
  const answers: (Error | string)[] = [new Error('connect ECONNREFUSED'), 'not a pointer'];
  const send = async (): Promise<unknown> => {
    const answer = answers.shift() ?? new Error('no more answers');
    if (answer instanceof Error) throw answer;
    return { Body: { transformToByteArray: async () => Buffer.from(answer) } };
  };
  return { send } as unknown as S3Client;
}

describe('telemetry contract', () => {
  const built = buildApp({
    context: { 'aws:cdk:bundling-stacks': [] },
    nag: false,
    templateValidation: false,
  });
  const stateless = Template.fromStack(built.stateless);
  const savedEnv = { ...process.env };

  afterEach(() => {
    process.env = { ...savedEnv };
  });

  /** Runs the real ingest handler, configured as the stack configures it, and returns the EMF it printed. */
  async function emfOfIngestRuns(): Promise<{ emf: string[]; quarantined: ViolationKind[] }> {
    configurePowertoolsAs('ingest');
    // The Metrics instance reads those at module load: load the handler's modules afresh.
    let modules!: [
      typeof import('../../functions/ingest/ingest-handler'),
      typeof import('../../functions/commons/s3-model-scorer'),
    ];
    await jest.isolateModulesAsync(async () => {
      modules = await Promise.all([
        import('../../functions/ingest/ingest-handler'),
        import('../../functions/commons/s3-model-scorer'),
      ]);
    });
    const [{ createIngestHandler, MODEL_SCORER_HOOKS }, { S3ModelScorer }] = modules;
    const quarantine = new InMemoryQuarantine();
    const handler = createIngestHandler({
      profiles: new ThrottlingProfileStore(),
      quarantine,
      scorer: new S3ModelScorer(modelsBucketFailingThenRefused(), 'models', 0, MODEL_SCORER_HOOKS),
      now: () => NOW,
      // Every login enters an audience, and the activation stream refuses every put (ActivationFailed).
      audiences: {
        current: async () =>
          compileAudienceSet(
            parseAudienceSet({
              audienceSetVersion: 1,
              audiences: [{ id: 'loggers', description: 'd', condition: { field: 'count.login', gte: 1 } }],
            }),
          ),
      },
      transitions: { put: async (events) => new Set(events.map((e) => e.profileId)) },
    });
    const event = (userId: string, eventId: string) => ({
      schemaVersion: 1,
      eventId,
      type: 'login',
      userId,
      occurredAt: NOW - 1000,
    });
    const records = (firstSequenceNumber: number, payloads: (string | Uint8Array)[]) =>
      kinesisEvent(payloads, {
        firstSequenceNumber: BigInt(firstSequenceNumber),
        partitionKey: 'u-1',
        arrivalMs: NOW,
      });
    const first = [
      JSON.stringify(event('u-1', 'e-1')),
      JSON.stringify(event(THROTTLED_USER, 'e-2')),
      ...Object.values(recordsBreakingTheContract(event('u-1', 'e-3'))),
    ];
    const emf = await emfPrintedBy(async () => {
      await handler(records(1000, first), { awsRequestId: 'req-1' });
      await handler(records(2000, [JSON.stringify(event('u-1', 'e-4'))]), { awsRequestId: 'req-2' });
    });
    return { emf, quarantined: quarantine.records.map((record) => record.kind) };
  }

  /** Publishes a training run that measured drift, as the train handler does, and returns the EMF. */
  async function emfOfTrainRun(): Promise<string[]> {
    configurePowertoolsAs('train');
    let modules!: [
      typeof import('../../functions/train/train-metrics'),
      typeof import('../../functions/commons/telemetry'),
    ];
    await jest.isolateModulesAsync(async () => {
      modules = await Promise.all([
        import('../../functions/train/train-metrics'),
        import('../../functions/commons/telemetry'),
      ]);
    });
    const [{ publishTrainingMetrics }, { metrics }] = modules;
    const examples = { events: 100, rows: 50, train: 35, validation: 7, test: 8, positives: 5 };
    return emfPrintedBy(async () => {
      publishTrainingMetrics({
        modelVersion: 'v1',
        skipped: false,
        promoted: true,
        reason: 'no model serves yet',
        examples,
        durationMs: 10,
        peakRssMb: 100,
        drift: {
          referenceModel: 'v0',
          rows: 8,
          features: [{ feature: 'views_1h', psi: 0.3 }],
          maxFeaturePsi: 0.3,
          scorePsi: 0.1,
        },
      });
      metrics.publishStoredMetrics();
    });
  }

  /** The Powertools settings the stack gives function `name`, with metrics enabled. */
  function configurePowertoolsAs(name: string): void {
    const [fn] = Object.values(
      stateless.findResources('AWS::Lambda::Function', { Metadata: { 'profile-stream:function': name } }),
    ) as CfnResource[];
    const variables = (fn!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    process.env.POWERTOOLS_SERVICE_NAME = String(variables.POWERTOOLS_SERVICE_NAME);
    process.env.POWERTOOLS_METRICS_NAMESPACE = String(variables.POWERTOOLS_METRICS_NAMESPACE);
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  }

  /** The EMF lines `run` prints on stdout. */
  async function emfPrintedBy(run: () => Promise<void>): Promise<string[]> {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await run();
    } finally {
      spy.mockRestore();
    }
    return written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"CloudWatchMetrics"'));
  }

  it('reads quarantines once per violation kind, failed profiles, refused models, poll failures, drift and promotions', () => {
    // Act
    const read = customMetricsReadBy(stateless);

    // Assess
    const ingest = (name: string, dimensions: Record<string, string> = {}): MetricIdentity => ({
      namespace: 'ProfileStream',
      name,
      dimensions: { service: 'ingest', ...dimensions },
    });
    expect(read).toEqual(
      expect.arrayContaining([
        ...VIOLATION_KINDS.map((reason) => ingest('Quarantined', { reason })),
        ingest('ProfilesFailed'),
        ingest('ModelRefused'),
        ingest('ModelPollFailed'),
        ...['FeatureDriftPsiMax', 'ScoreDriftPsi', 'ModelPromoted'].map((name) => ({
          namespace: 'ProfileStream',
          name,
          dimensions: { service: 'train' },
        })),
      ]),
    );
  });

  it('publishes every metric the dashboard and alarms read, with exactly their dimensions', async () => {
    // Prepare
    const read = customMetricsReadBy(stateless);

    // Act
    const { emf, quarantined } = await emfOfIngestRuns();
    const published = metricsPublishedIn([...emf, ...(await emfOfTrainRun())]);

    // Assess: the run took every path the stack reads (one record of each violation kind; the failed
    // profile, poll and model are checked by the comparison itself)...
    expect([...quarantined].sort()).toEqual([...VIOLATION_KINDS].sort());
    // ...and every series read is one the handler publishes.
    const unpublished = read.filter(
      (metric) => !published.some((candidate) => isDeepStrictEqual(candidate, metric)),
    );
    expect(unpublished).toEqual([]);
  });
});
