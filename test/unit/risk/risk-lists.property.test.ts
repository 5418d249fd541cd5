import fc from 'fast-check';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import {
  emptyRiskState,
  fingerprint32,
  foldRiskEvent,
  mergeRiskStates,
  RISK_LIMITS,
  type FingerprintEntry,
  type RiskState,
} from '../../../shared/risk/risk-signals';
import { T0 } from '../../support/factories';

const HOUR = 3_600_000;
const hash = (n: number) => n.toString(16).padStart(8, '0').repeat(4);

// The risk state's lists as they were kept before they were updated in place (scan, splice, trim).
const isNewerEntry = (a: FingerprintEntry, b: FingerprintEntry) =>
  a.at > b.at || (a.at === b.at && a.key > b.key);

function addFingerprintBySplicing(list: FingerprintEntry[], seen: FingerprintEntry, limit: number): void {
  const found = list.findIndex((e) => e.key === seen.key);
  let entry: FingerprintEntry = { ...seen };
  if (found >= 0) {
    const old = list[found]!;
    if (old.at >= seen.at && old.first <= seen.first) return;
    entry = { key: seen.key, at: Math.max(old.at, seen.at), first: Math.min(old.first, seen.first) };
    list.splice(found, 1);
  }
  let index = 0;
  while (index < list.length && !isNewerEntry(entry, list[index]!)) index++;
  list.splice(index, 0, entry);
  if (list.length > limit) list.pop();
}

function addLoginBySplicing(logins: number[], atSec: number): void {
  if (logins.length >= RISK_LIMITS.logins && atSec <= logins[logins.length - 1]!) return;
  let index = 0;
  while (index < logins.length && logins[index]! >= atSec) index++;
  logins.splice(index, 0, atSec);
  if (logins.length > RISK_LIMITS.logins) logins.pop();
}

/** Logins and fingerprints of `events` folded one by one with the splicing lists. */
function listsBySplicing(
  events: readonly ContractEvent[],
): Pick<RiskState, 'logins' | 'devices' | 'networks'> {
  const lists = {
    logins: [] as number[],
    devices: [] as FingerprintEntry[],
    networks: [] as FingerprintEntry[],
  };
  for (const event of events) {
    if (event.type === 'login') addLoginBySplicing(lists.logins, Math.floor(event.occurredAt / 1000));
    const hour = Math.floor(event.occurredAt / HOUR);
    const { deviceHash, networkHash } = event.context ?? {};
    if (deviceHash !== undefined) {
      const key = fingerprint32(deviceHash);
      addFingerprintBySplicing(lists.devices, { key, at: hour, first: hour }, RISK_LIMITS.devices);
    }
    if (networkHash !== undefined) {
      const key = fingerprint32(networkHash);
      addFingerprintBySplicing(lists.networks, { key, at: hour, first: hour }, RISK_LIMITS.networks);
    }
  }
  return lists;
}

/** Events over 3 days with logins and fingerprints from small pools (evictions and re-sightings are common). */
const events = fc
  .array(
    fc.record({
      login: fc.boolean(),
      offset: fc.integer({ min: 0, max: 72 * HOUR }),
      device: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      network: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    }),
    { maxLength: 30 },
  )
  .map((drafts) =>
    drafts.map((d, i): ContractEvent => ({
      schemaVersion: 1,
      eventId: `r-${i}`,
      type: d.login ? 'login' : 'page_view',
      userId: 'u-1',
      occurredAt: T0 + d.offset,
      context: {
        ...(d.device === undefined ? {} : { deviceHash: hash(d.device) }),
        ...(d.network === undefined ? {} : { networkHash: hash(d.network) }),
      },
    })),
  );

const fold = (list: readonly ContractEvent[]): RiskState => {
  const risk = emptyRiskState();
  for (const event of list) foldRiskEvent(risk, event, 0, []);
  return risk;
};
const listsOf = ({ logins, devices, networks }: RiskState) => ({ logins, devices, networks });

describe('risk lists, in place', () => {
  it('fold to the same logins and fingerprints as splicing, for any events', () => {
    fc.assert(
      fc.property(events, (list) => {
        // Act
        const risk = fold(list);
        // Assess
        expect(listsOf(risk)).toEqual(listsBySplicing(list));
      }),
    );
  });

  it('merge to the same logins and fingerprints as splicing, for any two states', () => {
    fc.assert(
      fc.property(events, events, (a, b) => {
        // Prepare
        const into = fold(a);
        const from = fold(b);
        const expected = listsBySplicing(a);
        for (const atSec of from.logins) addLoginBySplicing(expected.logins, atSec);
        for (const e of from.devices) addFingerprintBySplicing(expected.devices, e, RISK_LIMITS.devices);
        for (const e of from.networks) addFingerprintBySplicing(expected.networks, e, RISK_LIMITS.networks);
        // Act
        mergeRiskStates(into, from);
        // Assess: and the source is left as it was
        expect(listsOf(into)).toEqual(expected);
        expect(from).toEqual(fold(b));
      }),
    );
  });
});
