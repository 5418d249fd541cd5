/**
 * The training use case: archive → examples → candidate model → champion comparison → promotion.
 *
 * Flow: read the archived events → `buildTrainingSet` (point-in-time rows, time split with purge gaps)
 * → skip when the data cannot support a model → `trainMultiTaskModel` on that split → score the
 * candidate's graph on its test rows (every head; its attribution outputs give the report's global
 * importance) → store the candidate → score the champion's graph on the same rows → `decidePromotion`
 * per head → move `models/current.json` or leave it.
 *
 * Promotion rule: the purchase head decides (ROC-AUC must not get worse, `decidePromotion`), and churn
 * ROC-AUC and next-category recall@3, compared on the same rows where both models have the head, can
 * veto: a candidate whose other head is more than the policy's tolerance worse than the champion's is
 * kept out. A head the champion lacks is no reason to keep a better purchase model out. Every
 * comparison is reported (`heads`).
 *
 * Every outside thing comes in through a port (`training-ports.ts`): the archive, the model registry,
 * the network trainer (TensorFlow.js) and the ONNX runtime; the wall clock is passed in too.
 *
 * Envelope: see {@link trainAndPublish}.
 */
import { createHash } from 'node:crypto';
import type { ContractEvent } from '../contract/event-contract';
import { globalImportance } from '../model/attribution-summary';
import { driftReferenceOf, type DriftReport, measureDrift } from '../model/feature-drift';
import { type EvaluationReportPage, renderEvaluationReportHtml } from '../model/evaluation-report';
import { takeLabels, takeRows, toFeatureMatrix } from '../model/matrix';
import { evaluateScores, rocAuc } from '../model/metrics';
import { modelIncompatibility } from '../model/model-compatibility';
import { ModelInputError } from '../model/model-input-error';
import {
  type MetricSummary,
  type ModelMetadataV2,
  ModelMetadataViolation,
  OTHER_CATEGORY,
} from '../model/model-metadata';
import type { BatchScores } from '../model/model-outputs';
import { ModelScoringError } from '../model/model-scoring-error';
import { computePopulationStats } from '../traits/population-stats';
import {
  type ChampionAssessment,
  decidePromotion,
  type HeadMetricPair,
  type PromotionDecision,
  type PromotionPolicy,
} from '../model/promotion';
import {
  type MultiTaskTrainingInput,
  type MultiTaskTrainingOptions,
  NEXT_CATEGORY_TOP_K,
  summarise,
  trainMultiTaskModel,
} from './multi-task-model';
import type { PartitionedEventSource } from './distributed-training';
import { buildPartitionedTrainingSet } from './partitioned-training-set';
import type { RowSampleOptions, RowSampleRecord } from './row-sample';
import {
  type ArchivedEventSource,
  type ArchiveWindow,
  type ModelCandidateFiles,
  ModelNotFoundError,
  type ModelRegistry,
  type NetworkTrainer,
  type OnnxRowScorer,
} from './training-ports';
import {
  buildTrainingSet,
  CART_HEURISTIC_FEATURE,
  type TrainingSet,
  type TrainingSetOptions,
  TrainingSetError,
} from './training-set';

const HOUR_MS = 3_600_000;

/** What {@link trainAndPublish} needs from the outside world. */
export interface TrainDependencies {
  events: ArchivedEventSource;
  registry: ModelRegistry;
  /** Fits the network (TensorFlow.js in Lambda). */
  network: NetworkTrainer;
  /** Scores candidate and champion through their ONNX graphs (onnxruntime-node in Lambda). */
  scoreOnnx: OnnxRowScorer;
  /** Wall clock: model version and `createdAt`. */
  now: () => number;
  /** @default no logging */
  log?: { info(message: string, details: Record<string, unknown>): void };
}

