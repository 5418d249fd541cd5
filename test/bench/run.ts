/**
 * `npm run bench`: throughput, DynamoDB requests per event and profile item size of the ingest path on
 * the default synthetic workload (3,000 people, 7 days, default faults), each figure beside its target
 * and beside a baseline measured in the same run. Prints a table and writes `reports/bench-<time>.json`.
 *
 * Flow: build the workload and the model → part 1, handler compute in memory (one core) → part 2, the
 * real path and the per-event baseline against dynalite + s3rver → part 3, item sizes → part 4, traits and
 * audience evaluation per profile → part 5, activation feed and members index writes per event → report.
 */
// Must stay the first import: it configures the telemetry the handler module creates when it loads.
import './bench-env';
import { Command, InvalidArgumentError } from 'commander';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../infra/local/emulators';
import { benchModel, InMemoryOnnxScorer, publishBenchModel } from './bench-model';
import {
  formatTable,
  machineInfo,
  median,
  medianConfidenceInterval,
  statusOf,
  writeJsonReport,
  type ResultRow,
} from './bench-report';
import {
  buildBenchWorkload,
  defaultWorkloadRecords,
  SHARD_COUNT,
  BATCH_SIZE,
  type BenchWorkload,
} from './bench-workload';
import { BUNDLED_HANDLER_PROCESSES, timeBundledHandler } from './bundled-handler';
import {
  COMPUTE_WARMUPS,
  figuresOf,
  runComputeBench,
  type ComputeBenchResult,
  type HandlerFigures,
  type StageTiming,
} from './compute-bench';
import { archivedBytesPerEvent, costReport, costTargetRows, measuredUsage } from './cost-report';
import { runItemSizeBench, type ItemSizeResult } from './item-size-bench';
import { runTombstoneBench } from './tombstone-bench';
import { audienceRows, runAudienceBench } from './audience-bench';
import { mergeRows, runMergeBench } from './merge-bench';
import { activationRows, runActivationBench } from './activation-bench';
import { BENCH_BUCKETS, createProfilesTable, runBaseline, runRealPath, type StackRun } from './stack-bench';

const REPO_ROOT = path.resolve(__dirname, '../..');
const TARGETS = {
  computeEventsPerSecond: 50_000,
  dynamodbRequestsPerEvent: 0.5,
  requestReduction: 10,
  throughputGain: 5,
  itemBytesP99: 1024,
  itemBytesMax: 2048,
} as const;

/** Which code was measured: the commit and how many tracked files differ from it. */
function codeState(): { commit: string; modifiedTrackedFiles: number } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  try {
    const modified = git('status', '--porcelain', '--untracked-files=no');
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      modifiedTrackedFiles: modified === '' ? 0 : modified.split('\n').length,
    };
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return { commit: 'unknown (no git)', modifiedTrackedFiles: 0 };
  }
}

const positiveInt = (label: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`${label} must be a positive whole number`);
  return n;
};

const program = new Command()
  .name('npm run bench --')
  .description('Benchmark the ingest path on the default synthetic workload.')
  .option(
    '--runs <n>',
    'timed runs of the in-memory handler pass (median reported)',
    positiveInt('--runs'),
    5,
  )
  .option(
    '--subset <n>',
    'records of the baseline comparison on the emulators',
    positiveInt('--subset'),
    5000,
  )
  .option(
    '--pairs <n>',
    'timed passes of the real path and the baseline on the subset (medians reported)',
    positiveInt('--pairs'),
    2,
  )
  .option('--no-stack', 'skip part 2 (real path and per-event baseline on the emulators)')
  .option('--no-compute', 'skip part 1 (and part 3, which uses its profiles)');

interface BenchOptions {
  runs: number;
  subset: number;
  pairs: number;
  stack: boolean;
  compute: boolean;
}

const ms = (value: number) => Math.round(value * 1000) / 1000;

/** The distribution-free 95 % interval of the median run, as events per second over `records`. */
function medianInterval(wallMs: readonly number[], records: number): string {
  const ci = medianConfidenceInterval(wallMs);
  if (ci === undefined) return 'too few runs for a 95 % interval of the median';
  const rate = (runMs: number) => Math.round(records / (runMs / 1000)).toLocaleString('en-US');
  return `${(ci.coverage * 100).toFixed(1)} % interval of the median ${rate(ci.high)}–${rate(ci.low)} events/s`;
}

