/**
 * The `state` attribute of item schema v5: the pipeline's own bookkeeping in one binary attribute, so
 * it costs neither attribute names nor decimal digits. Nothing a downstream reader uses is in it (the
 * readable attributes carry every count, output, trait and id); it is what exactly-once, the dedupe
 * window, sessions, the risk rhythm and merge completion need to continue a profile.
 *
 * Byte layout, layout version 2 (README, "Profile item schema"; item schema v6). `uint` is an unsigned LEB128 varint,
 * `int` a zigzag-encoded signed varint (0, −1, 1, −2 … → 0, 1, 2, 3 …), `u32` 4 bytes big-endian; ages
 * count back from `lastEventAt` (seconds, minutes in dedupe windows, hours in fingerprints):
 *
 * ```
 * u8    layout version (2)
 * marks                          the profile's shard marks (seq in v4)
 * uint  dedupe entries n, then n × [u32 FNV-1a hash, u8 age in minutes]          (dedup in v4)
 * uint  session count; when > 0: uint events in the current session, u32 sessionId hash or 0,
 *       int start age s, int end age s                                           (session in v4)
 * decays: per decayed event type (DECAYED_EVENT_TYPES order) whose lifetime count (the readable `act`)
 *       is > 0: 3 × uint, its fixed-point decays 1h, 1d, 30d                     (act in v5)
 * when lastEventAt > 0 (risk in v4, then logins and fp):
 *   uint smoothed gap ms, uint its smoothed deviation ms, uint gaps measured, uint peak per minute
 *   uint logins n, then n × int age s
 *   uint devices d, uint networks k, then (d + k) × [u32 keyed-hash prefix, u16 age in hours of the
 *        first sighting, u16 of the last] (devices first)
 * uint  merges n (= the keys of the readable `merges`), then per merged anonymousId in code-unit order:
 *   marks                        that id's own shard marks
 *   uint sessions, uint events, u32 sessionId hash or 0, int start, int end (ages s; as they are while
 *        the id has no session: 0, 0)
 *   u8   flags: bit 0 the id is still a linked alias, bit 1 the identify's sessionId hash equals the
 *        session hash above (then it is not stored; it nearly always does)
 *   u32  the identify's sessionId hash or 0, unless flag bit 1
 *   uint dedupe entries m; when m > 0: uint r of them also in the profile's window (same hash and
 *        time), r × u8 index into it (newest first); when m − r > 0: int age in minutes of the newest
 *        other entry, then (m − r) × [u32 hash, u8 age in minutes from that newest entry]
 *   int  its alias age s, when flag bit 0
 * marks = uint count, then per mark: uint shard (n + 1 for Kinesis `shardId-` + 12 digits of n; 0 for
 *   any other id, then uint length and its UTF-8), and the sequence number as 24 bytes big-endian (the
 *   decimal number as an unsigned 192-bit integer: every canonical sequence number of up to 57 digits)
 * ```
 * Nothing may follow; a decoder refuses an unknown layout version, a truncated blob and trailing bytes.
 *
 * Layout version 1 (item schema v5, still decoded) is layout 2 without the decays (v5 keeps them in
 * `act`) and with each merge's `u32` identify hash always stored, after the session, then the dedupe
 * entries (m, and when m > 0 the newest age and all m entries), then `u8` 1 and `int` alias age when
 * still linked, else `u8` 0.
 */
import type { RecentEntry } from './recent-set';
import {
  DECAYED_EVENT_TYPES,
  HALF_LIVES_MS,
  type MergedAlias,
  type ProfileState,
  type SessionFields,
  type ShardMark,
} from './profile-state';
import { EVENT_TYPES } from '../contract/event-contract';
import { byShardId } from './apply-events';
import type { FingerprintEntry } from '../risk/risk-signals';
import { ProfileItemViolation } from './profile-item-violation';
import { pooledCopy } from './byte-pool';

