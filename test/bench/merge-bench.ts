/**
 * Cost of merge on identify per event: the ingest use case in memory (no model, so the figure is the
 * identity work alone) on the bench workload, beside a baseline measured in the same run on the same
 * records with every `identify` turned into a `login` (same event count, same profiles, no merge).
 * Runs alternate baseline / merging and the medians are reported; store requests are counted by the
 * in-memory store (one per BatchGetItem call and per conditional put).
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { toIngestRecords } from '../../functions/commons/kinesis-event';
import { ingestBatch } from '../../shared/ingest/ingest-batch';
import type { IngestRecord, ProfileScorer } from '../../shared/ingest/ingest-ports';
import { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
import { median, type ResultRow } from './bench-report';

/** What {@link runMergeBench} measured. */
export interface MergeBenchResult {
  events: number;
  merges: number;
  redirectedEvents: number;
  /** Median µs per event, merging and baseline. */
  microsPerEvent: { merging: number; baseline: number };
  /** Store requests per event (BatchGetItem calls + puts), merging and baseline. */
  requestsPerEvent: { merging: number; baseline: number };
}

const unscored: ProfileScorer = { score: async () => undefined };
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The same records with identify → login: the no-merge baseline. */
function withoutIdentifies(batches: readonly IngestRecord[][]): IngestRecord[][] {
  return batches.map((batch) =>
    batch.map((record) => {
      let body: unknown;
      try {
        body = JSON.parse(decoder.decode(record.data));
      } catch {
        return record;
      }
      if (typeof body !== 'object' || body === null || (body as { type?: unknown }).type !== 'identify') {
        return record;
      }
      return { ...record, data: encoder.encode(JSON.stringify({ ...body, type: 'login' })) };
    }),
  );
}

async function pass(batches: readonly IngestRecord[][], nowMs: number) {
  const profiles = new InMemoryProfileStore();
  const deps = { profiles, quarantine: new InMemoryQuarantine(), scorer: unscored, now: () => nowMs };
  let events = 0;
  let merges = 0;
  let redirected = 0;
  const started = performance.now();
  for (const batch of batches) {
    const { stats } = await ingestBatch(batch, deps);
    events += stats.recordsIn;
    merges += stats.profilesMerged;
    redirected += stats.redirectedEvents;
  }
  const ms = performance.now() - started;
  return { ms, events, merges, redirected, requests: profiles.requests.batchGet + profiles.requests.put };
}

/** Time merging and baseline passes over `interleaved` (one sequential consumer), `runs` each. */
export async function runMergeBench(
  interleaved: readonly KinesisStreamEvent[],
  options: { runs: number; nowMs: number },
): Promise<MergeBenchResult> {
  const merging = interleaved.map(toIngestRecords);
  const baseline = withoutIdentifies(merging);
  await pass(merging, options.nowMs);
  await pass(baseline, options.nowMs);
  const times = { merging: [] as number[], baseline: [] as number[] };
  let last: Awaited<ReturnType<typeof pass>> | undefined;
  let lastBaseline: Awaited<ReturnType<typeof pass>> | undefined;
  for (let run = 0; run < options.runs; run++) {
    lastBaseline = await pass(baseline, options.nowMs);
    times.baseline.push((lastBaseline.ms * 1000) / lastBaseline.events);
    last = await pass(merging, options.nowMs);
    times.merging.push((last.ms * 1000) / last.events);
  }
  return {
    events: last!.events,
    merges: last!.merges,
    redirectedEvents: last!.redirected,
    microsPerEvent: { merging: median(times.merging), baseline: median(times.baseline) },
    requestsPerEvent: {
      merging: last!.requests / last!.events,
      baseline: lastBaseline!.requests / lastBaseline!.events,
    },
  };
}

/** The bench table's rows for the merge figures. */
export function mergeRows(result: MergeBenchResult): ResultRow[] {
  const section = '1b merge on identify';
  const { merging, baseline } = result.microsPerEvent;
  const extraRequests = result.requestsPerEvent.merging - result.requestsPerEvent.baseline;
  return [
    {
      section,
      metric: `ingest compute per event, no model (${result.merges} merges in ${result.events} records)`,
      value: merging,
      unit: 'µs/event',
      ratio: `baseline without merges ${baseline.toFixed(2)} µs/event (${(merging - baseline).toFixed(2)} µs/event more)`,
    },
    {
      section,
      metric: 'store requests per event',
      value: result.requestsPerEvent.merging,
      unit: 'req/event',
      ratio: `baseline ${result.requestsPerEvent.baseline.toFixed(3)}; ${(extraRequests * result.events).toFixed(0)} more in all, ${((extraRequests * result.events) / Math.max(1, result.merges)).toFixed(2)} per merge`,
      note: `${result.redirectedEvents} events applied through a redirect`,
    },
  ];
}
