/**
 * A self-contained HTML page comparing scorers on the test split: a metrics table, a ROC plot and a
 * reliability (calibration) plot, drawn as inline SVG so the page opens from S3 or disk with no assets.
 */
import type { FeatureImportance } from './attribution-summary';
import { DRIFT_ALARM_PSI, type DriftReport } from './feature-drift';
import type { EvaluationReport } from './metrics';
import type { DifferentialPrivacyRecord } from './model-metadata';
import type { RankingReport } from './ranking-metrics';

/** One scorer's results under a display name. */
export interface ScorerEvaluation {
  name: string;
  report: EvaluationReport;
}

/** Content of the page. */
export interface EvaluationReportPage {
  title: string;
  modelVersion: string;
  /** ISO timestamp shown in the header. */
  createdAt: string;
  /** The purchase head: every candidate scorer, the published one named so. */
  scorers: readonly ScorerEvaluation[];
  /** The churn head's candidates, when the model has the head. */
  churnScorers?: readonly ScorerEvaluation[];
  /** The next-category head's candidates (recall@k, NDCG@k), when the model has the head. */
  rankings?: readonly { name: string; report: RankingReport }[];
  /**
   * Global importance per attributed head: mean |contribution| over the test rows, as the published
   * graph computes it (added by whoever runs the graph; the trainer itself runs no ONNX).
   */
  importance?: readonly { head: string; rows: number; features: readonly FeatureImportance[] }[];
  /** This run's newest rows against the serving model's training distributions. */
  drift?: DriftReport;
  /** The (ε, δ) guarantee when the network was trained with DP-SGD. */
  differentialPrivacy?: DifferentialPrivacyRecord;
  /** Extra label/value rows (training window, example counts, epochs…). */
  facts?: readonly (readonly [string, string])[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'] as const;
const PLOT_SIZE = 320;
const MARGIN = 40;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function format(value: number, digits = 4): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

const colourOf = (index: number) => COLOURS[index % COLOURS.length] as string;
const x = (v: number) => (MARGIN + v * PLOT_SIZE).toFixed(1);
const y = (v: number) => (MARGIN + (1 - v) * PLOT_SIZE).toFixed(1);

/** Unit-square plot frame: axes with ticks every 0.2, the diagonal, axis labels and a legend. */
function plotFrame(xLabel: string, yLabel: string, names: readonly string[], body: string): string {
  const total = PLOT_SIZE + 2 * MARGIN;
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1]
    .map(
      (t) =>
        `<line x1="${x(t)}" y1="${y(0)}" x2="${x(t)}" y2="${y(1)}" stroke="#eee"/>` +
        `<line x1="${x(0)}" y1="${y(t)}" x2="${x(1)}" y2="${y(t)}" stroke="#eee"/>` +
        `<text x="${x(t)}" y="${Number(y(0)) + 14}" font-size="10" text-anchor="middle">${t.toFixed(1)}</text>` +
        `<text x="${Number(x(0)) - 6}" y="${Number(y(t)) + 3}" font-size="10" text-anchor="end">${t.toFixed(1)}</text>`,
    )
    .join('');
  // The legend sits under the plot, so long scorer names never cover a curve or get cut off.
  const legendTop = total + 16;
  const legend = names
    .map(
      (name, i) =>
        `<rect x="${x(0)}" y="${legendTop + 16 * i}" width="10" height="10" fill="${colourOf(i)}"/>` +
        `<text x="${Number(x(0)) + 15}" y="${legendTop + 16 * i + 9}" font-size="11">${escapeHtml(name)}</text>`,
    )
    .join('');
  const height = legendTop + 16 * names.length + 4;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${total}" height="${height}" viewBox="0 0 ${total} ${height}" role="img">` +
    ticks +
    `<rect x="${x(0)}" y="${y(1)}" width="${PLOT_SIZE}" height="${PLOT_SIZE}" fill="none" stroke="#333"/>` +
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 4"/>` +
    body +
    legend +
    `<text x="${x(0.5)}" y="${total + 2}" font-size="12" text-anchor="middle">${escapeHtml(xLabel)}</text>` +
    `<text x="12" y="${y(0.5)}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${y(0.5)})">${escapeHtml(yLabel)}</text>` +
    `</svg>`
  );
}

