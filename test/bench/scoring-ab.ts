/**
 * `npx tsx test/bench/scoring-ab.ts --base <dir>`: the scoring step of ingest (`ProfileScorer.score`:
 * one onnxruntime run per batch plus the output checks) of two source trees, each with the bench model
 * ITS exporter writes (`benchModel()` of `test/bench/bench-model.ts`). One production-config handler
 * pass of this tree over the bench workload records every feature matrix it scores (≈ 16 rows per
 * batch); both trees' scorers then replay exactly those calls in alternating rounds in this one
 * process, so a noisy machine weighs on both alike. Prints CPU ms per 1,000 records (medians) and the
 * paired ratio; `--evict-mb 1` sweeps 1 MB before each call, so the runs start cache-cold as they do in
 * the handler (there they cost 2–3× more). `--base` as for `handler-ab.ts` (e.g. `git archive <commit> | tar -x -C <dir>` with
 * `node_modules` linked). Not part of `npm run bench`.
 */
// Must stay the first import: it configures the telemetry the handler modules create when they load.
import './bench-env';
import { Command } from 'commander';
import os from 'node:os';
import path from 'node:path';
import { createIngestHandler } from '../../functions/ingest/ingest-handler';
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { compileAudienceSet } from '../../shared/audiences/audience-evaluation';
import { TombstoneKeys } from '../../shared/erasure/tombstones';
import type { ProfileScorer } from '../../shared/ingest/ingest-ports';
import { createKeyedHasher } from '../../shared/privacy/keyed-hash';
import { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
import { benchModel, InMemoryOnnxScorer } from './bench-model';
import { median, positiveIntOption } from './bench-report';
import { buildBenchWorkload, defaultWorkloadRecords } from './bench-workload';

/** Bench data only, not a secret. */
const KEY = Buffer.alloc(32, 7);

/** One `score` call as the handler made it. */
type ScoreCall = [features: Float32Array, rows: number, width: number];

/** Every call the production-config handler makes to its scorer over `events`, with copied features. */
async function recordedCalls(
  events: ReturnType<typeof buildBenchWorkload>['interleaved'],
  scorer: ProfileScorer,
): Promise<ScoreCall[]> {
  const calls: ScoreCall[] = [];
  const recorder: ProfileScorer = {
    score: (features, rows, width) => {
      calls.push([features.slice(), rows, width]);
      return scorer.score(features, rows, width);
    },
  };
  const privacy = { hasher: createKeyedHasher(KEY), pseudonymiseIds: false };
  const tombstones = new TombstoneKeys(KEY);
  const audiences = compileAudienceSet(BUILT_IN_AUDIENCES, 'built-in');
  const handler = createIngestHandler({
    profiles: new InMemoryProfileStore(),
    quarantine: new InMemoryQuarantine(),
    scorer: recorder,
    privacy: async () => privacy,
    tombstones: async () => tombstones,
    audiences: { current: async () => audiences },
  });
  for (const event of events) await handler(event);
  return calls;
}

/**
 * CPU ms spent in `scorer.score` replaying `calls`. With `evict` (a buffer), every call is preceded by
 * a sweep over it, untimed: in the handler the decoding, folding and encoding between two batches
 * evict onnxruntime's working set from the caches, and back-to-back calls would hide that.
 */
async function replay(
  scorer: ProfileScorer,
  calls: readonly ScoreCall[],
  evict: Float64Array | undefined,
): Promise<number> {
  let micros = 0;
  for (const [features, rows, width] of calls) {
    // One write per 64-byte line is enough to take the line.
    if (evict !== undefined) for (let i = 0; i < evict.length; i += 8) evict[i]! += 1;
    const cpu = process.cpuUsage();
    await scorer.score(features, rows, width);
    const used = process.cpuUsage(cpu);
    micros += used.user + used.system;
  }
  return micros / 1000;
}

async function main(): Promise<void> {
  const options = new Command()
    .requiredOption('--base <dir>', 'the other source tree (its node_modules resolvable)')
    .option('--rounds <n>', 'timed rounds per tree', positiveIntOption, 11)
    .option(
      '--evict-mb <n>',
      'sweep this many MB before every call (cold caches, as in the handler)',
      Number,
      0,
    )
    .parse()
    .opts<{ base: string; rounds: number; evictMb: number }>();
  const evict =
    options.evictMb > 0 ? new Float64Array(Math.ceil((options.evictMb * 1024 * 1024) / 8)) : undefined;
  const base: typeof import('./bench-model') = await import(
    path.join(path.resolve(options.base), 'test/bench/bench-model.ts')
  );
  const scorers = [
    { name: 'base', scorer: await base.InMemoryOnnxScorer.create(base.benchModel()) },
    { name: 'this', scorer: await InMemoryOnnxScorer.create(benchModel()) },
  ];
  const events = buildBenchWorkload(defaultWorkloadRecords(Date.UTC(2026, 11, 1))).interleaved;
  const records = events.reduce((sum, event) => sum + event.Records.length, 0);
  const calls = await recordedCalls(events, scorers[1]!.scorer);
  const rows = calls.reduce((sum, [, r]) => sum + r, 0);
  console.log(
    `${calls.length} scorer calls, ${rows} rows (${(rows / calls.length).toFixed(1)} per call), ${records} records`,
  );

  for (let warm = 0; warm < 3; warm++) for (const { scorer } of scorers) await replay(scorer, calls, evict);
  const samples = scorers.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    // Alternate which tree goes first, so neither always runs on the other's garbage.
    for (const index of round % 2 === 0 ? [0, 1] : [1, 0]) {
      samples[index]!.push(((await replay(scorers[index]!.scorer, calls, evict)) / records) * 1000);
    }
  }
  scorers.forEach(({ name }, index) => {
    const perThousand = samples[index]!;
    console.log(
      `${name}: scoring ${median(perThousand).toFixed(3)} CPU ms per 1k records ` +
        `(median of ${perThousand.length}: ${perThousand.map((v) => v.toFixed(2)).join(' ')})`,
    );
  });
  const ratios = samples[1]!.map((v, i) => v / samples[0]![i]!);
  console.log(`paired CPU ratio this/base, median: ${median(ratios).toFixed(3)}`);
  console.log(
    `load average: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

void main();