/** The layout version this code writes in the first byte of `state` (item schema v6). */
export const STATE_LAYOUT_VERSION = 2;
/** The layout of item schema v5 (decays in `act`), still decoded. */
export const STATE_LAYOUT_VERSION_V5 = 1;
/** Bytes of one dedupe entry: the 32-bit FNV-1a hash big-endian and an age in minutes. */
export const DEDUPE_ENTRY_BYTES = 5;
/** Bytes of a sequence number: 24, an unsigned 192-bit integer (57 decimal digits fit). */
export const SEQUENCE_NUMBER_BYTES = 24;
/** Oldest fingerprint age an entry holds (≈ 7.5 years, beyond the profile TTL); older ones are forgotten. */
export const MAX_FINGERPRINT_AGE_HOURS = 0xffff;
/** A canonical decimal Kinesis sequence number (no leading zeros), at most 57 digits. */
export const SEQUENCE_NUMBER = /^(0|[1-9][0-9]{0,56})$/;

const KINESIS_SHARD_PREFIX = 'shardId-';
const KINESIS_SHARD_ID_LENGTH = KINESIS_SHARD_PREFIX.length + 12;
const MASK_64 = (1n << 64n) - 1n;
const HALF_LIFE_COUNT = HALF_LIVES_MS.length;
/** `state.counts` index of each decayed type, in `DECAYED_EVENT_TYPES` (decay slot) order. */
const COUNT_INDEX_OF_SLOT: readonly number[] = DECAYED_EVENT_TYPES.map((t) => EVENT_TYPES.indexOf(t));
const LINKED_ALIAS = 1;
const SHARED_KEY_IS_SESSION_KEY = 2;
const FINGERPRINT_BYTES = 8;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A dedupe window as v1–v5 store it: 5 bytes per entry, the 32-bit hash big-endian and an age in minutes. */
export function packDedupe(entries: readonly RecentEntry<number>[], nowMin: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(entries.length * DEDUPE_ENTRY_BYTES);
  writeDedupeEntries(out, 0, entries, nowMin);
  return out;
}

function writeDedupeEntries(
  out: Uint8Array,
  offset: number,
  entries: readonly RecentEntry<number>[],
  nowMin: number,
): void {
  for (let i = 0, o = offset; i < entries.length; i++, o += DEDUPE_ENTRY_BYTES) {
    const { key, at } = entries[i]!;
    out[o] = key >>> 24;
    out[o + 1] = (key >>> 16) & 0xff;
    out[o + 2] = (key >>> 8) & 0xff;
    out[o + 3] = key & 0xff;
    out[o + 4] = nowMin - at;
  }
}

/**
 * `list` in `order`: sorted only when it is not already. The blob holds each list as the state held it,
 * in order, so a decode finds every list sorted; checking costs one comparison per entry, where `sort`
 * costs its setup and a copy besides (about a tenth of a decode, over the lists of one item).
 */
export function inOrder<T>(list: T[], order: (a: T, b: T) => number): T[] {
  for (let i = 1; i < list.length; i++) if (order(list[i - 1]!, list[i]!) > 0) return list.sort(order);
  return list;
}

const newestDedupeFirst = (a: RecentEntry<number>, b: RecentEntry<number>) => b.at - a.at || b.key - a.key;
const newestFingerprintFirst = (a: FingerprintEntry, b: FingerprintEntry) => b.at - a.at || b.key - a.key;
const newestLoginFirst = (a: number, b: number) => b - a;

/** The inverse of {@link packDedupe} over `length` bytes from `offset`, newest first. */
export function unpackDedupe(
  packed: Uint8Array,
  nowMin: number,
  offset = 0,
  length = packed.byteLength,
): RecentEntry<number>[] {
  const entries: RecentEntry<number>[] = [];
  for (let o = offset; o < offset + length; o += DEDUPE_ENTRY_BYTES) {
    const key = ((packed[o]! << 24) | (packed[o + 1]! << 16) | (packed[o + 2]! << 8) | packed[o + 3]!) >>> 0;
    entries.push({ key, at: nowMin - packed[o + 4]! });
  }
  return inOrder(entries, newestDedupeFirst);
}

function violation(rule: string, value: string): never {
  throw new ProfileItemViolation('state', rule, value);
}

// One growable buffer for every encode: a blob is a few hundred bytes, copied out once at the end, so
// an encode allocates the result and nothing else.
let buffer = new Uint8Array(2048);
let view = new DataView(buffer.buffer);
let at = 0;

function reserve(bytes: number): void {
  if (at + bytes <= buffer.byteLength) return;
  const grown = new Uint8Array(Math.max(buffer.byteLength * 2, at + bytes));
  grown.set(buffer.subarray(0, at));
  buffer = grown;
  view = new DataView(buffer.buffer);
}

