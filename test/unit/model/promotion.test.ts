import fc from 'fast-check';
import { decidePromotion, type ChampionAssessment } from '../../../shared/model/promotion';
import type { MetricSummary } from '../../../shared/model/model-metadata';
import { metricsFactory } from '../../support/model-fixtures';

function champion(overrides: Partial<MetricSummary> = {}): ChampionAssessment {
  return { comparable: true, modelVersion: 'v-champion', metrics: metricsFactory(overrides) };
}

const candidate = (overrides: Partial<MetricSummary> = {}) => ({
  modelVersion: 'v-candidate',
  metrics: metricsFactory(overrides),
});

describe('decidePromotion', () => {
  it('promotes a usable candidate when no model serves yet', () => {
    // Act
    const decision = decidePromotion({ candidate: candidate() });
    // Assess
    expect(decision).toEqual({ promote: true, reason: 'no model serves yet', candidate: metricsFactory() });
  });

  it('keeps everything when the candidate ranks no better than chance, champion or not', () => {
    // Prepare
    const chance = candidate({ rocAuc: 0.5 });
    // Act
    const alone = decidePromotion({ candidate: chance });
    const againstWeakChampion = decidePromotion({ candidate: chance, champion: champion({ rocAuc: 0.3 }) });
    // Assess
    expect(alone.promote).toBe(false);
    expect(alone.reason).toMatch(/not above the floor 0\.5000/);
    expect(againstWeakChampion.promote).toBe(false);
  });

  it('keeps the champion when the candidate has a non-finite metric', () => {
    // Act
    const decision = decidePromotion({ candidate: candidate({ logLoss: Number.NaN }) });
    // Assess
    expect(decision.promote).toBe(false);
    expect(decision.reason).toMatch(/non-finite/);
  });

  it('promotes over a champion that cannot be compared, and says why', () => {
    // Prepare
    const incomparable: ChampionAssessment = {
      comparable: false,
      modelVersion: 'v-old',
      why: 'feature schema 1, candidate 2',
    };
    // Act
    const decision = decidePromotion({ candidate: candidate(), champion: incomparable });
    // Assess
    expect(decision.promote).toBe(true);
    expect(decision.reason).toBe('champion v-old cannot be compared (feature schema 1, candidate 2)');
    expect(decision.champion).toBeUndefined();
  });

  it('promotes a higher ROC-AUC and keeps the champion over a lower one, reporting both', () => {
    // Act
    const better = decidePromotion({ candidate: candidate({ rocAuc: 0.82 }), champion: champion() });
    const worse = decidePromotion({ candidate: candidate({ rocAuc: 0.78 }), champion: champion() });
    // Assess
    expect(better.promote).toBe(true);
    expect(better.champion?.rocAuc).toBe(0.8);
    expect(better.reason).toMatch(/^ROC-AUC 0\.8200 vs 0\.8000 \(gain 0\.0200/);
    expect(worse.promote).toBe(false);
    expect(worse.candidate.rocAuc).toBe(0.78);
  });

  it('requires the configured margin', () => {
    // Prepare
    const policy = { minRocAucGain: 0.01 };
    // Act
    const small = decidePromotion({ candidate: candidate({ rocAuc: 0.805 }), champion: champion(), policy });
    const large = decidePromotion({ candidate: candidate({ rocAuc: 0.812 }), champion: champion(), policy });
    // Assess
    expect(small.promote).toBe(false);
    expect(large.promote).toBe(true);
  });

  it('keeps a better purchase model out when another head regresses past the tolerance', () => {
    // Prepare
    const better = { candidate: candidate({ rocAuc: 0.82 }), champion: champion() };
    const churn = (candidateAuc: number) => [
      { head: 'churn', metric: 'rocAuc', candidate: candidateAuc, champion: 0.75 },
    ];
    // Act
    const slightlyWorse = decidePromotion({ ...better, otherHeads: churn(0.745) });
    const muchWorse = decidePromotion({ ...better, otherHeads: churn(0.7) });
    const laxer = decidePromotion({ ...better, otherHeads: churn(0.7), policy: { maxHeadRegression: 0.06 } });
    const unmeasured = decidePromotion({ ...better, otherHeads: churn(Number.NaN) });
    // Assess
    expect(slightlyWorse.promote).toBe(true);
    expect(muchWorse.promote).toBe(false);
    expect(muchWorse.reason).toMatch(/but the churn head regresses: rocAuc 0\.7000 vs 0\.7500/);
    expect(laxer.promote).toBe(true);
    expect(unmeasured.promote).toBe(true);
  });

  it('never lets another head promote a candidate the purchase head keeps out', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (otherHeadMetric) => {
        const decision = decidePromotion({
          candidate: candidate({ rocAuc: 0.78 }),
          champion: champion(),
          otherHeads: [
            { head: 'nextCategories', metric: 'recallAt3', candidate: otherHeadMetric, champion: 0 },
          ],
        });
        expect(decision.promote).toBe(false);
      }),
    );
  });

  it('breaks a ROC-AUC tie by log loss', () => {
    // Act
    const sharper = decidePromotion({
      candidate: candidate({ rocAuc: 0.8002, logLoss: 0.19 }),
      champion: champion(),
    });
    const blunter = decidePromotion({
      candidate: candidate({ rocAuc: 0.8002, logLoss: 0.21 }),
      champion: champion(),
    });
    // Assess
    expect(sharper.promote).toBe(true);
    expect(sharper.reason).toMatch(/tie within 0\.0005; log loss 0\.1900 vs 0\.2000/);
    expect(blunter.promote).toBe(false);
  });

  it('never promotes a candidate that measures exactly like the champion', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5001, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 5 }),
        (auc, loss) => {
          // Prepare
          const same = { rocAuc: auc, logLoss: loss };
          // Act
          const decision = decidePromotion({ candidate: candidate(same), champion: champion(same) });
          // Assess
          expect(decision.promote).toBe(false);
        },
      ),
    );
  });

  it('never promotes both ways: swapping candidate and champion cannot promote twice', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5001, max: 1, noNaN: true }),
        fc.double({ min: 0.5001, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        (aucA, aucB, lossA, lossB) => {
          // Prepare
          const a = { rocAuc: aucA, logLoss: lossA };
          const b = { rocAuc: aucB, logLoss: lossB };
          // Act
          const aOverB = decidePromotion({ candidate: candidate(a), champion: champion(b) });
          const bOverA = decidePromotion({ candidate: candidate(b), champion: champion(a) });
          // Assess
          expect(aOverB.promote && bOverA.promote).toBe(false);
        },
      ),
    );
  });
});
