/**
 * `npm run audience -- publish <file>`: validate an audience set (JSON, `audience-set.v1.schema.json`)
 * and publish it beside the model pointer, locally (`--endpoint`, the S3 endpoint printed by
 * `npm start -- --serve`) or in AWS (default credential chain; `--bucket` = the models bucket). Ingest
 * hot-reloads it within `MODEL_POLL_SECONDS`. `--built-in` publishes the built-in examples.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { S3AudiencePublisher } from '../../functions/commons/s3-audience-definitions';
import { LOCAL_CREDENTIALS } from '../local/emulators';

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

if (require.main === module) {
  program.parseAsync().catch((error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exit(1);
  });
}
