/**
 * The training use case against in-memory ports: what it refuses, what it compares, when it promotes.
 * The real pipeline (baselines, calibration, evaluation, ONNX export) runs; the network fit and the
 * ONNX runtime are fakes, so every score is chosen by the test.
 */
import { validateEvent } from '../../../shared/contract/event-contract';
import { FEATURE_NAMES, FEATURE_SCHEMA_VERSION } from '../../../shared/features/feature-vector';
import { type FeatureMatrix, takeRows, toFeatureMatrix } from '../../../shared/model/matrix';
import type { MlpWeights } from '../../../shared/model/mlp-weights';
import { sha256Hex } from '../../../shared/model/model-compatibility';
import {
  createModelPointer,
  type ModelMetadataV2,
  type ModelPointer,
  parseModelMetadataV2,
} from '../../../shared/model/model-metadata';
import { ModelScoringError } from '../../../shared/model/model-scoring-error';
import {
  trainAndPublish,
  type TrainDependencies,
  type TrainOptions,
} from '../../../shared/training/train-use-case';
import {
  type ModelCandidateFiles,
  ModelNotFoundError,
  type ModelRegistry,
  type NetworkTrainer,
  type OnnxRowScorer,
} from '../../../shared/training/training-ports';
import { buildTrainingSet, CART_HEURISTIC_FEATURE } from '../../../shared/training/training-set';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';

const HOUR_MS = 3_600_000;
const HORIZON_HOURS = 24;
const workload = generateWorkload({ users: 300, days: 6, seed: 7 });
const nowMs = workload.endMs + 24 * HOUR_MS;
const events = workload.events.map((e) => validateEvent(e, nowMs).event);
// The same rows the use case builds, so the test knows the labels of the held-out rows.
const trainingSet = buildTrainingSet(events, { labelHorizonMs: HORIZON_HOURS * HOUR_MS });
const testLabels = Float32Array.from(trainingSet.split.test, (row) => trainingSet.labels[row]!);
const testChurnLabels = Float32Array.from(trainingSet.split.test, (row) => trainingSet.churnLabels[row]!);
// Few rows: lower the minimums so the small workload can train (the defaults are tested below).
const SMALL_DATA: TrainOptions = {
  labelHorizonHours: HORIZON_HOURS,
  minExamples: 100,
  minRowsPerClassPerSplit: 1,
  training: { bootstrapResamples: 20 },
};
const CHAMPION_VERSION = 'v-champion';
const CHAMPION_ONNX = new TextEncoder().encode('champion graph');

/**
 * A network that "learns" one weight on the cart heuristic's feature, a purchase head over the
 * features and no other head: the pipeline around it (baselines, per-head choice, Platt scaling) runs
 * for real, instantly.
 */
const fakeNetwork = (): NetworkTrainer & { fits: number } => {
  const trainer = {
    fits: 0,
    trainNetwork: async (
      _train: unknown,
      _validation: unknown,
      normalisation: MlpWeights['normalisation'],
    ) => {
      trainer.fits++;
      return {
        weights: {
          normalisation,
          trunk: [],
          heads: {
            purchase: {
              input: 'features' as const,
              layers: [
                {
                  weights: FEATURE_NAMES.map((name) => [name === CART_HEURISTIC_FEATURE ? 1 : 0]),
                  bias: [0],
                  activation: 'sigmoid' as const,
                },
              ],
            },
          },
        },
        history: [{ epoch: 1, trainLoss: 0.69, validationLoss: 0.69 }],
        bestEpoch: 1,
        stoppedEarly: false,
        backend: 'fake',
      };
    },
  };
  return trainer;
};

/** A registry in memory that records what was stored and promoted. */
class InMemoryModelRegistry implements ModelRegistry {
  readonly files = new Map<string, ModelCandidateFiles>();
  readonly promotions: { modelVersion: string; previous: string | undefined }[] = [];
  readonly onnxReads: string[] = [];
  pointer: ModelPointer | undefined;

