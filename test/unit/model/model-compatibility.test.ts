import { modelIncompatibility, sha256Hex } from '../../../shared/model/model-compatibility';

const onnx = new TextEncoder().encode('a graph');
const metadata = { featureSchemaVersion: 1, featureNames: ['a', 'b'], sha256: sha256Hex(onnx) };
const thisBuild = { featureSchemaVersion: 1, featureNames: ['a', 'b'], computedBy: 'this build' };

describe('modelIncompatibility', () => {
  it('accepts a model whose features and checksum fit', () => {
    // Act / Assess
    expect(modelIncompatibility(metadata, { features: thisBuild, onnx })).toBeUndefined();
  });

  it('names the feature schema version, then the feature names, then the checksum', () => {
    // Prepare
    const corrupt = new TextEncoder().encode('another graph');
    // Act
    const reasons = [
      modelIncompatibility({ ...metadata, featureSchemaVersion: 2 }, { features: thisBuild, onnx: corrupt }),
      modelIncompatibility({ ...metadata, featureNames: ['b', 'a'] }, { features: thisBuild, onnx: corrupt }),
      modelIncompatibility(metadata, { features: thisBuild, onnx: corrupt }),
    ];
    // Assess
    expect(reasons).toEqual([
      'feature schema 2, this build computes 1',
      'feature names differ from this build',
      'model file checksum mismatch',
    ]);
  });

  it('checks only what it is given: the registry asks for the checksum alone', () => {
    // Prepare
    const otherSchema = { ...metadata, featureSchemaVersion: 9, featureNames: ['z'] };
    // Act / Assess
    expect(modelIncompatibility(otherSchema, { onnx })).toBeUndefined();
    expect(modelIncompatibility(otherSchema, { onnx: new Uint8Array([1]) })).toBe(
      'model file checksum mismatch',
    );
    expect(
      modelIncompatibility({ ...metadata, sha256: '0'.repeat(64) }, { features: thisBuild }),
    ).toBeUndefined();
  });
});
