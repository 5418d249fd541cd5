/**
 * `npm run profile -- get <id>`: read one profile, locally (`--endpoint`, e.g. from `npm start -- --serve`)
 * or in AWS (default credential chain; `--table` from the stack output).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { ProfileReader } from '../client/profile-reader';
import { describeProfile } from '../client/profile-view';
import { idHasherOf, withHashKeyOptions, type HashKeyOptions } from './hash-key-options';

// Lambda runs nodejs22.x; the SDK's notice about Node 20 is noise for an operator's CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command()
  .name('npm run profile --')
  .description('Read profiles from the profiles table.');

withHashKeyOptions(program.command('get'))
  .argument('<profileId>', 'a userId, or anon:<anonymousId> (the raw id, also when ids are pseudonymised)')
  .requiredOption('--table <name>', 'profiles table name')
  .option('--endpoint <url>', 'DynamoDB endpoint (the local cloud); default: AWS')
  .option('--region <region>', 'AWS region', process.env.AWS_REGION ?? 'us-east-1')
  .option('--raw', 'print the decoded state as stored instead of the readable view')
  .action(
    async (
      profileId: string,
      opts: { table: string; endpoint?: string; region: string; raw?: boolean } & HashKeyOptions,
    ) => {
      const dynamodb = new DynamoDBClient({
        region: opts.region,
        ...(opts.endpoint === undefined
          ? {}
          : { endpoint: opts.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      });
      const hasher = await idHasherOf(opts);
      const reader = new ProfileReader(dynamodb, opts.table, Date.now, hasher && { hasher });
      const profile = await reader.getProfile(profileId);
      if (profile === undefined) {
        console.error(`no profile ${profileId} in ${opts.table}`);
        process.exitCode = 2;
        return;
      }
      console.log(JSON.stringify(opts.raw ? profile : describeProfile(profile, Date.now()), null, 2));
    },
  );

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