  async putCandidate(modelVersion: string, files: ModelCandidateFiles): Promise<void> {
    this.files.set(modelVersion, files);
  }
  async getCurrentPointer(): Promise<ModelPointer | undefined> {
    return this.pointer;
  }
  async getMetadata(modelVersion: string): Promise<ModelMetadataV2> {
    const files = this.files.get(modelVersion);
    if (files === undefined) throw new ModelNotFoundError(modelVersion, 'metadata.json');
    return files.metadata;
  }
  async getOnnx(modelVersion: string): Promise<Uint8Array> {
    this.onnxReads.push(modelVersion);
    const files = this.files.get(modelVersion);
    if (files === undefined) throw new ModelNotFoundError(modelVersion, 'model.onnx');
    return files.onnx;
  }
  async promote(modelVersion: string, previous: string | undefined): Promise<ModelPointer> {
    this.promotions.push({ modelVersion, previous });
    this.pointer = createModelPointer(modelVersion, nowMs, previous);
    return this.pointer;
  }
}

/** Perfect scores (AUC 1) or reversed ones (AUC 0) for the candidate's held-out rows. */
const perfect = (): Float32Array => Float32Array.from(testLabels);
const reversed = (): Float32Array => testLabels.map((label) => 1 - label);

/**
 * An ONNX runtime stand-in: the champion's bytes score one way, any other graph (the candidate)
 * the other. Records every matrix it was given.
 */
function fakeRuntime(
  scores: { candidate: () => Float32Array; champion: () => Float32Array },
  churn?: { candidate: () => Float32Array; champion: () => Float32Array },
) {
  const seen: { model: 'candidate' | 'champion'; matrix: FeatureMatrix }[] = [];
  const scoreOnnx: OnnxRowScorer = async (onnx, _io, matrix) => {
    const model = onnx === CHAMPION_ONNX ? 'champion' : 'candidate';
    seen.push({ model, matrix });
    return { purchase: scores[model](), ...(churn === undefined ? {} : { churn: churn[model]() }) };
  };
  return { scoreOnnx, seen };
}

let championTemplate: Promise<ModelMetadataV2> | undefined;

/** A registry where a champion serves: real, schema-valid metadata from one run, with `overrides`. */
async function registryWithChampion(overrides: Partial<ModelMetadataV2> = {}) {
  championTemplate ??= (async () => {
    const first = new InMemoryModelRegistry();
    const { scoreOnnx } = fakeRuntime({ candidate: perfect, champion: perfect });
    const probe = await run({ registry: first, scoreOnnx });
    return first.files.get(probe.modelVersion!)!.metadata;
  })();
  const template = await championTemplate;
  const registry = new InMemoryModelRegistry();
  registry.files.set(CHAMPION_VERSION, {
    onnx: CHAMPION_ONNX,
    reportHtml: '',
    metadata: {
      ...template,
      modelVersion: CHAMPION_VERSION,
      sha256: sha256Hex(CHAMPION_ONNX),
      ...overrides,
    },
  });
  registry.pointer = createModelPointer(CHAMPION_VERSION, nowMs - HOUR_MS);
  return registry;
}

function run(
  deps: Partial<TrainDependencies> & Pick<TrainDependencies, 'registry' | 'scoreOnnx'>,
  options: TrainOptions = SMALL_DATA,
) {
  return trainAndPublish(
    { events: { readEvents: async () => ({ events }) }, network: fakeNetwork(), now: () => nowMs, ...deps },
    options,
  );
}