/** Lambda's own default `BatchSize` for Kinesis, the stack's `ingestBatchSize` until 2026-12-02. */
const LAMBDA_DEFAULT_BATCH_SIZE = 100;

/** The handler over the same records in batches of {@link LAMBDA_DEFAULT_BATCH_SIZE}, beside the default's. */
function batchSizeBaselineRow(
  figures: HandlerFigures,
  workload: BenchWorkload,
  atDefault: ComputeBenchResult,
): ResultRow {
  const ratio = atDefault.production.eventsPerCpuSecond / figures.eventsPerCpuSecond;
  return {
    section: '1 compute',
    metric: `  the same bundle over batches of ${LAMBDA_DEFAULT_BATCH_SIZE} (Lambda's default; the stack's until 2026-12-02; median of ${figures.runs.wallMs.length}, wall)`,
    value: figures.eventsPerSecond,
    unit: 'events/s',
    note: `${workload.interleaved.length} batches; per CPU-second ${Math.round(figures.eventsPerCpuSecond).toLocaleString('en-US')} (batches of ${BATCH_SIZE}: ×${ratio.toFixed(2)}); ${medianInterval(figures.runs.wallMs, workload.records)}`,
  };
}

function computeRows(result: ComputeBenchResult): ResultRow[] {
  const section = '1 compute';
  const { plain, production } = result;
  const sources = result.productionSources ?? production;
  const total = production.medianMs;
  // The stages are timed over the sources: their shares are of the sources' pass.
  const cpuTotal = median(sources.runs.cpuMs);
  const runs = production.runs.wallMs.length;
  const best = (figures: ComputeBenchResult['plain']) =>
    Math.round(result.records / (Math.min(...figures.runs.wallMs) / 1000)).toLocaleString('en-US');
  const rows: ResultRow[] = [
    {
      section,
      metric: `handler, production config, in-memory store, real ONNX${result.productionBundled ? `, esbuild bundle, ${BUNDLED_HANDLER_PROCESSES} processes` : ''} (median of ${runs}, wall)`,
      value: production.eventsPerSecond,
      unit: 'events/s',
      target: { comparison: '>=', value: TARGETS.computeEventsPerSecond },
      note: `fingerprint key, tombstone check, built-in audiences, merges, traits, risk; ${result.records} records in ${result.batches} batches, ${ms(total)} ms; ${medianInterval(production.runs.wallMs, result.records)}; best run ${best(production)} events/s`,
    },
    {
      section,
      metric: 'handler, production config, per second of process CPU time (median)',
      value: production.eventsPerCpuSecond,
      unit: 'events/s',
      note: 'less sensitive to other load on the machine (GC helper threads count too)',
    },
    ...(result.productionSources === undefined
      ? []
      : [
          {
            section,
            metric: `handler, production config, TypeScript sources under tsx (median of ${result.productionSources.runs.wallMs.length}, wall)`,
            value: result.productionSources.eventsPerSecond,
            unit: 'events/s',
            note: `per CPU-second ${Math.round(result.productionSources.eventsPerCpuSecond).toLocaleString('en-US')}; what reports before the bundle measured (the stages below run from the sources)`,
          },
        ]),
    {
      section,
      metric: `handler as earlier reports ran it (no key, no audience set; median of ${plain.runs.wallMs.length}, wall)`,
      value: plain.eventsPerSecond,
      unit: 'events/s',
      note: `per CPU-second ${Math.round(plain.eventsPerCpuSecond).toLocaleString('en-US')}; best run ${best(plain)} events/s`,
    },
  ];
  for (const stage of result.stages) {
    rows.push({
      section,
      metric: `  ${stage.stage}`,
      value: stage.msPerThousandRecords,
      unit: 'CPU ms/1k rec',
      note: stageNote(stage, cpuTotal),
    });
  }
  rows.push(
    {
      section,
      metric: '  other (async plumbing, GC, the handler itself)',
      value: (result.unaccountedMs / result.records) * 1000,
      unit: 'CPU ms/1k rec',
      note: `${((result.unaccountedMs / cpuTotal) * 100).toFixed(1)}% of the production handler's CPU time (its median minus the stages above)`,
    },
    {
      section,
      metric: 'inference per batch, median (p99)',
      value: result.inferencePerBatchMs.median,
      unit: 'ms',
      note: `p99 ${ms(result.inferencePerBatchMs.p99)} ms, max ${ms(result.inferencePerBatchMs.max)} ms, median ${result.inferencePerBatchMs.rowsMedian} rows/batch`,
    },
  );
  return rows;
}

