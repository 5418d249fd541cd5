/**
 * Security-risk state of a profile and its update rule, folded beside the rest of the profile.
 *
 * Compact and bounded (≤ 4 numbers, 4 login times, 2 devices and 2 networks); raw ip and user agent
 * never reach it — only the keyed fingerprints decoding computes (`shared/privacy/pseudonymise.ts`),
 * truncated here to 32 bits (a collision between two devices of ONE profile, ≤ 2 entries, has odds
 * ≈ 2⁻³²: it can only hide a change, never invent one).
 *
 * Order independence (property-tested in `test/unit/risk/risk-signals.property.test.ts`):
 * - login times: the most recent {@link RISK_LIMITS}.logins of a multiset of times — any order;
 * - fingerprints: last seen (a max) and first seen (a min) per hash, kept for the 2 most recently
 *   seen hashes of each kind — any order while a kind has at most 2 distinct hashes; beyond, a hash
 *   evicted and seen again restarts its first-seen time (it does look new to this profile);
 * - peak per minute: the largest count of dedupe-window entries (event ids, plus order ids of
 *   purchases) sharing one minute, taken after each event — any order inside the dedupe window's
 *   envelope, where no entry is evicted so each minute's count only grows; it saturates at the window
 *   size (16), which is well above any human rate;
 * - inter-event gaps: NOT order independent. A gap is measured between an event and the latest one
 *   before it in ARRIVAL order when it is later (a late event measures nothing), which is what the
 *   stream delivers for one partition key; batching does not matter (property-tested).
 */
import type { ContractEvent } from '../contract/event-contract';
import { insertNewestFirst, type RecentEntry } from '../profile/recent-set';

/** Bounds of the risk state. */
export const RISK_LIMITS = {
  /** Most recent login times kept. */
  logins: 4,
  /** Device (user agent) fingerprints kept, most recently seen first. */
  devices: 2,
  /** Network (ip /24 or /48) fingerprints kept, most recently seen first. */
  networks: 2,
  /** Gaps counted (the estimator has converged long before). */
  gaps: 255,
  /** Longest gap measured, ms: a longer pause starts a new visit and says nothing about a bot's rhythm. */
  maxGapMs: 30 * 60_000,
} as const;

/** One fingerprint (32-bit prefix of the keyed hash) with its first and last sighting, epoch HOURS. */
export interface FingerprintEntry extends RecentEntry<number> {
  /** First sighting while kept, epoch hours. */
  first: number;
}

/** What a profile keeps for its risk signals. Plain data: deep-equality comparable. */
export interface RiskState {
  /** Smoothed gap between consecutive events, ms (RFC 6298's SRTT: gain 1/8). */
  gapMs: number;
  /** Smoothed absolute deviation of the gap, ms (RFC 6298's RTTVAR: gain 1/4). */
  gapDevMs: number;
  /** Gaps measured, capped at {@link RISK_LIMITS}.gaps. */
  gaps: number;
  /** Most events (and orders) seen within one minute. */
  peakPerMinute: number;
  /** Latest login times, epoch seconds, newest first. */
  logins: number[];
  /** Device fingerprints, `at` = last seen (epoch hours), sorted by (at, key) descending. */
  devices: FingerprintEntry[];
  /** Network fingerprints, same order. */
  networks: FingerprintEntry[];
}

/** A risk state with nothing seen. */
export function emptyRiskState(): RiskState {
  return { gapMs: 0, gapDevMs: 0, gaps: 0, peakPerMinute: 0, logins: [], devices: [], networks: [] };
}

/** A deep copy. */
export function cloneRiskState(risk: RiskState): RiskState {
  return {
    gapMs: risk.gapMs,
    gapDevMs: risk.gapDevMs,
    gaps: risk.gaps,
    peakPerMinute: risk.peakPerMinute,
    logins: risk.logins.slice(),
    devices: risk.devices.map(copyFingerprint),
    networks: risk.networks.map(copyFingerprint),
  };
}

const copyFingerprint = ({ key, at, first }: FingerprintEntry): FingerprintEntry => ({ key, at, first });

/** The 32-bit prefix of a hex keyed hash: enough to tell a profile's few devices apart. */
export function fingerprint32(hexHash: string): number {
  // Twice per event with a context: read 8 hex digits in place rather than slice and parse them.
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const digit = hexDigit(hexHash.charCodeAt(i));
    // Shorter, or not plain hex: parseInt's own rules (prefixes, signs, partial digits).
    if (digit < 0) return Number.parseInt(hexHash.slice(0, 8), 16) >>> 0;
    value = value * 16 + digit;
  }
  return value >>> 0;
}

/** The value of a hex digit's char code, or -1 (NaN, past the end, included). */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

const isNewerEntry = (a: FingerprintEntry, b: FingerprintEntry) =>
  a.at > b.at || (a.at === b.at && a.key > b.key);

