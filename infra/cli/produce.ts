/**
 * `npm run produce -- <file> --stream <name>`: publish a file of events to a Kinesis stream, as an
 * upstream shop would. NDJSON of contract events or the Taobao CSV; every event is checked against
 * the contract before it is sent, and the summary says what was sent, refused and lost.
 */
import { existsSync } from 'node:fs';

import { Command, InvalidArgumentError, Option } from 'commander';

import { createProducerKinesisClient, EventProducer } from '../client/event-producer';
import type { EventInput } from '../../shared/contract/event-contract';
import { EVENT_FILE_FORMATS, type EventFileFormat, readEventFile } from '../workload/event-files';

// Lambda runs nodejs22.x; the SDK's notice about Node 20 is noise for an operator's CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Events handed to the producer at once: enough for full PutRecords calls, little memory. */
const CHUNK_EVENTS = 2_000;
/** How many refused lines are printed in full; the rest are only counted. */
const SHOWN_PROBLEMS = 10;

interface ProduceOptions {
  stream: string;
  endpoint?: string;
  region?: string;
  limit?: number;
  format: EventFileFormat;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

interface Tally {
  read: number;
  sent: number;
  unparsable: number;
  rejected: number;
  failed: number;
  failedByCode: Map<string, number>;
  shown: number;
  stoppedBy?: string;
}

function report(tally: Tally, lineNo: number, problem: string): void {
  if (tally.shown++ < SHOWN_PROBLEMS) console.error(`  line ${lineNo}: ${problem}`);
}

async function flush(producer: EventProducer, chunk: Map<EventInput, number>, tally: Tally): Promise<void> {
  if (chunk.size === 0) return;
  const result = await producer.send([...chunk.keys()]);
  tally.sent += result.sent;
  tally.rejected += result.rejected.length;
  tally.failed += result.failed.length;
  for (const { event, violation } of result.rejected) report(tally, chunk.get(event)!, violation.message);
  for (const { errorCode, errorMessage } of result.failed) {
    tally.failedByCode.set(errorCode, (tally.failedByCode.get(errorCode) ?? 0) + 1);
    if (result.sent === 0) tally.stoppedBy ??= `${errorCode}: ${errorMessage}`;
  }
  chunk.clear();
}

async function produce(file: string, options: ProduceOptions): Promise<number> {
  if (!existsSync(file)) throw new Error(`no such file: ${file}`);
  const kinesis = createProducerKinesisClient({ region: options.region, endpoint: options.endpoint });
  const producer = new EventProducer({ kinesis, streamName: options.stream });
  const tally: Tally = {
    read: 0,
    sent: 0,
    unparsable: 0,
    rejected: 0,
    failed: 0,
    failedByCode: new Map(),
    shown: 0,
  };
  const chunk = new Map<EventInput, number>();
  const started = performance.now();
  try {
    for await (const line of readEventFile(file, options.format)) {
      if (options.limit !== undefined && tally.read >= options.limit) break;
      tally.read++;
      if (line.kind === 'unparsable') {
        tally.unparsable++;
        report(tally, line.lineNo, line.reason);
        continue;
      }
      chunk.set(line.event, line.lineNo);
      if (chunk.size >= CHUNK_EVENTS) await flush(producer, chunk, tally);
      // Nothing got through this chunk: the stream, endpoint or credentials are wrong; stop early.
      if (tally.stoppedBy !== undefined) break;
    }
    await flush(producer, chunk, tally);
  } finally {
    kinesis.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${file} → ${options.stream}: read ${tally.read}, sent ${tally.sent}, ` +
      `rejected ${tally.rejected + tally.unparsable} (contract ${tally.rejected}, unparsable ${tally.unparsable}), ` +
      `failed ${tally.failed} in ${seconds.toFixed(1)} s (${Math.round(tally.sent / Math.max(seconds, 1e-3))} records/s)`,
  );
  if (tally.failed > 0) {
    const codes = [...tally.failedByCode].map(([code, n]) => `${code} ×${n}`).join(', ');
    console.error(`could not send ${tally.failed} records: ${codes}`);
    if (tally.stoppedBy !== undefined) console.error(`stopped early: ${tally.stoppedBy}`);
    return 1;
  }
  return 0;
}

const program = new Command()
  .name('produce')
  .description(
    'Publish a file of behaviour events (NDJSON contract events or the Taobao CSV) to a Kinesis stream.',
  )
  .argument('<file>', 'NDJSON (.ndjson/.jsonl) or Taobao UserBehavior CSV (.csv)')
  .requiredOption('--stream <name>', 'Kinesis stream name')
  .option('--endpoint <url>', 'Kinesis endpoint (default: AWS_ENDPOINT_URL_KINESIS, else AWS)')
  .option('--region <region>', 'AWS region (default: the SDK chain, AWS_REGION)')
  .option('--limit <n>', 'read at most n lines', positiveInteger)
  .addOption(new Option('--format <format>', 'file format').choices(EVENT_FILE_FORMATS).default('auto'))
  .action(async (file: string, options: ProduceOptions) => {
    process.exitCode = await produce(file, options);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`produce failed: ${message}`);
  process.exitCode = 1;
});