function stageNote(stage: StageTiming, handlerCpuMs: number): string {
  const share = `${((stage.medianMs / handlerCpuMs) * 100).toFixed(1)}% of handler CPU`;
  if (stage.stage.startsWith('DynamoDB adapter')) return 'real path only (not in the handler figure above)';
  if (stage.stage.includes('util-dynamodb')) return 'what the adapter row above replaced, for comparison';
  return stage.inHandlerPath ? share : `${share}, inside the stage above`;
}

function stackRows(subsetReal: StackRun[], subsetBaseline: StackRun[], full: StackRun): ResultRow[] {
  const section = '2 emulators';
  const n = subsetReal[0]!.records;
  const realEps = median(subsetReal.map((r) => r.eventsPerSecond));
  const baselineEps = median(subsetBaseline.map((r) => r.eventsPerSecond));
  const realRequests = median(subsetReal.map((r) => r.dynamodbRequestsPerEvent));
  const baselineRequests = median(subsetBaseline.map((r) => r.dynamodbRequestsPerEvent));
  const throughputGain = realEps / baselineEps;
  const requestReduction = baselineRequests / realRequests;
  const passes = (runs: StackRun[]) =>
    `median of ${runs.length}: ${runs.map((r) => Math.round(r.eventsPerSecond)).join(', ')} events/s`;
  return [
    {
      section,
      metric: `first ${n} rec: per-event BASELINE throughput`,
      value: baselineEps,
      unit: 'events/s',
      note: passes(subsetBaseline),
    },
    {
      section,
      metric: `first ${n} rec: real path throughput`,
      value: realEps,
      unit: 'events/s',
      ratio: `${throughputGain.toFixed(1)}× baseline`,
      note: passes(subsetReal),
    },
    {
      section,
      metric: `first ${n} rec: throughput gain over baseline`,
      value: throughputGain,
      unit: '×',
      target: { comparison: '>=', value: TARGETS.throughputGain },
    },
    {
      section,
      metric: `first ${n} rec: BASELINE DynamoDB requests/event`,
      value: baselineRequests,
      unit: 'req/event',
      note: describeCommands(subsetBaseline[0]!),
    },
    {
      section,
      metric: `first ${n} rec: real path DynamoDB requests/event`,
      value: realRequests,
      unit: 'req/event',
      ratio: `${requestReduction.toFixed(1)}× fewer than baseline`,
      note: describeCommands(subsetReal[0]!),
    },
    {
      section,
      metric: `first ${n} rec: request reduction vs baseline`,
      value: requestReduction,
      unit: '×',
      target: { comparison: '>=', value: TARGETS.requestReduction },
    },
    {
      section,
      metric: `full workload (${full.records} rec): real path throughput`,
      value: full.eventsPerSecond,
      unit: 'events/s',
      ratio: `${(full.eventsPerSecond / baselineEps).toFixed(1)}× subset baseline`,
      note: `${ms(full.wallMs)} ms, ${full.batchItemFailures} failed records, ${full.profilesStored} profiles stored`,
    },
    {
      section,
      metric: `full workload: real path DynamoDB requests/event`,
      value: full.dynamodbRequestsPerEvent,
      unit: 'req/event',
      target: { comparison: '<=', value: TARGETS.dynamodbRequestsPerEvent },
      ratio: `${(baselineRequests / full.dynamodbRequestsPerEvent).toFixed(1)}× fewer than baseline`,
      note: `${describeCommands(full)}; S3 ${full.s3.total} req (quarantine)`,
    },
  ];
}

function describeCommands(run: StackRun): string {
  return Object.entries(run.dynamodb.byCommand)
    .map(([command, count]) => `${command.replace(/Command$/, '')} ${count}`)
    .join(', ');
}

/** Attributes listed one by one in the breakdown; the rest are summed in one row. */
const LISTED_ATTRIBUTES = 16;

