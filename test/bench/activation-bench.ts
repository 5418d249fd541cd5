/**
 * Part 5: the activation feed's cost on the default workload. The handler runs in memory with the
 * built-in audiences and the real ONNX scorer, putting its transitions on an in-memory stream; the
 * activation-index use case then indexes each ingest batch's events as one batch of its own (fewer
 * transitions collapse than in the index function's 500-record batches: an upper bound) against an
 * in-memory table with the version condition. Every conditional put counts as a write request, the
 * refused ones too (DynamoDB charges a failed condition a write unit).
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { compileAudienceSet } from '../../shared/audiences/audience-evaluation';
import type { ActivationEvent } from '../../shared/audiences/activation';
import {
  indexActivationBatch,
  type AudienceIndex,
  type MemberRow,
} from '../../shared/audiences/audience-index';
import type { ProfileScorer, TransitionSink } from '../../shared/ingest/ingest-ports';
import { createIngestHandler } from '../../functions/ingest/ingest-handler';
import { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
import type { ResultRow } from './bench-report';

/** What part 5 measured. */
export interface ActivationBenchResult {
  records: number;
  profileWrites: number;
  /** Activation records put (re-emissions included), and PutRecords calls. */
  activationRecords: number;
  putRecordsCalls: number;
  distinctTransitions: number;
  /** Conditional puts on the members table (written + refused). */
  indexWriteRequests: number;
  indexRowsWritten: number;
  /** Members table write requests per ingested record. */
  indexWritesPerEvent: number;
}

/** A stream that keeps each put's events as one batch. */
class BatchRecordingStream implements TransitionSink {
  readonly batches: ActivationEvent[][] = [];
  async put(events: readonly ActivationEvent[]): Promise<ReadonlySet<string>> {
    this.batches.push([...events]);
    return new Set();
  }
}

/** The members table in a map, with the version condition. */
class CountingIndex implements AudienceIndex {
  readonly rows = new Map<string, MemberRow>();
  requests = 0;
  async putIfNewer(row: MemberRow): Promise<boolean> {
    this.requests++;
    const key = `${row.audienceId}\u001f${row.profileId}`;
    const stored = this.rows.get(key);
    if (stored !== undefined && stored.version >= row.version) return false;
    this.rows.set(key, row);
    return true;
  }
}

/** Run part 5 over the workload's batches. */
export async function runActivationBench(
  events: readonly KinesisStreamEvent[],
  scorer: ProfileScorer,
): Promise<ActivationBenchResult> {
  const set = compileAudienceSet(BUILT_IN_AUDIENCES, 'built-in');
  const profiles = new InMemoryProfileStore();
  const stream = new BatchRecordingStream();
  const handler = createIngestHandler({
    profiles,
    quarantine: new InMemoryQuarantine(),
    scorer,
    audiences: { current: async () => set },
    transitions: stream,
  });
  for (const event of events) await handler(event);
  const index = new CountingIndex();
  const utf8 = new TextEncoder();
  let written = 0;
  for (const batch of stream.batches) {
    const stats = await indexActivationBatch(
      batch.map((e) => ({ data: utf8.encode(JSON.stringify(e)) })),
      index,
    );
    written += stats.written;
  }
  const records = events.reduce((sum, e) => sum + e.Records.length, 0);
  const all = stream.batches.flat();
  return {
    records,
    profileWrites: profiles.requests.put,
    activationRecords: all.length,
    putRecordsCalls: stream.batches.length,
    distinctTransitions: new Set(all.map((e) => e.id)).size,
    indexWriteRequests: index.requests,
    indexRowsWritten: written,
    indexWritesPerEvent: index.requests / records,
  };
}

/** Part 5's rows of the report. */
export function activationRows(result: ActivationBenchResult): ResultRow[] {
  const section = '5 activation';
  const per = (x: number) => x / result.records;
  return [
    {
      section,
      metric: 'members table writes per event (built-in audiences)',
      value: result.indexWritesPerEvent,
      unit: 'writes/event',
      target: { comparison: '<=', value: 0.05 },
      note: `${result.indexWriteRequests} conditional puts (${result.indexRowsWritten} rows written) for ${result.records} records, ${result.profileWrites} profile writes`,
    },
    {
      section,
      metric: 'activation records per event',
      value: per(result.activationRecords),
      unit: 'records/event',
      note: `${result.activationRecords} records, ${result.distinctTransitions} distinct ids, ${result.putRecordsCalls} PutRecords calls (${per(result.putRecordsCalls).toFixed(4)} per event)`,
    },
  ];
}
