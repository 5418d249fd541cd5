/**
 * `npx tsx test/bench/bundle-ab.ts --base <dir> [--pairs 6]`: the production-config handler of two
 * source trees (`--base`, e.g. `git archive <commit> | tar -x -C <dir>` with `node_modules` linked, and
 * this one) as Lambda runs them — each tree's bench entry built with this tree's stack bundling
 * options and scored by the bench model its own exporter writes — timed in alternating fresh node
 * processes over the same Kinesis events. Prints each process's events per second (wall and per
 * CPU-second), the medians and the paired ratios (this / base; above 1 is faster).
 *
 * Complements `handler-ab.ts`, which proves both trees write the same (from the sources, in one process,
 * with one scorer for both) but cannot see an exporter's change, and whose shared heap weighs on both.
 */
// Must stay the first import: it configures the telemetry the handler modules create when they load.
import './bench-env';
import { Command } from 'commander';
import os from 'node:os';
import path from 'node:path';
import { median, positiveIntOption } from './bench-report';
import { buildBenchWorkload, defaultWorkloadRecords } from './bench-workload';
import {
  prepareBundledHandler,
  removeBundledHandler,
  runBundledHandler,
  type BundledHandler,
} from './bundled-handler';
import type { ServedModel } from '../../shared/model/served-model';

const THIS_TREE = path.resolve(__dirname, '../..');
/** Timed passes per process after its warm-ups, as the bench's own bundled row runs them. */
const RUNS = 5;
const WARMUPS = 2;

async function main(): Promise<void> {
  const options = new Command()
    .requiredOption('--base <dir>', 'the other source tree (its node_modules resolvable)')
    .option('--pairs <n>', 'alternating pairs of processes', positiveIntOption, 6)
    .parse()
    .opts<{ base: string; pairs: number }>();
  const events = buildBenchWorkload(defaultWorkloadRecords(Date.UTC(2026, 11, 1))).interleaved;
  const records = events.reduce((sum, event) => sum + event.Records.length, 0);
  const trees = [
    { name: 'base', root: path.resolve(options.base) },
    { name: 'this', root: THIS_TREE },
  ];
  const prepared: BundledHandler[] = [];
  for (const tree of trees) {
    const { benchModel } = (await import(path.join(tree.root, 'test/bench/bench-model.ts'))) as {
      benchModel: () => ServedModel;
    };
    prepared.push(await prepareBundledHandler(tree.root, tree.name, events, benchModel()));
  }

  const perSecond = trees.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  const loads: number[] = [];
  process.on('exit', () => prepared.forEach(removeBundledHandler));
  for (let pair = 0; pair < options.pairs; pair++) {
    for (const index of pair % 2 === 0 ? [0, 1] : [1, 0]) {
      const times = await runBundledHandler(prepared[index]!, RUNS, WARMUPS);
      perSecond[index]!.wall.push(records / (median(times.wallMs) / 1000));
      perSecond[index]!.cpu.push(records / (median(times.cpuMs) / 1000));
      console.log(
        `${trees[index]!.name}: ${Math.round(perSecond[index]!.wall.at(-1)!)} events/s wall, ` +
          `${Math.round(perSecond[index]!.cpu.at(-1)!)} per CPU-second`,
      );
    }
    loads.push(os.loadavg()[0]!);
  }
  trees.forEach((tree, index) => {
    const { wall, cpu } = perSecond[index]!;
    console.log(
      `${tree.name}: median ${Math.round(median(wall))} events/s wall, ${Math.round(median(cpu))} per CPU-second (${wall.length} processes of ${RUNS} runs)`,
    );
  });
  const ratios = (of: 'wall' | 'cpu') => perSecond[1]![of].map((value, i) => value / perSecond[0]![of][i]!);
  const describe = (values: number[]) =>
    `median ${median(values).toFixed(3)} (${values.map((v) => v.toFixed(2)).join(' ')})`;
  console.log(`paired ratio this / base, per CPU-second: ${describe(ratios('cpu'))}`);
  console.log(`paired ratio this / base, wall: ${describe(ratios('wall'))}`);
  console.log(`load average (1 min) after each pair: ${loads.map((l) => l.toFixed(2)).join(' ')}`);
}

void main();
