/**
 * `npm start`: the whole pipeline on this machine. Starts the local cloud from the synthesized
 * template, publishes a workload (synthetic with injected faults by default, or a file), lets the real
 * handlers process it through the emulated event source mappings, and ends with an accounting line in
 * which every produced record is accounted for.
 */
import { Command, InvalidArgumentError } from 'commander';
import { EventProducer } from '../../functions/commons/event-producer';
import { generateWorkload } from '../../shared/workload/synthetic-workload';
import { injectFaults } from '../../shared/workload/fault-injection';
import { appliedEvents, foldInMemory } from '../../shared/ingest/reference-fold';
import { startLocalPipeline, type LocalPipeline } from './local-pipeline';
import { collectAccounting, formatAccounting, sampleProfiles } from './run-report';

const integer = (label: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${label} must be a whole number`);
  return n;
};

const program = new Command()
  .name('npm start --')
  .description('Run profile-stream end to end on embedded Kinesis, DynamoDB and S3 emulators.')
  .option('--users <n>', 'synthetic users', integer('--users'), 3000)
  .option('--days <n>', 'synthetic days of behaviour', integer('--days'), 7)
  .option('--seed <n>', 'workload seed', integer('--seed'), 42)
  .option('--no-faults', 'publish the workload without duplicates, reordering or malformed records')
  .option('--data-dir <dir>', 'keep the emulators’ data here (default: nothing left on disk)')
  .option('--serve', 'keep the local cloud running after the run and print its endpoints')
  .option('--samples <n>', 'sample profiles to print at the end', integer('--samples'), 3);

interface RunOptions {
  users: number;
  days: number;
  seed: number;
  faults: boolean;
  dataDir?: string;
  serve?: boolean;
  samples: number;
}

async function main(): Promise<void> {
  const options = program.parse().opts<RunOptions>();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;

  console.log(
    `[${elapsed()}] starting local cloud (kinesalite, dynalite, s3rver) from the synthesized template…`,
  );
  const pipeline = await startLocalPipeline({
    dataDir: options.dataDir,
    // Keep the handlers' own logs quiet; the runner prints progress.
    environment: { POWERTOOLS_LOG_LEVEL: 'WARN', LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await pipeline.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => {
    console.log('\nCtrl-C: stopping the event source mappings and the emulators…');
    void shutdown(130);
  });

  console.log(
    `[${elapsed()}] stream ${pipeline.streamName} (${pipeline.topology.stream.shardCount} shards), table ${pipeline.tableName}, ` +
      `consumers: ${[...pipeline.mappings.keys()].join(', ')}`,
  );
  const workload = generateWorkload({ seed: options.seed, users: options.users, days: options.days });
  const { records, manifest } = injectFaults(workload.events, {
    nowMs: Date.now(),
    seed: options.seed,
    ...(options.faults ? {} : { duplicateRate: 0, reorderRate: 0, malformedRate: 0 }),
  });
  console.log(
    `[${elapsed()}] workload: ${workload.events.length} events of ${workload.groundTruth.size} people → ` +
      `${records.length} records (${manifest.duplicatedEventIds.length} duplicates, ` +
      `${manifest.reorderedEventIds.length} reordered, ${manifest.malformed.length} malformed)`,
  );

  const progress = startProgress(pipeline, records.length, elapsed);
  const producer = new EventProducer({
    kinesis: pipeline.cloud.clients.kinesis,
    streamName: pipeline.streamName,
  });
  const sendResult = await producer.sendRaw(records);
  progress.sent = sendResult.sent;
  await pipeline.drain(120_000);
  progress.stop();

  // The expectation: the same records folded in memory by the same rules. It differs from the
  // workload's distinct events only by duplicates beyond the profiles' dedupe horizon (bot bursts).
  const reference = foldInMemory(records, Date.now());
  const expectedApplied = [...reference.values()].reduce((sum, state) => sum + appliedEvents(state), 0);
  const accounting = await collectAccounting(
    pipeline,
    { produced: records.length, failedToSend: sendResult.failed.length },
    { applied: expectedApplied, quarantined: manifest.malformed.length },
  );
  if (expectedApplied !== manifest.validEvents) {
    console.log(
      `note: ${expectedApplied - manifest.validEvents} producer duplicates arrived beyond the dedupe horizon ` +
        '(more than 16 events a minute from one profile, i.e. bots) and were applied again, as documented',
    );
  }
  for (const profile of await sampleProfiles(pipeline, options.samples)) {
    console.log(JSON.stringify(profile));
  }
  console.log(`[${elapsed()}] ${formatAccounting(accounting)}`);

  if (options.serve) {
    console.log('\nLocal cloud is up (Ctrl-C to stop):');
    console.log(`  AWS_ENDPOINT_URL_KINESIS=${pipeline.cloud.endpoints.kinesis}`);
    console.log(`  AWS_ENDPOINT_URL_DYNAMODB=${pipeline.cloud.endpoints.dynamodb}`);
    console.log(`  AWS_ENDPOINT_URL_S3=${pipeline.cloud.endpoints.s3}`);
    console.log(
      `  stream ${pipeline.streamName}, table ${pipeline.tableName}, credentials S3RVER/S3RVER, region us-east-1`,
    );
    return;
  }
  await shutdown(accounting.balanced ? 0 : 1);
}

/** Print a progress line every two seconds until stopped. */
function startProgress(pipeline: LocalPipeline, total: number, elapsed: () => string) {
  const state = { sent: 0, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    const parts = [...pipeline.mappings].map(([name, m]) => `${name} ${m.stats.recordsCheckpointed}`);
    console.log(
      `[${elapsed()}] published ${state.sent || '…'}/${total} · checkpointed: ${parts.join(' · ')}`,
    );
  }, 2000);
  timer.unref();
  return state;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
