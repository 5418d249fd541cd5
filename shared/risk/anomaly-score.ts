/**
 * The anomaly score: a transparent combination of the risk signals, no learned weights.
 *
 * Each signal `x` is mapped onto [0, 1] by a ramp between a `normal` value (0: as ordinary shoppers
 * do) and an `alarming` value (1: what bots or account takeovers do), both configurable:
 * `ramp = clamp((x − normal) / (alarming − normal), 0, 1)` (a ramp may fall: `alarming < normal`).
 * The evidence is the weighted sum of the ramps, and the score a logistic of it:
 * `anomalyScore = 1 / (1 + exp(−steepness × (evidence − midpoint)))`. With the defaults, one signal at
 * full strength stays below 0.5 (a heavy browser who never carts is not suspicious on that alone);
 * two at full strength pass it. Every contribution is returned, so a reader sees why.
 *
 * | signal | from | normal → alarming |
 * |---|---|---|
 * | `peakPerMinute` | most events within one minute | 6 → 14 |
 * | `gapRegularity` | smoothed gap deviation / smoothed gap (coefficient of variation), when ≥ 8 gaps | 0.6 → 0.3 |
 * | `viewsWithoutCart` | product views / (1 + carts + wishlists + purchases), lifetime | 20 → 60 |
 * | `loginBurst` | logins within 10 minutes up to the latest login | 1 → 3 |
 * | `newFingerprint` | kinds (device, network) whose newest fingerprint first appeared in the last hour on a profile that used another one before | 0 → 2 |
 * | `recentPurchases` | purchases, 1-hour half-life decayed | 0 → 2 (weight 0.5) |
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../contract/event-contract';
import { DECAYED_EVENT_TYPES, HALF_LIVES_MS, type ProfileState } from '../profile/profile-state';
import { decayAnchor, decayValueAt } from '../profile/fixed-point-decay';
import type { FingerprintEntry } from './risk-signals';

/** The signals the score combines, in the order they are reported. */
export const RISK_SIGNALS = [
  'peakPerMinute',
  'gapRegularity',
  'viewsWithoutCart',
  'loginBurst',
  'newFingerprint',
  'recentPurchases',
] as const;
/** One of {@link RISK_SIGNALS}. */
export type RiskSignal = (typeof RISK_SIGNALS)[number];

const rampSchema = z
  .object({ normal: z.number(), alarming: z.number(), weight: z.number().min(0) })
  .refine((r) => r.normal !== r.alarming, 'normal and alarming must differ');

/** Zod schema of {@link RiskScoring}: a configuration is refused with the field and the rule. */
export const riskScoringSchema = z.object({
  signals: z.object(
    Object.fromEntries(RISK_SIGNALS.map((s) => [s, rampSchema])) as Record<RiskSignal, typeof rampSchema>,
  ),
  midpoint: z.number().describe('evidence at which the score is 0.5'),
  steepness: z.number().positive(),
  /** Gaps needed before `gapRegularity` counts. */
  minGaps: z.number().int().min(1),
  /** Window of `loginBurst`, seconds. */
  loginWindowSeconds: z.number().int().positive(),
});

/** Thresholds, weights and shape of the anomaly score. */
export type RiskScoring = z.infer<typeof riskScoringSchema>;

/** The documented defaults (module comment). */
export const DEFAULT_RISK_SCORING: RiskScoring = {
  signals: {
    peakPerMinute: { normal: 6, alarming: 14, weight: 1 },
    gapRegularity: { normal: 0.6, alarming: 0.3, weight: 1 },
    viewsWithoutCart: { normal: 20, alarming: 60, weight: 1 },
    loginBurst: { normal: 1, alarming: 3, weight: 1 },
    newFingerprint: { normal: 0, alarming: 2, weight: 1 },
    recentPurchases: { normal: 0, alarming: 2, weight: 0.5 },
  },
  midpoint: 1.5,
  steepness: 4,
  minGaps: 8,
  loginWindowSeconds: 600,
};

/** Score a profile reaches to count as suspicious (the built-in audience's threshold). */
export const SUSPICIOUS_SCORE = 0.5;

/** The score with its inputs: raw signal values and their contributions to the evidence. */
export interface RiskAssessment {
  anomalyScore: number;
  evidence: number;
  signals: Record<RiskSignal, number>;
  contributions: Record<RiskSignal, number>;
}

