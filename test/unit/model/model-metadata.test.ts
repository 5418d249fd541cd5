import {
  createModelPointer,
  CURRENT_POINTER_KEY,
  type ModelMetadata,
  ModelMetadataViolation,
  modelObjectKeys,
  parseModelMetadata,
  parseModelMetadataV2,
  parseModelPointer,
  parsePublishedMetadata,
  parseServingContract,
  publishedHeadMetrics,
} from '../../../shared/model/model-metadata';
import { metricsFactory } from '../../support/model-fixtures';

const metrics = metricsFactory();

/** A valid metadata document; tests override one field at a time. */
function metadataFactory(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    modelVersion: '20261127T120000Z-abc123',
    featureSchemaVersion: 1,
    featureNames: ['cart_adds_decayed', 'views_24h'],
    inputName: 'features',
    outputName: 'purchase_probability',
    trainingWindow: { fromMs: 1000, toMs: 2000 },
    exampleCounts: { train: 70, validation: 15, test: 15, positives: 9 },
    metrics: { model: metrics, heuristic: metrics, logisticRegression: metrics },
    training: {
      seed: 42,
      backend: 'wasm',
      hiddenUnits: [32, 16],
      epochsRun: 12,
      bestEpoch: 7,
      maxEpochs: 60,
      stoppedEarly: true,
      classWeights: [0.55, 5.2],
      calibrated: true,
      heuristicFeature: 'cart_adds_decayed',
    },
    createdAt: '2026-11-27T12:00:00.000Z',
    sizeBytes: 6500,
    sha256: 'a'.repeat(64),
    ...overrides,
  };
}

function violationOf(parse: () => unknown): ModelMetadataViolation {
  try {
    parse();
  } catch (error) {
    if (error instanceof ModelMetadataViolation) return error;
    throw error;
  }
  throw new Error('expected a ModelMetadataViolation');
}

describe('parseModelMetadata', () => {
  it('accepts a complete document and survives a JSON round trip', () => {
    // Prepare
    const raw = metadataFactory();
    // Act
    const parsed: ModelMetadata = parseModelMetadata(JSON.parse(JSON.stringify(raw)));
    // Assess
    expect(parsed).toEqual(raw);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a non-hex checksum', { sha256: 'xyz' }, 'sha256'],
    ['a version with a slash', { modelVersion: 'a/b' }, 'modelVersion'],
    ['duplicate feature names', { featureNames: ['a', 'a'] }, 'featureNames'],
    ['a window ending before it starts', { trainingWindow: { fromMs: 5, toMs: 1 } }, 'trainingWindow.fromMs'],
    [
      'an AUC above 1',
      { metrics: { model: { ...metrics, rocAuc: 1.2 }, heuristic: metrics, logisticRegression: metrics } },
      'metrics.model.rocAuc',
    ],
    ['an unknown field', { extra: true }, '(root)'],
    ['a non-ISO creation time', { createdAt: 'yesterday' }, 'createdAt'],
  ])('rejects %s with the field named', (_, overrides, field) => {
    // Act
    const violation = violationOf(() => parseModelMetadata(metadataFactory(overrides)));
    // Assess
    expect(violation.document).toBe('metadata');
    expect(violation.field).toBe(field);
    expect(violation.message).toContain(field);
  });
});

/** The minimal v2 document an external model author writes: the serving contract only. */
function servingOnlyFactory(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadataVersion: 2,
    modelVersion: 'external-gbt-1',
    featureSchemaVersion: 2,
    featureNames: ['views_1h', 'carts_24h'],
    inputName: 'features',
    outputs: { purchase: { name: 'purchase_probability', labelHorizonHours: 6 } },
    createdAt: '2026-11-27T12:00:00.000Z',
    sizeBytes: 900,
    sha256: 'b'.repeat(64),
    ...overrides,
  };
}

/** A contribution output as the attribution subgraph describes it. */
function contribution(name: string, logit: number) {
  return {
    name,
    method: 'rescale',
    steps: 1,
    units: 'logit',
    baseline: { description: 'training mean', features: [0.5, 0.1], logit },
  };
}

