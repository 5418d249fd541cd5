import { ModelInputError } from './model-input-error';

/** A dense row-major float32 matrix: `values[row * columns + column]`. */
export interface FeatureMatrix {
  readonly values: Float32Array;
  readonly rows: number;
  readonly columns: number;
}

/** Wrap a row-major array as a matrix, checking that its length is a multiple of `columns`. */
export function toFeatureMatrix(values: Float32Array, columns: number): FeatureMatrix {
  if (!Number.isInteger(columns) || columns <= 0) {
    throw new ModelInputError('columns', 'must be a positive integer', String(columns));
  }
  if (values.length % columns !== 0) {
    throw new ModelInputError('features', `length must be a multiple of ${columns}`, String(values.length));
  }
  return { values, rows: values.length / columns, columns };
}

/** Copy the given rows (in the given order) into a new matrix. */
export function takeRows(matrix: FeatureMatrix, rowIndices: readonly number[]): FeatureMatrix {
  const { columns } = matrix;
  const values = new Float32Array(rowIndices.length * columns);
  rowIndices.forEach((row, i) => {
    values.set(matrix.values.subarray(row * columns, (row + 1) * columns), i * columns);
  });
  return { values, rows: rowIndices.length, columns };
}

/** Pick the given entries of a label vector as 0/1 numbers. */
export function takeLabels(labels: ArrayLike<number>, indices: readonly number[]): Uint8Array {
  return Uint8Array.from(indices, (i) => labels[i] as number);
}

/** Check labels are 0/1 and match the matrix row count. */
export function assertBinaryLabels(labels: ArrayLike<number>, expectedLength: number): void {
  if (labels.length !== expectedLength) {
    throw new ModelInputError(
      'labels',
      `length must equal the row count ${expectedLength}`,
      String(labels.length),
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) {
      throw new ModelInputError(`labels[${i}]`, 'must be 0 or 1', String(label));
    }
  }
}
