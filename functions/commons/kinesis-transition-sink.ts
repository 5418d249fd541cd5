import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { ActivationEvent } from '../../shared/audiences/activation';
import type { TransitionSink } from '../../shared/ingest/ingest-ports';
import { backoffDelayMs } from './backoff';

/** PutRecords' limit on records per call. */
const PUT_RECORDS_LIMIT = 500;
/** Rounds of retrying the records a PutRecords refused (throttled shards) before reporting them. */
const MAX_ROUNDS = 4;
const BACKOFF_BASE_MS = 50;
const BACKOFF_CAP_MS = 500;

const utf8 = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The activation feed on a Kinesis stream: one JSON record per event, partition key = profile id, so a
 * profile's events stay in order on one shard. Records a call refuses are retried a few rounds; the
 * profiles of those still refused are returned, so ingest reports them and the redelivery re-emits.
 */
export class KinesisTransitionSink implements TransitionSink {
  constructor(
    private readonly kinesis: Pick<KinesisClient, 'send'>,
    private readonly streamName: string,
  ) {}

  async put(events: readonly ActivationEvent[]): Promise<ReadonlySet<string>> {
    const unsent = new Set<string>();
    for (let i = 0; i < events.length; i += PUT_RECORDS_LIMIT) {
      let pending = events.slice(i, i + PUT_RECORDS_LIMIT);
      for (let round = 0; pending.length > 0; round++) {
        if (round === MAX_ROUNDS) {
          for (const event of pending) unsent.add(event.profileId);
          break;
        }
        if (round > 0) await sleep(backoffDelayMs(round, BACKOFF_BASE_MS, BACKOFF_CAP_MS, Math.random));
        const entries: PutRecordsRequestEntry[] = pending.map((event) => ({
          Data: utf8.encode(JSON.stringify(event)),
          PartitionKey: event.profileId,
        }));
        const out = await this.kinesis.send(
          new PutRecordsCommand({ StreamName: this.streamName, Records: entries }),
        );
        const results = out.Records ?? [];
        // A result without a sequence number is a refused record (ErrorCode set).
        pending = pending.filter((_, k) => results[k]?.SequenceNumber === undefined);
      }
    }
    return unsent;
  }
}
