/**
 * How every function is bundled for Lambda (esbuild through `NodejsFunction`), in one place: the stack
 * uses it, and the compute benchmark builds the ingest handler with the same options, so the figure it
 * reports is of the code Lambda runs (minified, one module, target node22), not of the TypeScript
 * sources loaded file by file (README, "Benchmarks").
 */
export const FUNCTION_BUNDLE = {
  minify: true,
  sourceMap: true,
  // Stack traces map back to files; the sources themselves need not ship.
  sourcesContent: false,
  /** esbuild target: the Lambda runtime's Node.js (nodejs22.x). */
  target: 'node22',
  format: 'cjs',
} as const;

/** `NODE_OPTIONS` of every function: stack traces through the bundle's source map. */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps';

/**
 * `NODE_OPTIONS` of the ingest function: the above, and semi-spaces of up to 64 MB instead of V8's 16.
 * A batch of 500 records keeps its parsed events, profile states and items alive until its writes land;
 * in 16 MB semi-spaces every scavenge copies that working set again. Measured over the bench workload:
 * 83 → 30 scavenges over six passes and −5.2 % instructions per pass (cachegrind; README, "Benchmarks"), for a young
 * generation of at most 192 MB of the function's 1,024.
 */
export const INGEST_NODE_OPTIONS = `${FUNCTION_NODE_OPTIONS} --max-semi-space-size=64`;