/** The per-attribute breakdown of part 3: median cost, p99 cost, and the mean in the largest items. */
function attributeRows(result: ItemSizeResult): ResultRow[] {
  const section = '3 item size';
  const listed = result.attributes.slice(0, LISTED_ATTRIBUTES);
  const rest = result.attributes.slice(LISTED_ATTRIBUTES);
  const largest = result.attributes.reduce((sum, a) => sum + a.meanInLargest, 0);
  const share = (bytes: number) => `${((100 * bytes) / largest).toFixed(1)} %`;
  const round = (bytes: number) => Math.round(bytes * 10) / 10;
  const rows: ResultRow[] = listed.map((a) => ({
    section,
    metric: `  ${a.attribute} (p50 item / p99 / max, bytes of name + value)`,
    value: a.p50,
    unit: 'B',
    note:
      `p99 ${a.p99}, max ${a.max}; in the items ≥ p99 size ${round(a.meanInLargest)} B on average (${share(a.meanInLargest)}); ` +
      `in ${a.present} of ${result.profiles}`,
  }));
  const restInLargest = rest.reduce((sum, a) => sum + a.meanInLargest, 0);
  rows.push({
    section,
    metric: `  ${rest.length} other attributes (mean)`,
    value: round(rest.reduce((sum, a) => sum + a.mean, 0)),
    unit: 'B',
    note: `in the items ≥ p99 size ${round(restInLargest)} B on average (${share(restInLargest)}): ${rest.map((a) => a.attribute).join(', ')}`,
  });
  return rows;
}

function sizeRows(result: ItemSizeResult): ResultRow[] {
  const section = '3 item size';
  const { sample } = result;
  return [
    {
      section,
      metric: `profile item p50 (${result.profiles} profiles, every model output and fingerprint filled)`,
      value: result.p50,
      unit: 'B',
      note: `as written by the bench model (purchase head only): p50 ${result.asWritten.p50} / p99 ${result.asWritten.p99} / max ${result.asWritten.max} B`,
    },
    {
      section,
      metric: 'profile item p99',
      value: result.p99,
      unit: 'B',
      target: { comparison: '<=', value: TARGETS.itemBytesP99 },
      note: `the frozen v5 codec (decays in act) on the same items: p50 ${result.v5.p50} / p99 ${result.v5.p99} / max ${result.v5.max} B, ${result.v5.over1KiB} over 1 KiB`,
    },
    {
      section,
      metric: 'profile item max',
      value: result.max,
      unit: 'B',
      target: { comparison: '<=', value: TARGETS.itemBytesMax },
      note: `${result.over1KiB} items over 1 KiB; ${result.reasonsTrimmed} kept fewer reasons to stay within 1 KiB`,
    },
    ...attributeRows(result),
    {
      section,
      metric: `item codec CPU per item, encode / decode (median of ${result.codec.runs} alternating passes)`,
      value: result.codec.current.encodeMicros,
      unit: 'µs',
      note: `decode ${result.codec.current.decodeMicros} µs; the frozen v4 codec (47d5c06) on the same ${result.codec.items} items: encode ${result.codec.v4.encodeMicros} / decode ${result.codec.v4.decodeMicros} µs`,
    },
    {
      section,
      metric: 'cross-check on dynalite (sample)',
      value: sample.items,
      unit: 'items',
      note:
        `dynalite itemSize = estimate for ${sample.sizeMatches}/${sample.items} (dynalite − estimate: ${sample.sizeDifference.min}…${sample.sizeDifference.max} B); ` +
        `ConsumedCapacity returned for ${sample.consumedCapacityReported}/${sample.items}, ` +
        `WCU = ceil(estimate/1024) for ${sample.writeUnitsMatch}, max ${sample.writeUnitsMax} WCU`,
    },
  ];
}

