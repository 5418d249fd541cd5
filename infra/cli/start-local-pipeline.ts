/**
 * `npm start`: the whole pipeline on this machine. Starts the local cloud from the synthesized
 * template, publishes a workload (synthetic with injected faults by default, or a file), lets the real
 * handlers process it through the emulated event source mappings, and ends with an accounting line in
 * which every produced record is accounted for.
 */
import { Command, InvalidArgumentError } from 'commander';
import { EventProducer } from '../client/event-producer';
import { generateWorkload } from '../workload/synthetic-workload';
import { injectFaults } from '../workload/fault-injection';
import { appliedEvents, foldInMemory } from '../local/reference-fold';
import {
  decodePrivacyOf,
  startLocalPipeline,
  type LocalPipeline,
  type RescorePassSummary,
} from '../local/local-pipeline';
import type { TrainSummary } from '../../shared/training/train-use-case';
import { startProfileExplorer, type ProfileExplorer } from '../local/explorer/explorer-server';
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { S3AudiencePublisher } from '../../functions/commons/s3-audience-definitions';
import {
  collectAccounting,
  describeModel,
  formatAccounting,
  formatAudienceSizes,
  formatMetricsTable,
  profilesPerPerson,
  sampleProfiles,
  scanProfiles,
  type RunAccounting,
} from '../local/run-report';

