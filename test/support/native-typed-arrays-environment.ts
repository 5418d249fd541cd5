/**
 * Jest's node environment runs tests in a separate V8 realm with its own typed-array constructors,
 * while onnxruntime-node's native binding creates output arrays in the main realm. onnxruntime-common
 * then rejects them ("A float32 tensor's data must be type of function Float32Array()"). Sharing the
 * main realm's typed-array constructors with the test realm makes both sides agree.
 * It is the test environment of every test file (package.json `jest.testEnvironment`).
 */
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { TestEnvironment } from 'jest-environment-node';

const TYPED_ARRAYS = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

export default class NativeTypedArraysEnvironment extends TestEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name] as never;
  }
}
