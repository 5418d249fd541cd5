/**
 * `npm run model -- <list|promote|rollback>`: inspect and move the serving model, locally (`--endpoint`,
 * e.g. the S3 endpoint printed by `npm start -- --serve`) or in AWS (default credential chain; `--bucket`
 * from the stack output). The ingest function picks up a moved pointer within `MODEL_POLL_SECONDS`.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { S3ModelRegistry, type ModelListing } from '../../functions/commons/s3-model-registry';
import { LOCAL_CREDENTIALS } from '../local/emulators';

// Lambda runs nodejs22.x; the SDK's notice about Node 20 is noise for an operator's CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface BucketOptions {
  bucket: string;
  endpoint?: string;
  region: string;
}

function registryFor(opts: BucketOptions): { registry: S3ModelRegistry; s3: S3Client } {
  const s3 = new S3Client({
    region: opts.region,
    ...(opts.endpoint === undefined
      ? {}
      : { endpoint: opts.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS }),
  });
  return { registry: new S3ModelRegistry(s3, opts.bucket), s3 };
}

/** Run `action` against the bucket, closing the client afterwards. */
function withRegistry<A extends unknown[]>(
  action: (registry: S3ModelRegistry, ...args: A) => Promise<void>,
): (...args: [...A, BucketOptions, Command]) => Promise<void> {
  // Commander calls an action with the arguments, then the options, then the command.
  return async (...args) => {
    const opts = args.at(-2) as BucketOptions;
    const { registry, s3 } = registryFor(opts);
    try {
      await action(registry, ...(args.slice(0, -2) as A));
    } finally {
      s3.destroy();
    }
  };
}

const metric = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(4));

/** Rows of `list`, one per version, the serving one marked with `*`. */
export function formatModelListing(rows: readonly ModelListing[]): string {
  const table = [
    ['', 'version', 'created', 'ROC-AUC', 'PR-AUC', 'ECE', 'test rows', 'outputs'],
    ...rows.map((row) => [
      row.current ? '*' : '',
      row.modelVersion,
      row.createdAt ?? `(${row.problem ?? 'no metadata'})`,
      metric(row.metrics?.rocAuc),
      metric(row.metrics?.prAuc),
      metric(row.metrics?.expectedCalibrationError),
      row.exampleCounts?.test === undefined ? '—' : String(row.exampleCounts.test),
      row.heads?.join(',') ?? '—',
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  return table
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function addBucketOptions(command: Command): Command {
  return command
    .requiredOption('--bucket <name>', 'models bucket name')
    .option('--endpoint <url>', 'S3 endpoint (the local cloud); default: AWS')
    .option('--region <region>', 'AWS region', process.env.AWS_REGION ?? 'us-east-1');
}

const program = new Command()
  .name('npm run model --')
  .description('List, promote and roll back models in the models bucket.');

addBucketOptions(program.command('list').description('versions with their test metrics; * = serving')).action(
  withRegistry(async (registry) => {
    const rows = await registry.list();
    console.log(rows.length === 0 ? 'no models' : formatModelListing(rows));
  }),
);

addBucketOptions(
  program
    .command('promote')
    .argument('<version>', 'a stored model version')
    .description('point models/current.json at <version> (checks its files first)'),
).action(
  withRegistry(async (registry, version: string) => {
    const current = await registry.getCurrentPointer();
    const pointer = await registry.promote(version, current?.modelVersion);
    console.log(`serving ${pointer.modelVersion} (was ${pointer.previous ?? 'none'})`);
  }),
);

addBucketOptions(
  program.command('rollback').description('restore the pointer that served before the current one'),
).action(
  withRegistry(async (registry) => {
    const { from, to } = await registry.rollback();
    console.log(`serving ${to.modelVersion} again (promoted ${to.promotedAt}); ${from.modelVersion} retired`);
  }),
);

if (require.main === module) {
  program.parseAsync().catch((error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exit(1);
  });
}