const integer = (label: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${label} must be a whole number`);
  return n;
};

const share = (value: string) => {
  const x = Number(value);
  if (!(x > 0 && x < 1)) throw new InvalidArgumentError('must be between 0 and 1');
  return x;
};

const program = new Command()
  .name('npm start --')
  .description('Run profile-stream end to end on embedded Kinesis, DynamoDB and S3 emulators.')
  .option('--users <n>', 'synthetic users', integer('--users'), 3000)
  .option('--days <n>', 'synthetic days of behaviour', integer('--days'), 7)
  .option('--seed <n>', 'workload seed', integer('--seed'), 42)
  .option('--no-faults', 'publish the workload without duplicates, reordering or malformed records')
  .option('--data-dir <dir>', 'keep the emulators’ data here (default: nothing left on disk)')
  .option(
    '--serve',
    'keep the local cloud running after the run, print its endpoints and serve the profile explorer',
  )
  .option(
    '--pseudonymise-ids',
    'store keyed hashes of userId/anonymousId instead of the ids (stack parameter pseudonymiseIds)',
  )
  .option('--samples <n>', 'sample profiles to print at the end', integer('--samples'), 3)
  .option('--warm-up-share <x>', 'share of the records streamed before training', share, 0.7)
  .option(
    '--label-horizon-hours <n>',
    'label horizon H for training (the stack says 24; a week of local history wants less)',
    integer('--label-horizon-hours'),
    12,
  )
  .option(
    '--model-poll-seconds <n>',
    'how often ingest looks for a new model (the stack says 60; a short local run wants less)',
    integer('--model-poll-seconds'),
    2,
  );

interface RunOptions {
  warmUpShare: number;
  labelHorizonHours: number;
  modelPollSeconds: number;
  users: number;
  days: number;
  seed: number;
  faults: boolean;
  dataDir?: string;
  serve?: boolean;
  pseudonymiseIds?: boolean;
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
    // Otherwise the stack's own resolution: `cdk.json` context, then the default (off).
    ...(options.pseudonymiseIds === true ? { stackParameters: { pseudonymiseIds: true } } : {}),
    // `npm run erase` against the served cloud: requests are picked up as S3 → EventBridge would.
    watchErasureRequests: options.serve === true,
    // Keep the handlers' own logs quiet; the runner prints progress.
    environment: {
      POWERTOOLS_LOG_LEVEL: 'WARN',
      LOG_LEVEL: 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
      MODEL_POLL_SECONDS: String(options.modelPollSeconds),
      LABEL_HORIZON_HOURS: String(options.labelHorizonHours),
    },
  });
  let stopping = false;
  let explorer: ProfileExplorer | undefined;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await explorer?.stop();
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
  // The built-in audiences, published as `npm run audience -- publish --built-in` would: ingest loads
  // them at its first batch and evaluates them for every profile it writes.
  const audienceSet = await new S3AudiencePublisher(
    pipeline.cloud.clients.s3,
    pipeline.buckets.models!,
  ).publish(BUILT_IN_AUDIENCES);
  console.log(
    `[${elapsed()}] audiences ${audienceSet.version}: ${audienceSet.set.audiences.map((a) => a.id).join(', ')}`,
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

  // Phase 1 (warm-up): the first part of the history streams in, unscored, and is archived.
  const warmUp = records.slice(0, Math.floor(records.length * options.warmUpShare));
  const rest = records.slice(warmUp.length);
  const progress = startProgress(pipeline, records.length, elapsed);
  const producer = new EventProducer({
    kinesis: pipeline.cloud.clients.kinesis,
    streamName: pipeline.streamName,
  });
  const warmUpSent = await producer.sendRaw(warmUp);
  progress.sent = warmUpSent.sent;
  await pipeline.drain(180_000);
  console.log(`[${elapsed()}] warm-up streamed: ${warmUp.length} records ingested and archived`);

  // Phase 2: the scheduled training function, invoked as EventBridge would: archive → train → promote.
  const training = (await pipeline.invoke('train', {
    source: 'aws.events',
    'detail-type': 'Scheduled Event',
  })) as TrainSummary;
  const { events, rows, train, validation, test, positives } = training.examples;
  console.log(
    `[${elapsed()}] training on the archive (${events} events → ${rows} examples: ${train} train / ` +
      `${validation} validation / ${test} test, ${positives} positive) → ` +
      `${training.promoted ? `promoted ${training.modelVersion}` : 'not promoted'}: ${training.reason}`,
  );
  const model =
    training.promoted && training.modelVersion !== undefined
      ? await describeModel(pipeline, training.modelVersion, options.dataDir)
      : undefined;
  // The promotion moved models/current.json: in AWS that starts the rescoring workflow, whose first
  // pass scores every profile written so far (all of them unscored here) with the promoted model.
  const firstPass = model === undefined ? undefined : await pipeline.rescorePass();
  if (firstPass !== undefined)
    console.log(`[${elapsed()}] rescoring, first pass: ${formatRescorePass(firstPass)}`);

  // Phase 3: the rest of the history streams in; ingest picks the promoted model up without a restart.
  const restSent = await producer.sendRaw(rest);
  progress.sent = warmUpSent.sent + restSent.sent;
  await pipeline.drain(180_000);
  progress.stop();
  // The workflow's second pass, after the settle wait (here: the end of the stream, well past ingest's
  // poll interval): what ingest wrote before it picked the model up, or with none, is rescored now.
  const secondPass = model === undefined ? undefined : await pipeline.rescorePass();
  if (secondPass !== undefined) {
    console.log(`[${elapsed()}] rescoring, second pass: ${formatRescorePass(secondPass)}`);
  }
  const rescored = (firstPass?.stats.rescored ?? 0) + (secondPass?.stats.rescored ?? 0);

  // The expectation: the records Kinesis accepted, folded in memory by the same rules. It differs from
  // the workload's distinct events only by duplicates beyond the profiles' dedupe horizon (bot bursts).
  const unsent = new Set([...warmUpSent.failed, ...restSent.failed].map((f) => f.record));
  const reference = foldInMemory(
    records.filter((r) => !unsent.has(r)),
    Date.now(),
    // Decoded as the handlers decode: the same key, fingerprints and (if on) pseudonymous ids.
    decodePrivacyOf(pipeline),
  );
  const expectedApplied = [...reference.values()].reduce((sum, state) => sum + appliedEvents(state), 0);
  const accounting = await collectAccounting(
    pipeline,
    { produced: records.length, failedToSend: unsent.size },
    { profiles: reference, quarantined: manifest.malformed.length },
  );
  console.log(`\nSample profiles (highest purchase propensity first):`);
  for (const profile of await sampleProfiles(pipeline, options.samples)) {
    console.log(JSON.stringify(profile));
  }
  if (model !== undefined) {
    console.log(
      `\nModel ${model.version} (test split: ${model.metadata.exampleCounts.test} examples, ${training.examples.positives} positives in all):`,
    );
    console.log(formatMetricsTable(model.metadata.metrics));
    console.log(`report: ${model.reportPath}`);
  }
  console.log(
    `scored profiles: ${accounting.scored.toLocaleString('en-US')} of ${accounting.profiles.toLocaleString('en-US')} ` +
      `(rescored ${rescored.toLocaleString('en-US')})` +
      (model === undefined
        ? ''
        : `, ${scoredBy(accounting, model.version)} by the promoted model ${model.version}`),
  );
  if (expectedApplied !== manifest.validEvents) {
    console.log(
      `note: ${expectedApplied - manifest.validEvents} producer duplicates arrived beyond the dedupe horizon ` +
        '(more than 16 events a minute from one profile, i.e. bots) and were applied again, as documented',
    );
  }
  console.log(
    formatAudienceSizes(
      accounting.audienceSizes,
      audienceSet.set.audiences.map((a) => a.id),
    ),
  );
  const people = [...workload.groundTruth.values()].filter((t) => !t.isBot);
  const identity = profilesPerPerson(
    await scanProfiles(pipeline),
    people.map((t) => t.profileIds),
  );
  const identified = people.filter((t) => t.identifiedAtMs !== undefined).length;
  console.log(
    `identity: ${identity.people.toLocaleString('en-US')} people (bots left out), ${identified.toLocaleString('en-US')} of them ` +
      `identified after browsing anonymously → ${identity.mean.toFixed(2)} profiles per person ` +
      `(${identity.split.toLocaleString('en-US')} split); ${accounting.redirects.toLocaleString('en-US')} anonymous profiles merged on identify`,
  );
  console.log(`[${elapsed()}] ${formatAccounting(accounting)}`);

  if (options.serve) {
    explorer = await startProfileExplorer({
      dynamodb: pipeline.cloud.clients.dynamodb,
      tableName: pipeline.tableName,
    });
    console.log('\nLocal cloud is up (Ctrl-C to stop):');
    console.log(`  AWS_ENDPOINT_URL_KINESIS=${pipeline.cloud.endpoints.kinesis}`);
    console.log(`  AWS_ENDPOINT_URL_DYNAMODB=${pipeline.cloud.endpoints.dynamodb}`);
    console.log(`  AWS_ENDPOINT_URL_S3=${pipeline.cloud.endpoints.s3}`);
    console.log(
      `  stream ${pipeline.streamName}, table ${pipeline.tableName}, credentials S3RVER/S3RVER, region us-east-1`,
    );
    console.log(`  profile explorer: ${explorer.url} (loopback only)`);
    // Local only (there is no Secrets Manager here): the CLIs hash ids they are given with it.
    console.log(
      `  LOCAL_HASH_KEY=${pipeline.hashKey}${pipeline.pseudonymiseIds ? ' (ids pseudonymised)' : ''}`,
    );
    console.log(
      `  erase: npm run erase -- <id>… --bucket ${pipeline.buckets.erasure} --endpoint ${pipeline.cloud.endpoints.s3}`,
    );
    return;
  }
  await shutdown(accounting.balanced ? 0 : 1);
}

/** One rescoring pass in a line. */
function formatRescorePass(pass: RescorePassSummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const { scanned, stale, rescored, writeConflicts, alreadyFresh, gaveUp } = pass.stats;
  return (
    `${pass.segments} segments, ${pass.invocations} invocations: read ${n(scanned)}, stale ${n(stale)}, ` +
    `rescored ${n(rescored)} with ${pass.modelVersion ?? 'no model'} (conflicts ${n(writeConflicts)}, ` +
    `already fresh ${n(alreadyFresh)}, left to the next pass ${n(gaveUp)})`
  );
}

function scoredBy(accounting: RunAccounting, modelVersion: string): string {
  const count = accounting.scoredBy[modelVersion] ?? 0;
  return count === accounting.profiles ? 'all' : count.toLocaleString('en-US');
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