function rocPlot(scorers: readonly ScorerEvaluation[]): string {
  const lines = scorers
    .map(({ report }, i) => {
      const points = report.rocCurve
        .map((p) => `${x(p.falsePositiveRate)},${y(p.truePositiveRate)}`)
        .join(' ');
      return `<polyline points="${points}" fill="none" stroke="${colourOf(i)}" stroke-width="2"/>`;
    })
    .join('');
  return plotFrame(
    'False positive rate',
    'True positive rate',
    scorers.map((s) => s.name),
    lines,
  );
}

function calibrationPlot(scorers: readonly ScorerEvaluation[], outcome: string): string {
  const series = scorers
    .map(({ report }, i) => {
      const bins = report.calibrationBins.filter((b) => b.count > 0);
      const points = bins.map((b) => `${x(b.meanPredicted)},${y(b.observedRate)}`).join(' ');
      const dots = bins
        .map(
          (b) =>
            `<circle cx="${x(b.meanPredicted)}" cy="${y(b.observedRate)}" r="3" fill="${colourOf(i)}">` +
            `<title>${escapeHtml(`${b.lower.toFixed(1)}–${b.upper.toFixed(1)}: n=${b.count}`)}</title></circle>`,
        )
        .join('');
      return `<polyline points="${points}" fill="none" stroke="${colourOf(i)}" stroke-width="1.5"/>${dots}`;
    })
    .join('');
  return plotFrame(
    'Mean predicted probability',
    `Observed ${outcome} rate`,
    scorers.map((s) => s.name),
    series,
  );
}

