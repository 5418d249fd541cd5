import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { toNdjson } from '../../shared/archive/archive-batch';
import type { ArchiveObject, ArchiveWriter } from '../../shared/archive/archive-ports';

/**
 * The event archive in S3: each object as gzipped NDJSON with `Content-Encoding: gzip`, the layout
 * `S3ArchiveReader` reads back (it looks at the bytes, so a client that un-gzips is fine too).
 */
export class S3ArchiveWriter implements ArchiveWriter {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(object: ArchiveObject): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: object.key,
        Body: gzipSync(toNdjson(object.events)),
        ContentType: 'application/x-ndjson',
        ContentEncoding: 'gzip',
      }),
    );
  }
}
