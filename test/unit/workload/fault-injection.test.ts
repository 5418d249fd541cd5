import { ContractViolation, decodeEvent } from '../../../shared/contract/event-contract';
import { injectFaults, MALFORMED_FAULTS } from '../../../infra/workload/fault-injection';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';

const NOW = Date.UTC(2026, 10, 27);
const { events } = generateWorkload({ seed: 3, users: 300, days: 3, startMs: Date.UTC(2026, 9, 1) });
const options = { nowMs: NOW, seed: 5, duplicateRate: 0.05, reorderRate: 0.1, malformedRate: 0.03 };

function decodeOutcome(data: Uint8Array): { eventId: string } | ContractViolation {
  try {
    return decodeEvent(data, NOW).event;
  } catch (error) {
    if (error instanceof ContractViolation) return error;
    throw error;
  }
}

describe('injectFaults', () => {
  it('refuses exactly the records the manifest lists, each with the expected kind and field', () => {
    // Act
    const { records, manifest } = injectFaults(events, options);
    const outcomes = records.map((r) => decodeOutcome(r.data));
    // Assess
    const refused = outcomes.flatMap((o, recordIndex) =>
      o instanceof ContractViolation ? [{ recordIndex, kind: o.kind, field: o.field }] : [],
    );
    expect(refused).toEqual(
      manifest.malformed.map(({ recordIndex, kind, field }) => ({ recordIndex, kind, field })),
    );
    expect(new Set(manifest.malformed.map((m) => m.fault))).toEqual(new Set(MALFORMED_FAULTS));
  });

  it('accounts for every record: each event at least once, duplicates exactly as listed', () => {
    // Act
    const { records, manifest } = injectFaults(events, options);
    const seen = new Map<string, number>();
    for (const o of records.map((r) => decodeOutcome(r.data))) {
      if (!(o instanceof ContractViolation)) seen.set(o.eventId, (seen.get(o.eventId) ?? 0) + 1);
    }
    // Assess
    expect(manifest.records).toBe(records.length);
    expect(records.length).toBe(
      events.length + manifest.duplicatedEventIds.length + manifest.malformed.length,
    );
    expect(seen.size).toBe(manifest.validEvents);
    expect(new Set(seen.keys())).toEqual(new Set(events.map((e) => e.eventId)));
    const twice = [...seen].filter(([, n]) => n === 2).map(([id]) => id);
    expect(twice.sort()).toEqual([...manifest.duplicatedEventIds].sort());
    expect(Object.values(manifest.quarantineByKind).reduce((a, b) => a + b, 0)).toBe(
      manifest.malformed.length,
    );
  });

  it('reorders only within a partition key and keeps every other key in order', () => {
    // Prepare
    const { records, manifest } = injectFaults(events, { ...options, duplicateRate: 0, malformedRate: 0 });
    const reordered = new Set(manifest.reorderedEventIds);
    const positionOf = new Map(events.map((e, i) => [e.eventId, i]));
    // Act
    const delivered = records.map((r) => ({ key: r.partitionKey, event: decodeEvent(r.data, NOW).event }));
    // Assess
    expect(reordered.size).toBeGreaterThan(0);
    delivered.forEach(({ key, event }, i) => {
      const original = events[i]!;
      expect(key).toBe(original.userId ?? original.anonymousId);
      if (!reordered.has(event.eventId)) expect(positionOf.get(event.eventId)).toBe(i);
    });
  });

  it('is deterministic from its seed', () => {
    // Act
    const first = injectFaults(events, options);
    const again = injectFaults(events, options);
    const other = injectFaults(events, { ...options, seed: 6 });
    // Assess
    expect(again).toEqual(first);
    expect(other.manifest.duplicatedEventIds).not.toEqual(first.manifest.duplicatedEventIds);
  });
});
