import * as path from 'node:path';
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { resolveStackParameters, type StackParameters } from './stack-parameters';
import { StatefulStack, type ProfilesTableCapacity } from './stateful-stack';
import { StatelessStack } from './stateless-stack';

/** The repository root: function entries, the lockfile and node_modules live here. */
export const PROJECT_ROOT = path.resolve(__dirname, '../..');

/** Stack names; stable so deployments update in place. */
export const STACK_NAMES = {
  stateful: 'ProfileStreamStateful',
  stateless: 'ProfileStreamStateless',
} as const;

/**
 * Feature flags set in code (not only in cdk.json) so tests, the local runner and the CLI build the
 * same template.
 */
const FEATURE_FLAGS = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  // Strong exports: the stateful stack cannot drop a resource the stateless stack still uses.
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
} as const;

/** Options of {@link buildApp}. */
export interface BuildAppOptions extends Partial<StackParameters> {
  /**
   * Context for the app, e.g. `{ 'aws:cdk:bundling-stacks': [] }` to skip bundling.
   * @default {} (plus whatever the CDK CLI passes in)
   */
  readonly context?: AppProps['context'];
  /**
   * Where the cloud assembly is written.
   * @default - the CLI's outdir, or a fresh temporary directory
   */
  readonly outdir?: string;
  /**
   * Whether to apply the cdk-nag AwsSolutions checks.
   * @default true
   */
  readonly nag?: boolean;
  /**
   * Whether CDK validates the templates against the CloudFormation schemas after synthesis
   * (thorough, but several seconds: the topology synthesis for the local runner skips it).
   * @default true
   */
  readonly templateValidation?: boolean;
}

/** What {@link buildApp} returns. */
export interface ProfileStreamApp {
  readonly app: App;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
  readonly parameters: StackParameters;
}

/**
 * Builds the whole deployment: the stateful stack (stream, table, buckets) and the stateless stack
 * (functions, triggers, alarms) wired to it. Stacks are environment-agnostic so synth needs no
 * credentials and does no lookups.
 */
export function buildApp(options: BuildAppOptions = {}): ProfileStreamApp {
  const { context, outdir, nag = true, templateValidation = true, ...overrides } = options;
  const app = new App({
    context: { ...FEATURE_FLAGS, ...context },
    builtinCloudFormationValidation: templateValidation,
    ...(outdir ? { outdir } : {}),
  });
  const parameters = resolveStackParameters(app, overrides);

  const stateful = new StatefulStack(app, STACK_NAMES.stateful, {
    description: 'profile-stream: events stream, profiles table, buckets (retained on delete)',
    shardCount: parameters.shardCount,
    profilesTableCapacity: profilesTableCapacityOf(parameters),
  });
  const stateless = new StatelessStack(app, STACK_NAMES.stateless, {
    description:
      'profile-stream: ingest, archive, train, rescore and scrub-failures functions, schedule, rescoring workflow, alarms, dashboard',
    resources: stateful.resources,
    projectRoot: PROJECT_ROOT,
    trainingRateHours: parameters.trainingRateHours,
    labelHorizonHours: parameters.labelHorizonHours,
    alarmAfterRunsWithoutPromotion: parameters.alarmAfterRunsWithoutPromotion,
    ingestBatchingWindowSeconds: parameters.ingestBatchingWindowSeconds,
    ingestBatchSize: parameters.ingestBatchSize,
    ingestFanOut: parameters.ingestFanOut,
    ingestParallelizationFactor: parameters.ingestParallelizationFactor,
    trainingEngine: parameters.trainingEngine,
    pseudonymiseIds: parameters.pseudonymiseIds,
    rescoreMaxWritesPerSecond: parameters.rescoreMaxWritesPerSecond,
  });
  // A policy validation plugin: synth fails while any finding is neither fixed nor acknowledged.
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stateful, stateless, parameters };
}

/** The profiles table's billing as the stateful stack takes it, from the resolved parameters. */
function profilesTableCapacityOf(parameters: StackParameters): ProfilesTableCapacity {
  if (parameters.profilesTableBilling === 'on-demand') return { mode: 'on-demand' };
  return {
    mode: 'provisioned',
    write: { min: parameters.profilesTableMinWriteCapacity, max: parameters.profilesTableMaxWriteCapacity },
    read: { min: parameters.profilesTableMinReadCapacity, max: parameters.profilesTableMaxReadCapacity },
    targetUtilisationPercent: parameters.profilesTableTargetUtilisationPercent,
  };
}

if (require.main === module) {
  buildApp().app.synth();
}
