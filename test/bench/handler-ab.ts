/**
 * `npx tsx test/bench/handler-ab.ts --base <dir>`: the production-config ingest handler of two source
 * trees (`--base`, e.g. `git archive <commit> | tar -x -C <dir>` with `node_modules` linked, and this
 * one) loaded side by side in one process, over the same Kinesis events of the bench workload. First
 * checks that both write the same (a SHA-256 of the use case's results and stats but the inference
 * timing, the stored items, the quarantine records and the request counts; and of the handler's
 * responses, items and quarantine), then alternates full passes, so a noisy machine weighs on both
 * alike, and prints medians of CPU time per record and of GC pauses.
 */
// Must stay the first import: it configures the telemetry the handler modules create when they load.
import './bench-env';
import { Command } from 'commander';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { median, positiveIntOption } from './bench-report';
import { benchModel, InMemoryOnnxScorer } from './bench-model';
import { buildBenchWorkload, defaultWorkloadRecords } from './bench-workload';
import type { ProfileScorer } from '../../shared/ingest/ingest-ports';

const THIS_TREE = path.resolve(__dirname, '../..');
/** A fixed processing time: both trees stamp the same `writtenAt` and `scoredAt`. */
const NOW_MS = Date.UTC(2026, 11, 1);
/** One fingerprint and tombstone key for both trees (not a secret: bench data only). */
const KEY = Buffer.alloc(32, 7);

/** The modules of one tree the comparison runs. */
interface Tree {
  name: string;
  handler: typeof import('../../functions/ingest/ingest-handler');
  ingest: typeof import('../../shared/ingest/ingest-batch');
  kinesis: typeof import('../../functions/commons/kinesis-event');
  adapters: typeof import('../support/in-memory-adapters');
  keyedHash: typeof import('../../shared/privacy/keyed-hash');
  tombstones: typeof import('../../shared/erasure/tombstones');
  evaluation: typeof import('../../shared/audiences/audience-evaluation');
  definitions: typeof import('../../shared/audiences/audience-definition');
}

async function loadTree(name: string, root: string): Promise<Tree> {
  const load = (file: string) => import(path.join(root, file));
  return {
    name,
    handler: await load('functions/ingest/ingest-handler.ts'),
    ingest: await load('shared/ingest/ingest-batch.ts'),
    kinesis: await load('functions/commons/kinesis-event.ts'),
    adapters: await load('test/support/in-memory-adapters.ts'),
    keyedHash: await load('shared/privacy/keyed-hash.ts'),
    tombstones: await load('shared/erasure/tombstones.ts'),
    evaluation: await load('shared/audiences/audience-evaluation.ts'),
    definitions: await load('shared/audiences/audience-definition.ts'),
  };
}

/** The production configuration, built from the tree's own modules. */
function productionDeps(tree: Tree) {
  const privacy = { hasher: tree.keyedHash.createKeyedHasher(KEY), pseudonymiseIds: false };
  const tombstones = new tree.tombstones.TombstoneKeys(KEY);
  const audiences = tree.evaluation.compileAudienceSet(tree.definitions.BUILT_IN_AUDIENCES, 'built-in');
  return { privacy, tombstones, audiences: { current: async () => audiences } };
}

// The inference time is a measurement, not an output; bytes are compared as base64.
const comparable = (key: string, value: unknown) =>
  key === 'inferenceMs'
    ? undefined
    : value instanceof Uint8Array
      ? { bytes: Buffer.from(value).toString('base64') }
      : value;
const digestOf = (...values: unknown[]) => {
  const hash = createHash('sha256');
  for (const value of values) hash.update(JSON.stringify(value, comparable));
  return hash.digest('hex').slice(0, 16);
};

