/**
 * Remove personal data from a refused record's bytes before the quarantine keeps them for repair.
 *
 * The contract's personal fields (`context.ip`, `context.userAgent`, `context.email`) are dropped at
 * decoding for valid events; a refused record never reaches that step, so without this its raw bytes
 * would put them at rest. Two methods, chosen by whether the bytes parse:
 *
 * - `json`: the record parses as JSON (any value, any size). Every property whose name is a personal
 *   field — at any depth, in any letter case, with or without `_`/`-` (`user_agent`, `Email`), since a
 *   malformed record is exactly the one that puts them in the wrong place — is deleted, and e-mail
 *   addresses inside the remaining strings are replaced by `[email]`. When nothing was removed the
 *   original bytes are kept as they are; otherwise the re-serialised JSON (key order kept).
 * - `bytes`: the record is not UTF-8 or not JSON (typically truncated). The bytes are read one byte to
 *   one character (latin-1, so every other byte survives unchanged), the string value after a personal
 *   key (`"email": "…"`, up to the closing quote or the end of a truncated record) is emptied, and
 *   e-mail-shaped runs are replaced by `[email]`. A user agent or ip outside a recognisable key/value
 *   pair cannot be told from other text; the quarantine is encrypted and expires by lifecycle rule.
 */

/** How {@link scrubPersonalData} treated a record: parsed as JSON, or scanned byte for byte. */
export const SCRUB_METHODS = ['json', 'bytes'] as const;
/** One of {@link SCRUB_METHODS}. */
export type ScrubMethod = (typeof SCRUB_METHODS)[number];

/** What {@link scrubPersonalData} returns. */
export interface ScrubbedRecord {
  /** The bytes to keep: the input itself when nothing was removed. */
  data: Uint8Array;
  scrub: ScrubMethod;
  /** Personal properties deleted (or emptied) plus e-mail addresses replaced. */
  personalFieldsRemoved: number;
}

/** What an e-mail address replaced in a string or byte run becomes. */
export const EMAIL_PLACEHOLDER = '[email]';

// Names compared without case, `_` and `-`: `userAgent`, `user_agent`, `User-Agent` are one field.
const PERSONAL_NAMES: ReadonlySet<string> = new Set(['ip', 'useragent', 'email']);
const EMAIL_RUN = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
// A personal key and its string value, the value possibly cut off by the end of the record.
const PERSONAL_PAIR = /"(ip|user[_-]?agent|e[_-]?mail)"(\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)/gi;

/** Whether a property name is one of the contract's personal fields (see the module comment). */
export function isPersonalFieldName(name: string): boolean {
  return PERSONAL_NAMES.has(name.replace(/[_-]/g, '').toLowerCase());
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Scrub one refused record's bytes (see the module comment for the two methods). */
export function scrubPersonalData(bytes: Uint8Array): ScrubbedRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(bytes));
  } catch {
    return scrubUnparsableRecord(bytes);
  }
  return scrubParsedRecord(bytes, parsed);
}

/**
 * {@link scrubPersonalData} of bytes the caller has parsed already (the decoder that refused them):
 * `parsed` must be what `JSON.parse` of their UTF-8 text gives, and is not changed.
 */
export function scrubParsedRecord(bytes: Uint8Array, parsed: unknown): ScrubbedRecord {
  const counter = { removed: 0 };
  const scrubbed = scrubValue(parsed, counter);
  if (counter.removed === 0) return { data: bytes, scrub: 'json', personalFieldsRemoved: 0 };
  return {
    data: encoder.encode(JSON.stringify(scrubbed)),
    scrub: 'json',
    personalFieldsRemoved: counter.removed,
  };
}

function scrubValue(value: unknown, counter: { removed: number }): unknown {
  if (typeof value === 'string') return scrubString(value, counter);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, counter));
  if (value === null || typeof value !== 'object') return value;
  // No prototype: a record's own "__proto__" key stays a key instead of replacing the prototype.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [key, v] of Object.entries(value)) {
    if (isPersonalFieldName(key)) counter.removed++;
    // A key can be an e-mail address too (`{"alice@example.com": 1}`).
    else out[scrubString(key, counter)] = scrubValue(v, counter);
  }
  return out;
}

function scrubString(text: string, counter: { removed: number }): string {
  if (!text.includes('@')) return text;
  return text.replace(EMAIL_RUN, () => {
    counter.removed++;
    return EMAIL_PLACEHOLDER;
  });
}

/** {@link scrubPersonalData} of bytes the caller found are not UTF-8, or not JSON: the `bytes` method. */
export function scrubUnparsableRecord(bytes: Uint8Array): ScrubbedRecord {
  const text = Buffer.from(bytes).toString('latin1');
  let removed = 0;
  const scrubbed = text
    .replace(PERSONAL_PAIR, (_pair, key: string, separator: string) => {
      removed++;
      return `"${key}"${separator}""`;
    })
    .replace(EMAIL_RUN, () => {
      removed++;
      return EMAIL_PLACEHOLDER;
    });
  const data = removed === 0 ? bytes : new Uint8Array(Buffer.from(scrubbed, 'latin1'));
  return { data, scrub: 'bytes', personalFieldsRemoved: removed };
}
