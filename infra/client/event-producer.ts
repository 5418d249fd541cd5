/**
 * Producer for upstream systems: validates events against the contract, then publishes them with
 * PutRecords, resending only what Kinesis reports as failed.
 *
 * The batching and retry rules live in `put-records-plan.ts` and `send-records.ts` (SDK-free); this file only binds them to
 * the Kinesis client.
 */
import { KinesisClient, type KinesisClientConfig, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import {
  ContractViolation,
  decodeEvent,
  type EventInput,
  partitionKeyOf,
} from '../../shared/contract/event-contract';
import type { FailedRecord, RawRecord } from './put-records-plan';
import { type PutRecordsPort, sendRecords, type SendRecordsOptions } from './send-records';

/** A record made from an event, keeping the event for reporting. */
export interface EventRecord extends RawRecord {
  event: EventInput;
}

/** An event the contract refused; it was not sent. */
export interface RejectedEvent {
  event: EventInput;
  violation: ContractViolation;
}

/** What a send achieved. */
export interface ProducerResult<T extends RawRecord = RawRecord> {
  /** Records Kinesis acknowledged. */
  sent: number;
  /** Events refused by the contract before sending (always empty for `sendRaw`). */
  rejected: RejectedEvent[];
  /** Records that could not be sent, with Kinesis's last error code and message. */
  failed: FailedRecord<T>[];
  /** PutRecords calls made, retries included. */
  calls: number;
}

/** Where the producer sends: a Kinesis client and stream, or any PutRecords port (tests, decorators). */
export type EventProducerTarget =
  { kinesis: KinesisClient; streamName: string } | { putRecords: PutRecordsPort };

/** Options of {@link EventProducer}. */
export type EventProducerOptions = EventProducerTarget &
  SendRecordsOptions & {
    /** Clock for the contract's future-timestamp rule. @default Date.now */
    nowMs?: () => number;
  };

/** Options of {@link createProducerKinesisClient}. */
export interface ProducerKinesisClientOptions {
  /** @default the SDK's chain (`AWS_REGION`, profile) */
  region?: string;
  /** @default the SDK's chain (`AWS_ENDPOINT_URL_KINESIS`, else AWS) */
  endpoint?: string;
  /** @default the SDK's credential chain */
  credentials?: KinesisClientConfig['credentials'];
}

/**
 * A Kinesis client for producing. HTTP/1.1 (`NodeHttpHandler`): the emulators need it and AWS
 * accepts it; the SDK's HTTP/2 handler only matters for SubscribeToShard.
 */
export function createProducerKinesisClient(options: ProducerKinesisClientOptions = {}): KinesisClient {
  // HTTP/1.1 on purpose: the SDK's default HTTP/2 handler is only needed for SubscribeToShard, which
  // this project does not use, and the emulators speak HTTP/1.1 only.
  return new KinesisClient({
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 10_000 }),
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
}

/** The PutRecords port backed by the SDK: one call, results in request order. */
export function kinesisPutRecordsPort(kinesis: KinesisClient, streamName: string): PutRecordsPort {
  return async (records) => {
    const output = await kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: records.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })),
      }),
    );
    return output.Records ?? [];
  };
}

const utf8 = new TextEncoder();

/** Publishes events (validated) or raw records (as they are) to one stream. */
export class EventProducer {
  readonly #putRecords: PutRecordsPort;
  readonly #retry: SendRecordsOptions;
  readonly #nowMs: () => number;

  constructor(options: EventProducerOptions) {
    const { nowMs, ...rest } = options;
    this.#putRecords =
      'putRecords' in rest ? rest.putRecords : kinesisPutRecordsPort(rest.kinesis, rest.streamName);
    this.#retry = {
      maxAttempts: options.maxAttempts,
      baseDelayMs: options.baseDelayMs,
      maxDelayMs: options.maxDelayMs,
      random: options.random,
      sleep: options.sleep,
    };
    this.#nowMs = nowMs ?? Date.now;
  }

  /**
   * Validate each event exactly as the consumer will (bytes through `decodeEvent`, size limit
   * included), send the valid ones keyed by `userId` else `anonymousId`, and report the rest.
   * The wire form is the event as given: stripping personal fields is the consumer's job.
   */
  async send(events: readonly EventInput[]): Promise<ProducerResult<EventRecord>> {
    const nowMs = this.#nowMs();
    const records: EventRecord[] = [];
    const rejected: RejectedEvent[] = [];
    for (const event of events) {
      const data = utf8.encode(JSON.stringify(event));
      try {
        decodeEvent(data, nowMs);
        records.push({ event, data, partitionKey: partitionKeyOf(event) });
      } catch (error) {
        if (!(error instanceof ContractViolation)) throw error;
        rejected.push({ event, violation: error });
      }
    }
    const { sent, failed, calls } = await sendRecords(records, this.#putRecords, this.#retry);
    return { sent, rejected, failed, calls };
  }

  /** Send records as they are, without validation: how a misbehaving upstream publishes. */
  async sendRaw<T extends RawRecord>(records: readonly T[]): Promise<ProducerResult<T>> {
    const { sent, failed, calls } = await sendRecords(records, this.#putRecords, this.#retry);
    return { sent, rejected: [], failed, calls };
  }
}