function metricsTable(scorers: readonly ScorerEvaluation[]): string {
  const header = ['Scorer', 'ROC-AUC', '95% CI', 'PR-AUC', 'Log loss', 'Brier', 'ECE (10 bins)']
    .map((h) => `<th>${h}</th>`)
    .join('');
  const rows = scorers
    .map(({ name, report: r }) => {
      const cells = [
        format(r.rocAuc),
        `${format(r.rocAucCi95.lower)} – ${format(r.rocAucCi95.upper)}`,
        format(r.prAuc),
        format(r.logLoss),
        format(r.brierScore),
        format(r.expectedCalibrationError),
      ];
      return `<tr><th>${escapeHtml(name)}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
    })
    .join('');
  return `<table><thead><tr>${header}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** Metrics table and both plots of one binary head. */
function binarySection(title: string, outcome: string, scorers: readonly ScorerEvaluation[]): string {
  return `<h2>${escapeHtml(title)}</h2>
${metricsTable(scorers)}
<figure>${rocPlot(scorers)}<figcaption>ROC curve (test split)</figcaption></figure>
<figure>${calibrationPlot(scorers, outcome)}<figcaption>Reliability diagram (10 equal-width bins)</figcaption></figure>`;
}

function rankingSection(rankings: NonNullable<EvaluationReportPage['rankings']>): string {
  const k = rankings[0]?.report.k ?? 3;
  const header = ['Scorer', `Recall@${k}`, '95% CI', `NDCG@${k}`, '95% CI', 'Rows']
    .map((h) => `<th>${h}</th>`)
    .join('');
  const rows = rankings
    .map(({ name, report: r }) => {
      const cells = [
        format(r.recall),
        `${format(r.recallCi95.lower)} – ${format(r.recallCi95.upper)}`,
        format(r.ndcg),
        `${format(r.ndcgCi95.lower)} – ${format(r.ndcgCi95.upper)}`,
        String(r.count),
      ];
      return `<tr><th>${escapeHtml(name)}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
    })
    .join('');
  return `<h2>Next categories (test split, rows with a next category)</h2>
<table><thead><tr>${header}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** How many features the importance tables show. */
const IMPORTANCE_ROWS = 15;

function importanceSection(importance: NonNullable<EvaluationReportPage['importance']>): string {
  const tables = importance
    .map(({ head, rows, features }) => {
      const body = features
        .slice(0, IMPORTANCE_ROWS)
        .map(
          (f) =>
            `<tr><th>${escapeHtml(f.feature)}</th><td>${format(f.meanAbsoluteContribution)}</td><td>${format(f.meanContribution)}</td></tr>`,
        )
        .join('');
      return `<h3>${escapeHtml(head)} (${rows} test rows)</h3>
<table><thead><tr><th>Feature</th><th>Mean |contribution|</th><th>Mean contribution</th></tr></thead><tbody>${body}</tbody></table>`;
    })
    .join('\n');
  return `<h2>Global feature importance</h2>
<p>Contributions in logit units, from the graph's own attribution outputs, measured from the training mean; the ${IMPORTANCE_ROWS} largest by mean magnitude.</p>
${tables}`;
}

/** How many features the drift table shows. */
const DRIFT_ROWS = 10;

const driftVerdict = (psi: number) =>
  psi >= DRIFT_ALARM_PSI ? 'shifted' : psi >= 0.1 ? 'moderate' : 'stable';

function driftSection(drift: DriftReport): string {
  const row = (name: string, psi: number) =>
    `<tr><th>${escapeHtml(name)}</th><td>${format(psi)}</td><td>${driftVerdict(psi)}</td></tr>`;
  const body = [
    ...(drift.scorePsi === undefined ? [] : [row('purchase score (serving model)', drift.scorePsi)]),
    ...drift.features.slice(0, DRIFT_ROWS).map((f) => row(f.feature, f.psi)),
  ].join('');
  return `<h2>Drift against the serving model</h2>
<p>Population stability index of the ${drift.rows} newest rows (this run's test split) against the training distributions of ${escapeHtml(drift.referenceModel)}; the ${DRIFT_ROWS} largest. Below 0.1 stable, 0.1–${DRIFT_ALARM_PSI} moderate, from ${DRIFT_ALARM_PSI} shifted (alarmed).</p>
<table><thead><tr><th>Variable</th><th>PSI</th><th>Reading</th></tr></thead><tbody>${body}</tbody></table>`;
}

function privacySection(dp: DifferentialPrivacyRecord): string {
  const facts: [string, string][] = [
    ['Guarantee', `(ε = ${format(dp.epsilon, 3)}, δ = ${dp.delta.toExponential(2)}) per ${dp.unit}`],
    ...(dp.targetEpsilon === undefined ? [] : [['Target ε', String(dp.targetEpsilon)] as [string, string]]),
    [
      'Mechanism',
      `DP-SGD: per-${dp.unit} gradients clipped to L2 ≤ ${dp.clipNorm}, Gaussian noise σ = ${format(dp.noiseMultiplier, 3)} × C`,
    ],
    [
      'Sampling',
      `${dp.sampling}, q = ${format(dp.samplingProbability, 4)} of ${dp.units} ${dp.unit}s, ${dp.steps} steps (${dp.epochs} epochs)`,
    ],
    ['Accountant', `${dp.accountant.toUpperCase()} (subsampled Gaussian), optimal order ${dp.rdpOrder}`],
  ];
  const rows = facts
    .map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');
  const notCovered = dp.notCovered.map((item) => `<li>${escapeHtml(item)}</li>`).join('');
  return `<h2>Differential privacy</h2>
<table>${rows}</table>
<p>The guarantee covers the published graph's weights. Baselines were not trained privately and are shown for comparison only (not publishable). Not covered:</p>
<ul>${notCovered}</ul>`;
}

/** Render the page; every interpolated string is HTML-escaped. */
export function renderEvaluationReportHtml(page: EvaluationReportPage): string {
  const first = page.scorers[0]?.report;
  const facts = [
    ['Model version', page.modelVersion],
    ['Created', page.createdAt],
    ...(first ? [['Test rows (positives)', `${first.count} (${first.positives})`] as const] : []),
    ...(page.facts ?? []),
  ]
    .map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(page.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child { text-align: left; }
figure { display: inline-block; margin: 0 1.5rem 1rem 0; }
</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<table>${facts}</table>
${page.differentialPrivacy === undefined ? '' : privacySection(page.differentialPrivacy)}
${binarySection('Purchase (test split)', 'purchase', page.scorers)}
<p>ROC-AUC interval: percentile bootstrap over test rows. Log loss clips probabilities to [1e-7, 1 − 1e-7].
Heuristic scores are scaled feature values, not probabilities, so their calibration metrics are indicative only.</p>
${page.churnScorers === undefined ? '' : binarySection('Churn (test split)', 'churn', page.churnScorers)}
${page.rankings === undefined ? '' : rankingSection(page.rankings)}
${page.importance === undefined || page.importance.length === 0 ? '' : importanceSection(page.importance)}
${page.drift === undefined ? '' : driftSection(page.drift)}
</body>
</html>
`;
}
