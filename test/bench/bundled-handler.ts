/**
 * The ingest handler as Lambda runs it: `bundled-handler-entry.ts` built by esbuild with the stack's
 * bundling options (`FUNCTION_BUNDLE`: one minified CommonJS module, target node22) and timed in a
 * node process of its own, started with the ingest function's `NODE_OPTIONS`. Lambda never runs the TypeScript sources file by file; loaded that way (tsx),
 * every import crosses a module boundary and every re-exported binding is a getter (README,
 * "Benchmarks").
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { FUNCTION_BUNDLE, INGEST_NODE_OPTIONS } from '../../infra/cdk/constructs/function-bundle';
import type { ServedModel } from '../../shared/model/served-model';
import type { RunTimes } from './bench-report';

const ROOT = path.resolve(__dirname, '../..');
/** Inside the tree, so the bundle's externals resolve from its `node_modules` (as the layer's do in Lambda). */
const OUT_DIR = path.join(ROOT, 'node_modules', '.cache', 'profile-stream-bench');
/** Resolved at run time: the ONNX runtime (the layer in Lambda) and the emulators the workload names. */
const EXTERNAL = ['onnxruntime-node', 'dynalite', 'kinesalite'];

/**
 * Fresh node processes the bundle is timed in, one after the other. Processes started minutes apart
 * on the same code differ by ±10 % here (how the heap and the JIT settle, what else the host runs),
 * more than runs within one process: the figure is the median over the runs of all of them.
 */
export const BUNDLED_HANDLER_PROCESSES = 3;

/** A bundle of one tree's bench entry and the files it reads. */
export interface BundledHandler {
  bundle: string;
  args: string[];
}

/**
 * Build `treeRoot`'s bench entry with this tree's stack options and write the events and `model` beside
 * it (`name` keeps several bundles of one process apart).
 */
export async function prepareBundledHandler(
  treeRoot: string,
  name: string,
  events: readonly KinesisStreamEvent[],
  model: ServedModel,
): Promise<BundledHandler> {
  mkdirSync(OUT_DIR, { recursive: true });
  const file = (suffix: string) => path.join(OUT_DIR, `${process.pid}-${name}-${suffix}`);
  const bundle = file('bundled-handler.js');
  await build({
    entryPoints: [path.join(treeRoot, 'test', 'bench', 'bundled-handler-entry.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    minify: FUNCTION_BUNDLE.minify,
    sourcemap: FUNCTION_BUNDLE.sourceMap,
    sourcesContent: FUNCTION_BUNDLE.sourcesContent,
    target: FUNCTION_BUNDLE.target,
    format: FUNCTION_BUNDLE.format,
    external: EXTERNAL,
    logLevel: 'error',
  });
  writeFileSync(file('events.json'), JSON.stringify(events));
  writeFileSync(file('model.onnx'), model.onnx);
  writeFileSync(file('metadata.json'), JSON.stringify(model.metadata));
  return { bundle, args: [bundle, file('events.json'), file('model.onnx'), file('metadata.json')] };
}

/** Delete a prepared bundle and its inputs (the events alone are tens of MB). */
export function removeBundledHandler(prepared: BundledHandler): void {
  for (const file of [...prepared.args, `${prepared.bundle}.map`]) rmSync(file, { force: true });
}

/** Time `runs` passes (after `warmups`) of a prepared bundle in one fresh node process. */
export async function runBundledHandler(
  prepared: BundledHandler,
  runs: number,
  warmups: number,
): Promise<RunTimes> {
  // The process runs with the ingest function's NODE_OPTIONS, as Lambda starts it.
  const env = { ...process.env, NODE_OPTIONS: INGEST_NODE_OPTIONS };
  const args = [...prepared.args, String(runs), String(warmups)];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 20, env });
  return JSON.parse(stdout) as RunTimes;
}

/**
 * Build this tree's bundle, hand it the events and the model through files, and time `runs` passes
 * (after `warmups`) of the production-config handler in each of `processes` fresh node processes.
 *
 * @returns the runs of every process, in order
 */
export async function timeBundledHandler(
  events: readonly KinesisStreamEvent[],
  model: ServedModel,
  runs: number,
  warmups: number,
  processes = BUNDLED_HANDLER_PROCESSES,
): Promise<RunTimes> {
  const prepared = await prepareBundledHandler(ROOT, 'this', events, model);
  const times: RunTimes = { wallMs: [], cpuMs: [] };
  try {
    for (let p = 0; p < processes; p++) {
      const run = await runBundledHandler(prepared, runs, warmups);
      times.wallMs.push(...run.wallMs);
      times.cpuMs.push(...run.cpuMs);
    }
  } finally {
    removeBundledHandler(prepared);
  }
  return times;
}
