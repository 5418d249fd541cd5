import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ErasableObjectStore } from '../../shared/erasure/erasure-ports';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * One prefix of a bucket as erasure rewrites it: objects read as text (gunzipped when their bytes are
 * gzip), written back gzipped when their key ends in `.gz` (the archive), as they were otherwise.
 */
export class S3ErasableArea implements ErasableObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  async listKeys(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }),
      );
      for (const { Key: key } of page.Contents ?? []) if (key !== undefined) keys.push(key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  async read(key: string): Promise<string> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const bytes = await out.Body!.transformToByteArray();
    const gzipped = bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
    return Buffer.from(gzipped ? gunzipSync(bytes) : bytes).toString('utf8');
  }

  async write(key: string, text: string): Promise<void> {
    const gzip = key.endsWith('.gz');
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: gzip ? gzipSync(text) : text,
        ContentType: key.endsWith('.json') ? 'application/json' : 'application/x-ndjson',
        ...(gzip ? { ContentEncoding: 'gzip' } : {}),
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