describe('trainAndPublish with in-memory ports', () => {
  it('refuses below the minimum number of examples: no fit, no candidate, no promotion', async () => {
    // Prepare
    const registry = new InMemoryModelRegistry();
    const network = fakeNetwork();
    const runtime = fakeRuntime({ candidate: perfect, champion: perfect });
    // Act: the default minimum (500) against 248 rows.
    const summary = await run(
      { registry, network, scoreOnnx: runtime.scoreOnnx },
      { labelHorizonHours: HORIZON_HOURS },
    );
    // Assess
    expect(trainingSet.rows).toBeLessThan(500);
    expect(summary).toMatchObject({ skipped: true, promoted: false });
    expect(summary.reason).toBe(`${trainingSet.rows} examples, fewer than 500`);
    expect(summary.examples).toMatchObject({ events: events.length, rows: trainingSet.rows });
    expect(network.fits).toBe(0);
    expect(registry.files.size).toBe(0);
    expect(runtime.seen).toEqual([]);
    expect(registry.promotions).toEqual([]);
  });

  it('promotes the first usable candidate when no model serves', async () => {
    // Prepare
    const registry = new InMemoryModelRegistry();
    const runtime = fakeRuntime({ candidate: perfect, champion: perfect });
    // Act
    const summary = await run({ registry, scoreOnnx: runtime.scoreOnnx });
    // Assess
    expect(summary).toMatchObject({ skipped: false, promoted: true, reason: 'no model serves yet' });
    expect(registry.promotions).toEqual([{ modelVersion: summary.modelVersion, previous: undefined }]);
    expect(registry.files.get(summary.modelVersion!)?.metadata.provenance?.training?.['backend']).toBe(
      'fake',
    );
  });

  it('scores candidate and champion on the same held-out rows and promotes only the better one', async () => {
    // Prepare
    const better = fakeRuntime({ candidate: perfect, champion: reversed });
    const worse = fakeRuntime({ candidate: reversed, champion: perfect });
    const registryA = await registryWithChampion();
    const registryB = await registryWithChampion();
    // Act
    const promoted = await run({ registry: registryA, scoreOnnx: better.scoreOnnx });
    const kept = await run({ registry: registryB, scoreOnnx: worse.scoreOnnx });
    // Assess: one matrix per model, both the candidate's held-out test rows.
    const heldOut = takeRows(
      toFeatureMatrix(trainingSet.features, trainingSet.featureNames.length),
      trainingSet.split.test,
    );
    for (const { seen } of [better, worse]) {
      expect(seen.map((s) => s.model)).toEqual(['candidate', 'champion']);
      expect(seen[0]!.matrix).toEqual(heldOut);
      expect(seen[1]!.matrix).toEqual(heldOut);
    }
    expect(promoted).toMatchObject({ promoted: true });
    expect(promoted.reason).toMatch(/^ROC-AUC 1\.0000 vs 0\.0000 .* on the same test rows$/);
    expect(promoted.metrics?.champion?.rocAuc).toBe(0);
    expect(registryA.promotions).toEqual([
      { modelVersion: promoted.modelVersion, previous: CHAMPION_VERSION },
    ]);
    // A reversed candidate is at the floor, so it is kept whatever the champion scores.
    expect(kept).toMatchObject({ promoted: false });
    expect(registryB.promotions).toEqual([]);
    expect(registryB.pointer?.modelVersion).toBe(CHAMPION_VERSION);
  });

  it('keeps the champion when it scores better on the same rows than a usable candidate', async () => {
    // Prepare: the candidate ranks most rows right (AUC well above 0.5), the champion all of them.
    const mostlyRight = () => perfect().map((p, i) => (i % 10 === 0 ? 1 - p : p));
    const runtime = fakeRuntime({ candidate: mostlyRight, champion: perfect });
    const registry = await registryWithChampion();
    // Act
    const summary = await run({ registry, scoreOnnx: runtime.scoreOnnx });
    // Assess
    expect(summary.metrics!.candidate.rocAuc).toBeGreaterThan(0.5);
    expect(summary.metrics!.champion!.rocAuc).toBe(1);
    expect(summary).toMatchObject({ skipped: false, promoted: false });
    expect(summary.reason).toMatch(/on the same test rows$/);
    expect(registry.promotions).toEqual([]);
    expect(registry.files.has(summary.modelVersion!)).toBe(true);
  });

  it("keeps a better purchase model out when its churn head is worse than the champion's on the same rows", async () => {
    // Prepare: purchase strictly better; churn perfect for the champion, reversed for the candidate.
    const churnPerfect = () => Float32Array.from(testChurnLabels);
    const churnReversed = () => testChurnLabels.map((label) => 1 - label);
    const regressing = fakeRuntime(
      { candidate: perfect, champion: reversed },
      { candidate: churnReversed, champion: churnPerfect },
    );
    const improving = fakeRuntime(
      { candidate: perfect, champion: reversed },
      { candidate: churnPerfect, champion: churnReversed },
    );
    const registryA = await registryWithChampion();
    const registryB = await registryWithChampion();
    // Act
    const kept = await run({ registry: registryA, scoreOnnx: regressing.scoreOnnx });
    const promoted = await run({ registry: registryB, scoreOnnx: improving.scoreOnnx });
    // Assess
    expect(testChurnLabels.some((l) => l === 1) && testChurnLabels.some((l) => l === 0)).toBe(true);
    expect(kept).toMatchObject({ promoted: false, heads: { churn: { candidate: 0, champion: 1 } } });
    expect(kept.reason).toMatch(/but the churn head regresses: rocAuc 0\.0000 vs 1\.0000/);
    expect(registryA.promotions).toEqual([]);
    expect(promoted).toMatchObject({ promoted: true, heads: { churn: { candidate: 1, champion: 0 } } });
  });

  it("measures the newest rows against the serving model's training distributions and stores its own", async () => {
    // Prepare: one champion with a drift reference (every candidate of this build has one), one from
    // before drift references existed.
    const runtime = fakeRuntime({ candidate: perfect, champion: reversed });
    const withReference = await registryWithChampion();
    const { drift: _drift, ...olderProvenance } = (await withReference.getMetadata(CHAMPION_VERSION))
      .provenance!;
    const withoutReference = await registryWithChampion({ provenance: olderProvenance });
    // Act
    const summary = await run({ registry: withReference, scoreOnnx: runtime.scoreOnnx });
    const older = await run({ registry: withoutReference, scoreOnnx: runtime.scoreOnnx });
    // Assess
    expect(summary.drift).toMatchObject({
      referenceModel: CHAMPION_VERSION,
      rows: trainingSet.split.test.length,
    });
    expect(summary.drift!.features).toHaveLength(FEATURE_NAMES.length);
    expect(summary.drift!.maxFeaturePsi).toBe(summary.drift!.features[0]!.psi);
    expect(summary.drift!.scorePsi).toEqual(expect.any(Number));
    const stored = withReference.files.get(summary.modelVersion!)!;
    expect(parseModelMetadataV2(stored.metadata).provenance?.drift?.rows).toBe(
      trainingSet.split.train.length,
    );
    expect(stored.reportHtml).toContain('Drift against the serving model');
    expect(older.drift).toBeUndefined();
    expect(withoutReference.files.get(older.modelVersion!)!.reportHtml).not.toContain('Drift against');
  });

  it('promotes over a champion of another feature schema without downloading or scoring it', async () => {
    // Prepare
    const runtime = fakeRuntime({ candidate: perfect, champion: perfect });
    const registry = await registryWithChampion({ featureSchemaVersion: FEATURE_SCHEMA_VERSION - 1 });
    // Act
    const summary = await run({ registry, scoreOnnx: runtime.scoreOnnx });
    // Assess
    expect(summary).toMatchObject({ promoted: true });
    expect(summary.reason).toBe(
      `champion ${CHAMPION_VERSION} cannot be compared (feature schema ${FEATURE_SCHEMA_VERSION - 1}, the candidate computes ${FEATURE_SCHEMA_VERSION})`,
    );
    expect(summary.metrics?.champion).toBeUndefined();
    expect(registry.onnxReads).toEqual([]);
    expect(runtime.seen.map((s) => s.model)).toEqual(['candidate']);
  });

  it('treats a champion with a corrupt file, or one the runtime cannot run, as not comparable', async () => {
    // Prepare
    const corrupt = await registryWithChampion({ sha256: '0'.repeat(64) });
    const unrunnable = await registryWithChampion();
    const failing: OnnxRowScorer = async (onnx) => {
      if (onnx === CHAMPION_ONNX) throw new ModelScoringError('onnxruntime cannot load it: bad graph');
      return { purchase: perfect() };
    };
    // Act
    const afterCorrupt = await run({ registry: corrupt, scoreOnnx: failing });
    const afterUnrunnable = await run({ registry: unrunnable, scoreOnnx: failing });
    // Assess
    expect(afterCorrupt.reason).toBe(
      `champion ${CHAMPION_VERSION} cannot be compared (model file checksum mismatch)`,
    );
    expect(afterUnrunnable.reason).toBe(
      `champion ${CHAMPION_VERSION} cannot be compared (ONNX model could not be scored: onnxruntime cannot load it: bad graph)`,
    );
    expect(corrupt.promotions).toHaveLength(1);
    expect(unrunnable.promotions).toHaveLength(1);
  });

  it('lets any other champion failure through rather than promoting past it', async () => {
    // Prepare: an S3-like outage while reading the champion is not a property of the champion.
    const registry = await registryWithChampion();
    registry.getOnnx = async () => {
      throw new Error('socket hang up');
    };
    const runtime = fakeRuntime({ candidate: perfect, champion: perfect });
    // Act / Assess
    await expect(run({ registry, scoreOnnx: runtime.scoreOnnx })).rejects.toThrow('socket hang up');
    expect(registry.promotions).toEqual([]);
  });
});