function putUint(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) violation('must hold non-negative integers', String(value));
  reserve(8);
  let v = value;
  if (v <= 0x7fffffff) {
    // Shifts while the value fits 31 bits (nearly every one; about twice as fast as dividing).
    while (v >= 0x80) {
      buffer[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buffer[at++] = v;
    return;
  }
  // Division rather than shifts: values may exceed 32 bits (epoch-sized ages, large gaps).
  while (v >= 0x80) {
    buffer[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buffer[at++] = v;
}

function putInt(value: number): void {
  if (!Number.isSafeInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER / 2)
    violation('must hold integers within ±2^52', String(value));
  putUint(value >= 0 ? value * 2 : -value * 2 - 1);
}

function putU32(value: number): void {
  if (value >>> 0 !== value) violation('must hold 32-bit hashes', String(value));
  reserve(4);
  view.setUint32(at, value);
  at += 4;
}

/**
 * The number n of a Kinesis shard id `shardId-` + 12 digits of n, or -1 for any other id (what
 * `^shardId-(\d{12})$` matches, without a regular expression's match array per mark).
 */
function kinesisShardNumber(shardId: string): number {
  if (shardId.length !== KINESIS_SHARD_ID_LENGTH || !shardId.startsWith(KINESIS_SHARD_PREFIX)) return -1;
  let n = 0;
  for (let i = KINESIS_SHARD_PREFIX.length; i < KINESIS_SHARD_ID_LENGTH; i++) {
    const digit = shardId.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

function putMarks(marks: readonly ShardMark[]): void {
  putUint(marks.length);
  for (const { shardId, sequenceNumber } of marks) {
    const kinesis = kinesisShardNumber(shardId);
    if (kinesis >= 0) {
      putUint(kinesis + 1);
    } else {
      const name = utf8.encode(shardId);
      putUint(0);
      putUint(name.byteLength);
      reserve(name.byteLength);
      buffer.set(name, at);
      at += name.byteLength;
    }
    if (!SEQUENCE_NUMBER.test(sequenceNumber))
      violation(
        'sequence numbers must be canonical decimals of at most 57 digits',
        `${sequenceNumber.length} characters`,
      );
    const value = BigInt(sequenceNumber);
    reserve(SEQUENCE_NUMBER_BYTES);
    view.setBigUint64(at, value >> 128n);
    view.setBigUint64(at + 8, (value >> 64n) & MASK_64);
    view.setBigUint64(at + 16, value & MASK_64);
    at += SEQUENCE_NUMBER_BYTES;
  }
}

function putDedupe(entries: readonly RecentEntry<number>[], nowMin: number): void {
  reserve(entries.length * DEDUPE_ENTRY_BYTES);
  writeDedupeEntries(buffer, at, entries, nowMin);
  at += entries.length * DEDUPE_ENTRY_BYTES;
}

function putFingerprints(entries: readonly FingerprintEntry[], nowHour: number): void {
  reserve(entries.length * FINGERPRINT_BYTES);
  for (const e of entries) {
    view.setUint32(at, e.key);
    view.setUint16(at + 4, nowHour - e.first);
    view.setUint16(at + 6, nowHour - e.at);
    at += FINGERPRINT_BYTES;
  }
}

const isKept = (nowHour: number) => (e: FingerprintEntry) => nowHour - e.first <= MAX_FINGERPRINT_AGE_HOURS;

function putMerge(
  m: MergedAlias,
  aliasAge: number | undefined,
  profileDedupe: readonly RecentEntry<number>[],
  nowSec: number,
  nowMin: number,
): void {
  putMarks(m.shardMarks);
  const s = m.session;
  // Without a session (an alias with no events of its own) its times are 0: stored as they are.
  const sessionAge = (t: number) => (s.sessionCount === 0 ? t : nowSec - t);
  putUint(s.sessionCount);
  putUint(s.sessionEvents);
  putU32(s.sessionKey);
  putInt(sessionAge(s.sessionStart));
  putInt(sessionAge(s.sessionEnd));
  // The alias's session is the identify's (the identify is its latest event), so the hash is nearly
  // always the session's own: a flag instead of 4 bytes, and stored in full when it differs.
  const sharedIsOwn = m.sharedSessionKey === s.sessionKey;
  reserve(1);
  buffer[at++] = (aliasAge === undefined ? 0 : LINKED_ALIAS) | (sharedIsOwn ? SHARED_KEY_IS_SESSION_KEY : 0);
  if (!sharedIsOwn) putU32(m.sharedSessionKey);
  putUint(m.dedupe.length);
  if (m.dedupe.length > 0) {
    // The merge folded the alias's window into the profile's, so many of its entries are there too (same
    // hash, same time): a 1-byte index into the profile's window instead of the 5-byte entry.
    const shared: number[] = [];
    const own: RecentEntry<number>[] = [];
    for (const e of m.dedupe) {
      const i = profileDedupe.findIndex((p) => p.key === e.key && p.at === e.at);
      if (i >= 0) shared.push(i);
      else own.push(e);
    }
    putUint(shared.length);
    reserve(shared.length);
    for (const i of shared) buffer[at++] = i;
    if (own.length > 0) {
      // The rest is aged from its newest entry (the alias's latest events), like the profile's from lastEventAt.
      const newest = own[0]!.at;
      putInt(nowMin - newest);
      putDedupe(own, newest);
    }
  }
  if (aliasAge !== undefined) putInt(aliasAge);
}

/** The decays of each decayed type with a lifetime count (the others are 0 and not stored). */
function putDecays(state: ProfileState): void {
  for (let slot = 0; slot < COUNT_INDEX_OF_SLOT.length; slot++) {
    if (state.counts[COUNT_INDEX_OF_SLOT[slot]!] === 0) continue;
    for (let h = slot * HALF_LIFE_COUNT; h < (slot + 1) * HALF_LIFE_COUNT; h++) putUint(state.decays[h]!);
  }
}

/**
 * The `state` attribute of `state` (layout 2 above). `merges` are `state.merges` in code-unit order of
 * their ids (the order a decoder reads the readable `merges` keys in); `aliasAges` holds, per merge, the
 * alias age to store with it (undefined: the id is not a linked alias).
 *
 * @throws {ProfileItemViolation} when a value does not fit its field (never for a state the fold produced)
 */
export function encodeStateBlob(
  state: ProfileState,
  merges: readonly MergedAlias[],
  aliasAges: readonly (number | undefined)[],
): Uint8Array<ArrayBuffer> {
  const nowSec = Math.floor(state.lastEventAt / 1000);
  const nowMin = Math.floor(state.lastEventAt / 60_000);
  at = 0;
  reserve(1);
  buffer[at++] = STATE_LAYOUT_VERSION;
  putMarks(state.shardMarks);
  putUint(state.dedupe.length);
  putDedupe(state.dedupe, nowMin);
  putUint(state.sessionCount);
  if (state.sessionCount > 0) {
    putUint(state.sessionEvents);
    putU32(state.sessionKey);
    putInt(nowSec - state.sessionStart);
    putInt(nowSec - state.sessionEnd);
  }
  putDecays(state);
  if (state.lastEventAt > 0) {
    const { risk } = state;
    putUint(risk.gapMs);
    putUint(risk.gapDevMs);
    putUint(risk.gaps);
    putUint(risk.peakPerMinute);
    putUint(risk.logins.length);
    for (const t of risk.logins) putInt(nowSec - t);
    const nowHour = Math.floor(state.lastEventAt / 3_600_000);
    const devices = risk.devices.filter(isKept(nowHour));
    const networks = risk.networks.filter(isKept(nowHour));
    putUint(devices.length);
    putUint(networks.length);
    putFingerprints(devices, nowHour);
    putFingerprints(networks, nowHour);
  }
  putUint(merges.length);
  for (let i = 0; i < merges.length; i++) putMerge(merges[i]!, aliasAges[i], state.dedupe, nowSec, nowMin);
  return pooledCopy(buffer, 0, at);
}

// Shard ids by number: a stream has few shards, and every decoded mark names one of them.
const kinesisShardIds = new Map<number, string>();
function kinesisShardId(n: number): string {
  let id = kinesisShardIds.get(n);
  if (id === undefined) {
    id = `${KINESIS_SHARD_PREFIX}${String(n).padStart(12, '0')}`;
    if (kinesisShardIds.size < 1024) kinesisShardIds.set(n, id);
  }
  return id;
}

/** Reads a blob front to back; every read checks the bounds, so a truncated blob is refused, not misread. */
class BlobReader {
  private readonly view: DataView;
  /** `bytes.byteLength`, read once: the bounds check runs for every field. */
  private readonly length: number;
  offset = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
  }
  need(count: number): number {
    const start = this.offset;
    if (start + count > this.length)
      violation('is truncated', `${this.length} bytes, ${count} more needed at byte ${start}`);
    this.offset += count;
    return start;
  }
  byte(): number {
    return this.bytes[this.need(1)]!;
  }
  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(value)) break;
        return value;
      }
      scale *= 0x80;
    }
    return violation('holds a varint beyond 2^53', `at byte ${this.offset}`);
  }
  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  u32(): number {
    return this.view.getUint32(this.need(4));
  }
  u16(): number {
    return this.view.getUint16(this.need(2));
  }
  /** `max` bounds counts, so a corrupt count fails at once instead of allocating. */
  count(max: number, what: string): number {
    const n = this.uint();
    if (n > max) violation(`holds at most ${max} ${what}`, String(n));
    return n;
  }
  marks(): ShardMark[] {
    const marks: ShardMark[] = [];
    for (let n = this.count(0xff, 'shard marks'); n > 0; n--) {
      const shard = this.uint();
      let shardId: string;
      if (shard === 0) {
        const length = this.uint();
        const start = this.need(length);
        shardId = fromUtf8.decode(this.bytes.subarray(start, start + length));
      } else {
        shardId = kinesisShardId(shard - 1);
      }
      const o = this.need(SEQUENCE_NUMBER_BYTES);
      const value =
        (this.view.getBigUint64(o) << 128n) |
        (this.view.getBigUint64(o + 8) << 64n) |
        this.view.getBigUint64(o + 16);
      const sequenceNumber = value.toString();
      if (sequenceNumber.length > 57)
        violation('sequence numbers have at most 57 digits', `${sequenceNumber.length}`);
      marks.push({ shardId, sequenceNumber });
    }
    return inOrder(marks, byShardId);
  }
  dedupe(count: number, nowMin: number): RecentEntry<number>[] {
    const start = this.need(count * DEDUPE_ENTRY_BYTES);
    return unpackDedupe(this.bytes, nowMin, start, count * DEDUPE_ENTRY_BYTES);
  }
  /** Layout 2's merged alias window of `count` entries: references into the profile's window, then its own. */
  mergedDedupe(
    count: number,
    profileDedupe: readonly RecentEntry<number>[],
    nowMin: number,
  ): RecentEntry<number>[] {
    if (count === 0) return [];
    const shared = this.count(count, 'shared dedupe entries');
    const entries: RecentEntry<number>[] = [];
    for (let n = shared; n > 0; n--) {
      const i = this.byte();
      if (i >= profileDedupe.length)
        violation('dedupe references must index the profile window', `${i} of ${profileDedupe.length}`);
      entries.push({ ...profileDedupe[i]! });
    }
    if (shared < count) entries.push(...this.dedupe(count - shared, nowMin - this.int()));
    return inOrder(entries, newestDedupeFirst);
  }
  /** Layout 2's decays of each decayed type whose count `state` holds (see {@link putDecays}). */
  decays(state: ProfileState): void {
    for (let slot = 0; slot < COUNT_INDEX_OF_SLOT.length; slot++) {
      if (state.counts[COUNT_INDEX_OF_SLOT[slot]!] === 0) continue;
      for (let h = slot * HALF_LIFE_COUNT; h < (slot + 1) * HALF_LIFE_COUNT; h++)
        state.decays[h] = this.uint();
    }
  }
  fingerprints(count: number, nowHour: number, into: FingerprintEntry[]): void {
    for (let i = 0; i < count; i++) {
      const key = this.u32();
      const first = nowHour - this.u16();
      into.push({ key, first, at: nowHour - this.u16() });
    }
    inOrder(into, newestFingerprintFirst);
  }
}

