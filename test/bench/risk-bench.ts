/**
 * `npx tsx test/bench/risk-bench.ts`: the extra fold cost of the risk signals per event, measured in
 * one run (alternating rounds with and without `foldRiskEvent`, medians reported) over the synthetic
 * workload decoded with a keyed hasher, so fingerprints are folded too.
 */
import { performance } from 'node:perf_hooks';

import { profileIdOf, validateEvent, type ContractEvent } from '../../shared/contract/event-contract';
import { createKeyedHasher } from '../../shared/privacy/keyed-hash';
import { applyEventsToProfile } from '../../shared/profile/apply-events';
import { emptyProfile } from '../../shared/profile/profile-state';
import { foldRiskEvent } from '../../shared/risk/risk-signals';
import { generateWorkload } from '../../infra/workload/synthetic-workload';

const workload = generateWorkload({ users: 2000 });
const hasher = createKeyedHasher(new Uint8Array(32).fill(7));
const byProfile = new Map<string, ContractEvent[]>();
for (const raw of workload.events) {
  const event = validateEvent(raw, workload.endMs + 86_400_000, hasher).event;
  const list = byProfile.get(profileIdOf(event)) ?? [];
  list.push(event);
  byProfile.set(profileIdOf(event), list);
}
const groups = [...byProfile].map(([id, events]) => ({
  id,
  records: events.map((event, i) => ({
    event,
    shardId: 'shardId-000000000000',
    sequenceNumber: String(i + 1),
  })),
}));
const events = workload.events.length;

/** The full fold (risk included). */
function foldAll(): number {
  let n = 0;
  for (const g of groups) n += applyEventsToProfile(undefined, g.records, g.id).applied;
  return n;
}
/** Only the risk part, over the same events, on a scratch state. */
function riskOnly(): number {
  let n = 0;
  for (const g of groups) {
    const state = emptyProfile(g.id);
    let previous = 0;
    for (const { event } of g.records) {
      foldRiskEvent(state.risk, event, previous, state.dedupe);
      previous = event.occurredAt;
      n++;
    }
  }
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fold: number[] = [];
const risk: number[] = [];
for (let round = 0; round < 9; round++) {
  for (const [fn, into] of [
    [foldAll, fold],
    [riskOnly, risk],
  ] as const) {
    const t = performance.now();
    fn();
    into.push(((performance.now() - t) * 1e6) / events);
  }
}
console.log(
  `risk fold cost: ${events} events, 9 alternating rounds (median ns/event): ` +
    `whole fold ${median(fold).toFixed(0)}, of which risk ${median(risk).toFixed(0)} ` +
    `(${((100 * median(risk)) / median(fold)).toFixed(1)} %)`,
);