/** Options of {@link trainAndPublish}. */
export interface TrainOptions {
  /** Label horizon H in hours (`LABEL_HORIZON_HOURS`). */
  labelHorizonHours: number;
  /** Event-time window of the archive to learn from. @default everything */
  window?: ArchiveWindow;
  /** Sampling and split of the examples. @default the training set's defaults */
  trainingSet?: Omit<TrainingSetOptions, 'labelHorizonMs'>;
  /** Network and optimiser. @default the trainer's defaults */
  training?: Omit<MultiTaskTrainingOptions, 'validationFraction' | 'testFraction'>;
  /** @default decidePromotion's defaults (margin 0, tie tolerance 0.0005, floor 0.5) */
  promotion?: PromotionPolicy;
  /** Fewer rows than this: no candidate. @default 500 */
  minExamples?: number;
  /** Each split needs at least this many rows of each class, or no candidate. @default 5 */
  minRowsPerClassPerSplit?: number;
}

/** Row counts of the examples. */
export interface ExampleCounts {
  events: number;
  rows: number;
  train: number;
  validation: number;
  test: number;
  positives: number;
  /** The row sample, when one thinned the rows. */
  sample?: RowSampleRecord;
}

/** The outcome of one run, logged by the handler and returned as its result. */
export interface TrainSummary {
  /** Absent when the run was skipped before training. */
  modelVersion?: string;
  /** True when no candidate was trained (too little or one-class data). */
  skipped: boolean;
  promoted: boolean;
  reason: string;
  /** Candidate and champion on the candidate's test rows (absent when skipped). */
  metrics?: { candidate: MetricSummary; champion?: MetricSummary };
  /** The other heads on the same rows (absent when skipped). */
  heads?: HeadComparison;
  /** The newest rows against the serving model's training distributions (absent when not measured). */
  drift?: DriftReport;
  examples: ExampleCounts;
  durationMs: number;
  /** Peak resident set size of the process so far (`maxRSS`), MB. */
  peakRssMb: number;
}

