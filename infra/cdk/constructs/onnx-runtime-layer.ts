import * as fs from 'node:fs';
import * as path from 'node:path';
import { DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** The npm package the layer ships; functions using the layer mark it external in esbuild. */
export const ONNX_RUNTIME_MODULE = 'onnxruntime-node';

const ONNX_RUNTIME_COMMON_MODULE = 'onnxruntime-common';

/**
 * Bump when the layer's file selection changes: the asset hash is derived from this and the
 * package version instead of fingerprinting ~290 MB of node_modules on every synth.
 */
const LAYER_LAYOUT_VERSION = 1;

/** GPU execution providers are useless on Lambda and weigh hundreds of MB. */
const EXCLUDED_LIBRARY = /cuda|tensorrt/i;

/** The installed onnxruntime-node package cannot be used as the layer's source. */
export class LayerSourceError extends Error {
  override readonly name = 'LayerSourceError';

  constructor(
    readonly field: string,
    readonly rule: string,
    readonly value: string,
  ) {
    super(`${field} ${rule} (${value})`);
  }
}

/** Properties of {@link OnnxRuntimeLayer}. */
export interface OnnxRuntimeLayerProps {
  /**
   * The directory holding `node_modules/onnxruntime-node` and `node_modules/onnxruntime-common`.
   */
  readonly projectRoot: string;
}

/**
 * A Lambda layer with onnxruntime-node for Linux x64 only. The npm package carries binaries for
 * every platform (~290 MB unpacked, over Lambda's 250 MB limit), and esbuild cannot bundle the
 * native binding, so the layer copies just the JavaScript, `bin/napi-v*\/linux/x64` (~45 MB) and
 * onnxruntime-common into `nodejs/node_modules`, where the Node.js runtime resolves modules from.
 */
export class OnnxRuntimeLayer extends Construct {
  /** The layer version to attach to functions that score or validate ONNX models. */
  readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string, props: OnnxRuntimeLayerProps) {
    super(scope, id);
    const moduleRoot = path.join(props.projectRoot, 'node_modules');
    const runtimeDir = path.join(moduleRoot, ONNX_RUNTIME_MODULE);
    const version = readPackageVersion(runtimeDir);

    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: `${ONNX_RUNTIME_MODULE} ${version} (linux-x64 binaries only)`,
      compatibleRuntimes: [lambda.Runtime.NODEJS_22_X],
      compatibleArchitectures: [lambda.Architecture.X86_64],
      code: lambda.Code.fromAsset(runtimeDir, {
        assetHash: `${ONNX_RUNTIME_MODULE}@${version}/linux-x64/layout-${LAYER_LAYOUT_VERSION}`,
        bundling: {
          // Never pulled: local bundling always succeeds where node_modules is installed.
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
          local: new OnnxRuntimeLocalBundling(moduleRoot),
        },
      }),
    });
  }
}

/** Copies the Linux x64 subset of onnxruntime-node (and onnxruntime-common) into a layer tree. */
class OnnxRuntimeLocalBundling implements ILocalBundling {
  constructor(private readonly moduleRoot: string) {}

  tryBundle(outputDir: string): boolean {
    const runtimeDir = path.join(this.moduleRoot, ONNX_RUNTIME_MODULE);
    const commonDir = path.join(this.moduleRoot, ONNX_RUNTIME_COMMON_MODULE);
    if (!fs.existsSync(runtimeDir) || !fs.existsSync(commonDir)) return false;

    const target = path.join(outputDir, 'nodejs', 'node_modules');
    const runtimeTarget = path.join(target, ONNX_RUNTIME_MODULE);
    for (const entry of ['package.json', 'dist', 'lib']) {
      const source = path.join(runtimeDir, entry);
      if (fs.existsSync(source)) fs.cpSync(source, path.join(runtimeTarget, entry), { recursive: true });
    }
    const binDir = path.join(runtimeDir, 'bin');
    for (const napiDir of fs.readdirSync(binDir).filter((name) => name.startsWith('napi-v'))) {
      const linuxX64 = path.join(binDir, napiDir, 'linux', 'x64');
      if (!fs.existsSync(linuxX64)) continue;
      fs.cpSync(linuxX64, path.join(runtimeTarget, 'bin', napiDir, 'linux', 'x64'), {
        recursive: true,
        filter: (source) => !EXCLUDED_LIBRARY.test(path.basename(source)),
      });
    }
    fs.cpSync(commonDir, path.join(target, ONNX_RUNTIME_COMMON_MODULE), { recursive: true });
    return true;
  }
}

function readPackageVersion(packageDir: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  if (typeof manifest.version !== 'string') {
    throw new LayerSourceError('version', 'must be a string', packageDir);
  }
  return manifest.version;
}
