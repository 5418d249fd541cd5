/**
 * `npm run evaluate -- --events <file> | --synthetic [users]`: build point-in-time training examples
 * from an event file (NDJSON contract events or the Taobao CSV) or the synthetic workload, train the
 * multi-task model on a purged time split, and compare every head with its baselines on the test
 * period. Prints one table per head (`*` marks the scorer published, the best on validation) and
 * writes a self-contained HTML report.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';

import { Command, InvalidArgumentError, Option } from 'commander';

import { tfjsMlpTrainer } from '../../functions/train/tfjs-mlp-trainer';
import { type ContractEvent, ContractViolation, validateEvent } from '../../shared/contract/event-contract';
import type { EvaluationReport } from '../../shared/model/metrics';
import {
  BINARY_SCORERS,
  type BinaryHeadResult,
  CATEGORY_SCORERS,
  type CategoryHeadResult,
  DEFAULT_LOGISTIC_REGRESSION_L2,
  describeHeadChoices,
  type MultiTaskTrainingOptions,
  trainMultiTaskModel,
} from '../../shared/training/multi-task-model';
import { globalImportanceOf, multiTaskInputOf } from '../../shared/training/train-use-case';
import { scoreRowsOnce } from '../../functions/commons/onnx-session';
import { renderEvaluationReportHtml } from '../../shared/model/evaluation-report';
import { takeRows, toFeatureMatrix } from '../../shared/model/matrix';
import { declaredOutputNames } from '../../shared/model/model-metadata';
import {
  buildTrainingSet,
  CART_HEURISTIC_FEATURE,
  DEFAULT_CHURN_HORIZON_MS,
  DEFAULT_CUTOFF_STEP_MS,
  DEFAULT_NEXT_CATEGORY_COUNT,
  DEFAULT_MAX_CUTOFFS_PER_PROFILE,
  DEFAULT_TIME_SPLIT,
  describeTrainingSet,
} from '../../shared/training/training-set';
import { generateWorkload } from '../workload/synthetic-workload';
import { EVENT_FILE_FORMATS, type EventFileFormat, readEventFile } from '../workload/event-files';
import { labelColumnsOf, trainingSetCsvLines } from './training-set-csv';
import {
  DEFAULT_CLIP_NORM,
  DEFAULT_DP_EPOCHS,
  DEFAULT_DP_LEARNING_RATE,
  DEFAULT_EXPECTED_BATCH_UNITS,
} from '../../shared/privacy/dp-sgd';

const HOUR_MS = 3_600_000;
/** Synthetic workload size when `--synthetic` is given without a number (as `npm start`). */
const DEFAULT_SYNTHETIC_USERS = 3000;

interface EvaluateOptions {
  events?: string;
  synthetic?: number | true;
  days: number;
  format: EventFileFormat;
  horizonHours: number;
  churnHorizonHours: number;
  nextCategories: number;
  l2: number;
  cutoffStepHours: number;
  maxCutoffsPerProfile: number;
  validationFraction: number;
  testFraction: number;
  out: string;
  seed: number;
  export?: string;
  dpEpsilon?: number;
  dpNoiseMultiplier?: number;
  dpDelta?: number;
  dpClipNorm: number;
  dpBatchUnits: number;
  dpEpochs: number;
  dpLearningRate: number;
}

/** The training options `--dp-*` ask for: none unless `--dp-epsilon` or `--dp-noise-multiplier` is given. */
function privacyOptionsOf(options: EvaluateOptions): MultiTaskTrainingOptions {
  if (options.dpEpsilon === undefined && options.dpNoiseMultiplier === undefined) return {};
  return {
    maxEpochs: options.dpEpochs,
    learningRate: options.dpLearningRate,
    differentialPrivacy: {
      ...(options.dpEpsilon === undefined ? {} : { targetEpsilon: options.dpEpsilon }),
      ...(options.dpNoiseMultiplier === undefined ? {} : { noiseMultiplier: options.dpNoiseMultiplier }),
      ...(options.dpDelta === undefined ? {} : { delta: options.dpDelta }),
      clipNorm: options.dpClipNorm,
      expectedBatchUnits: options.dpBatchUnits,
    },
  };
}

/** Events read from the source, with what had to be left out. */
interface LoadedEvents {
  source: string;
  events: ContractEvent[];
  /** Lines that were not events at all, or broke the contract. */
  invalid: number;
}