const allHeads = {
  purchase: { name: 'purchase_probability', labelHorizonHours: 6 },
  churn: { name: 'churn_probability', horizonDays: 7 },
  nextCategories: { name: 'next_category_probabilities', categories: ['shoes', 'bags', 'other'] },
  embedding: { name: 'embedding', size: 12 },
  contributions: {
    purchase: contribution('purchase_contributions', -2.1),
    churn: contribution('churn_contributions', 0.4),
  },
};

describe('metadata v2 and the serving contract', () => {
  it('serves a serving-only document as written, and drops provenance from the serving contract', () => {
    // Prepare
    const minimal = servingOnlyFactory();
    const full = servingOnlyFactory({
      outputs: allHeads,
      provenance: {
        producer: 'profile-stream-train',
        trainingWindow: { fromMs: 1, toMs: 2 },
        exampleCounts: { train: 70, validation: 15, test: 15 },
        heads: {
          purchase: {
            chosen: 'mlp',
            metrics: { mlp: { rocAuc: 0.72, rocAucCi95: { lower: 0.7, upper: 0.74 } } },
          },
        },
        training: { seed: 42, hiddenUnits: [32, 16] },
      },
    });
    // Act
    const minimalContract = parseServingContract(JSON.parse(JSON.stringify(minimal)));
    const fullDocument = parseModelMetadataV2(full);
    const fullContract = parseServingContract(full);
    // Assess
    expect(minimalContract).toEqual(minimal);
    expect(fullDocument).toEqual(full);
    const { provenance: _dropped, ...serving } = full;
    expect(fullContract).toEqual(serving);
  });

  it('reads v1 metadata as a model with the purchase head only, from its outputName', () => {
    // Act
    const contract = parseServingContract(metadataFactory({ outputName: 'p' }));
    // Assess
    expect(contract).toEqual({
      metadataVersion: 1,
      modelVersion: '20261127T120000Z-abc123',
      featureSchemaVersion: 1,
      featureNames: ['cart_adds_decayed', 'views_24h'],
      inputName: 'features',
      outputs: { purchase: { name: 'p' } },
      createdAt: '2026-11-27T12:00:00.000Z',
      sizeBytes: 6500,
      sha256: 'a'.repeat(64),
    });
  });

  it('reads stored v1 metadata as v2 for every reader: its metrics become the purchase provenance', () => {
    // Act
    const published = parsePublishedMetadata(metadataFactory({ outputName: 'p' }));
    // Assess: a valid v2 document, whose published purchase metrics are v1's `metrics.model`
    expect(parseModelMetadataV2(JSON.parse(JSON.stringify(published)))).toEqual(published);
    expect(published.outputs).toEqual({ purchase: { name: 'p' } });
    expect(published.provenance?.exampleCounts).toEqual({
      train: 70,
      validation: 15,
      test: 15,
      positives: 9,
    });
    expect(published.provenance?.heads?.purchase?.chosen).toBe('network');
    expect(publishedHeadMetrics(published)).toEqual(metrics);
    expect(publishedHeadMetrics(published, 'churn')).toBeUndefined();
    expect(() => parsePublishedMetadata(metadataFactory({ outputName: '' }))).toThrow(
      expect.objectContaining({ name: 'ModelMetadataViolation', field: 'outputName' }),
    );
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown metadata version', { metadataVersion: 3 }, 'metadataVersion'],
    ['no purchase head', { outputs: { churn: allHeads.churn } }, 'outputs.purchase'],
    [
      'two heads on one output',
      { outputs: { purchase: allHeads.purchase, churn: { name: 'purchase_probability', horizonDays: 7 } } },
      'outputs',
    ],
    ['an output named like the input', { outputs: { purchase: { name: 'features' } } }, 'outputs'],
    [
      'a baseline of the wrong width',
      {
        outputs: {
          ...allHeads,
          contributions: {
            purchase: {
              ...allHeads.contributions.purchase,
              baseline: { description: 'x', features: [0], logit: 0 },
            },
          },
        },
      },
      'outputs.contributions.purchase.baseline.features',
    ],
    [
      'churn contributions without a churn head',
      { outputs: { purchase: allHeads.purchase, contributions: allHeads.contributions } },
      'outputs.contributions.churn',
    ],
    [
      'contributions in other units',
      {
        outputs: {
          ...allHeads,
          contributions: { purchase: { ...allHeads.contributions.purchase, units: 'probability' } },
        },
      },
      'outputs.contributions.purchase.units',
    ],
    [
      'duplicate categories',
      { outputs: { purchase: allHeads.purchase, nextCategories: { name: 'n', categories: ['a', 'a'] } } },
      'outputs.nextCategories.categories',
    ],
    ['an unknown head', { outputs: { ...allHeads, ltv: { name: 'ltv' } } }, 'outputs'],
  ])('refuses %s with the field named', (_, overrides, field) => {
    // Act
    const violation = violationOf(() => parseServingContract(servingOnlyFactory(overrides)));
    // Assess
    expect(violation.document).toBe('metadata');
    expect(violation.field).toBe(field);
  });
});

