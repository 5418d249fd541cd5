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
