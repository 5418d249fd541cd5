/**
 * Exactly order-independent time-decayed sums.
 *
 * A decayed sum is `Σ 2^{-(ref - tᵢ)/h}`. Folding it in floating point is not associative, so two
 * arrival orders of the same events would give states that differ in the last bits. Here the sum is
 * kept as a safe INTEGER in units of 2^-{@link DECAY_FRACTION_BITS}, relative to an anchor that is the
 * start of the half-life period holding the profile's latest event (`floor(lastEventAt / h)`), so
 * the anchor needs no storage and is itself order independent (a max).
 *
 * Each event's contribution is made canonical before it is added: `2^{frac}` (frac = position of the
 * event inside its half-life period) is rounded to a {@link DECAY_MANTISSA_BITS}-bit mantissa and
 * scaled by a power of two. Integer addition is exact and commutative, and moving the anchor forward
 * by k periods divides by 2^k, which is exact as long as every contribution is still a multiple of
 * 2^k units. That holds for every event at most {@link DECAY_EXACT_PERIODS} periods older than the
 * anchor. Hence:
 *
 * - EXACT: the stored integer is a pure function of the event set (any order, any batching) when,
 *   per half-life h, every event lies within `DECAY_EXACT_PERIODS × h` of the latest one (for the
 *   1-hour half-life: 9 hours; 1 day: 9 days; 30 days: 270 days). Events arriving in time order are
 *   always exact too (no anchor move ever truncates a contribution that a different order keeps).
 * - BOUNDED beyond that: an event older than the exact span is floored on its own when it arrives
 *   after the anchor moved past it (< 1 unit lost each), and the anchor moves floor the running sum
 *   (< 1 unit each, halved by every later move: < 2 in all). So two orders differ by fewer than m + 2
 *   units, m = the events older than the exact span: about 1.5e-5 of one event's weight per such event.
 * - PRECISION: rounding a contribution to an 8-bit mantissa costs at most 0.5/128 = 2^-8 ≈ 0.4 % of it.
 * - RANGE: one contribution is at most 2^17 units, so 2^36 events fit below 2^53.
 */

/** Fractional bits of the fixed-point decayed values (one event at the anchor ≈ 2^16 units). */
export const DECAY_FRACTION_BITS = 16;
/** Bits kept of each event's contribution (relative rounding error ≤ 2^-8). */
export const DECAY_MANTISSA_BITS = 8;
/** Half-life periods behind the anchor within which contributions stay exact integers. */
export const DECAY_EXACT_PERIODS = DECAY_FRACTION_BITS - DECAY_MANTISSA_BITS + 1;

const UNIT = 2 ** DECAY_FRACTION_BITS;
const MANTISSA_SCALE = 2 ** (DECAY_MANTISSA_BITS - 1);
const POW2 = Array.from({ length: 64 }, (_, i) => 2 ** i);

/** The anchor period index for a half-life: the period holding `lastEventAt`. */
export function decayAnchor(lastEventAt: number, halfLifeMs: number): number {
  return Math.floor(lastEventAt / halfLifeMs);
}

/**
 * The canonical fixed-point contribution of one event of weight `weight` at `atMs`, relative to
 * `anchor` (which must be ≥ the event's own period).
 */
export function decayContribution(atMs: number, halfLifeMs: number, anchor: number, weight = 1): number {
  const period = Math.floor(atMs / halfLifeMs);
  return shiftedToAnchor(mantissaAt(atMs - period * halfLifeMs, halfLifeMs) * weight, period, anchor);
}

/** A weighted mantissa of an event in `period`, as units at `anchor`. */
function shiftedToAnchor(mantissa: number, period: number, anchor: number): number {
  const shift = DECAY_EXACT_PERIODS + period - anchor;
  if (shift >= 0) return mantissa * POW2[shift]!;
  return -shift >= 53 ? 0 : Math.floor(mantissa / POW2[-shift]!);
}

/**
 * A half-life with its mantissa table looked up once, for a caller that adds contributions of it for
 * every event (the fold): {@link contributionInPeriod} then skips the search for the table and the
 * checks on the half-life.
 */
export interface DecayScale {
  readonly halfLifeMs: number;
  /** Undefined for a half-life the tables do not serve (the definition is used). */
  readonly table: MantissaTable | undefined;
}

/** The {@link DecayScale} of a half-life. */
export function decayScaleOf(halfLifeMs: number): DecayScale {
  const tabled = Number.isInteger(halfLifeMs) && halfLifeMs <= MAX_TABLE_HALF_LIFE_MS;
  return { halfLifeMs, table: tabled ? tableFor(halfLifeMs) : undefined };
}

/**
 * {@link decayContribution} of `scale`'s half-life for a caller that knows the event's period
 * (`floor(atMs / halfLifeMs)`, which it also needs to move its anchors): the same integer, one division
 * and one table search fewer.
 */
export function contributionInPeriod(
  scale: DecayScale,
  atMs: number,
  period: number,
  anchor: number,
  weight = 1,
): number {
  const offset = atMs - period * scale.halfLifeMs;
  const table = scale.table;
  const mantissa =
    table !== undefined && Number.isInteger(offset) && offset >= 0
      ? tableMantissa(table, offset)
      : mantissaByPow(offset, scale.halfLifeMs);
  return shiftedToAnchor(mantissa * weight, period, anchor);
}

