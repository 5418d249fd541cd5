import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PROJECT_ROOT } from '../../infra/cdk/app';
import { OnnxRuntimeLayer } from '../../infra/cdk/constructs/onnx-runtime-layer';

const MAX_LAYER_BYTES = 60 * 1024 * 1024;

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? listFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
    );
}

describe('OnnxRuntimeLayer (bundled for real, locally)', () => {
  // Only the layer is bundled here: the function bundles depend on handler code, not on infra.
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-stream-layer-'));
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'LayerUnderTest');
  new OnnxRuntimeLayer(stack, 'OnnxRuntime', { projectRoot: PROJECT_ROOT });
  const assembly = app.synth();
  const layerId = Object.keys(Template.fromStack(stack).findResources('AWS::Lambda::LayerVersion'))[0];
  const assetPath =
    assembly.getStackByName('LayerUnderTest').template.Resources[layerId ?? ''].Metadata['aws:asset:path'];
  const layerDir = path.join(outdir, assetPath);
  const files = listFiles(layerDir).map((file) => path.relative(layerDir, file));

  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  it('ships the Linux x64 binding where Node.js resolves layer modules', () => {
    // Assess
    expect(files).toContainEqual(
      expect.stringMatching(
        /^nodejs\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/onnxruntime_binding\.node$/,
      ),
    );
    expect(files).toContain('nodejs/node_modules/onnxruntime-node/package.json');
    expect(files).toContain('nodejs/node_modules/onnxruntime-node/dist/index.js');
    expect(files).toContain('nodejs/node_modules/onnxruntime-common/package.json');
  });

  it('ships no other platform, architecture or GPU provider', () => {
    // Assess
    const segments = files.flatMap((file) => file.split(path.sep));
    expect(segments).not.toContain('darwin');
    expect(segments).not.toContain('win32');
    expect(segments).not.toContain('arm64');
    expect(files.filter((file) => /cuda|tensorrt/i.test(file))).toEqual([]);
  });

  it('stays well under the Lambda size limit', () => {
    // Act
    const bytes = files.reduce((sum, file) => sum + fs.statSync(path.join(layerDir, file)).size, 0);

    // Assess
    expect(bytes).toBeLessThan(MAX_LAYER_BYTES);
    expect(bytes).toBeGreaterThan(10 * 1024 * 1024);
  });
});
