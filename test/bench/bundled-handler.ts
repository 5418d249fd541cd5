/**
 * The ingest handler as Lambda runs it: `bundled-handler-entry.ts` built by esbuild with the stack's
 * bundling options (`FUNCTION_BUNDLE`: one minified CommonJS module, target node22) and loaded in this
 * process. Lambda never runs the TypeScript sources file by file; loaded that way (tsx), every import
 * crosses a module boundary and every re-exported binding is a getter, which costs measurably on the
 * hot path (README, "Benchmarks").
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { FUNCTION_BUNDLE } from '../../infra/cdk/constructs/function-bundle';
import { ONNX_RUNTIME_MODULE } from '../../infra/cdk/constructs/onnx-runtime-layer';

/** The modules the bundle exports (the entry's exports, typed from the sources). */
export type HandlerModules = typeof import('./bundled-handler-entry');

const ROOT = path.resolve(__dirname, '../..');

/**
 * Build the bundle into `node_modules/.cache` (inside the tree, so the externals resolve from its
 * `node_modules` as the layer's do in Lambda) and load it.
 */
export async function loadBundledHandler(): Promise<HandlerModules> {
  const outdir = path.join(ROOT, 'node_modules', '.cache', 'profile-stream-bench');
  mkdirSync(outdir, { recursive: true });
  const outfile = path.join(outdir, `bundled-handler-${process.pid}.js`);
  await build({
    entryPoints: [path.join(__dirname, 'bundled-handler-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    minify: FUNCTION_BUNDLE.minify,
    sourcemap: FUNCTION_BUNDLE.sourceMap,
    sourcesContent: FUNCTION_BUNDLE.sourcesContent,
    target: FUNCTION_BUNDLE.target,
    format: FUNCTION_BUNDLE.format,
    // The layer provides onnxruntime-node in Lambda; here it resolves from node_modules.
    external: [ONNX_RUNTIME_MODULE],
    logLevel: 'error',
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS bundle built just now
  return require(outfile) as HandlerModules;
}