/** The rounded mantissa of `2^(offset / halfLifeMs)`: the definition, which the tables below reproduce. */
function mantissaByPow(offset: number, halfLifeMs: number): number {
  return Math.round(MANTISSA_SCALE * 2 ** (offset / halfLifeMs));
}

/**
 * Where each mantissa starts, for one half-life: `starts[k]` is the smallest whole offset (ms into the
 * period) whose {@link mantissaByPow} is at least `MANTISSA_SCALE + k` (`halfLifeMs` when none is), and
 * `guess` a first index per 1/`GUESS_BUCKETS` of the period.
 */
interface MantissaTable {
  halfLifeMs: number;
  starts: Float64Array;
  guess: Uint8Array;
  /** `GUESS_BUCKETS / halfLifeMs`: a product instead of a division per lookup (the guess need not be exact). */
  guessPerMs: number;
}
const MANTISSA_STEPS = MANTISSA_SCALE; // mantissas run from MANTISSA_SCALE to 2 × MANTISSA_SCALE
const GUESS_BUCKETS = 1024; // > the 2 ln 2 × 128 ≈ 177 mantissa steps per period: ≤ 1 start per bucket
/** Beyond about 2 years a millisecond moves 2^x by too little to be sure of the order: `**` it is. */
const MAX_TABLE_HALF_LIFE_MS = 2 ** 36;
/** The profile has 4 half-lives; other half-lives get the definition rather than an unbounded cache. */
const MAX_TABLES = 8;
const tables: MantissaTable[] = [];

/** The table of a half-life, built on first use; undefined once {@link MAX_TABLES} others exist. */
function tableFor(halfLifeMs: number): MantissaTable | undefined {
  for (const table of tables) if (table.halfLifeMs === halfLifeMs) return table;
  if (tables.length >= MAX_TABLES) return undefined;
  const starts = new Float64Array(MANTISSA_STEPS + 1);
  for (let k = 1; k <= MANTISSA_STEPS; k++) {
    // mantissaByPow is non-decreasing in whole offsets: 2^x for offsets 1 ms apart differs by far more
    // than the rounding of the division and of `**` (< 1 ulp each), so a binary search finds each start.
    let lo = starts[k - 1]!;
    let hi = halfLifeMs;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (mantissaByPow(mid, halfLifeMs) >= MANTISSA_SCALE + k) hi = mid;
      else lo = mid + 1;
    }
    starts[k] = lo;
  }
  const guess = new Uint8Array(GUESS_BUCKETS + 1);
  for (let b = 0, k = 0; b <= GUESS_BUCKETS; b++) {
    while (k < MANTISSA_STEPS && starts[k + 1]! <= (b * halfLifeMs) / GUESS_BUCKETS) k++;
    guess[b] = k;
  }
  const table = { halfLifeMs, starts, guess, guessPerMs: GUESS_BUCKETS / halfLifeMs };
  tables.push(table);
  return table;
}

/**
 * {@link mantissaByPow} by table lookup for whole offsets and half-lives (every event time is whole ms):
 * the same integer, about a third of the cost of `**` per event and half-life (4 per event).
 */
function mantissaAt(offset: number, halfLifeMs: number): number {
  if (
    !Number.isInteger(offset) ||
    offset < 0 ||
    !Number.isInteger(halfLifeMs) ||
    halfLifeMs > MAX_TABLE_HALF_LIFE_MS
  ) {
    return mantissaByPow(offset, halfLifeMs);
  }
  const table = tableFor(halfLifeMs);
  if (table === undefined) return mantissaByPow(offset, halfLifeMs);
  return tableMantissa(table, offset);
}

/** The mantissa of a whole, non-negative `offset` from its half-life's table. */
function tableMantissa(table: MantissaTable, offset: number): number {
  const { starts, guess } = table;
  // Any first index is corrected by the two scans; the guess makes them at most a step or two.
  let k = guess[Math.floor(offset * table.guessPerMs)] ?? MANTISSA_STEPS;
  while (k < MANTISSA_STEPS && offset >= starts[k + 1]!) k++;
  while (k > 0 && offset < starts[k]!) k--;
  return MANTISSA_SCALE + k;
}

/** Move a fixed-point value forward by `periods` whole half-lives (exact when no bits are lost). */
export function rescaleDecay(value: number, periods: number): number {
  if (periods <= 0 || value === 0) return value;
  return periods >= 53 ? 0 : Math.floor(value / POW2[periods]!);
}

/**
 * The real-valued decayed sum at `asOfMs` (in "events"), from a fixed-point value held at `anchor`.
 */
export function decayValueAt(value: number, halfLifeMs: number, anchor: number, asOfMs: number): number {
  if (value === 0) return 0;
  return decayedValue(value, decayFactorAt(halfLifeMs, anchor, asOfMs));
}

/**
 * The factor that takes a fixed-point value held at `anchor` to `asOfMs` (`2^-(elapsed / h)`): the same
 * for every value of one profile and half-life, so a caller decaying several computes it once.
 */
export function decayFactorAt(halfLifeMs: number, anchor: number, asOfMs: number): number {
  return 2 ** (-(asOfMs - anchor * halfLifeMs) / halfLifeMs);
}

/** {@link decayValueAt} from a {@link decayFactorAt} computed beforehand (the same number, bit for bit). */
export function decayedValue(value: number, factor: number): number {
  return value === 0 ? 0 : (value / UNIT) * factor;
}
