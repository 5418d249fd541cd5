import { ContractRefusal, decodeEventOrRefusal, partitionKeyOf } from '../contract/event-contract';
import type { SequencedEvent } from '../profile/apply-events';
import { compareSequenceNumbers } from '../profile/sequence-number';
import { pseudonymiseEventIds, type DecodePrivacy } from '../privacy/pseudonymise';
import { scrubParsedRecord, scrubPersonalData, scrubUnparsableRecord } from '../privacy/scrub-personal-data';
import type { IngestRecord, QuarantinedRecord } from './ingest-ports';

/** A batch split into what the domain can apply and what goes to quarantine. */
export interface DecodedBatch {
  valid: SequencedEvent[];
  quarantined: QuarantinedRecord[];
  /** How many unknown fields were dropped, by field path (names only). */
  unknownFields: Map<string, number>;
  /**
   * Valid records whose partition key is not the event's `userId` (else `anonymousId`). Exact redelivery
   * detection relies on a profile's records sharing one key, hence one shard; these are applied, and
   * counted so operators can find the producer that breaks the rule.
   */
  partitionKeyMismatches: number;
}

/**
 * Decode and validate every record of a batch. Never throws for bad data: a record that breaks the
 * contract is returned in `quarantined` with its reason, so one poison record cannot block a shard.
 *
 * The contract's "not ahead of processing time" rule is checked against the record's arrival time at
 * Kinesis, which a redelivery keeps: a record is refused or accepted the same way however often and
 * however late Lambda delivers it.
 *
 * @param privacy - the keyed hash for context fingerprints and, if asked, pseudonymous ids; without
 *   it events keep their raw ids and carry no fingerprints
 */
export function decodeBatch(records: readonly IngestRecord[], privacy?: DecodePrivacy): DecodedBatch {
  const valid: SequencedEvent[] = [];
  const quarantined: QuarantinedRecord[] = [];
  const unknownFields = new Map<string, number>();
  let partitionKeyMismatches = 0;
  const hasher = privacy?.hasher;
  const idHasher = privacy?.pseudonymiseIds === true ? privacy.hasher : undefined;
  // One array for every record's unknown field paths (rare): emptied after each record that has some.
  const unknownFieldsOfRecord: string[] = [];
  for (const record of records) {
    const event = decodeEventOrRefusal(
      record.data,
      record.approximateArrivalMs,
      hasher,
      unknownFieldsOfRecord,
    );
    if (event instanceof ContractRefusal) {
      quarantined.push(quarantinedRecordOf(record, event));
      continue;
    }
    const origin = event.replayOf;
    valid.push(
      origin === undefined
        ? { event, shardId: record.shardId, sequenceNumber: record.sequenceNumber }
        : // A replay is deduplicated under its original place in the stream (exact against the marks).
          { event, ...origin, streamSequenceNumber: record.sequenceNumber },
    );
    // The producer keyed the record by the raw id: compare before pseudonymising.
    if (record.partitionKey !== partitionKeyOf(event)) partitionKeyMismatches++;
    if (idHasher !== undefined) pseudonymiseEventIds(event, idHasher);
    if (unknownFieldsOfRecord.length > 0) {
      for (const field of unknownFieldsOfRecord)
        unknownFields.set(field, (unknownFields.get(field) ?? 0) + 1);
      unknownFieldsOfRecord.length = 0;
    }
  }
  return { valid, quarantined, unknownFields, partitionKeyMismatches };
}

/** A refused record as the quarantine keeps it: its place, the reason, its bytes without personal data. */
function quarantinedRecordOf(record: IngestRecord, refusal: ContractRefusal): QuarantinedRecord {
  // Rare path (about 1 % of records). The scrub takes what decoding learnt of the bytes, not parsing
  // them again, unless decoding refused them before parsing for their size.
  const { data, scrub, personalFieldsRemoved } =
    refusal.parsedRecord !== undefined
      ? scrubParsedRecord(record.data, refusal.parsedRecord)
      : refusal.kind === 'not_utf8' || refusal.kind === 'invalid_json'
        ? scrubUnparsableRecord(record.data)
        : scrubPersonalData(record.data);
  return {
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
    partitionKey: record.partitionKey,
    kind: refusal.kind,
    field: refusal.field,
    rule: refusal.rule,
    redactedValue: refusal.value,
    approximateArrivalMs: record.approximateArrivalMs,
    // A view of the bytes, not a copy: base64 reads them once.
    dataBase64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    scrub,
    personalFieldsRemoved,
  };
}

/** The lowest of some sequence numbers (the checkpoint Lambda uses for a partial batch failure). */
export function lowestSequenceNumber(sequenceNumbers: Iterable<string>): string | undefined {
  let lowest: string | undefined;
  for (const s of sequenceNumbers)
    if (lowest === undefined || compareSequenceNumbers(s, lowest) < 0) lowest = s;
  return lowest;
}
