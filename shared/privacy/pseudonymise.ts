/**
 * Pseudonymous ids and context fingerprints, from the keyed hash (`keyed-hash.ts`), applied at decode
 * so nothing downstream — profiles, archive, logs, training — ever holds the raw values.
 *
 * - Fingerprints (always, when a key is configured and the context has the field): `deviceHash` of the
 *   user agent and `networkHash` of the ip's network (IPv4 /24, IPv6 /48: a phone moving between
 *   addresses of one provider stays on one network), for risk signals that count device and channel
 *   changes. The raw `ip` and `userAgent` are still dropped.
 * - Ids (option `pseudonymiseIds`): `userId` and `anonymousId` become their keyed hash, so a profile
 *   is keyed by `<hash>` or `anon:<hash>`; readers hash the id they are given
 *   ({@link pseudonymousProfileId}).
 *
 * Hashes are truncated to 128 bits (32 hex chars; HMAC truncation to at least half the output is
 * sound, RFC 2104 §5): collisions stay out of reach for any shop's population (≈ 2⁻⁶⁴ at 2³² ids)
 * while a profile item, which repeats ids in its key and aliases, stays within one 1 KB write unit.
 */
import type { ContractEvent } from '../contract/event-contract';
import type { KeyedHasher } from './keyed-hash';

/** Hex characters kept of a keyed hash (128 bits). */
export const PSEUDONYM_HEX_CHARS = 32;

/** How decoding treats personal data beyond dropping it (see the module comment). */
export interface DecodePrivacy {
  hasher: KeyedHasher;
  /** Replace `userId` and `anonymousId` by their keyed hash. @default false */
  pseudonymiseIds: boolean;
}

/** The fingerprints decoding adds to `ContractEvent.context`. */
export interface ContextFingerprints {
  /** Keyed hash of `context.userAgent`. */
  deviceHash?: string;
  /** Keyed hash of the network of `context.ip` (IPv4 /24, IPv6 /48). */
  networkHash?: string;
}

/** The pseudonym of one id (a `userId` or an `anonymousId`). */
export function pseudonymOf(hasher: KeyedHasher, id: string): string {
  return hasher('id', id).slice(0, PSEUDONYM_HEX_CHARS);
}

/**
 * The stored profile id of a raw profile id (`<userId>` or `anon:<anonymousId>`) when ids are
 * pseudonymised: what the reader library and the CLIs look up.
 */
export function pseudonymousProfileId(hasher: KeyedHasher, profileId: string): string {
  return profileId.startsWith('anon:')
    ? `anon:${pseudonymOf(hasher, profileId.slice('anon:'.length))}`
    : pseudonymOf(hasher, profileId);
}

/**
 * How decoding under `privacy` maps a raw profile id to the stored one: {@link pseudonymousProfileId}
 * when ids are pseudonymised, else the identity. For what names a person by raw id (a partition key,
 * an erasure request, a quarantined record's bytes) and must meet what decoding stored.
 */
export function storedProfileIdOf(privacy: DecodePrivacy | undefined): (rawProfileId: string) => string {
  if (privacy?.pseudonymiseIds !== true) return (profileId) => profileId;
  const { hasher } = privacy;
  return (profileId) => pseudonymousProfileId(hasher, profileId);
}

/** Replace a decoded event's ids by their pseudonyms, in place (decoding's fresh object). */
export function pseudonymiseEventIds(event: ContractEvent, hasher: KeyedHasher): void {
  if (event.userId !== undefined) event.userId = pseudonymOf(hasher, event.userId);
  if (event.anonymousId !== undefined) event.anonymousId = pseudonymOf(hasher, event.anonymousId);
}

/** Add the fingerprints of a raw context's `userAgent` and `ip` to `into`. */
export function addContextFingerprints(
  hasher: KeyedHasher,
  context: { userAgent?: string; ip?: string },
  into: ContextFingerprints,
): void {
  const { userAgent, ip } = context;
  if (userAgent === undefined && ip === undefined) return;
  const memo = fingerprintMemoOf(hasher);
  if (userAgent !== undefined) into.deviceHash = remembered(memo.device, hasher, userAgent, deviceHashOf);
  if (ip !== undefined) into.networkHash = remembered(memo.network, hasher, ip, networkHashOf);
}

const deviceHashOf = (hasher: KeyedHasher, userAgent: string) =>
  hasher('device', userAgent).slice(0, PSEUDONYM_HEX_CHARS);
const networkHashOf = (hasher: KeyedHasher, ip: string) =>
  hasher('network', networkOf(ip)).slice(0, PSEUDONYM_HEX_CHARS);

/** Fingerprints remembered per hasher and kind, at most this many (forgotten all at once when full). */
const FINGERPRINT_MEMO_SIZE = 10_000;

/** One hasher's fingerprints by the raw value they stand for. */
interface FingerprintMemo {
  device: Map<string, string>;
  network: Map<string, string>;
}

/**
 * A hasher is a pure function of its key, so its fingerprints can be remembered by the raw user agent
 * and ip: a repeated one (most of them: devices and addresses come back batch after batch) then costs
 * one map lookup, without the network's parse, the hasher's lookup and the truncation's new string.
 * Held weakly: a hasher that is dropped (a rotated key) takes its fingerprints with it.
 */
const fingerprintMemos = new WeakMap<KeyedHasher, FingerprintMemo>();

function fingerprintMemoOf(hasher: KeyedHasher): FingerprintMemo {
  let memo = fingerprintMemos.get(hasher);
  if (memo === undefined) {
    memo = { device: new Map(), network: new Map() };
    fingerprintMemos.set(hasher, memo);
  }
  return memo;
}

function remembered(
  memo: Map<string, string>,
  hasher: KeyedHasher,
  raw: string,
  fingerprintOf: (hasher: KeyedHasher, raw: string) => string,
): string {
  let fingerprint = memo.get(raw);
  if (fingerprint === undefined) {
    if (memo.size >= FINGERPRINT_MEMO_SIZE) memo.clear();
    fingerprint = fingerprintOf(hasher, raw);
    memo.set(raw, fingerprint);
  }
  return fingerprint;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/;

/**
 * The network an address belongs to: IPv4 /24 (`198.51.100.0/24`), IPv6 /48 (first three groups,
 * `::` expanded); anything else (not an address) stands for itself, trimmed and lower-cased.
 */
export function networkOf(ip: string): string {
  const address = ip.trim().toLowerCase();
  // An IPv4-mapped IPv6 address (`::ffff:198.51.100.7`) is on its IPv4 network.
  const v4 = IPV4.exec(address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address);
  if (v4 !== null) return `${Number(v4[1])}.${Number(v4[2])}.${Number(v4[3])}.0/24`;
  if (address.includes(':')) {
    const [head = '', tail] = address.split('::', 2);
    const groups = head === '' ? [] : head.split(':');
    if (tail !== undefined) {
      const rest = tail === '' ? [] : tail.split(':');
      while (groups.length + rest.length < 8) groups.push('0');
      groups.push(...rest);
    }
    return `${groups
      .slice(0, 3)
      .map((g) => Number.parseInt(g || '0', 16).toString(16))
      .join(':')}::/48`;
  }
  return address;
}
