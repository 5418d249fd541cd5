/**
 * `npm run erase -- <id>…`: erase people (a userId, or anon:<anonymousId>) and print the receipt.
 * Puts one request into the erasure bucket's `requests/` (the erase function picks it up: S3 →
 * EventBridge in AWS, the local cloud's watcher under `npm start -- --serve`) and waits for its
 * receipt. Locally with `--endpoint` (the S3 endpoint `--serve` prints), else in AWS (default
 * credential chain; `--bucket` from the stack output).
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import {
  ERASURE_RECEIPTS_PREFIX,
  ERASURE_REQUESTS_PREFIX,
  parseErasureRequest,
} from '../../shared/erasure/erase-use-case';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface EraseOptions {
  bucket: string;
  endpoint?: string;
  region: string;
  timeoutSeconds: number;
}

const program = new Command()
  .name('npm run erase --')
  .description(
    'Erase people from the profiles, archive, quarantine and on-failure objects; print the receipt.',
  )
  .argument('<profileIds...>', 'userIds, or anon:<anonymousId> for anonymous visitors')
  .requiredOption('--bucket <name>', 'erasure bucket name')
  .option('--endpoint <url>', 'S3 endpoint (the local cloud); default: AWS')
  .option('--region <region>', 'AWS region', process.env.AWS_REGION ?? 'us-east-1')
  .option('--timeout-seconds <n>', 'how long to wait for the receipt', (v) => Number(v), 3600)
  .action(async (profileIds: string[], opts: EraseOptions) => {
    const s3 = new S3Client({
      region: opts.region,
      ...(opts.endpoint === undefined
        ? {}
        : {
            endpoint: opts.endpoint,
            forcePathStyle: true,
            credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
          }),
    });
    const request = parseErasureRequest({ requestId: randomUUID(), profileIds, requestedAt: Date.now() });
    await s3.send(
      new PutObjectCommand({
        Bucket: opts.bucket,
        Key: `${ERASURE_REQUESTS_PREFIX}${request.requestId}.json`,
        Body: JSON.stringify(request),
        ContentType: 'application/json',
      }),
    );
    console.error(`erasure request ${request.requestId} submitted; waiting for its receipt…`);
    const deadline = Date.now() + opts.timeoutSeconds * 1000;
    const key = `${ERASURE_RECEIPTS_PREFIX}${request.requestId}.json`;
    while (Date.now() < deadline) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: key }));
        console.log(await out.Body!.transformToString());
        return;
      } catch (error) {
        if (!(error instanceof NoSuchKey)) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    console.error(
      `no receipt after ${opts.timeoutSeconds} s: s3://${opts.bucket}/${key} will appear when done`,
    );
    process.exitCode = 2;
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
