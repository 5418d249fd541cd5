/**
 * What the compute benchmark times from the bundle (`bundled-handler.ts`): the ingest handler with the
 * in-memory adapters, the ONNX scorer and the production configuration's parts, all from one esbuild
 * bundle, so none of the hot code runs from the file-by-file TypeScript sources.
 */
export { createIngestHandler } from '../../functions/ingest/ingest-handler';
export { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
export { InMemoryOnnxScorer } from './bench-model';
export { createKeyedHasher } from '../../shared/privacy/keyed-hash';
export { TombstoneKeys } from '../../shared/erasure/tombstones';
export { compileAudienceSet } from '../../shared/audiences/audience-evaluation';
export { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
