/**
 * `npm run audience -- publish <file>`: validate an audience set (JSON, `audience-set.v1.schema.json`)
 * and publish it beside the model pointer, locally (`--endpoint`, the S3 endpoint printed by
 * `npm start -- --serve`) or in AWS (default credential chain; `--bucket` = the models bucket). Ingest
 * hot-reloads it within `MODEL_POLL_SECONDS`. `--built-in` publishes the built-in examples.
 *
 * `list | size <id> | members <id> | export <id>` read the audience members table (`--members-table`;
 * locally also `--dynamodb-endpoint`), which the activation-index function keeps: Queries of one
 * audience's partition, never a Scan of the profiles. `export` writes `exports/<id>/<timestamp>.ndjson`
 * to `--bucket` and prints the key.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { S3AudiencePublisher } from '../../functions/commons/s3-audience-definitions';
import { LOCAL_CREDENTIALS } from '../local/emulators';
import { DynamoDbAudienceIndex } from '../../functions/commons/dynamodb-audience-index';
import { exportAudience, formatMembersPage, listAudiences } from './audience-index-commands';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface PublishOptions {
  bucket: string;
  endpoint?: string;
  region: string;
  builtIn?: boolean;
}

const program = new Command()
  .name('npm run audience --')
  .description('Publish audience definitions for the ingest function to evaluate.');

program
  .command('publish')
  .argument('[file]', 'an audience set, JSON')
  .description('validate <file> (or the built-in set) and point audiences/current.json at it')
  .requiredOption('--bucket <name>', 'models bucket name')
  .option('--endpoint <url>', 'S3 endpoint (the local cloud); default: AWS')
  .option('--region <region>', 'AWS region', process.env.AWS_REGION ?? 'us-east-1')
  .option('--built-in', 'publish the built-in audiences instead of a file')
  .action(async (file: string | undefined, opts: PublishOptions) => {
    if ((file === undefined) === (opts.builtIn !== true)) throw new Error('give either <file> or --built-in');
    const raw: unknown = file === undefined ? BUILT_IN_AUDIENCES : JSON.parse(readFileSync(file, 'utf8'));
    const s3 = new S3Client({
      region: opts.region,
      ...(opts.endpoint === undefined
        ? {}
        : { endpoint: opts.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS }),
    });
    try {
      const published = await new S3AudiencePublisher(s3, opts.bucket).publish(raw);
      console.log(
        `published ${published.version} (${published.set.audiences.map((a) => a.id).join(', ')}); was ${published.previous ?? 'none'}`,
      );
    } finally {
      s3.destroy();
    }
  });

interface IndexOptions {
  membersTable: string;
  bucket?: string;
  endpoint?: string;
  dynamodbEndpoint?: string;
  region: string;
  limit: number;
  page?: string;
}

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error('--limit: must be a whole number 1–1000');
  return n;
};

function clientsFor(opts: IndexOptions) {
  const s3 = new S3Client({
    region: opts.region,
    ...(opts.endpoint === undefined
      ? {}
      : { endpoint: opts.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS }),
  });
  const dynamodb = new DynamoDBClient({
    region: opts.region,
    ...(opts.dynamodbEndpoint === undefined
      ? {}
      : { endpoint: opts.dynamodbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
  return { s3, dynamodb, index: new DynamoDbAudienceIndex(dynamodb, opts.membersTable) };
}

/** An index command: clients built from the options, closed afterwards. */
function indexCommand(
  name: string,
  description: string,
  action: (
    clients: ReturnType<typeof clientsFor>,
    opts: IndexOptions,
    id: string | undefined,
  ) => Promise<void>,
  withId = true,
): Command {
  const command = program
    .command(name)
    .description(description)
    .requiredOption('--members-table <name>', 'audience members table name (stack output)')
    .option('--bucket <name>', 'models bucket name (definitions; exports are written there)')
    .option('--endpoint <url>', 'S3 endpoint (the local cloud); default: AWS')
    .option('--dynamodb-endpoint <url>', 'DynamoDB endpoint (the local cloud); default: AWS')
    .option('--region <region>', 'AWS region', process.env.AWS_REGION ?? 'us-east-1');
  if (withId) command.argument('<audienceId>', 'an audience id of the published set');
  return command.action(async (...args: unknown[]) => {
    const id = withId ? (args[0] as string) : undefined;
    const opts = args[withId ? 1 : 0] as IndexOptions;
    const clients = clientsFor(opts);
    try {
      await action(clients, opts, id);
    } finally {
      clients.s3.destroy();
      clients.dynamodb.destroy();
    }
  });
}

const requireBucket = (opts: IndexOptions): string => {
  if (opts.bucket === undefined) throw new Error('--bucket: is required for this command');
  return opts.bucket;
};

indexCommand(
  'list',
  'the published audiences with their sizes (from the members index)',
  async ({ s3, index }, opts) => {
    const { version, audiences } = await listAudiences(
      new S3AudiencePublisher(s3, requireBucket(opts)),
      index,
    );
    if (version === undefined) {
      console.log('no audience set published');
      return;
    }
    console.log(`audience set ${version}`);
    for (const a of audiences) console.log(`${a.id}	${a.size}	${a.description}`);
  },
  false,
);

indexCommand('size', 'how many profiles are members of <audienceId>', async ({ index }, _opts, id) => {
  console.log(String(await index.size(id!)));
});

indexCommand(
  'members',
  'one page of the members of <audienceId> (profile id, entered at, version)',
  async ({ index }, opts, id) => {
    console.log(formatMembersPage(await index.members(id!, opts.limit, opts.page)));
  },
)
  .option('--limit <n>', 'rows per page (1–1000)', positive, 100)
  .option('--page <token>', 'the token printed by the previous page');

indexCommand(
  'export',
  'write every member of <audienceId> to S3 as NDJSON and print the key',
  async (clients, opts, id) => {
    const bucket = requireBucket(opts);
    const { key, members } = await exportAudience(clients.index, clients.s3, bucket, id!, Date.now());
    console.log(`s3://${bucket}/${key} (${members} members)`);
  },
);

if (require.main === module) {
  program.parseAsync().catch((error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exit(1);
  });
}