/** `v<yyyymmddHHMMss>-<first 8 hex of the training set's SHA-256>`: sortable, and the same data says so. */
export function modelVersionFor(
  createdAtMs: number,
  trainingSet: Pick<TrainingSet, 'features' | 'labels'>,
): string {
  const stamp = new Date(createdAtMs).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const hash = createHash('sha256')
    .update(
      new Uint8Array(
        trainingSet.features.buffer,
        trainingSet.features.byteOffset,
        trainingSet.features.byteLength,
      ),
    )
    .update(trainingSet.labels)
    .digest('hex');
  return `v${stamp}-${hash.slice(0, 8)}`;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/**
 * Train a candidate from the archive, store it, and promote it when it beats the champion on the same
 * held-out rows.
 *
 * Time grows linearly in events and in rows × epochs; memory with the events of the window, which are
 * all held while the training set is built, so Lambda's memory binds before its 15 minutes do (measured
 * figures: README, "Benchmarks"). Beyond ~1.5 million events, train on a window (`window`) or move
 * training to a batch job.
 *
 * @returns a summary; never promotes when the candidate does not clear {@link decidePromotion}.
 */
export async function trainAndPublish(deps: TrainDependencies, options: TrainOptions): Promise<TrainSummary> {
  const started = performance.now();
  const { events } = await deps.events.readEvents(options.window);
  const built = buildExamples(events, options);
  return trainOnExamples(deps, options, started, events.length, built);
}

/**
 * {@link trainAndPublish} on a training set built elsewhere: partition by partition in process
 * ({@link trainPartitioned}) or by the distributed build's workers (`functions/train/handler.ts`).
 *
 * @param built - the set, or why none could be built
 * @param eventsIn - events the set was built from, for the summary
 */
export async function trainOnExamples(
  deps: Omit<TrainDependencies, 'events'>,
  options: TrainOptions,
  started: number,
  eventsIn: number,
  built: { trainingSet: TrainingSet; sample?: RowSampleRecord } | string,
): Promise<TrainSummary> {
  const { minExamples = 500, minRowsPerClassPerSplit = 5 } = options;
  const summary = (fields: Omit<TrainSummary, 'durationMs' | 'peakRssMb'>): TrainSummary => {
    const result = { ...fields, durationMs: Math.round(performance.now() - started), peakRssMb: peakRssMb() };
    deps.log?.info(result.skipped ? 'training skipped' : 'training finished', { ...result });
    return result;
  };
  if (typeof built === 'string') {
    return summary({ skipped: true, promoted: false, reason: built, examples: countExamples(eventsIn) });
  }
  const { trainingSet } = built;
  const examples = {
    ...countExamples(eventsIn, trainingSet),
    ...(built.sample === undefined ? {} : { sample: built.sample }),
  };
  const shortfall = checkExamples(trainingSet, minExamples, minRowsPerClassPerSplit);
  if (shortfall !== undefined)
    return summary({ skipped: true, promoted: false, reason: shortfall, examples });

  const createdAtMs = deps.now();
  const modelVersion = modelVersionFor(createdAtMs, trainingSet);
  const trained = await trainMultiTaskModel(
    deps.network,
    {
      ...multiTaskInputOf(trainingSet),
      featureNames: trainingSet.featureNames,
      featureSchemaVersion: trainingSet.featureSchemaVersion,
      heuristicFeature: CART_HEURISTIC_FEATURE,
      modelVersion,
      trainingWindow: trainingSet.window,
      createdAtMs,
      split: trainingSet.split,
    },
    options.training,
  );
  const published = await publishCandidate(deps, trainingSet, trained, options.promotion);
  return summary({ modelVersion, skipped: false, ...published, examples });
}

/**
 * {@link trainAndPublish} with the training set built partition by partition in process
 * (`partitioned-training-set.ts`): memory holds one partition's events at a time, and `rowSample`
 * bounds the rows.
 */
export async function trainPartitioned(
  deps: Omit<TrainDependencies, 'events'> & { partitions: PartitionedEventSource },
  options: TrainOptions & { rowSample?: RowSampleOptions },
): Promise<TrainSummary> {
  const started = performance.now();
  let eventsIn = 0;
  let built: Awaited<ReturnType<typeof buildPartitionedTrainingSet>> | string;
  try {
    built = await buildPartitionedTrainingSet(
      deps.partitions,
      trainingSetOptionsOf(options),
      options.rowSample,
    );
    eventsIn = built.trainingSet.stats.eventsIn;
  } catch (error) {
    if (!(error instanceof TrainingSetError)) throw error;
    built = `no training set: ${error.message}`;
  }
  return trainOnExamples(deps, options, started, eventsIn, built);
}

/** The training-set options a run's options give. */
export function trainingSetOptionsOf(options: TrainOptions): TrainingSetOptions {
  return { ...options.trainingSet, labelHorizonMs: options.labelHorizonHours * HOUR_MS };
}

/** The labels and state-baseline inputs of every head, as {@link trainMultiTaskModel} takes them. */
export function multiTaskInputOf(
  trainingSet: TrainingSet,
): Pick<
  MultiTaskTrainingInput,
  'features' | 'labels' | 'churnLabels' | 'nextCategory' | 'horizons' | 'privacyUnits'
> {
  return {
    horizons: trainingSet.horizons,
    // One person (a user with the anonymous profiles merged into it) is one unit, not one per profile id.
    privacyUnits: trainingSet.rowMeta.map((row) => row.personId),
    features: trainingSet.features,
    labels: trainingSet.labels,
    churnLabels: trainingSet.churnLabels,
    nextCategory: {
      labels: trainingSet.nextCategoryLabels,
      categories: trainingSet.categories,
      affinity: trainingSet.categoryAffinity,
      lastCategory: trainingSet.lastCategory,
    },
  };
}

/** A secondary head's test metric for candidate and champion, on the same rows. */
export interface HeadMetricComparison {
  /** `rocAuc` (churn) or `recallAt3` (next categories: rows whose next category is a named one). */
  metric: string;
  candidate: number;
  /** Absent when the champion lacks the head or could not be scored. */
  champion?: number;
}

/** Churn and next categories compared; a head is absent when the candidate lacks it. */
export interface HeadComparison {
  churn?: HeadMetricComparison;
  nextCategories?: HeadMetricComparison;
}

/** Outcome of {@link publishCandidate}. */
export interface PublishOutcome {
  promoted: boolean;
  reason: string;
  metrics: { candidate: MetricSummary; champion?: MetricSummary };
  heads: HeadComparison;
  /** The newest rows against the serving model's reference (absent without a comparable champion). */
  drift?: DriftReport;
}

/**
 * Score a trained candidate on the test rows of `trainingSet` (the rows it was held out from), store
 * it (its report completed with global importance when it has a `reportPage` and attributions), score
 * the champion on the same rows, and move the pointer when {@link decidePromotion} says so.
 */
export async function publishCandidate(
  deps: Pick<TrainDependencies, 'registry' | 'scoreOnnx'>,
  trainingSet: TrainingSet,
  candidate: ModelCandidateFiles & { reportPage?: EvaluationReportPage },
  policy?: PromotionPolicy,
): Promise<PublishOutcome> {
  const rows = testRowsOf(trainingSet);
  // Not caught: our own exporter wrote the candidate, so a candidate that cannot be scored is a bug.
  const candidateScores = await deps.scoreOnnx(candidate.onnx, candidate.metadata, rows.matrix);
  const metadata = withPopulation(
    withDriftReference(candidate.metadata, trainingSet, candidateScores.purchase),
    trainingSet,
    candidateScores,
  );
  // The champion is scored before the candidate is stored so that its report can show the drift.
  const decision = await compareWithChampion(deps, rows, metadata, candidateScores, policy);
  const reportHtml =
    candidate.reportPage === undefined
      ? candidate.reportHtml
      : renderEvaluationReportHtml({
          ...candidate.reportPage,
          importance: globalImportanceOf(candidateScores, rows.matrix.rows),
          ...(decision.drift === undefined ? {} : { drift: decision.drift }),
        });
  await deps.registry.putCandidate(metadata.modelVersion, { onnx: candidate.onnx, metadata, reportHtml });
  if (decision.promote) await deps.registry.promote(metadata.modelVersion, decision.championVersion);
  return {
    promoted: decision.promote,
    reason: decision.reason,
    metrics: {
      candidate: decision.candidate,
      ...(decision.champion === undefined ? {} : { champion: decision.champion }),
    },
    heads: decision.heads,
    ...(decision.drift === undefined ? {} : { drift: decision.drift }),
  };
}

/**
 * The candidate's metadata with the population statistics of the training rows (RFM and price-band
 * cut points over every row, the recent-buyers centroid over the test rows' embeddings), unless it
 * ships its own or the rows give none.
 */
function withPopulation(
  metadata: ModelMetadataV2,
  trainingSet: TrainingSet,
  scores: Omit<BatchScores, 'modelVersion'>,
): ModelMetadataV2 {
  if (metadata.population !== undefined) return metadata;
  const { embedding } = scores;
  const population = computePopulationStats(
    trainingSet.features,
    trainingSet.featureNames,
    trainingSet.rows,
    embedding === undefined ? undefined : { ...embedding, rows: trainingSet.split.test },
  );
  return population === undefined ? metadata : { ...metadata, population };
}

/** The candidate's metadata with the distributions later runs measure drift against. */
function withDriftReference(
  metadata: ModelMetadataV2,
  trainingSet: TrainingSet,
  testPurchaseScores: Float32Array,
): ModelMetadataV2 {
  const drift = driftReferenceOf({
    featureNames: trainingSet.featureNames,
    features: trainingSet.features,
    trainingRows: trainingSet.split.train,
    testPurchaseScores,
  });
  return { ...metadata, provenance: { ...metadata.provenance, drift } };
}

/** Global importance per attributed head over the scored rows, for the report. */
export function globalImportanceOf(scores: Omit<BatchScores, 'modelVersion'>, rows: number) {
  const contributions = scores.contributions;
  if (contributions === undefined) return [];
  return (['purchase', 'churn'] as const).flatMap((head) => {
    const values = contributions[head];
    return values === undefined
      ? []
      : [{ head, rows, features: globalImportance(values, rows, contributions.featureNames) }];
  });
}

function buildExamples(
  events: readonly ContractEvent[],
  options: TrainOptions,
): { trainingSet: TrainingSet } | string {
  if (events.length === 0) return 'the archive holds no events in the window';
  try {
    return { trainingSet: buildTrainingSet(events, trainingSetOptionsOf(options)) };
  } catch (error) {
    if (!(error instanceof TrainingSetError)) throw error;
    return `no training set: ${error.message}`;
  }
}

function countExamples(events: number, trainingSet?: TrainingSet): ExampleCounts {
  const { split, labels, rows = 0 } = trainingSet ?? {};
  return {
    events,
    rows,
    train: split?.train.length ?? 0,
    validation: split?.validation.length ?? 0,
    test: split?.test.length ?? 0,
    positives: labels === undefined ? 0 : labels.reduce((sum, label) => sum + label, 0),
  };
}

/** Why the examples cannot support a model, or `undefined` when they can. */
function checkExamples(
  trainingSet: TrainingSet,
  minExamples: number,
  minPerClass: number,
): string | undefined {
  if (trainingSet.rows < minExamples) return `${trainingSet.rows} examples, fewer than ${minExamples}`;
  for (const name of ['train', 'validation', 'test'] as const) {
    const rows = trainingSet.split[name];
    const positives = rows.reduce((sum, row) => sum + trainingSet.labels[row]!, 0);
    const negatives = rows.length - positives;
    if (positives < minPerClass || negatives < minPerClass) {
      return `${name} split has ${positives} positive and ${negatives} negative rows; each class needs ${minPerClass}`;
    }
  }
  return undefined;
}

/** The candidate's test rows with the labels of every head. */
interface TestRows {
  matrix: ReturnType<typeof takeRows>;
  purchase: Uint8Array;
  churn: Uint8Array;
  /** The next category's NAME per row, undefined when the row has none or it is `other`. */
  nextCategory: (string | undefined)[];
}

function testRowsOf(trainingSet: TrainingSet): TestRows {
  const { test } = trainingSet.split;
  return {
    matrix: takeRows(toFeatureMatrix(trainingSet.features, trainingSet.featureNames.length), test),
    purchase: takeLabels(trainingSet.labels, test),
    churn: takeLabels(trainingSet.churnLabels, test),
    nextCategory: test.map((r) => {
      const name = trainingSet.categories[trainingSet.nextCategoryLabels[r]!];
      return name === OTHER_CATEGORY ? undefined : name;
    }),
  };
}

/**
 * Recall@3 by category NAME on the rows whose next category is a named one: candidate and champion
 * may know different categories, and `other` means different things to each.
 */
function recallByName(
  nextCategories: NonNullable<BatchScores['nextCategories']>,
  labels: readonly (string | undefined)[],
): number {
  const { categories, probabilities } = nextCategories;
  const width = categories.length;
  let hits = 0;
  let rows = 0;
  labels.forEach((label, r) => {
    if (label === undefined) return;
    rows += 1;
    const top = Array.from(probabilities.subarray(r * width, (r + 1) * width), (p, c) => ({ p, c }))
      .sort((a, b) => b.p - a.p)
      .slice(0, NEXT_CATEGORY_TOP_K);
    if (top.some(({ c }) => categories[c] === label)) hits += 1;
  });
  return rows === 0 ? Number.NaN : hits / rows;
}

/** The secondary heads of candidate and champion on the same rows. */
function compareHeads(
  rows: TestRows,
  candidate: Omit<BatchScores, 'modelVersion'>,
  champion: Omit<BatchScores, 'modelVersion'> | undefined,
): HeadComparison {
  const bothClasses = rows.churn.some((l) => l === 1) && rows.churn.some((l) => l === 0);
  return {
    ...(candidate.churn === undefined || !bothClasses
      ? {}
      : {
          churn: {
            metric: 'rocAuc',
            candidate: rocAuc(rows.churn, candidate.churn),
            ...(champion?.churn === undefined ? {} : { champion: rocAuc(rows.churn, champion.churn) }),
          },
        }),
    ...(candidate.nextCategories === undefined
      ? {}
      : {
          nextCategories: {
            metric: `recallAt${NEXT_CATEGORY_TOP_K}`,
            candidate: recallByName(candidate.nextCategories, rows.nextCategory),
            ...(champion?.nextCategories === undefined
              ? {}
              : { champion: recallByName(champion.nextCategories, rows.nextCategory) }),
          },
        }),
  };
}

/** The compared heads both models have, as {@link decidePromotion} takes them. */
function headPairs(heads: HeadComparison): HeadMetricPair[] {
  return Object.entries(heads).flatMap(([head, comparison]: [string, HeadMetricComparison]) =>
    comparison.champion === undefined
      ? []
      : [{ head, metric: comparison.metric, candidate: comparison.candidate, champion: comparison.champion }],
  );
}

/** Score the champion on the candidate's test rows and decide per head. */
async function compareWithChampion(
  deps: Pick<TrainDependencies, 'registry' | 'scoreOnnx'>,
  rows: TestRows,
  candidate: ModelMetadataV2,
  candidateScores: Omit<BatchScores, 'modelVersion'>,
  policy: PromotionPolicy | undefined,
): Promise<
  PromotionDecision & { championVersion: string | undefined; heads: HeadComparison; drift?: DriftReport }
> {
  const seed = Number(candidate.provenance?.training?.['seed'] ?? 42);
  // No schema parse here: a NaN metric must reach decidePromotion, which refuses it, not throw.
  const measure = (probabilities: Float32Array): MetricSummary =>
    summarise(evaluateScores(rows.purchase, probabilities, { seed }));

  const candidateMetrics = measure(candidateScores.purchase);
  const pointer = await deps.registry.getCurrentPointer();
  let championScores: Omit<BatchScores, 'modelVersion'> | undefined;
  let drift: DriftReport | undefined;
  const champion =
    pointer === undefined
      ? undefined
      : await assessChampion(deps.registry, pointer.modelVersion, candidate, async (onnx, io) => {
          championScores = await deps.scoreOnnx(onnx, io, rows.matrix);
          // The test rows are the archive's newest cutoffs: what the serving model sees now.
          const reference = io.provenance?.drift;
          if (reference !== undefined) {
            drift = measureDrift({
              referenceModel: io.modelVersion,
              reference,
              featureNames: candidate.featureNames,
              liveFeatures: rows.matrix.values,
              livePurchaseScores: championScores.purchase,
            });
          }
          return measure(championScores.purchase);
        });
  const heads = compareHeads(rows, candidateScores, championScores);
  const decision = decidePromotion({
    candidate: { modelVersion: candidate.modelVersion, metrics: candidateMetrics },
    ...(champion === undefined ? {} : { champion }),
    otherHeads: headPairs(heads),
    ...(policy === undefined ? {} : { policy }),
  });
  return {
    ...decision,
    championVersion: pointer?.modelVersion,
    heads,
    ...(drift === undefined ? {} : { drift }),
  };
}

/** The champion's metrics on the candidate's rows, or why they cannot be had. */
async function assessChampion(
  registry: ModelRegistry,
  modelVersion: string,
  candidate: ModelMetadataV2,
  measure: (onnx: Uint8Array, io: ModelMetadataV2) => Promise<MetricSummary>,
): Promise<ChampionAssessment> {
  const incomparable = (why: string): ChampionAssessment => ({ comparable: false, modelVersion, why });
  const candidateFeatures = {
    featureSchemaVersion: candidate.featureSchemaVersion,
    featureNames: candidate.featureNames,
    computedBy: 'the candidate',
  };
  try {
    const metadata = await registry.getMetadata(modelVersion);
    const misfit = modelIncompatibility(metadata, { features: candidateFeatures });
    if (misfit !== undefined) return incomparable(misfit);
    const onnx = await registry.getOnnx(modelVersion);
    const corrupt = modelIncompatibility(metadata, { onnx });
    if (corrupt !== undefined) return incomparable(corrupt);
    return { comparable: true, modelVersion, metrics: await measure(onnx, metadata) };
  } catch (error) {
    // A champion that cannot be read or run is no reason to keep a usable candidate out.
    if (
      error instanceof ModelNotFoundError ||
      error instanceof ModelMetadataViolation ||
      error instanceof ModelInputError ||
      error instanceof ModelScoringError
    ) {
      return incomparable(error.message);
    }
    throw error;
  }
}