/** The layout version of `blob` (its first byte), refused unless it is `expected`. */
function readLayout(r: BlobReader, expected: readonly number[]): number {
  const layout = r.byte();
  if (!expected.includes(layout))
    violation(`layout version must be ${expected.join(' or ')}`, String(layout));
  return layout;
}

/**
 * Decode `blob` into `state` (its `lastEventAt` and, for layout 2, its `counts` already set): marks,
 * dedupe window, session, decays (layout 2), risk and, for each of `mergedIds` (the readable `merges`
 * keys; their identify times in `mergedAt`, epoch s), its merge bookkeeping, with the id among
 * `state.aliases` when the blob says it is still linked. `layout` is the one the item's schema version
 * implies ({@link STATE_LAYOUT_VERSION} for v6 items, {@link STATE_LAYOUT_VERSION_V5} for v5 items).
 *
 * @throws {ProfileItemViolation} on another layout version, a truncated blob or trailing bytes
 */
export function decodeStateBlob(
  blob: Uint8Array,
  state: ProfileState,
  mergedIds: readonly string[],
  mergedAt: readonly number[],
  layout: typeof STATE_LAYOUT_VERSION | typeof STATE_LAYOUT_VERSION_V5 = STATE_LAYOUT_VERSION,
): void {
  const nowSec = Math.floor(state.lastEventAt / 1000);
  const nowMin = Math.floor(state.lastEventAt / 60_000);
  const r = new BlobReader(blob);
  const v5 = readLayout(r, [layout]) === STATE_LAYOUT_VERSION_V5;
  state.shardMarks = r.marks();
  state.dedupe = r.dedupe(r.count(0xff, 'dedupe entries'), nowMin);
  state.sessionCount = r.uint();
  if (state.sessionCount > 0) {
    state.sessionEvents = r.uint();
    state.sessionKey = r.u32();
    state.sessionStart = nowSec - r.int();
    state.sessionEnd = nowSec - r.int();
  }
  if (!v5) r.decays(state);
  if (state.lastEventAt > 0) {
    const { risk } = state;
    risk.gapMs = r.uint();
    risk.gapDevMs = r.uint();
    risk.gaps = r.uint();
    risk.peakPerMinute = r.uint();
    for (let n = r.count(0xff, 'logins'); n > 0; n--) risk.logins.push(nowSec - r.int());
    inOrder(risk.logins, newestLoginFirst);
    const nowHour = Math.floor(state.lastEventAt / 3_600_000);
    const devices = r.count(0xff, 'devices');
    const networks = r.count(0xff, 'networks');
    r.fingerprints(devices, nowHour, risk.devices);
    r.fingerprints(networks, nowHour, risk.networks);
  }
  const merges = r.uint();
  if (merges !== mergedIds.length)
    violation('must hold one merge entry per merges key', `${merges} entries for ${mergedIds.length} keys`);
  for (let i = 0; i < merges; i++) {
    const anonymousId = mergedIds[i]!;
    const shardMarks = r.marks();
    const sessionCount = r.uint();
    const sessionEvents = r.uint();
    const sessionKey = r.u32();
    const sessionAt = (age: number) => (sessionCount === 0 ? age : nowSec - age);
    const session: SessionFields = {
      sessionCount,
      sessionEvents,
      sessionKey,
      sessionStart: sessionAt(r.int()),
      sessionEnd: sessionAt(r.int()),
    };
    let flags = 0;
    if (!v5) {
      flags = r.byte();
      if (flags > (LINKED_ALIAS | SHARED_KEY_IS_SESSION_KEY))
        violation('merge flags must be 0–3', String(flags));
    }
    const sharedSessionKey = flags & SHARED_KEY_IS_SESSION_KEY ? sessionKey : r.u32();
    const entries = r.count(0xff, 'dedupe entries');
    const dedupe = v5
      ? entries === 0
        ? []
        : r.dedupe(entries, nowMin - r.int())
      : r.mergedDedupe(entries, state.dedupe, nowMin);
    state.merges.push({ anonymousId, at: mergedAt[i]!, shardMarks, session, sharedSessionKey, dedupe });
    if (v5) {
      flags = r.byte();
      if (flags > LINKED_ALIAS) violation('alias flag must be 0 or 1', String(flags));
    }
    if (flags & LINKED_ALIAS) state.aliases.push({ key: anonymousId, at: nowSec - r.int() });
  }
  if (r.offset !== blob.byteLength)
    violation('has trailing bytes', `${blob.byteLength - r.offset} after byte ${r.offset}`);
}

/** Only the profile's own shard marks of a `state` blob (for tools that watch progress, e.g. the frontier bench). */
export function shardMarksOfStateBlob(blob: Uint8Array): ShardMark[] {
  const r = new BlobReader(blob);
  readLayout(r, [STATE_LAYOUT_VERSION, STATE_LAYOUT_VERSION_V5]);
  return r.marks();
}
