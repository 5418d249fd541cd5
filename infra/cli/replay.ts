/**
 * `npm run replay -- quarantine|failures <s3://bucket/prefix> --stream <name> --table <name> [--fix <module>]`:
 * republish repaired quarantine records or Lambda's on-failure payloads with the replay envelope, so
 * records already applied are recognised exactly (see `replay-records.ts` for the rules). Locally
 * the SDK's `AWS_ENDPOINT_URL_*` variables (printed by `npm start -- --serve`) point it at the local
 * cloud; otherwise it talks to AWS with the default credential chain.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { Command, Option } from 'commander';
import { DynamoDbProfileStore } from '../../functions/commons/dynamodb-profile-store';
import { decodeProfileItem } from '../../shared/profile/profile-item-codec';
import { createProducerKinesisClient } from '../client/event-producer';
import { pseudonymousProfileId } from '../../shared/privacy/pseudonymise';
import { idHasherOf, withHashKeyOptions, type HashKeyOptions } from './hash-key-options';
import { REPLAY_SOURCES, replay, type RepairFunction, type ReplaySource } from './replay-records';

// Lambda runs nodejs22.x; the SDK's notice about Node 20 is noise for an operator's CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** How many held-back or refused records are listed in full. */
const SHOWN = 10;

/** A `--fix` module that exports no repair function. */
export class InvalidRepairModule extends Error {
  override readonly name = 'InvalidRepairModule';
  readonly field = 'fix';
  readonly rule = 'must export a repair function as default or as `fix`';
  constructor(readonly value: string) {
    super(`fix: must export a repair function as default or as \`fix\` (got ${value})`);
  }
}

async function loadRepair(modulePath: string): Promise<RepairFunction> {
  const loaded = (await import(pathToFileURL(path.resolve(modulePath)).href)) as {
    default?: unknown;
    fix?: unknown;
  };
  // tsx and CommonJS interop may nest the default export once more.
  const candidates = [
    loaded.fix,
    loaded.default,
    (loaded.default as { default?: unknown } | undefined)?.default,
  ];
  const repair = candidates.find((c): c is RepairFunction => typeof c === 'function');
  if (repair === undefined) throw new InvalidRepairModule(modulePath);
  return repair;
}

interface ReplayOptions extends HashKeyOptions {
  stream: string;
  table: string;
  region?: string;
  fix?: string;
  movedOn: 'hold' | 'fresh';
  dryRun?: boolean;
}

const program = withHashKeyOptions(new Command())
  .name('npm run replay --')
  .description('Republish repaired quarantine records or on-failure payloads so nothing is applied twice.')
  .argument('<source>', `what to replay: ${REPLAY_SOURCES.join(' or ')}`)
  .argument('<s3Prefix>', 's3://<bucket>/<prefix> of the quarantine or on-failure objects')
  .requiredOption('--stream <name>', 'Kinesis stream to republish to')
  .requiredOption('--table <name>', 'profiles table (read only: where each profile stands)')
  .option('--region <region>', 'AWS region (default: the SDK chain, AWS_REGION)')
  .option('--fix <module>', 'TS/JS module exporting a repair function (default or `fix`)')
  .addOption(
    new Option('--moved-on <policy>', 'on-failure records of profiles that applied later records since')
      .choices(['hold', 'fresh'])
      .default('hold'),
  )
  .option('--dry-run', 'print the plan, publish nothing')
  .action(async (source: string, s3Prefix: string, options: ReplayOptions) => {
    if (!(REPLAY_SOURCES as readonly string[]).includes(source)) {
      throw new Error(`source: must be one of ${REPLAY_SOURCES.join(', ')} (got ${JSON.stringify(source)})`);
    }
    const region = options.region === undefined ? {} : { region: options.region };
    const s3 = new S3Client(region);
    const kinesis = createProducerKinesisClient(region);
    const store = new DynamoDbProfileStore(new DynamoDBClient(region), options.table);
    // Records hold raw ids (ingest pseudonymises at decode): look their profiles up by pseudonym.
    const hasher = await idHasherOf(options);
    const storedId = (id: string) => (hasher === undefined ? id : pseudonymousProfileId(hasher, id));
    try {
      const summary = await replay(source as ReplaySource, s3Prefix, {
        s3,
        kinesis,
        streamName: options.stream,
        readProfiles: async (ids) => {
          const items = await store.getMany(ids.map(storedId));
          return new Map(
            ids.flatMap((id) => {
              const item = items.get(storedId(id));
              return item === undefined ? [] : [[id, decodeProfileItem(item).state] as const];
            }),
          );
        },
        repair: options.fix === undefined ? undefined : await loadRepair(options.fix),
        movedOn: options.movedOn,
        dryRun: options.dryRun,
      });
      const { plan } = summary;
      console.log(
        `${source} ${s3Prefix} → ${options.stream}: read ${summary.read}, ` +
          `with envelope ${plan.withEnvelope.length}, without ${plan.fresh.length}, ` +
          `held back ${plan.heldBack.length}, refused ${plan.refused.length}, left out by --fix ${plan.dropped}; ` +
          (options.dryRun ? 'dry run, nothing sent' : `sent ${summary.sent}, failed ${summary.failed}`),
      );
      for (const r of plan.refused.slice(0, SHOWN))
        console.error(`  refused ${r.shardId}:${r.sequenceNumber}: ${r.reason}`);
      for (const h of plan.heldBack.slice(0, SHOWN)) {
        console.error(
          `  held back ${h.shardId}:${h.sequenceNumber} (${h.profileId} applied later records since)`,
        );
      }
      process.exitCode = summary.failed > 0 ? 1 : 0;
    } finally {
      kinesis.destroy();
      s3.destroy();
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(
    `replay failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
  );
  process.exitCode = 1;
});
