import { initialiseTrainingBackend } from '../../../functions/train/tfjs-mlp-trainer';

// Own file: the backend choice is made once per module registry, and jest gives each file a fresh one.
describe('initialiseTrainingBackend', () => {
  it('falls back to the cpu backend when the wasm binaries cannot be loaded', async () => {
    // Prepare: the wasm loader reports the missing file on console.warn; keep the test output clean.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    // Act
    const backend = await initialiseTrainingBackend('wasm', '/nonexistent-wasm-directory/');
    // Assess
    expect(backend).toBe('cpu');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('nonexistent-wasm-directory'));
    warn.mockRestore();
  });
});