/** What a tree writes for the workload: through the use case, and through the handler. */
async function outputsOf(tree: Tree, events: readonly KinesisStreamEvent[], scorer: ProfileScorer) {
  const deps = productionDeps(tree);
  const profiles = new tree.adapters.InMemoryProfileStore();
  const quarantine = new tree.adapters.InMemoryQuarantine();
  const results = [];
  for (const event of events) {
    const records = tree.kinesis.toIngestRecords(event);
    results.push(
      await tree.ingest.ingestBatch(records, { ...deps, profiles, quarantine, scorer, now: () => NOW_MS }),
    );
  }
  const handlerProfiles = new tree.adapters.InMemoryProfileStore();
  const handlerQuarantine = new tree.adapters.InMemoryQuarantine();
  const handler = tree.handler.createIngestHandler({
    profiles: handlerProfiles,
    quarantine: handlerQuarantine,
    scorer,
    now: () => NOW_MS,
    privacy: async () => deps.privacy,
    tombstones: async () => deps.tombstones,
    audiences: deps.audiences,
  });
  const responses = [];
  for (const event of events) responses.push(await handler(event));
  return {
    useCase: digestOf(results, [...profiles.items.entries()], quarantine.records, profiles.requests),
    handler: digestOf(responses, [...handlerProfiles.items.entries()], handlerQuarantine.records),
    items: profiles.items.size,
    quarantined: quarantine.records.length,
  };
}

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

/** One production-config handler pass over every batch, on a fresh store. */
async function timedPass(tree: Tree, events: readonly KinesisStreamEvent[], scorer: ProfileScorer) {
  const deps = productionDeps(tree);
  const handler = tree.handler.createIngestHandler({
    profiles: new tree.adapters.InMemoryProfileStore(),
    quarantine: new tree.adapters.InMemoryQuarantine(),
    scorer,
    privacy: async () => deps.privacy,
    tombstones: async () => deps.tombstones,
    audiences: deps.audiences,
  });
  const gcBefore = gcMs;
  const cpu = process.cpuUsage();
  for (const event of events) await handler(event);
  const used = process.cpuUsage(cpu);
  // GC entries are delivered asynchronously: let the observer catch up before reading the sum.
  await new Promise((resolve) => setImmediate(resolve));
  return { cpuMs: (used.user + used.system) / 1000, gcMs: gcMs - gcBefore };
}

async function main(): Promise<void> {
  const options = new Command()
    .requiredOption('--base <dir>', 'the other source tree (its node_modules resolvable)')
    .option('--pairs <n>', 'timed pairs of passes', positiveIntOption, 7)
    .parse()
    .opts<{ base: string; pairs: number }>();
  const trees = [await loadTree('base', path.resolve(options.base)), await loadTree('this', THIS_TREE)];
  const events = buildBenchWorkload(defaultWorkloadRecords(NOW_MS)).interleaved;
  const records = events.reduce((sum, event) => sum + event.Records.length, 0);
  const scorer = await InMemoryOnnxScorer.create(benchModel());

  const outputs = [];
  for (const tree of trees) {
    const out = await outputsOf(tree, events, scorer);
    outputs.push(out);
    console.log(
      `${tree.name}: use case ${out.useCase}, handler ${out.handler}, ${out.items} items, ${out.quarantined} quarantined`,
    );
  }
  const same = outputs[0]!.useCase === outputs[1]!.useCase && outputs[0]!.handler === outputs[1]!.handler;
  console.log(same ? 'outputs: IDENTICAL' : 'outputs: DIFFERENT');

  for (const tree of [...trees, ...trees]) await timedPass(tree, events, scorer);
  const samples = trees.map(() => ({ cpuMs: [] as number[], gcMs: [] as number[] }));
  const loads: number[] = [];
  for (let pair = 0; pair < options.pairs; pair++) {
    // Alternate which tree goes first, so neither always runs on the other's garbage.
    for (const index of pair % 2 === 0 ? [0, 1] : [1, 0]) {
      const pass = await timedPass(trees[index]!, events, scorer);
      samples[index]!.cpuMs.push(pass.cpuMs);
      samples[index]!.gcMs.push(pass.gcMs);
    }
    loads.push(os.loadavg()[0]!);
  }
  trees.forEach((tree, index) => {
    const { cpuMs, gcMs: gc } = samples[index]!;
    const perThousand = (ms: number) => ((ms / records) * 1000).toFixed(2);
    console.log(
      `${tree.name}: ${Math.round(records / (median(cpuMs) / 1000))} events per CPU-second, ` +
        `${perThousand(median(cpuMs))} CPU ms per 1k records, GC pauses ${perThousand(median(gc))} ms per 1k ` +
        `(median of ${cpuMs.length}; CPU ms ${cpuMs.map(Math.round).join(' ')})`,
    );
  });
  console.log(`load average (1 min) after each pair: ${loads.map((l) => l.toFixed(2)).join(' ')}`);
  if (!same) process.exitCode = 1;
}

void main();
