import { existsSync } from 'node:fs';
import path from 'node:path';
import { parsePublishedMetadata, parseServingContract } from '../../../shared/model/model-metadata';
import { createRandom } from '../../../shared/model/seeded-random';
import { dpSgdTrainer } from '../../../shared/privacy/dp-sgd';
import {
  type MultiTaskTrainingInput,
  notCoveredByDpSgd,
  trainMultiTaskModel,
} from '../../../shared/training/multi-task-model';
import { multiTaskInputOf } from '../../../shared/training/train-use-case';
import { buildTrainingSet, CART_HEURISTIC_FEATURE } from '../../../shared/training/training-set';
import type { NetworkTrainer } from '../../../shared/training/training-ports';
import { readEventFile, TAOBAO_DIR } from '../../../infra/workload/event-files';
import { type ContractEvent, validateEvent } from '../../../shared/contract/event-contract';
import { syntheticPropensityData } from '../model/synthetic-data';

/** A synthetic purchase + churn problem whose rows belong to profiles of three rows each. */
function input(): MultiTaskTrainingInput {
  const data = syntheticPropensityData({ rows: 1200, columns: 6, seed: 3, offset: -1 });
  const random = createRandom(9);
  return {
    features: data.features,
    labels: data.labels,
    churnLabels: Uint8Array.from({ length: data.rows }, () => (random() < 0.3 ? 1 : 0)),
    featureNames: data.featureNames,
    featureSchemaVersion: 2,
    heuristicFeature: 'cart_adds_decayed',
    churnHeuristicFeature: data.featureNames[1]!,
    modelVersion: 'v-dp',
    trainingWindow: { fromMs: 0, toMs: 86_400_000 },
    createdAtMs: Date.UTC(2026, 11, 1),
    privacyUnits: Array.from({ length: data.rows }, (_, r) => `profile-${Math.floor(r / 3)}`),
  };
}

const DP_OPTIONS = {
  maxEpochs: 2,
  bootstrapResamples: 20,
  differentialPrivacy: { noiseMultiplier: 1.5, expectedBatchUnits: 50, random: createRandom(4) },
};

describe('trainMultiTaskModel with differential privacy', () => {
  it('publishes the DP-SGD network on every head, uncalibrated, with (ε, δ) per profile in metadata and report', async () => {
    // Act
    const trained = await trainMultiTaskModel(dpSgdTrainer, input(), DP_OPTIONS);
    // Assess
    expect(trained.heads.purchase.chosen).toBe('network');
    expect(trained.heads.churn?.chosen).toBe('network');
    const stored = parsePublishedMetadata(JSON.parse(JSON.stringify(trained.metadata)));
    const privacy = stored.provenance?.differentialPrivacy;
    expect(privacy).toEqual(trained.metadata.provenance?.differentialPrivacy);
    expect(privacy).toMatchObject({ mechanism: 'dp-sgd', unit: 'profile', sampling: 'poisson', delta: 1e-5 });
    // The profiles of the train split, not its rows, are the units.
    expect(privacy!.units).toBeLessThanOrEqual(400);
    expect(privacy!.epsilon).toBeGreaterThan(0);
    expect(privacy!.notCovered).toEqual(notCoveredByDpSgd(false));
    expect(stored.provenance?.training?.['calibrated']).toBe(false);
    expect(stored.provenance?.training?.['classWeights']).toEqual({ purchase: [1, 1], churn: [1, 1] });
    // Serving never reads provenance: the contract is the same as without DP.
    expect(parseServingContract(JSON.parse(JSON.stringify(trained.metadata))).outputs.purchase.name).toBe(
      'purchase_probability',
    );
    expect(trained.reportHtml).toContain('<h2>Differential privacy</h2>');
    expect(trained.reportHtml).toContain(`ε = ${privacy!.epsilon.toFixed(3)}`);
  });

  it('refuses a model from a trainer that ignored the option, and settings that read the rows outside DP', async () => {
    // Prepare
    const ignoring: NetworkTrainer = {
      trainNetwork: async (train, validation, normalisation, options) => {
        const { differentialPrivacy: _ignored, ...rest } = options;
        return dpSgdTrainer
          .trainNetwork(train, validation, normalisation, {
            ...rest,
            differentialPrivacy: { noiseMultiplier: 1, random: createRandom(1) },
          })
          .then(({ differentialPrivacy: _dropped, ...fitted }) => fitted);
      },
    };
    // Act / Assess
    await expect(trainMultiTaskModel(ignoring, input(), DP_OPTIONS)).rejects.toThrow(
      /differentialPrivacy: was not honoured by the network trainer/,
    );
    await expect(
      trainMultiTaskModel(dpSgdTrainer, input(), { ...DP_OPTIONS, calibrate: true }),
    ).rejects.toThrow(/calibrate: cannot be on with differentialPrivacy/);
    await expect(
      trainMultiTaskModel(dpSgdTrainer, input(), {
        ...DP_OPTIONS,
        publishable: ['network', 'logisticRegression'],
      }),
    ).rejects.toThrow(/publishable: may name only the network/);
  });
});

const NINE_DAYS = path.join(TAOBAO_DIR, 'UserBehavior.users-9d.csv');
describe('DP-SGD on the 9-day Taobao slice', () => {
  it('spends at most the target ε per profile of the train split (when the file is present)', async () => {
    // Absent on this machine: nothing to measure (the data never ships with the repository).
    if (!existsSync(NINE_DAYS)) return;
    // Prepare
    const events: ContractEvent[] = [];
    for await (const line of readEventFile(NINE_DAYS, 'auto')) {
      if (line.kind === 'event') events.push(validateEvent(line.event, Date.now()).event);
    }
    const set = buildTrainingSet(events, { labelHorizonMs: 6 * 3_600_000 });
    // Act
    const trained = await trainMultiTaskModel(
      dpSgdTrainer,
      {
        ...multiTaskInputOf(set),
        featureNames: set.featureNames,
        featureSchemaVersion: set.featureSchemaVersion,
        heuristicFeature: CART_HEURISTIC_FEATURE,
        modelVersion: 'v-dp-taobao',
        trainingWindow: set.window,
        createdAtMs: Date.UTC(2026, 11, 1),
        split: set.split,
      },
      { maxEpochs: 2, bootstrapResamples: 20, differentialPrivacy: { targetEpsilon: 3 } },
    );
    // Assess
    const privacy = trained.metadata.provenance!.differentialPrivacy!;
    const trainProfiles = new Set(set.split.train.map((r) => set.rowMeta[r]!.profileId));
    expect(privacy.units).toBe(trainProfiles.size);
    expect(privacy.epsilon).toBeLessThanOrEqual(3);
    expect(privacy.epsilon).toBeGreaterThan(2.9);
  });
});