// Count indices looked up once, not per signal per profile.
const PRODUCT_VIEW = EVENT_TYPES.indexOf('product_view');
const ADD_TO_CART = EVENT_TYPES.indexOf('add_to_cart');
const ADD_TO_WISHLIST = EVENT_TYPES.indexOf('add_to_wishlist');
const PURCHASE = EVENT_TYPES.indexOf('purchase');
const HOUR_MS = 3_600_000;
const PURCHASE_DECAY_1H =
  DECAYED_EVENT_TYPES.indexOf('purchase') * HALF_LIVES_MS.length + HALF_LIVES_MS.indexOf(HOUR_MS);

/** 1 when the newest fingerprint of a kind appeared within the last hour and an older one exists. */
function isNewFingerprint(entries: readonly FingerprintEntry[], nowHour: number): number {
  const newest = entries[0];
  if (newest === undefined || entries.length < 2 || newest.first < nowHour - 1) return 0;
  // A loop, not slice + some: this runs on every profile write.
  for (let i = 1; i < entries.length; i++) if (entries[i]!.first < newest.first) return 1;
  return 0;
}

/** Logins at or after `since` (epoch s). */
function loginsSince(logins: readonly number[], since: number): number {
  let n = 0;
  for (const t of logins) if (t >= since) n++;
  return n;
}

/** The raw signal values of a profile, as of its latest event. */
export function riskSignalsOf(
  state: ProfileState,
  scoring: RiskScoring = DEFAULT_RISK_SCORING,
): Record<RiskSignal, number> {
  const { risk } = state;
  const newestLogin = risk.logins[0];
  const nowHour = Math.floor(state.lastEventAt / HOUR_MS);
  const signals: Record<RiskSignal, number> = {
    peakPerMinute: risk.peakPerMinute,
    // No rhythm yet reads as "as irregular as a person" (the normal end), so it adds nothing.
    gapRegularity:
      risk.gaps >= scoring.minGaps && risk.gapMs > 0
        ? risk.gapDevMs / risk.gapMs
        : scoring.signals.gapRegularity.normal,
    viewsWithoutCart:
      state.counts[PRODUCT_VIEW]! /
      (1 + state.counts[ADD_TO_CART]! + state.counts[ADD_TO_WISHLIST]! + state.counts[PURCHASE]!),
    loginBurst:
      newestLogin === undefined ? 0 : loginsSince(risk.logins, newestLogin - scoring.loginWindowSeconds),
    newFingerprint: isNewFingerprint(risk.devices, nowHour) + isNewFingerprint(risk.networks, nowHour),
    recentPurchases: decayValueAt(
      state.decays[PURCHASE_DECAY_1H]!,
      HOUR_MS,
      decayAnchor(state.lastEventAt, HOUR_MS),
      state.lastEventAt,
    ),
  };
  return signals;
}

/** A signal's contribution to the evidence: its weight times its ramp (module comment). */
function contributionOf(
  value: number,
  { normal, alarming, weight }: RiskScoring['signals'][RiskSignal],
): number {
  return weight * Math.min(1, Math.max(0, (value - normal) / (alarming - normal)));
}

/** The anomaly score of a profile, with its signals and each one's contribution (module comment). */
export function assessRisk(state: ProfileState, scoring: RiskScoring = DEFAULT_RISK_SCORING): RiskAssessment {
  const signals = riskSignalsOf(state, scoring);
  const ramps = scoring.signals;
  // Spelled out per signal, in RISK_SIGNALS order, rather than a loop over the names: stores by a
  // computed name into an empty object were most of this function's time, and it runs on every write.
  const contributions: Record<RiskSignal, number> = {
    peakPerMinute: contributionOf(signals.peakPerMinute, ramps.peakPerMinute),
    gapRegularity: contributionOf(signals.gapRegularity, ramps.gapRegularity),
    viewsWithoutCart: contributionOf(signals.viewsWithoutCart, ramps.viewsWithoutCart),
    loginBurst: contributionOf(signals.loginBurst, ramps.loginBurst),
    newFingerprint: contributionOf(signals.newFingerprint, ramps.newFingerprint),
    recentPurchases: contributionOf(signals.recentPurchases, ramps.recentPurchases),
  };
  // Summed from 0 in the same order, so the evidence is the same double as a loop's.
  const evidence =
    0 +
    contributions.peakPerMinute +
    contributions.gapRegularity +
    contributions.viewsWithoutCart +
    contributions.loginBurst +
    contributions.newFingerprint +
    contributions.recentPurchases;
  const anomalyScore = 1 / (1 + Math.exp(-scoring.steepness * (evidence - scoring.midpoint)));
  return { anomalyScore, evidence, signals, contributions };
}