const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError('must be a positive number');
  return n;
};
const nonNegativeNumber = (value: string): number => {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new InvalidArgumentError('must be a non-negative number');
  return n;
};
const positiveInteger = (value: string): number => {
  const n = Number(value);
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
const fraction = (value: string): number => {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('must be in [0, 1)');
  return n;
};

/** Validate one raw event as ingest would; `undefined` (counted by the caller) when it breaks the contract. */
function validOrUndefined(raw: unknown, nowMs: number): ContractEvent | undefined {
  try {
    return validateEvent(raw, nowMs).event;
  } catch (error) {
    if (!(error instanceof ContractViolation)) throw error;
    return undefined;
  }
}

async function loadFile(file: string, format: EventFileFormat): Promise<LoadedEvents> {
  if (!existsSync(file)) throw new Error(`no such file: ${file}`);
  const nowMs = Date.now();
  const events: ContractEvent[] = [];
  let invalid = 0;
  for await (const line of readEventFile(file, format)) {
    const event = line.kind === 'event' ? validOrUndefined(line.event, nowMs) : undefined;
    if (event === undefined) invalid++;
    else events.push(event);
  }
  return { source: file, events, invalid };
}

function loadSynthetic(users: number, days: number, seed: number): LoadedEvents {
  const workload = generateWorkload({ users, days, seed });
  const events: ContractEvent[] = [];
  let invalid = 0;
  // Processing time = the end of the simulated period, so the future-timestamp rule holds whatever today is.
  for (const raw of workload.events) {
    const event = validOrUndefined(raw, workload.endMs);
    if (event === undefined) invalid++;
    else events.push(event);
  }
  return { source: `synthetic workload (${users} users, ${days} days, seed ${seed})`, events, invalid };
}

const fixed = (value: number, digits = 4) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

function metricsTable(rows: readonly [string, EvaluationReport][]): string {
  const header = ['scorer', 'ROC-AUC [95% CI]', 'PR-AUC', 'log loss', 'Brier', 'ECE'];
  const body = rows.map(([name, r]) => [
    name,
    `${fixed(r.rocAuc)} [${fixed(r.rocAucCi95.lower)}, ${fixed(r.rocAucCi95.upper)}]`,
    fixed(r.prAuc),
    fixed(r.logLoss),
    fixed(r.brierScore),
    fixed(r.expectedCalibrationError),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const format = (cells: readonly string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...body.map(format)].join('\n');
}

function rankingTable(head: CategoryHeadResult): string {
  const header = ['scorer', 'served from', 'val recall@3', 'recall@3 [95% CI]', 'NDCG@3 [95% CI]'];
  const body = CATEGORY_SCORERS.map((scorer) => {
    const r = head.test[scorer];
    return [
      `${scorer}${scorer === head.chosen ? ' *' : ''}`,
      scorer === 'network' || scorer === 'popularity' ? 'graph' : 'profile state',
      fixed(head.validation[scorer].recall),
      `${fixed(r.recall)} [${fixed(r.recallCi95.lower)}, ${fixed(r.recallCi95.upper)}]`,
      `${fixed(r.ndcg)} [${fixed(r.ndcgCi95.lower)}, ${fixed(r.ndcgCi95.upper)}]`,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const format = (cells: readonly string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...body.map(format)].join('\n');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The trainer's report knows the rows, not where they came from: add the data and the cut. */
function withDataSection(reportHtml: string, facts: readonly (readonly [string, string])[]): string {
  const rows = facts
    .map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');
  const section =
    `<h2>Data and time split</h2>\n<table>${rows}</table>\n<p>Rows are (profile, cutoff t) with t at ` +
    `one of the profile's event times, featurized exactly as ingest scored them; train, validation and ` +
    `test are successive time periods separated by purge gaps of one label horizon.</p>\n`;
  return reportHtml.replace('</body>', `${section}</body>`);
}

/** Stream lines to a file, honouring back-pressure. */
async function writeLines(file: string, lines: Iterable<string>): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const out = createWriteStream(file);
  for (const line of lines) if (!out.write(`${line}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

async function evaluate(options: EvaluateOptions): Promise<void> {
  if ((options.events === undefined) === (options.synthetic === undefined)) {
    throw new InvalidArgumentError('give exactly one of --events <file> or --synthetic [users]');
  }
  const started = performance.now();
  const loaded =
    options.events !== undefined
      ? await loadFile(options.events, options.format)
      : loadSynthetic(
          options.synthetic === true ? DEFAULT_SYNTHETIC_USERS : options.synthetic!,
          options.days,
          options.seed,
        );
  const loadSeconds = (performance.now() - started) / 1000;
  console.log(
    `${loaded.source}: ${loaded.events.length} valid events, ${loaded.invalid} invalid skipped ` +
      `(${loadSeconds.toFixed(1)} s)`,
  );

  const labelHorizonMs = options.horizonHours * HOUR_MS;
  const buildStarted = performance.now();
  const set = buildTrainingSet(loaded.events, {
    labelHorizonMs,
    churnHorizonMs: options.churnHorizonHours * HOUR_MS,
    nextCategoryCount: options.nextCategories,
    cutoffStepMs: options.cutoffStepHours * HOUR_MS,
    maxCutoffsPerProfile: options.maxCutoffsPerProfile,
    seed: options.seed,
    split: { validationFraction: options.validationFraction, testFraction: options.testFraction },
  });
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  const facts = describeTrainingSet(set, labelHorizonMs);
  facts.push(['Invalid events skipped', String(loaded.invalid)]);
  facts.push([
    'Cutoff cell / cap per profile',
    `${options.cutoffStepHours} h / ${options.maxCutoffsPerProfile}`,
  ]);
  for (const [label, value] of facts) console.log(`  ${label}: ${value}`);
  console.log(`  training set built in ${buildSeconds.toFixed(2)} s`);
  if (options.export !== undefined) {
    await writeLines(options.export, trainingSetCsvLines(set, labelColumnsOf(set)));
    console.log(`  point-in-time rows written to ${path.resolve(options.export)} (${set.rows} rows, CSV)`);
  }

  const createdAtMs = Date.now();
  const stamp = new Date(createdAtMs).toISOString().replace(/[:.]/g, '-');
  const trainStarted = performance.now();
  const trained = await trainMultiTaskModel(
    tfjsMlpTrainer,
    {
      ...multiTaskInputOf(set),
      featureNames: set.featureNames,
      featureSchemaVersion: set.featureSchemaVersion,
      heuristicFeature: CART_HEURISTIC_FEATURE,
      modelVersion: `evaluate-${stamp}`,
      trainingWindow: set.window,
      createdAtMs,
      producer: 'profile-stream-evaluate',
      split: set.split,
    },
    { seed: options.seed, logisticRegressionL2: options.l2, ...privacyOptionsOf(options) },
  );
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  const { heads, metadata } = trained;
  const calibrated = metadata.provenance?.training?.['calibrated'] === true;
  const binaryTable = (title: string, head: BinaryHeadResult) => {
    const test = head.test.network;
    console.log(`\n${title} head — test period: ${test.count} rows, ${test.positives} positive`);
    console.log(
      metricsTable(
        BINARY_SCORERS.map((scorer) => [
          `${scorer === 'network' ? 'multi-task network' : scorer === 'heuristic' ? `heuristic (${head.heuristicFeature})` : 'logistic regression'}${calibrated ? ', calibrated' : ''}` +
            ` [val ${fixed(head.validationRocAuc[scorer])}]${scorer === head.chosen ? ' *' : ''}`,
          head.test[scorer],
        ]),
      ),
    );
  };
  const privacy = metadata.provenance?.differentialPrivacy;
  if (privacy !== undefined) {
    console.log(
      `\nDP-SGD: (ε = ${fixed(privacy.epsilon, 3)}, δ = ${privacy.delta.toExponential(2)}) per ${privacy.unit}; ` +
        `σ = ${fixed(privacy.noiseMultiplier, 3)}, C = ${privacy.clipNorm}, Poisson q = ${fixed(privacy.samplingProbability)} ` +
        `of ${privacy.units} ${privacy.unit}s, ${privacy.steps} steps; only the network is publishable`,
    );
  }
  binaryTable(`Purchase (${options.horizonHours} h)`, heads.purchase);
  if (heads.churn !== undefined) binaryTable(`Churn (${options.churnHorizonHours} h)`, heads.churn);
  else console.log('\nChurn head: not trained (a split lacks one of its classes)');
  if (heads.nextCategories !== undefined) {
    const category = heads.nextCategories;
    console.log(
      `\nNext-category head — ${category.categories.length - 1} categories + other; test rows with a label: ` +
        `${category.test.network.count}`,
    );
    console.log(rankingTable(category));
  } else console.log('\nNext-category head: not trained (no labelled rows in a split)');
  console.log(
    privacy === undefined
      ? '\n* = published (best on validation).'
      : '\n* = published (the DP-SGD network: baselines are not private, and no choice is made on validation).',
  );
  for (const [label, value] of describeHeadChoices(heads)) console.log(`  ${label}: ${value}`);
  const counts = metadata.provenance?.exampleCounts ?? {};
  const training = metadata.provenance?.training ?? {};
  console.log(
    `\nexamples train/validation/test ${counts['train']}/${counts['validation']}/${counts['test']}, ` +
      `positives ${counts['positives']}; training ${trainSeconds.toFixed(1)} s on ${String(training['backend'])} ` +
      `(epochs best ${String(training['bestEpoch'])} of ${String(training['epochsRun'])}); model ${metadata.sizeBytes} bytes ONNX ` +
      `(outputs ${declaredOutputNames(metadata.outputs).join(', ')})`,
  );
  // The published graph's own attribution outputs on the test rows: the report's global importance.
  const testRows = takeRows(toFeatureMatrix(set.features, set.featureNames.length), set.split.test);
  const scores = await scoreRowsOnce(trained.onnx, metadata, testRows);
  const reportHtml = renderEvaluationReportHtml({
    ...trained.reportPage,
    importance: globalImportanceOf(scores, testRows.rows),
  });

  facts.push(['Training time', `${trainSeconds.toFixed(1)} s (training set ${buildSeconds.toFixed(2)} s)`]);
  await mkdir(options.out, { recursive: true });
  const reportPath = path.resolve(options.out, `evaluation-${stamp}.html`);
  await writeFile(reportPath, withDataSection(reportHtml, facts));
  console.log(`report: ${reportPath}`);
}

const program = new Command()
  .name('evaluate')
  .description(
    'Train the propensity model on a point-in-time training set with a purged time split and compare it ' +
      'with the baselines.',
  )
  .option('--events <file>', 'NDJSON contract events (.ndjson/.jsonl) or the Taobao UserBehavior CSV (.csv)')
  .option(
    '--synthetic [users]',
    `evaluate on the synthetic workload (default ${DEFAULT_SYNTHETIC_USERS} users)`,
    positiveInteger,
  )
  .option('--days <n>', 'synthetic days of behaviour', positiveInteger, 7)
  .addOption(new Option('--format <format>', 'event file format').choices(EVENT_FILE_FORMATS).default('auto'))
  .option('--horizon-hours <h>', 'label horizon H: purchase within (t, t + H]', positiveNumber, 24)
  .option(
    '--churn-horizon-hours <h>',
    'churn horizon D: no event within (t, t + D]',
    positiveNumber,
    DEFAULT_CHURN_HORIZON_MS / HOUR_MS,
  )
  .option(
    '--next-categories <k>',
    'named categories K of the next-category head (plus other)',
    positiveInteger,
    DEFAULT_NEXT_CATEGORY_COUNT,
  )
  .option(
    '--l2 <l2>',
    'L2 of the logistic-regression baselines',
    nonNegativeNumber,
    DEFAULT_LOGISTIC_REGRESSION_L2,
  )
  .option(
    '--cutoff-step-hours <h>',
    'one cutoff per profile and cell of this width (0: every event time)',
    nonNegativeNumber,
    DEFAULT_CUTOFF_STEP_MS / HOUR_MS,
  )
  .option(
    '--max-cutoffs-per-profile <n>',
    'rows per profile at most',
    positiveInteger,
    DEFAULT_MAX_CUTOFFS_PER_PROFILE,
  )
  .option(
    '--validation-fraction <f>',
    'share of the cutoffs (rows)',
    fraction,
    DEFAULT_TIME_SPLIT.validationFraction,
  )
  .option('--test-fraction <f>', 'share of the cutoffs (rows)', fraction, DEFAULT_TIME_SPLIT.testFraction)
  .option('--out <dir>', 'folder for the HTML report', 'reports')
  .option(
    '--export <file>',
    'also write the point-in-time rows (ids, cutoff, split, features, labels) as CSV',
  )
  .option('--seed <n>', 'seed of the sampling, the workload and the training', positiveInteger, 42)
  .option(
    '--dp-epsilon <ε>',
    'train the network with DP-SGD to this ε (per profile); σ chosen by the accountant',
    positiveNumber,
  )
  .option(
    '--dp-noise-multiplier <σ>',
    'DP-SGD with this noise multiplier; reports the ε spent',
    positiveNumber,
  )
  .option('--dp-delta <δ>', 'δ of the guarantee (default min(1e-5, profiles^-1.1))', fraction)
  .option('--dp-clip-norm <C>', "L2 bound of each profile's gradient", positiveNumber, DEFAULT_CLIP_NORM)
  .option(
    '--dp-batch-units <n>',
    'expected profiles per DP-SGD step (Poisson sampling)',
    positiveInteger,
    DEFAULT_EXPECTED_BATCH_UNITS,
  )
  .option('--dp-epochs <n>', 'DP-SGD epochs (fixed: no early stopping)', positiveInteger, DEFAULT_DP_EPOCHS)
  .option(
    '--dp-learning-rate <lr>',
    'Adam learning rate under DP-SGD',
    positiveNumber,
    DEFAULT_DP_LEARNING_RATE,
  )
  .action(async (options: EvaluateOptions) => {
    await evaluate(options);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`evaluate failed: ${message}`);
  process.exitCode = 1;
});
