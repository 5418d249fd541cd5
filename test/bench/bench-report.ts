/**
 * Statistics and output of the benchmarks: a plain-text table on stdout (figure, target, PASS/MISS,
 * ratio to the baseline measured in the same run) and the same figures as JSON under `reports/`.
 */
import { InvalidArgumentError } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A commander option parser for a count: a positive whole number, or the option names the rule. */
export function positiveIntOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

/** Median of some samples (mean of the middle two for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A distribution-free confidence interval of the median: the order statistics x(k) and x(n+1-k) with
 * the largest k whose binomial tail P(B(n, ½) < k) stays within (1 − level)/2 (each sample falls below
 * the true median with probability ½, whatever the distribution). Needs no assumption about the
 * machine's noise; undefined when there are too few samples for the level (fewer than 6 at 95 %).
 *
 * @returns the bounds and the interval's exact coverage
 */
export function medianConfidenceInterval(
  samples: readonly number[],
  level = 0.95,
): { low: number; high: number; coverage: number } | undefined {
  const n = samples.length;
  const sorted = [...samples].sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  // Binomial(n, ½) cumulative probabilities P(B < k), k = 0, 1, …
  let below = 0;
  let term = 0.5 ** n; // P(B = 0)
  let k = 0;
  while (k < n >> 1 && below + term <= tail) {
    below += term;
    term *= (n - k) / (k + 1);
    k++;
  }
  if (k === 0) return undefined;
  return { low: sorted[k - 1]!, high: sorted[n - k]!, coverage: 1 - 2 * below };
}

/** Nearest-rank percentile (`p` in 0..100) of some samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Wall-clock and CPU time (user + system, all threads of this process) of each timed run, in ms. */
export interface RunTimes {
  wallMs: number[];
  cpuMs: number[];
}

/** Run `fn` `runs` times after `warmups` untimed runs. */
export async function timeRuns(
  runs: number,
  warmups: number,
  fn: () => Promise<void> | void,
): Promise<RunTimes> {
  for (let i = 0; i < warmups; i++) await fn();
  const times: RunTimes = { wallMs: [], cpuMs: [] };
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await fn();
    times.wallMs.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    times.cpuMs.push((used.user + used.system) / 1000);
  }
  return times;
}

/** A goal a figure is held to. */
export interface Target {
  comparison: '>=' | '<=';
  value: number;
}

/** One line of the results table. */
export interface ResultRow {
  section: string;
  metric: string;
  value: number;
  unit: string;
  target?: Target;
  /** e.g. "7.9× fewer than per-event baseline" */
  ratio?: string;
  note?: string;
}

/** PASS / MISS against the target, or blank when the figure is informative only. */
export function statusOf(row: ResultRow): '' | 'PASS' | 'MISS' {
  if (row.target === undefined) return '';
  const { comparison, value } = row.target;
  return (comparison === '>=' ? row.value >= value : row.value <= value) ? 'PASS' : 'MISS';
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The results as an aligned text table. */
export function formatTable(rows: readonly ResultRow[]): string {
  const header = ['section', 'metric', 'value', 'target', 'status', 'vs baseline / note'];
  const body = rows.map((row) => [
    row.section,
    row.metric,
    `${formatNumber(row.value)} ${row.unit}`.trim(),
    row.target === undefined ? '' : `${row.target.comparison} ${formatNumber(row.target.value)}`,
    statusOf(row),
    [row.ratio, row.note].filter((s) => s !== undefined).join('; '),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((cells) => cells[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, c) => (c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

/** What the machine is, to read the figures against. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

/** Write the report as `reports/bench-<timestamp>.json` under the repository root; returns the path. */
export function writeJsonReport(repoRoot: string, report: unknown): string {
  const dir = path.join(repoRoot, 'reports');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}