describe('serving forward compatibility', () => {
  it('serves a document with provenance this build does not know, which the writer’s schema refuses', () => {
    // Prepare: a newer trainer's additions, inside provenance and beside it.
    const newer = servingOnlyFactory({
      outputs: allHeads,
      provenance: { producer: 'a newer trainer', fairness: { parity: 0.97 }, drift: { format: 2 } },
      lineage: { archiveObjects: 12 },
      training: { seed: 1 },
    });
    // Act
    const contract = parseServingContract(newer);
    // Assess: the serving fields as written, nothing else; this build's own writer stays strict.
    expect(contract).toEqual(servingOnlyFactory({ outputs: allHeads }));
    expect(violationOf(() => parseModelMetadataV2(newer)).field).toMatch(/^(provenance|\(root\))/);
  });

  it.each(['modelVersion', 'featureSchemaVersion', 'featureNames', 'inputName', 'outputs', 'sha256'])(
    'refuses a document without %s, naming it',
    (field) => {
      // Prepare
      const { [field]: _missing, ...document } = servingOnlyFactory({ provenance: { anything: 1 } });
      // Act
      const violation = violationOf(() => parseServingContract(document));
      // Assess
      expect(violation.document).toBe('metadata');
      expect(violation.field).toBe(field);
    },
  );

  it('stays strict inside what serving reads: an unknown output or population field is refused', () => {
    // Act
    const output = violationOf(() =>
      parseServingContract(servingOnlyFactory({ outputs: { ...allHeads, ltv: { name: 'ltv' } } })),
    );
    const population = violationOf(() =>
      parseServingContract(servingOnlyFactory({ population: { rows: 1, newCut: [1] } })),
    );
    // Assess
    expect(output.field).toBe('outputs');
    expect(population.field).toMatch(/^population/);
  });
});

describe('model pointer', () => {
  it('creates a pointer with the conventional keys and the previous version', () => {
    // Act
    const pointer = createModelPointer('v2', Date.UTC(2026, 0, 2), 'v1');
    // Assess
    expect(CURRENT_POINTER_KEY).toBe('models/current.json');
    expect(pointer).toEqual({
      modelVersion: 'v2',
      onnxKey: 'models/v2/model.onnx',
      metadataKey: 'models/v2/metadata.json',
      promotedAt: '2026-01-02T00:00:00.000Z',
      previous: 'v1',
    });
    expect(parseModelPointer(JSON.parse(JSON.stringify(pointer)))).toEqual(pointer);
    expect(modelObjectKeys('v2').reportKey).toBe('models/v2/report.html');
  });

  it('rejects a pointer without an onnx key and a version that is not key-safe', () => {
    // Act
    const missing = violationOf(() =>
      parseModelPointer({ modelVersion: 'v', metadataKey: 'm', promotedAt: '2026-01-01T00:00:00Z' }),
    );
    const unsafe = violationOf(() => modelObjectKeys('../etc'));
    // Assess
    expect(missing).toMatchObject({ document: 'pointer', field: 'onnxKey' });
    expect(unsafe.rule).toMatch(/letters, digits/);
  });
});
