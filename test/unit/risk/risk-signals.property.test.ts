import fc from 'fast-check';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { DEFAULT_RISK_SCORING, riskSignalsOf } from '../../../shared/risk/anomaly-score';
import { RISK_LIMITS } from '../../../shared/risk/risk-signals';
import { sequenced, T0 } from '../../support/factories';

const HOUR = 3_600_000;
const hash = (n: number) => n.toString(16).padStart(8, '0').repeat(4);

/** Events of `u-1` over 3 days, with logins and device / network fingerprints from small pools. */
const riskyEvents = (devices: number, networks: number) =>
  fc
    .array(
      fc.record({
        type: fc.constantFrom('page_view', 'login', 'product_view', 'login'),
        offset: fc.integer({ min: 0, max: 72 * HOUR }),
        device: fc.option(fc.integer({ min: 1, max: devices }), { nil: undefined }),
        network: fc.option(fc.integer({ min: 1, max: networks }), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 40 },
    )
    .map((drafts) =>
      drafts.map((d, i): ContractEvent => {
        const event: ContractEvent = {
          schemaVersion: 1,
          eventId: `r-${i}`,
          type: d.type,
          userId: 'u-1',
          occurredAt: T0 + d.offset,
          ...(d.type === 'product_view' ? { productId: 'p1' } : {}),
        };
        if (d.device !== undefined || d.network !== undefined) {
          event.context = {
            ...(d.device === undefined ? {} : { deviceHash: hash(d.device) }),
            ...(d.network === undefined ? {} : { networkHash: hash(d.network) }),
          };
        }
        return event;
      }),
    );

const fold = (events: readonly ContractEvent[]) =>
  applyEventsToProfile(undefined, sequenced(events), 'u-1').state;
const shuffled = (events: readonly ContractEvent[], keys: readonly number[]) =>
  events
    .map((e, i) => ({ e, k: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.e);

describe('risk signals (properties)', () => {
  it('stay within their bounds for any events', () => {
    fc.assert(
      fc.property(riskyEvents(6, 6), (events) => {
        // Act
        const { risk } = fold(events);
        // Assess
        expect(risk.logins.length).toBeLessThanOrEqual(RISK_LIMITS.logins);
        expect(risk.devices.length).toBeLessThanOrEqual(RISK_LIMITS.devices);
        expect(risk.networks.length).toBeLessThanOrEqual(RISK_LIMITS.networks);
        expect(risk.gaps).toBeLessThanOrEqual(RISK_LIMITS.gaps);
        expect(risk.gapMs).toBeLessThanOrEqual(RISK_LIMITS.maxGapMs);
        expect(risk.peakPerMinute).toBeLessThanOrEqual(16);
      }),
    );
  });

  it('keep login times and fingerprints (≤ 2 per kind) the same for any arrival order', () => {
    fc.assert(
      fc.property(riskyEvents(2, 2), fc.array(fc.nat()), (events, keys) => {
        // Act
        const inOrder = fold([...events].sort((a, b) => a.occurredAt - b.occurredAt)).risk;
        const arrived = fold(shuffled(events, keys)).risk;
        // Assess
        expect(arrived.logins).toEqual(inOrder.logins);
        expect(arrived.devices).toEqual(inOrder.devices);
        expect(arrived.networks).toEqual(inOrder.networks);
      }),
    );
  });

  it('never lower the login burst when more logins land inside its window', () => {
    fc.assert(
      fc.property(
        riskyEvents(2, 2),
        fc.array(fc.integer({ min: 0, max: DEFAULT_RISK_SCORING.loginWindowSeconds * 1000 }), {
          maxLength: 6,
        }),
        (events, backOffsets) => {
          // Prepare: extra logins between the latest login and a window before it
          const before = fold(events);
          const newest = before.risk.logins[0];
          fc.pre(newest !== undefined);
          const extra = backOffsets.map((back, i): ContractEvent => ({
            schemaVersion: 1,
            eventId: `extra-${i}`,
            type: 'login',
            userId: 'u-1',
            occurredAt: Math.max(
              newest! * 1000 - back,
              newest! * 1000 - DEFAULT_RISK_SCORING.loginWindowSeconds * 1000,
            ),
          }));
          // Act
          const after = fold([...events, ...extra]);
          // Assess
          expect(riskSignalsOf(after).loginBurst).toBeGreaterThanOrEqual(riskSignalsOf(before).loginBurst);
        },
      ),
    );
  });
});
