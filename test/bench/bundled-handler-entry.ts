/**
 * The compute benchmark's handler pass as Lambda runs it, in a process of its own: this file is built by
 * esbuild with the stack's bundling options (`bundled-handler.ts`) and run by node. It reads the
 * Kinesis events and the model the parent wrote, times the production-config handler (fingerprint key,
 * tombstone check, built-in audiences) over every batch with the in-memory adapters and a real ONNX
 * session, and prints the run times as JSON on stdout. A process of its own: two copies of the code in
 * one heap slow down whichever runs second (measured: 20–40 % with identical code).
 *
 * Usage: `node <bundle> <events.json> <model.onnx> <metadata.json> <runs> <warmups>`.
 */
// Must stay the first import: it configures the telemetry the handler modules create when they load.
import './bench-env';
import type { KinesisStreamEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createIngestHandler } from '../../functions/ingest/ingest-handler';
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { compileAudienceSet } from '../../shared/audiences/audience-evaluation';
import { TombstoneKeys } from '../../shared/erasure/tombstones';
import { createKeyedHasher } from '../../shared/privacy/keyed-hash';
import { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
import { InMemoryOnnxScorer } from './bench-model';
import { timeRuns } from './bench-report';

async function main(): Promise<void> {
  const [eventsFile, onnxFile, metadataFile, runs, warmups] = process.argv.slice(2);
  const events = JSON.parse(readFileSync(eventsFile!, 'utf8')) as KinesisStreamEvent[];
  const scorer = await InMemoryOnnxScorer.create({
    onnx: new Uint8Array(readFileSync(onnxFile!)),
    metadata: JSON.parse(readFileSync(metadataFile!, 'utf8')),
  });
  const key = randomBytes(32);
  const privacy = { hasher: createKeyedHasher(key), pseudonymiseIds: false };
  const tombstones = new TombstoneKeys(key);
  const audiences = compileAudienceSet(BUILT_IN_AUDIENCES, 'built-in');
  const times = await timeRuns(Number(runs), Number(warmups), async () => {
    const handler = createIngestHandler({
      profiles: new InMemoryProfileStore(),
      quarantine: new InMemoryQuarantine(),
      scorer,
      privacy: async () => privacy,
      tombstones: async () => tombstones,
      audiences: { current: async () => audiences },
    });
    for (const event of events) {
      const { batchItemFailures } = await handler(event);
      if (batchItemFailures.length > 0)
        throw new Error(`in-memory batch reported ${batchItemFailures.length} failures`);
    }
  });
  process.stdout.write(JSON.stringify(times));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