/** Fold one sighting of `key` at hour `hour` into `list`, keeping the `limit` most recently seen. */
function touchFingerprint(list: FingerprintEntry[], key: number, hour: number, limit: number): void {
  // Seen again within its latest hour (most events): nothing to join, nothing to allocate.
  if (list[0]?.key === key && list[0].at >= hour && list[0].first <= hour) return;
  addFingerprint(list, { key, at: hour, first: hour }, limit);
}

/**
 * Join `seen` into `list` on its key (latest last sighting, earliest first), keeping the `limit` newest.
 * `seen` is the caller's own object: the list keeps it when its key is new. In place, without splices
 * (each allocated its result array): a joined entry only moves forward, a new one is shifted in.
 */
function addFingerprint(list: FingerprintEntry[], seen: FingerprintEntry, limit: number): void {
  const { key } = seen;
  let found = 0;
  while (found < list.length && list[found]!.key !== key) found++;
  if (found === list.length) {
    insertNewestFirst(list, seen, limit, isNewerEntry);
    return;
  }
  const old = list[found]!;
  if (old.at >= seen.at && old.first <= seen.first) return; // nothing to join
  const joined = { key, at: Math.max(old.at, seen.at), first: Math.min(old.first, seen.first) };
  insertNewestFirst(list, joined, limit, isNewerEntry, found);
}

/**
 * Fold the risk state of a profile merged in (identify) into `into`: the newest logins of both, the
 * fingerprints joined on their hash (order independent, as for one stream), the larger peak and the
 * rhythm of the side that measured more gaps. The last two are approximations: two interleaved
 * streams have no joint rhythm to reconstruct (the longer one is the better estimate), and the union
 * of two windows can hold more entries in one minute than either side saw.
 */
export function mergeRiskStates(into: RiskState, from: RiskState): void {
  for (const atSec of from.logins) addLogin(into.logins, atSec);
  for (const entry of from.devices) addFingerprint(into.devices, { ...entry }, RISK_LIMITS.devices);
  for (const entry of from.networks) addFingerprint(into.networks, { ...entry }, RISK_LIMITS.networks);
  into.peakPerMinute = Math.max(into.peakPerMinute, from.peakPerMinute);
  if (from.gaps > into.gaps) {
    into.gapMs = from.gapMs;
    into.gapDevMs = from.gapDevMs;
    into.gaps = from.gaps;
  }
}

/** Insert a login time (newest first), keeping the newest `RISK_LIMITS.logins`. */
function addLogin(logins: number[], atSec: number): void {
  insertNewestFirst(logins, atSec, RISK_LIMITS.logins, isLater);
}
const isLater = (a: number, b: number) => a > b;

/** RFC 6298 §2.3 smoothing in integer ms (deterministic: same inputs, same state on every runtime). */
function addGap(risk: RiskState, gapMs: number): void {
  if (risk.gaps === 0) {
    risk.gapMs = gapMs;
    risk.gapDevMs = Math.round(gapMs / 2);
  } else {
    risk.gapDevMs = Math.round((3 * risk.gapDevMs + Math.abs(risk.gapMs - gapMs)) / 4);
    risk.gapMs = Math.round((7 * risk.gapMs + gapMs) / 8);
  }
  risk.gaps = Math.min(RISK_LIMITS.gaps, risk.gaps + 1);
}

/**
 * Fold one applied event into `risk` (mutated).
 *
 * @param previousEventAt - the profile's latest event time before this event, epoch ms (0 = none)
 * @param dedupe - the profile's dedupe window AFTER this event was remembered (`at` in epoch minutes)
 */
export function foldRiskEvent(
  risk: RiskState,
  event: ContractEvent,
  previousEventAt: number,
  dedupe: readonly RecentEntry<number>[],
): void {
  const atMs = event.occurredAt;
  if (previousEventAt > 0 && atMs >= previousEventAt && atMs - previousEventAt <= RISK_LIMITS.maxGapMs) {
    addGap(risk, atMs - previousEventAt);
  }
  const minute = Math.floor(atMs / 60_000);
  // The window is sorted by minute, newest first: its entries of this minute are one run.
  let sameMinute = 0;
  for (let i = 0; i < dedupe.length; i++) {
    const at = dedupe[i]!.at;
    if (at === minute) sameMinute++;
    else if (at < minute) break;
  }
  if (sameMinute > risk.peakPerMinute) risk.peakPerMinute = sameMinute;
  if (event.type === 'login') addLogin(risk.logins, Math.floor(atMs / 1000));
  const context = event.context;
  if (context === undefined) return;
  const hour = Math.floor(atMs / 3_600_000);
  if (context.deviceHash !== undefined) {
    touchFingerprint(risk.devices, fingerprint32(context.deviceHash), hour, RISK_LIMITS.devices);
  }
  if (context.networkHash !== undefined) {
    touchFingerprint(risk.networks, fingerprint32(context.networkHash), hour, RISK_LIMITS.networks);
  }
}