async function main(): Promise<void> {
  const options = program.parse().opts<BenchOptions>();
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const machine = machineInfo();
  const code = codeState();
  console.log(
    `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.totalMemoryMiB} MiB, node ${machine.node}, ` +
      `${machine.platform}, load average (1 min) ${machine.loadAverage1m}`,
  );
  console.log(`code: ${code.commit}, ${code.modifiedTrackedFiles} tracked files modified`);

  const source = defaultWorkloadRecords(Date.now());
  const workload = buildBenchWorkload(source);
  const subset = buildBenchWorkload(source, Math.min(options.subset, source.records.length));
  console.log(
    `[${elapsed()}] workload: ${source.generatedEvents} events → ${workload.records} records ` +
      `(${source.manifest.duplicatedEventIds.length} duplicates, ${source.manifest.reorderedEventIds.length / 2} swaps, ` +
      `${source.manifest.malformed.length} malformed), ${SHARD_COUNT} shards, batches of ${BATCH_SIZE}: ` +
      `${workload.interleaved.length} batches`,
  );
  const model = benchModel();

  const rows: ResultRow[] = [];
  const report: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    machine,
    code,
    options,
    workload: {
      generatedEvents: source.generatedEvents,
      records: workload.records,
      duplicates: source.manifest.duplicatedEventIds.length,
      malformed: source.manifest.malformed.length,
      shards: SHARD_COUNT,
      batchSize: BATCH_SIZE,
      batches: workload.interleaved.length,
      subsetRecords: subset.records,
    },
    targets: TARGETS,
  };

  let compute: ComputeBenchResult | undefined;
  if (options.compute) {
    console.log(`[${elapsed()}] part 1: handler compute in memory (warm-up, then ${options.runs} runs)…`);
    const scorer = await InMemoryOnnxScorer.create(model);
    // The target's figure is of the handler as Lambda runs it: the stack's esbuild bundle.
    const bundled = (runs: number, warmups: number) =>
      timeBundledHandler(workload.interleaved, model, runs, warmups);
    compute = await runComputeBench(workload.interleaved, scorer, { runs: options.runs, bundled });
    const { profileItems: _items, ...figures } = compute;
    report.compute = figures;
    rows.push(...computeRows(compute));
    // The baseline of the batch-size default, in the same run: the same records in Lambda's own batches.
    console.log(`[${elapsed()}] part 1a: the same bundle over batches of ${LAMBDA_DEFAULT_BATCH_SIZE}…`);
    const smallBatches = buildBenchWorkload(source, undefined, LAMBDA_DEFAULT_BATCH_SIZE);
    const atLambdaDefault = figuresOf(
      await timeBundledHandler(smallBatches.interleaved, model, options.runs, COMPUTE_WARMUPS),
      smallBatches.records,
    );
    report.computeAtLambdaDefaultBatchSize = atLambdaDefault;
    rows.push(batchSizeBaselineRow(atLambdaDefault, smallBatches, compute));
    console.log(`[${elapsed()}] part 1b: the erasure (tombstone) check, with and without, alternating…`);
    const tombstones = await runTombstoneBench(workload.interleaved, scorer, options.runs);
    report.tombstones = tombstones;
    rows.push({
      section: '1 compute',
      metric: `tombstone check per event (median of ${options.runs} alternating pairs)`,
      value: tombstones.checkMicrosPerEvent,
      unit: 'µs/event',
      note: `${ms(tombstones.withoutCheckMs)} → ${ms(tombstones.withCheckMs)} ms over ${tombstones.events} records, ${tombstones.erasedProfiles} tombstones (all lookups miss); BatchGetItem per event ${tombstones.batchGetsPerEvent.without.toFixed(3)} → ${tombstones.batchGetsPerEvent.with.toFixed(3)}`,
    });
    report.merges = await runMergeBench(workload.interleaved, { runs: options.runs, nowMs: Date.now() });
    rows.push(...mergeRows(report.merges as Awaited<ReturnType<typeof runMergeBench>>));
    console.log(`[${elapsed()}] part 5: the activation feed and the members index (built-in audiences)…`);
    const activation = await runActivationBench(workload.interleaved, scorer);
    report.activation = activation;
    rows.push(...activationRows(activation));
  }

  let cloud: LocalCloud | undefined;
  let costTable: string | undefined;
  try {
    if (options.stack || compute !== undefined) {
      cloud = await startLocalCloud();
      await cloud.createBucket(BENCH_BUCKETS.models);
      await cloud.createBucket(BENCH_BUCKETS.quarantine);
      await publishBenchModel(cloud.clients.s3, BENCH_BUCKETS.models, model);
    }
    if (options.stack && cloud !== undefined) {
      console.log(`[${elapsed()}] part 2: real path and per-event baseline on dynalite + s3rver…`);
      // One small untimed pass of each first, so neither timed pass pays for cold code paths.
      const warmUp = buildBenchWorkload(source, 400);
      await runRealPath(cloud, 'warm-up real path', warmUp);
      await runBaseline(cloud, 'warm-up baseline', warmUp);
      const subsetReal: StackRun[] = [];
      const subsetBaseline: StackRun[] = [];
      for (let pass = 1; pass <= options.pairs; pass++) {
        subsetReal.push(await runRealPath(cloud, 'real path, subset', subset));
        subsetBaseline.push(await runBaseline(cloud, 'per-event baseline, subset', subset));
        console.log(
          `[${elapsed()}]   pass ${pass}/${options.pairs} on the first ${subset.records} records done`,
        );
      }
      const full = await runRealPath(cloud, 'real path, full workload', workload);
      console.log(`[${elapsed()}]   real path on the full workload done`);
      report.stack = { subsetReal, subsetBaseline, full };
      rows.push(...stackRows(subsetReal, subsetBaseline, full));
      // Part 4: the measured usage in dollars (the default workload spans its generator's 7 days).
      const { usage, durationSource } = measuredUsage(
        full,
        source.records,
        source.manifest.malformed.length,
        workload.interleaved.length,
        SHARD_COUNT,
        compute,
      );
      const cost = costReport(usage, archivedBytesPerEvent(source.records), workload.records / (7 * 86_400));
      report.cost = {
        usage,
        durationSource,
        settings: cost.settings,
        breakdowns: cost.breakdowns,
        prices: cost.prices,
      };
      rows.push(...costTargetRows(cost.breakdowns, cost.labels));
      const duration =
        durationSource === 'cpu'
          ? `ingest duration from part 1's CPU time: ${usage.ingestDuration.cpuMsPerRecord.toFixed(3)} ms per record at one vCPU + ${usage.ingestDuration.waitMsPerInvocation.toFixed(1)} ms of assumed service latency per invocation`
          : `ingest duration from part 2's wall time (run with part 1 for the CPU-based estimate): ${usage.ingestDuration.waitMsPerInvocation.toFixed(1)} ms per invocation`;
      costTable =
        `Dollars per million events (${cost.prices.region} list prices of ${cost.prices.retrievedOn}, test/bench/aws-list-prices.ts; stack: ${cost.settings}).\n` +
        `Measured: ${usage.dynamodbWritesPerEvent.toFixed(3)} writes and ${usage.dynamodbReadUnitsPerEvent.toFixed(3)} read units per event, ` +
        `${full.s3.total} quarantine PUTs in ${workload.interleaved.length} batches; ${duration}.\n${cost.table}`;
    }
    if (compute !== undefined && cloud !== undefined) {
      console.log(`[${elapsed()}] part 3: profile item sizes…`);
      const tableName = await createProfilesTable(cloud, 'size');
      const sizes = await runItemSizeBench(compute.profileItems, cloud.clients.dynamodb, tableName);
      report.itemSize = sizes;
      rows.push(...sizeRows(sizes));
    }
    if (compute !== undefined) {
      console.log(`[${elapsed()}] part 4: traits and audience evaluation per profile…`);
      const audiences = runAudienceBench(compute.profileItems, options.runs);
      report.audiences = audiences;
      rows.push(...audienceRows(audiences));
    }
  } finally {
    await cloud?.stop();
  }

  report.durationSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
  report.loadAverage1mAtEnd = Number(machineInfo().loadAverage1m);
  report.results = rows.map((row) => ({ ...row, status: statusOf(row) }));
  console.log(`\n${formatTable(rows)}\n`);
  if (costTable !== undefined) console.log(`${costTable}\n`);
  const missed = rows.filter((row) => statusOf(row) === 'MISS').map((row) => row.metric.trim());
  console.log(missed.length === 0 ? 'all targets met' : `targets missed: ${missed.join('; ')}`);
  console.log(`load average (1 min) at the end: ${report.loadAverage1mAtEnd}; total ${elapsed()}`);
  console.log(`report: ${path.relative(REPO_ROOT, writeJsonReport(REPO_ROOT, report))}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
